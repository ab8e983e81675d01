"""The ``program-scheduler`` job and ``leadshelf programs tick``: build the scheduler's context
from the settings and the model, look before writing (an idle pass takes no write lock), and
say what a pass did. The work itself is ``nurture.programs.scheduler``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from content.orm import utcnow
from nurture.mail.smtp import parse_sender
from nurture.programs import scheduler, store
from nurture.programs.definition import Status
from nurture.programs.models import Enrollment, Program
from nurture.programs.scheduler import TIMED, Context, Pace
from portal.background import Backlog, older_than, when
from portal.db import Database
from portal.settings import Settings
from tracking.rules.config import Model

TIMED_EVERY = timedelta(minutes=1)
"""How often the time-driven triggers (quiet leads, webinar follow-ups) look."""
BEHIND_AFTER = timedelta(minutes=10)
"""A program step due for this long and not taken makes /healthz degraded."""
SQLITE_PACE = Pace(budget=0.004)
"""SQLite has one writer: a batch holds the lock about 4 ms, then rests as long, so a beacon
waits a few milliseconds at most (bench/programs.py; bench/README.md, issue 16)."""
POSTGRES_PACE = Pace(budget=0.05, first=50)
"""PostgreSQL has no such lock; the rest leaves the CPU to the requests."""


def pace_for(database: Database) -> Pace:
    return SQLITE_PACE if database.is_sqlite else POSTGRES_PACE


def context_for(settings: Settings, model: Model) -> Context:
    return Context(
        stages=model.stages,
        domain=parse_sender(settings.mail_from).domain,
        default_language=settings.default_language,
    )


def tick(database: Database, settings: Settings, model: Model, now: datetime) -> scheduler.Pass:
    """One full pass as if at ``now`` (``leadshelf programs tick --at``)."""
    return scheduler.tick(
        database.write, now, context_for(settings, model), pace=pace_for(database)
    )


def timed_due(database: Database, now: datetime) -> bool:
    """Whether an active program with a time-driven trigger has not looked for a minute (or
    never looked: a program activated without a start looks from its first pass)."""
    with database.read() as session:
        looked = session.scalars(
            select(Program.checked_until).where(
                Program.status == Status.ACTIVE.value,
                Program.trigger.in_([kind.value for kind in TIMED]),
            )
        ).all()
    return any(moment is None or now - moment >= TIMED_EVERY for moment in looked)


def run(database: Database, settings: Settings, model: Model) -> str | None:
    """The job's pass: nothing written unless a change, a due step or a time trigger waits."""
    now = utcnow()
    with database.read() as session:
        due = scheduler.has_due(session, now)
    if not due and not timed_due(database, now):
        return None
    return tick(database, settings, model, now).describe()


def backlog(database: Database) -> Backlog:
    """Steps due and not taken. Steps of paused programs, or of all programs under the global
    pause, wait on purpose: they are named but never make /healthz degraded."""
    now = utcnow()
    with database.read() as session:
        paused = store.globally_paused(session)
        waiting, oldest = session.execute(
            select(func.count(Enrollment.id), func.min(Enrollment.due_at))
            .join(Program, Program.id == Enrollment.program_id)
            .where(
                Enrollment.status == "active",
                Enrollment.due_at <= now,
                Program.status == Status.ACTIVE.value,
            )
        ).one()
    if not waiting:
        return Backlog("no step due")
    if paused:
        return Backlog(f"{waiting} step(s) due, held by the global pause")
    return Backlog(
        f"{waiting} step(s) due since {when(oldest)}", behind=older_than(oldest, BEHIND_AFTER)
    )
