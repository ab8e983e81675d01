"""Two scheduler processes at once (two threads here, each with its own connections): the
due steps are shared (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer at a time on
SQLite), every due step is taken once, and no message is written twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from content.orm import utcnow
from nurture.mail.models import MailMessage
from nurture.programs import scheduler
from nurture.programs.models import AbDecision, Enrollment, StepLog
from portal import program_jobs
from portal.db import Database
from portal.settings import Settings
from tests.nurture.programs.driving import (
    DAY,
    T0,
    add,
    guard_rails,
    mail,
    program,
    save,
    subscriber,
    wait,
)
from tracking.models import Lead
from tracking.rules.config import Model

START = T0 + timedelta(minutes=5)


def at_once(count: int, work: Callable[[], scheduler.Pass]) -> list[scheduler.Pass]:
    """Run ``work`` in ``count`` threads that start together; what each did."""
    start = threading.Barrier(count)
    done: list[scheduler.Pass] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            done.append(work())
        except BaseException as exc:  # reported by the test below
            failed.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failed, failed
    assert len(done) == count
    return done


def readers(db: Database, count: int) -> list[int]:
    with db.write() as session:
        leads = [
            Lead(email=f"reader{number}@example.com", consent_status="confirmed",
                 marketing_consent=True, created_at=utcnow(), last_activity_at=utcnow())
            for number in range(count)
        ]  # fmt: skip
        session.add_all(leads)
        session.flush()
        return [lead.id for lead in leads]


def test_two_ticks_at_once_take_every_due_step_once(db: Database, mail_settings: Settings) -> None:
    guard_rails(db, quiet_start=0, quiet_end=0, weekly_cap=0)
    steps = [mail("one", "One"), wait("pause", 1), mail("two", "Two")]
    by_hand = save(db, program("By hand", steps))
    save(db, program("Subscribers", steps, trigger={"kind": "subscribed"}))
    leads = readers(db, 120)
    add(db, by_hand, leads, START)
    for number in range(20):
        subscriber(db, f"new{number}@example.com", at=START)
    context = program_jobs.context_for(mail_settings, Model())

    def tick_at(moment: object) -> Callable[[], scheduler.Pass]:
        return lambda: scheduler.tick(db.write, moment, context, batch=10)  # type: ignore[arg-type]

    first = at_once(2, tick_at(START))
    assert sum(part.entered for part in first) == 20
    assert sum(part.sent for part in first) == 140
    second = at_once(2, tick_at(START + DAY))
    assert sum(part.sent for part in second) == 140
    assert sum(part.completed for part in second) == 140

    with db.read() as session:
        keys = Counter(session.scalars(select(MailMessage.dedupe_key)))
        assert len(keys) == 280
        assert set(keys.values()) == {1}
        taken = Counter(
            session.execute(select(StepLog.enrollment_id, StepLog.step_id, StepLog.outcome)).all()
        )
        assert set(taken.values()) == {1}  # no step (nor entering) logged twice
        per_lead = session.execute(
            select(Enrollment.program_id, func.count()).group_by(Enrollment.program_id)
        ).all()
        assert sorted(count for _, count in per_lead) == [20, 120]
        statuses = set(session.scalars(select(Enrollment.status)))
        assert statuses == {"completed"}


def test_two_ticks_deciding_one_ab_test_at_once_keep_one_verdict(
    db: Database, mail_settings: Settings
) -> None:
    guard_rails(db, quiet_start=0, quiet_end=0, weekly_cap=0)
    send = {
        "subjects": ["Subject A", "Subject B"],
        "ab": {"mode": "test", "share": 20, "decide_after_hours": 24},
        "body": "Hello.",
    }
    program_id = save(db, program("Tested", [{"id": "hello", "send": send}]))
    leads = readers(db, 100)
    add(db, program_id, leads, START)
    context = program_jobs.context_for(mail_settings, Model())
    scheduler.tick(db.write, START, context)
    at_once(3, lambda: scheduler.tick(db.write, START + DAY, context, batch=5))
    with db.read() as session:
        per_lead = Counter(session.scalars(select(MailMessage.lead_id)))
        assert sorted(lead_id or 0 for lead_id in per_lead) == sorted(leads)
        assert set(per_lead.values()) == {1}
        assert session.scalar(select(func.count()).select_from(AbDecision)) == 1
