"""Job states kept in the database, so every node (and /console/system) sees what each
process's jobs did: one row per job and process, written after passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Float, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from content.orm import Base, dialect_insert, utcnow
from portal.background import JobState, Scope
from portal.db import Database

WRITE_EVERY = 30.0
"""Seconds between stored states of a job that keeps succeeding (frequent jobs such as the
event writer pass many times a second; a singleton's pass, or a failure, is stored at once)."""
FORGET_AFTER = timedelta(days=7)
"""Rows of processes not heard from for this long are deleted (nodes come and go)."""


class JobRecord(Base):
    """The last known state of one job in one process."""

    __tablename__ = "background_job"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    interval: Mapped[float] = mapped_column(Float)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_duration: Mapped[float | None] = mapped_column(Float)
    last_outcome: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def recorder(database: Database) -> Callable[[JobState], None]:
    """The runner's ``record`` hook: store a job's state, at most every ``WRITE_EVERY`` seconds
    unless the pass belongs to a singleton or failed."""
    written: dict[str, float] = {}
    guard = threading.Lock()

    def record(state: JobState) -> None:
        now = time.monotonic()
        with guard:
            due = (
                state.scope is Scope.SINGLETON
                or state.failures > 0
                or now - written.get(state.name, float("-inf")) >= WRITE_EVERY
            )
            if not due:
                return
            written[state.name] = now
        with database.write() as session:
            store(session, state)

    return record


def store(session: Session, state: JobState) -> None:
    values = {
        "scope": state.scope.value,
        "interval": state.interval,
        "passes": state.passes,
        "failures": state.failures,
        "last_started_at": state.last_started_at,
        "last_finished_at": state.last_finished_at,
        "last_duration": state.last_duration,
        "last_outcome": state.last_outcome,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "updated_at": utcnow(),
    }
    insert = dialect_insert(session)
    session.execute(
        insert(JobRecord)
        .values(name=state.name, node=state.node, **values)
        .on_conflict_do_update(index_elements=[JobRecord.name, JobRecord.node], set_=values)
    )


def recorded(session: Session) -> list[JobState]:
    """Every stored job state, by job name, then most recently updated first."""
    rows = session.scalars(
        select(JobRecord).order_by(JobRecord.name, JobRecord.updated_at.desc())
    ).all()
    return [
        JobState(
            name=row.name,
            scope=Scope(row.scope),
            interval=row.interval,
            node=row.node,
            passes=row.passes,
            failures=row.failures,
            last_started_at=row.last_started_at,
            last_finished_at=row.last_finished_at,
            last_duration=row.last_duration,
            last_outcome=row.last_outcome,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
        )
        for row in rows
    ]


def forget_old(session: Session, now: datetime | None = None) -> int:
    """Delete the rows of processes not heard from in ``FORGET_AFTER``; returns how many."""
    now = now or utcnow()
    result = session.execute(delete(JobRecord).where(JobRecord.updated_at < now - FORGET_AFTER))
    return int(getattr(result, "rowcount", 0) or 0)
