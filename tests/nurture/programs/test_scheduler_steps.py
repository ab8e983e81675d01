"""The steps besides sending, end to end: telling sales, setting the lifecycle or a field,
branching on the previous mail, and an A/B test of subject lines in test mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.engagement import record_click, record_open
from nurture.mail.models import MailMessage
from nurture.programs.models import AbDecision, StepLog
from nurture.webhooks import ChangeFacts, events_for
from portal.db import Database
from tests.nurture.programs.driving import (
    DAY,
    T0,
    Drive,
    add,
    enrollments,
    guard_rails,
    mail,
    messages,
    program,
    save,
    save_template,
    statuses,
    steps_of,
    subscriber,
    wait,
)
from tracking.models import Lead, LeadChange

START = T0 + timedelta(minutes=5)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def lead_of(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        session.expunge(found)
        return found


def changes_of(db: Database, lead_id: int, kind: str) -> list[LeadChange]:
    with db.read() as session:
        found = list(
            session.scalars(
                select(LeadChange)
                .where(LeadChange.lead_id == lead_id, LeadChange.kind == kind)
                .order_by(LeadChange.seq)
            )
        )
        session.expunge_all()
        return found


def test_a_notify_step_tells_sales_by_webhook_and_by_mail(db: Database, drive: Drive) -> None:
    steps = [
        mail("hello", "Hello"),
        {"id": "tell", "notify": {"to": "owner@pipewise.example", "note": "Read the pricing"}},
    ]
    save(db, program("Hand-off", steps, trigger={"kind": "subscribed"}))
    ada = subscriber(db, "ada@example.com", name="Ada Lovelace", company="Analytical Engines")
    drive.tick(START)

    (change,) = changes_of(db, ada, "sales_notified")
    assert (change.new, change.reason) == ("Hand-off", "Read the pricing")
    facts = ChangeFacts(change.seq, ada, change.at, change.kind, change.old, change.new,
                        change.reason)  # fmt: skip
    (event,) = events_for(facts)
    assert event.type == "lead.sales_notified"
    assert event.data == {"program": "Hand-off", "note": "Read the pricing"}
    (told,) = drive.mails("owner@pipewise.example")
    text = told.part("plain")
    assert "ada@example.com" in text
    assert "Read the pricing" in text
    assert "Hand-off" in text
    assert steps_of(db, ada)[-2:] == [("tell", "notified"), ("", "completed")]


def test_a_set_step_moves_the_lifecycle_and_another_programs_goal_follows(
    db: Database, drive: Drive
) -> None:
    ids = save_template(db, "welcome")
    hand_off = save(db, program("Hand-off", [
        {"id": "sql", "set": {"field": "lifecycle", "value": "sql"}},
        {"id": "firm", "set": {"field": "company", "value": "Analytical Engines"}},
        {"id": "mql", "set": {"field": "lifecycle", "value": "mql"}},
    ]))  # fmt: skip
    ada = subscriber(db, "ada@example.com")
    drive.tick(START)
    add(db, hand_off, [ada], START + DAY)
    drive.tick(START + DAY)
    drive.tick(START + DAY + timedelta(minutes=1))

    found = lead_of(db, ada)
    assert (found.lifecycle, found.company) == ("sql", "Analytical Engines")
    (moved,) = changes_of(db, ada, "lifecycle")
    assert moved.reason == "program Hand-off"
    assert statuses(db, ada) == {ids["Welcome"]: "converted", hand_off: "completed"}
    # mql is the rules' to set, not a program's: the step is skipped with the reason.
    assert ("mql", "skipped") in steps_of(db, ada, hand_off)


BRANCHING = program(
    "Branching",
    [
        mail("first", "First"),
        wait("pause", 2),
        {"id": "fork", "branch": {"if": {"clicked": True}, "then": "hot", "else": "next"}},
        {"id": "opened", "branch": {"if": {"opened": True}, "then": "warm", "else": "next"}},
        mail("cold", "Cold"),
        {"id": "stop", "exit": {}},
        mail("warm", "Warm"),
        {"id": "stop-warm", "exit": {}},
        mail("hot", "Hot"),
    ],
    trigger={"kind": "subscribed"},
)


def test_a_branch_follows_what_the_lead_did_with_the_previous_mail(
    db: Database, drive: Drive
) -> None:
    save(db, BRANCHING)
    leads = {name: subscriber(db, f"{name}@example.com") for name in ("ann", "bob", "cy")}
    drive.tick(START)
    first = {message.lead_id: message.id for message in messages(db)}
    with db.write() as session:
        record_click(
            session,
            first[leads["ann"]],
            "https://pipewise.example/library",
            START + DAY,
            base_url="https://pipewise.example",
            user_agent=BROWSER,
        )
        record_open(
            session, first[leads["bob"]], START + DAY, user_agent=BROWSER, address="203.0.113.9"
        )
        # cy's mail was opened by a privacy proxy within seconds: no human open.
        record_open(session, first[leads["cy"]], START + timedelta(seconds=3),
                    user_agent=BROWSER, address="203.0.113.10")  # fmt: skip
    drive.days(START + 2 * DAY, 3)
    assert drive.subjects("ann@example.com") == ["First", "Hot"]
    assert drive.subjects("bob@example.com") == ["First", "Warm"]
    assert drive.subjects("cy@example.com") == ["First", "Cold"]
    assert [found.status for found in enrollments(db, leads["ann"])] == ["completed"]
    assert [found.end_reason for found in enrollments(db, leads["bob"])] == ["exit step"]


# ---- A/B test in test mode -----------------------------------------------------------------


def ab_program(db: Database) -> int:
    send: dict[str, Any] = {
        "subjects": ["Subject A", "Subject B"],
        "ab": {"mode": "test", "share": 75, "decide_after_hours": 24},
        "body": "Hello {{ first_name | there }}.",
    }
    return save(db, program("Tested", [{"id": "hello", "send": send}]))


def audience(db: Database, program_id: int, count: int) -> list[int]:
    """``count`` leads with confirmed consent, added to the program by hand."""
    with db.write() as session:
        leads = [
            Lead(email=f"reader{number}@example.com", consent_status="confirmed",
                 marketing_consent=True, created_at=utcnow(), last_activity_at=utcnow())
            for number in range(count)
        ]  # fmt: skip
        session.add_all(leads)
        session.flush()
        ids = [lead.id for lead in leads]
    add(db, program_id, ids, START)
    return ids


def subjects_by_lead(db: Database) -> dict[int, str]:
    with db.read() as session:
        return {
            lead_id: subject
            for lead_id, subject in session.execute(
                select(MailMessage.lead_id, MailMessage.subject)
            )
            if lead_id is not None
        }


def held_leads(db: Database) -> list[int]:
    with db.read() as session:
        return sorted(session.scalars(select(StepLog.lead_id).where(StepLog.outcome == "held")))


def test_an_ab_test_sends_the_winner_to_the_rest_after_the_verdict(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, quiet_start=0, quiet_end=0)
    program_id = ab_program(db)
    leads = audience(db, program_id, 140)
    drive.tick(START)
    tested = subjects_by_lead(db)
    held = [lead_id for lead_id in leads if lead_id not in tested]
    assert 0.6 <= len(tested) / 140 <= 0.9  # about 75 %
    assert set(tested.values()) == {"Subject A", "Subject B"}
    assert held_leads(db) == sorted(held)

    with db.write() as session:  # 20 of B's readers click, none of A's
        clicked = session.scalars(
            select(MailMessage.id).where(MailMessage.subject == "Subject B").limit(20)
        ).all()
        for message_id in clicked:
            record_click(session, message_id, "https://pipewise.example/", START + DAY / 2,
                         base_url="https://pipewise.example", user_agent=BROWSER)  # fmt: skip
    drive.tick(START + DAY / 2)
    assert len(subjects_by_lead(db)) == len(tested)  # the rest still waits

    drive.tick(START + DAY)
    after = subjects_by_lead(db)
    assert sorted(after) == sorted(leads)
    assert {after[lead_id] for lead_id in held} == {"Subject B"}
    with db.read() as session:
        decision = session.scalars(select(AbDecision)).one()
        assert (decision.winner, decision.metric) == (1, "clicks")
        assert "B wins on clicks" in decision.explanation


def test_without_a_significant_difference_the_rest_is_split_evenly(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, quiet_start=0, quiet_end=0)
    program_id = ab_program(db)
    leads = audience(db, program_id, 60)
    drive.tick(START)
    tested = subjects_by_lead(db)
    drive.tick(START + DAY)
    after = subjects_by_lead(db)
    assert sorted(after) == sorted(leads)
    rest = {after[lead_id] for lead_id in leads if lead_id not in tested}
    assert rest == {"Subject A", "Subject B"}
    with db.read() as session:
        decision = session.scalars(select(AbDecision)).one()
        assert decision.winner is None
        assert decision.explanation.startswith("no winner yet")


def test_a_long_test_holds_the_rest_past_the_postpone_limit(db: Database, drive: Drive) -> None:
    send: dict[str, Any] = {
        "subjects": ["Subject A", "Subject B"],
        "ab": {"mode": "test", "share": 50, "decide_after_hours": 120},
        "body": "Hello.",
    }
    program_id = save(db, program("Slow test", [{"id": "hello", "send": send}]))
    guard_rails(db, quiet_start=0, quiet_end=0)
    leads = audience(db, program_id, 20)
    drive.days(START, 5)  # four days later the verdict is still a day away
    tested = subjects_by_lead(db)
    assert 0 < len(tested) < len(leads)
    drive.tick(START + 5 * DAY)
    assert sorted(subjects_by_lead(db)) == sorted(leads)
    outcomes = {outcome for lead_id in leads for _step, outcome in steps_of(db, lead_id)}
    assert not outcomes & {"skipped", "capped"}


def test_a_test_whose_audience_all_waits_is_decided_on_time(db: Database, drive: Drive) -> None:
    """With a small share nobody may fall in the test group: the rest still waits for the
    test's hours from when the step was first reached, not ever longer."""
    send: dict[str, Any] = {
        "subjects": ["Subject A", "Subject B"],
        "ab": {"mode": "test", "share": 2, "decide_after_hours": 24},
        "body": "Hello.",
    }
    program_id = save(db, program("Tiny test", [{"id": "hello", "send": send}]))
    guard_rails(db, quiet_start=0, quiet_end=0)
    leads = audience(db, program_id, 3)
    drive.tick(START)
    drive.tick(START + DAY - timedelta(minutes=1))
    assert len(subjects_by_lead(db)) < 3
    drive.tick(START + DAY)
    assert sorted(subjects_by_lead(db)) == sorted(leads)
