"""Guard rails and versions, end to end: the weekly cap across programs, quiet hours in the
lead's own zone, re-entry, and leads finishing the version they started."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from nurture.mail.models import MailCategory
from nurture.mail.outbox import Mail, enqueue
from nurture.programs import rules
from nurture.programs.definition import from_yaml, to_yaml
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.programs.driving import (
    DAY,
    T0,
    Drive,
    enrollments,
    guard_rails,
    mail,
    messages,
    program,
    save,
    steps_of,
    subscriber,
    wait,
)
from tracking.identity.unlocks import unlock

MINUTE = timedelta(minutes=1)
START = T0 + 5 * MINUTE


def two_programs(db: Database, beta_waits: float) -> None:
    """Alpha mails on day 0 and day 4; Beta mails once, after ``beta_waits`` days."""
    subscribed = {"kind": "subscribed"}
    save(db, program("Alpha", [mail("a1", "Alpha 1"), wait("w", 4), mail("a2", "Alpha 2")],
                     trigger=subscribed))  # fmt: skip
    save(db, program("Beta", [wait("w", beta_waits), mail("b1", "Beta 1")], trigger=subscribed))


def test_a_mail_over_the_weekly_cap_waits_for_the_window_to_free(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, weekly_cap=2)
    two_programs(db, beta_waits=5)
    ada = subscriber(db, "ada@example.com")
    drive.days(START, 7)  # days 0 … 6
    assert drive.subjects("ada@example.com") == ["Alpha 1", "Alpha 2"]
    assert ("b1", "held") in steps_of(db, ada)
    drive.tick(START + 7 * DAY)  # Alpha 1 leaves the 7-day window
    assert drive.subjects("ada@example.com") == ["Alpha 1", "Alpha 2", "Beta 1"]
    sent = [message.created_at for message in messages(db, ada)]
    assert sent == [START, START + 4 * DAY, START + 7 * DAY]


def test_a_mail_the_cap_would_hold_too_long_is_skipped_and_the_lead_goes_on(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, weekly_cap=2)
    save(db, program("Alpha", [mail("a1", "Alpha 1"), wait("w", 1), mail("a2", "Alpha 2")],
                     trigger={"kind": "subscribed"}))  # fmt: skip
    save(db, program("Beta", [wait("w", 2), mail("b1", "Beta 1"), mail("b2", "Beta 2")],
                     trigger={"kind": "subscribed"}))  # fmt: skip
    ada = subscriber(db, "ada@example.com")
    drive.days(START, 10)
    # Beta's mails come on day 2, when the cap frees only on day 7: longer than a mail waits.
    assert drive.subjects("ada@example.com") == ["Alpha 1", "Alpha 2"]
    assert [step for step, outcome in steps_of(db, ada) if outcome == "capped"] == ["b1", "b2"]
    assert {enrollment.status for enrollment in enrollments(db, ada)} == {"completed"}


def test_a_held_mail_is_skipped_when_the_window_fills_again_meanwhile(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, weekly_cap=2)
    two_programs(db, beta_waits=5)
    ada = subscriber(db, "ada@example.com")
    drive.days(START, 6)  # Beta 1 is held on day 5 until day 7
    newsletter = Mail(to="ada@example.com", kind="test", category=MailCategory.MARKETING,
                      lead_id=ada)  # fmt: skip
    with db.write() as session:  # another marketing mail goes on day 6
        enqueue(session, newsletter, domain="pipewise.example", now=START + 6 * DAY)
    drive.tick(START + 6 * DAY)
    drive.days(START + 7 * DAY, 5)
    assert "Beta 1" not in drive.subjects("ada@example.com")
    outcomes = [outcome for step, outcome in steps_of(db, ada) if step == "b1"]
    assert outcomes == ["held", "capped"]
    # Held since day 5, the window would free on day 11: longer than a mail waits.
    assert START + 11 * DAY - (START + 5 * DAY) > rules.LONGEST_POSTPONE


def test_quiet_hours_hold_a_mail_until_morning_in_the_leads_zone(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, quiet_start=21, quiet_end=8)
    save(db, program("Hello", [mail("hello", "Hello")], trigger={"kind": "subscribed"}))
    new_york = ZoneInfo("America/New_York")
    ada = subscriber(db, "ada@example.com", time_zone="America/New_York")
    subscriber(db, "bea@example.com", time_zone="Europe/Berlin")
    local = START.astimezone(new_york)
    assert local.hour < 8  # 11:05 UTC is before 08:00 in New York
    morning = local.replace(hour=8, minute=0).astimezone(START.tzinfo)

    drive.tick(START)
    assert drive.subjects("bea@example.com") == ["Hello"]
    assert drive.mails("ada@example.com") == []
    (held,) = enrollments(db, ada)
    assert held.due_at == morning
    drive.tick(morning - MINUTE)
    assert drive.mails("ada@example.com") == []
    drive.tick(morning)
    assert drive.subjects("ada@example.com") == ["Hello"]
    assert steps_of(db, ada)[1:3] == [("hello", "held"), ("hello", "sent")]


def test_a_lead_with_no_zone_of_its_own_keeps_its_languages_quiet_hours(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, quiet_start=21, quiet_end=8)
    save(db, program("Hello", [mail("hello", "Hallo")], trigger={"kind": "subscribed"}))
    ada = subscriber(db, "ada@example.com", language="de")
    late = T0.replace(hour=21, minute=30)  # 22:30 or 23:30 in Berlin
    drive.tick(late)
    assert drive.mails("ada@example.com") == []
    (held,) = enrollments(db, ada)
    assert held.due_at.astimezone(ZoneInfo("Europe/Berlin")).hour == 8


def test_reentry_off_enters_a_lead_once_and_on_again_after_it_left(
    db: Database, drive: Drive
) -> None:
    once = save(db, program("Once", [mail("hi", "Once")], reentry=False,
                            trigger={"kind": "unlocked", "value": "kind:article"}))  # fmt: skip
    again = save(db, program("Again", [mail("hi", "Again"), wait("w", 2)], reentry=True,
                             trigger={"kind": "unlocked", "value": "kind:article"}))  # fmt: skip
    guides = [make_asset(db, title=f"Guide {number}") for number in range(3)]
    guard_rails(db, weekly_cap=0)
    ada = subscriber(db, "ada@example.com")

    with db.write() as session:
        unlock(session, ada, guides[0].id, START)
        unlock(session, ada, guides[1].id, START + MINUTE)  # while it is in "Again": no 2nd
    drive.tick(START + 2 * MINUTE)
    assert sorted(drive.subjects("ada@example.com")) == ["Again", "Once"]

    drive.tick(START + 3 * DAY)  # "Again" is done
    with db.write() as session:
        unlock(session, ada, guides[2].id, START + 4 * DAY)
    drive.tick(START + 4 * DAY + MINUTE)
    assert sorted(drive.subjects("ada@example.com")) == ["Again", "Again", "Once"]
    by_program = [(found.program_id, found.status) for found in enrollments(db, ada)]
    assert by_program == [(once, "completed"), (again, "completed"), (again, "active")]


def test_a_lead_finishes_the_version_it_started_and_new_leads_get_the_new_one(
    db: Database, drive: Drive
) -> None:
    first = program(
        "Sequence",
        [mail("one", "One"), wait("w", 2), mail("two", "Two")],
        trigger={"kind": "subscribed"},
    )
    program_id = save(db, first)
    ada = subscriber(db, "ada@example.com")
    drive.tick(START)

    text = to_yaml([(first, "active")]).replace("Two", "Two, rewritten") + (
        "- id: three\n  send:\n    subjects: [Three]\n    body: New step.\n"
    )
    ((second, status),) = from_yaml(text)
    assert save(db, second, at=START + DAY, status=status or "active") == program_id
    bea = subscriber(db, "bea@example.com", at=START + DAY)
    drive.days(START + DAY + MINUTE, 4)

    assert drive.subjects("ada@example.com") == ["One", "Two"]
    assert drive.subjects("bea@example.com") == ["One", "Two, rewritten", "Three"]
    assert [found.version for found in enrollments(db, ada)] == [1]
    assert [found.version for found in enrollments(db, bea)] == [2]
    assert [found.status for found in enrollments(db, ada) + enrollments(db, bea)] == [
        "completed", "completed",
    ]  # fmt: skip


def test_a_reader_who_wants_a_mail_a_week_gets_the_next_one_held_not_dropped(
    db: Database, drive: Drive
) -> None:
    steps = [mail("one", "One"), wait("w1", 4), mail("two", "Two"), wait("w2", 1),
             mail("three", "Three")]  # fmt: skip
    save(db, program("Sequence", steps, trigger={"kind": "subscribed"}))
    ada = subscriber(db, "ada@example.com", mail_frequency="weekly")
    drive.days(START, 12)
    # "Two" waits from day 4 until the week since "One" is (nearly) over; "Three" would wait
    # five days after it, longer than a mail waits, and is left out.
    assert drive.subjects("ada@example.com") == ["One", "Two"]
    sent = [message.created_at for message in messages(db, ada)]
    assert sent == [START, START + 6 * DAY]
    outcomes = [(step, outcome) for step, outcome in steps_of(db, ada) if step in ("two", "three")]
    assert outcomes == [("two", "held"), ("two", "sent"), ("three", "capped")]
