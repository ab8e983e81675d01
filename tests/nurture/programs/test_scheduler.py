"""The scheduler end to end on a real SMTP server, time driven by ``tick(at)``: the welcome
sequence, leaving at a goal, moving between stage tracks, and what stops the mail
(unsubscribing, suppression, a draft, the pause)."""

from __future__ import annotations

from datetime import timedelta

from nurture.mail import subscriptions, suppression
from nurture.mail.models import SuppressionReason
from nurture.programs.models import EnrollmentStatus
from portal.db import Database
from tests.factories import make_asset
from tests.mailbox import Received
from tests.nurture.programs.driving import (
    DAY,
    T0,
    Drive,
    add,
    change_stage,
    enrollments,
    guard_rails,
    mail,
    messages,
    program,
    read,
    save,
    save_template,
    set_status,
    statuses,
    steps_of,
    subscriber,
    wait,
)
from tests.support import html
from tracking.identity.demo_requests import submit_demo_request
from tracking.identity.unlocks import unlock
from tracking.models import Lead
from tracking.rules.config import Model


def block_titles(received: Received) -> list[str]:
    """The asset titles the mail's content blocks name."""
    return [node.text() for node in html(received.part("html")).css("p strong a")]


def test_a_subscriber_gets_the_welcome_sequence_naming_only_what_it_has_not_read(
    db: Database, drive: Drive
) -> None:
    guides = [make_asset(db, title=f"Guide {number}") for number in range(8)]
    save_template(db, "welcome")
    ada = subscriber(db, "ada@example.com", name="Ada Lovelace")
    read(db, ada, guides[0].id, T0)
    with db.write() as session:
        unlock(session, ada, guides[1].id, T0)
    unread = {guide.title for guide in guides[2:]}

    drive.days(T0 + timedelta(minutes=5), 16)

    received = drive.mails("ada@example.com")
    subjects = [found.subject for found in received]
    assert 3 <= len(received) <= 5, subjects
    assert len(set(subjects)) == len(subjects)
    assert subjects[0] in ("Welcome, Ada: your reading list", "Ada, three reads picked for you")
    for found in received:
        named = block_titles(found)
        assert named, found.subject
        assert set(named) <= unread, (found.subject, named)
        assert found.message["List-Unsubscribe"]
    assert "Hi Ada," in received[0].part("plain")
    (enrollment,) = enrollments(db, ada)
    assert enrollment.status == EnrollmentStatus.COMPLETED.value
    sent = [step for step, outcome in steps_of(db, ada) if outcome == "sent"]
    assert sent == ["welcome", "basics", "compare", "proof"]


def test_a_consideration_reader_takes_the_welcomes_other_branch(db: Database, drive: Drive) -> None:
    for number in range(4):
        make_asset(db, title=f"Guide {number}")
    save_template(db, "welcome")
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    change_stage(db, ada, "consideration", T0 + DAY)
    drive.days(T0 + DAY + timedelta(minutes=5), 15)
    sent = [step for step, outcome in steps_of(db, ada) if outcome == "sent"]
    assert sent == ["welcome", "compare", "proof"]
    assert len(drive.mails("ada@example.com")) == 3


def test_reaching_decision_ends_the_welcome_with_no_mail_after(db: Database, drive: Drive) -> None:
    make_asset(db, title="Guide")
    ids = save_template(db, "welcome")
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    assert len(drive.mails("ada@example.com")) == 1

    change_stage(db, ada, "consideration", T0 + DAY)
    change_stage(db, ada, "decision", T0 + 2 * DAY)
    drive.days(T0 + 2 * DAY + timedelta(minutes=5), 14)

    assert len(drive.mails("ada@example.com")) == 1
    (enrollment,) = enrollments(db, ada)
    assert (enrollment.status, enrollment.goal) == ("converted", "stage decision")
    assert steps_of(db, ada, ids["Welcome"])[-1] == ("", "converted")


def test_a_demo_request_ends_the_welcome(db: Database, drive: Drive) -> None:
    make_asset(db, title="Guide")
    save_template(db, "welcome")
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    with db.write() as session:
        answers = {"email": "ada@example.com", "first_name": "Ada", "last_name": "L",
                   "company": "Analytical Engines"}  # fmt: skip
        result = submit_demo_request(
            session, None, answers, consent_ticked=False, asset=None, model=Model(), now=T0 + DAY
        )
        assert result.lead_id == ada
    drive.days(T0 + DAY + timedelta(minutes=5), 14)
    assert len(drive.mails("ada@example.com")) == 1
    (enrollment,) = enrollments(db, ada)
    assert enrollment.status == "converted"
    # The request fast-lanes the lead to sql, logged just before the request itself.
    assert enrollment.goal in ("demo", "lifecycle sql")


def test_a_lead_standing_at_a_goal_does_not_enter(db: Database, drive: Drive) -> None:
    save_template(db, "welcome")
    ada = subscriber(db, "ada@example.com", journey_stage="decision")
    drive.tick(T0 + timedelta(minutes=5))
    assert enrollments(db, ada) == []
    assert drive.mails("ada@example.com") == []


def test_reaching_decision_moves_the_lead_from_the_consideration_track_to_the_decision_track(
    db: Database, drive: Drive
) -> None:
    make_asset(db, title="Guide")
    ids = save_template(db, "stage-tracks")
    awareness, consideration, decision = ids.values()
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    assert statuses(db, ada) == {awareness: "active"}

    change_stage(db, ada, "consideration", T0 + DAY)
    drive.tick(T0 + DAY + timedelta(minutes=5))
    assert statuses(db, ada) == {awareness: "converted", consideration: "active"}

    change_stage(db, ada, "decision", T0 + 2 * DAY)
    drive.tick(T0 + 2 * DAY + timedelta(minutes=5))
    assert statuses(db, ada) == {
        awareness: "converted", consideration: "converted", decision: "active",
    }  # fmt: skip
    assert drive.subjects("ada@example.com") == [
        "Hi, the cost nobody puts on the slide",
        "Comparing the options? Start with these",
        "What teams like yours achieved",
    ]
    drive.days(T0 + 3 * DAY, 10)
    assert "The questions to ask every vendor" not in drive.subjects("ada@example.com")


def test_changes_read_in_one_pass_enter_only_the_track_the_lead_stands_in(
    db: Database, drive: Drive
) -> None:
    """A pass that reads the subscription and both stage changes at once (the scheduler was
    down) enters the lead into the decision track only: it stands past the other tracks'
    goals, so their mails would come too late."""
    make_asset(db, title="Guide")
    ids = save_template(db, "stage-tracks")
    ada = subscriber(db, "ada@example.com")
    change_stage(db, ada, "consideration", T0 + timedelta(hours=1))
    change_stage(db, ada, "decision", T0 + timedelta(hours=2))
    drive.tick(T0 + DAY)
    assert statuses(db, ada) == {ids["Stage track: decision"]: "active"}
    assert drive.subjects("ada@example.com") == ["What teams like yours achieved"]


def test_a_lead_entered_and_converted_in_one_pass_leaves_at_once(
    db: Database, drive: Drive
) -> None:
    """The change that enters and a later one that reaches the goal, read together: the
    enrollment made for the first is ended by the second (log order, not clock time)."""
    make_asset(db, title="Guide")
    program_id = save(db, program("Unlockers", [mail("one", "First")],
                                  trigger={"kind": "unlocked", "value": "kind:article"},
                                  goals=[{"kind": "stage", "value": "decision"}]))  # fmt: skip
    guide = make_asset(db, title="Pricing")
    ada = subscriber(db, "ada@example.com")
    with db.write() as session:
        unlock(session, ada, guide.id, T0 + timedelta(hours=1))
    change_stage(db, ada, "decision", T0 + timedelta(hours=2))
    with db.write() as session:
        # The stage moves back before the pass: the lead does not stand at the goal now.
        found = session.get(Lead, ada)
        assert found is not None
        found.journey_stage = "consideration"
    drive.tick(T0 + DAY)
    assert statuses(db, ada) == {program_id: "converted"}
    assert drive.mails("ada@example.com") == []


# ---- what stops the mail -------------------------------------------------------------------

SEQUENCE = program(
    "Sequence",
    [mail("one", "First"), wait("w1", 2), mail("two", "Second"), wait("w2", 2),
     mail("three", "Third")],
    trigger={"kind": "subscribed"},
)  # fmt: skip


def test_an_unsubscribed_lead_gets_nothing_more_and_leaves(db: Database, drive: Drive) -> None:
    save(db, SEQUENCE)
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    assert drive.subjects("ada@example.com") == ["First"]
    with db.write() as session:
        subscriptions.unsubscribe(session, "ada@example.com", now=T0 + DAY)
    drive.days(T0 + DAY + timedelta(minutes=5), 6)
    assert drive.subjects("ada@example.com") == ["First"]
    (enrollment,) = enrollments(db, ada)
    assert (enrollment.status, enrollment.end_reason) == ("exited", "unsubscribed")


def test_a_suppressed_lead_gets_nothing_more_and_leaves(db: Database, drive: Drive) -> None:
    save(db, SEQUENCE)
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    with db.write() as session:
        suppression.suppress(session, "ada@example.com", SuppressionReason.HARD_BOUNCE, T0 + DAY)
    drive.days(T0 + DAY + timedelta(minutes=5), 6)
    assert drive.subjects("ada@example.com") == ["First"]
    (enrollment,) = enrollments(db, ada)
    assert (enrollment.status, enrollment.end_reason) == ("exited", "address suppressed")


def test_a_lead_suppressed_without_a_change_leaves_at_its_next_mail(
    db: Database, drive: Drive
) -> None:
    """An erasure request suppresses an address without logging a lead change."""
    save(db, SEQUENCE)
    ada = subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    with db.write() as session:
        suppression.suppress(session, "ada@example.com", SuppressionReason.ERASED, T0 + DAY)
    drive.days(T0 + DAY + timedelta(minutes=5), 6)
    assert drive.subjects("ada@example.com") == ["First"]
    (enrollment,) = enrollments(db, ada)
    assert (enrollment.status, enrollment.end_reason) == ("exited", "suppressed: erased")
    assert len(messages(db, ada)) == 1


def test_a_lead_without_consent_takes_the_steps_but_gets_no_mail(
    db: Database, drive: Drive
) -> None:
    program_id = save(db, program("By hand", [mail("one", "First"), mail("two", "Second")]))
    ada = subscriber(db, "ada@example.com", consent_status="withdrawn")
    add(db, program_id, [ada], T0)
    drive.tick(T0 + timedelta(minutes=5))
    assert drive.mails("ada@example.com") == []
    assert messages(db, ada) == []
    assert steps_of(db, ada) == [
        ("", "entered"), ("one", "skipped"), ("two", "skipped"), ("", "completed"),
    ]  # fmt: skip


def test_a_draft_program_sends_nothing(db: Database, drive: Drive) -> None:
    save(db, SEQUENCE, status="draft")
    ada = subscriber(db, "ada@example.com")
    drive.days(T0 + timedelta(minutes=5), 5)
    assert enrollments(db, ada) == []
    assert messages(db) == []


def test_the_global_pause_takes_no_step_until_lifted(db: Database, drive: Drive) -> None:
    save(db, SEQUENCE)
    ada = subscriber(db, "ada@example.com")
    guard_rails(db, paused=True)
    drive.days(T0 + timedelta(minutes=5), 3)
    assert drive.mails("ada@example.com") == []
    assert [enrollment.status for enrollment in enrollments(db, ada)] == ["active"]
    guard_rails(db, paused=False)
    drive.tick(T0 + 3 * DAY)
    assert drive.subjects("ada@example.com") == ["First"]


def test_a_paused_program_takes_no_step_and_enters_nobody(db: Database, drive: Drive) -> None:
    program_id = save(db, SEQUENCE)
    subscriber(db, "ada@example.com")
    drive.tick(T0 + timedelta(minutes=5))
    set_status(db, program_id, "paused", T0 + timedelta(hours=1))
    bob = subscriber(db, "bob@example.com", at=T0 + timedelta(hours=2))
    drive.days(T0 + DAY, 5)
    assert drive.subjects("ada@example.com") == ["First"]
    assert enrollments(db, bob) == []
    set_status(db, program_id, "active", T0 + 6 * DAY)
    drive.tick(T0 + 6 * DAY + timedelta(minutes=5))
    assert drive.subjects("ada@example.com") == ["First", "Second"]
    assert enrollments(db, bob) == []  # no backfill: it subscribed while paused
