"""Due steps taken a batch at a time: what one lead's step decides is seen by the next step
of the same batch (two programs mailing a lead in one pass keep to the weekly cap), and one
suppressed address in a batch costs only its own mail."""

from __future__ import annotations

from datetime import timedelta

from nurture.mail import suppression
from nurture.mail.models import SuppressionReason
from portal.db import Database
from tests.nurture.programs.driving import (
    T0,
    Drive,
    add,
    enrollments,
    guard_rails,
    mail,
    messages,
    program,
    save,
    steps_of,
    subscriber,
)

START = T0 + timedelta(minutes=5)


def test_two_programs_mailing_a_lead_in_one_pass_keep_to_the_weekly_cap(
    db: Database, drive: Drive
) -> None:
    guard_rails(db, weekly_cap=1)
    subscribed = {"kind": "subscribed"}
    save(db, program("Alpha", [mail("a1", "Alpha 1")], trigger=subscribed))
    save(db, program("Beta", [mail("b1", "Beta 1")], trigger=subscribed))
    ada = subscriber(db, "ada@example.com")
    drive.tick(START)
    assert len(drive.subjects("ada@example.com")) == 1
    mailed = [outcome for step, outcome in steps_of(db, ada) if step in ("a1", "b1")]
    assert sorted(mailed) == ["capped", "sent"]


def test_a_suppressed_address_in_a_batch_gets_nothing_and_the_others_their_mail(
    db: Database, drive: Drive
) -> None:
    welcome = save(db, program("Hello", [mail("m", "Hello")]))
    leads = [subscriber(db, f"reader{n}@example.com") for n in range(5)]
    with db.write() as session:
        suppression.suppress(
            session,
            "reader2@example.com",
            SuppressionReason.HARD_BOUNCE,
            START - timedelta(hours=1),
        )
    add(db, welcome, leads, START - timedelta(minutes=1))
    drive.tick(START)
    addressed = sorted(address for found in drive.sink.messages for address in found.rcpt_to)
    assert addressed == [f"reader{n}@example.com" for n in (0, 1, 3, 4)]
    assert messages(db, leads[2]) == []
    (ended,) = enrollments(db, leads[2])
    assert ended.status == "exited"
