"""The ``program-scheduler`` job as /console/system and /healthz see it, and exits by hand in
the step log: steps held on purpose (a paused program, the global pause) never count as a
job falling behind; a program that never looked for its time-driven leads is due to look."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from content.orm import utcnow
from nurture.programs.models import Enrollment, Program, StepLog
from portal import program_jobs
from portal.db import Database
from tests.nurture.programs.driving import (
    add,
    guard_rails,
    mail,
    program,
    save,
    set_status,
    subscriber,
)


def overdue(db: Database) -> None:
    """Every active enrollment's next step due an hour ago (the job fell behind, or not)."""
    with db.write() as session:
        session.execute(update(Enrollment).values(due_at=utcnow() - timedelta(hours=1)))


def test_steps_of_a_paused_program_are_no_backlog(db: Database) -> None:
    now = utcnow()
    lead = subscriber(db, "ada@example.com", at=now)
    program_id = save(db, program("Hold", [mail("one", "One")]), at=now)
    add(db, program_id, [lead], now)
    overdue(db)
    behind = program_jobs.backlog(db)
    assert behind.summary.startswith("1 step(s) due since")
    assert behind.behind

    set_status(db, program_id, "paused", now)
    held = program_jobs.backlog(db)
    assert held.summary == "no step due"
    assert not held.behind


def test_the_global_pause_is_named_and_never_makes_the_job_behind(db: Database) -> None:
    now = utcnow()
    lead = subscriber(db, "ada@example.com", at=now)
    program_id = save(db, program("Hold", [mail("one", "One")]), at=now)
    add(db, program_id, [lead], now)
    overdue(db)
    guard_rails(db, paused=True)
    held = program_jobs.backlog(db)
    assert held.summary == "1 step(s) due, held by the global pause"
    assert not held.behind


def test_a_time_driven_program_that_never_looked_is_due_to_look(db: Database) -> None:
    quiet = program("Quiet", [mail("one", "One")], trigger={"kind": "inactive", "days": 30})
    program_id = save(db, quiet, at=utcnow())
    with db.write() as session:
        session.execute(update(Program).values(checked_until=None))
    assert program_jobs.timed_due(db, utcnow())
    with db.write() as session:
        session.execute(update(Program).where(Program.id == program_id).values(
            checked_until=utcnow()))  # fmt: skip
    assert not program_jobs.timed_due(db, utcnow())
    assert program_jobs.timed_due(db, utcnow() + program_jobs.TIMED_EVERY)


def test_archiving_logs_each_leads_exit(db: Database) -> None:
    now = utcnow()
    leads = [subscriber(db, f"lead{n}@example.com", at=now) for n in range(3)]
    program_id = save(db, program("Archive me", [mail("one", "One")]), at=now)
    add(db, program_id, leads, now)
    set_status(db, program_id, "archived", now)
    with db.read() as session:
        exits = session.execute(
            select(StepLog.lead_id, StepLog.detail).where(
                StepLog.program_id == program_id, StepLog.outcome == "exited"
            )
        ).all()
    assert sorted(exits) == [(lead, "program archived") for lead in sorted(leads)]
