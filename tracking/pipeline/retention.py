"""Raw-event retention: events older than the retention period go; aggregates stay.

On PostgreSQL, where ``event`` is partitioned by month (``tracking.pipeline.partitions``),
every month that lies wholly before the cutoff is detached and dropped as a table: a month
of millions of events goes in well under a second, leaving no dead rows to vacuum. What
remains before the cutoff (the month it falls in, and old events in the default partition)
is deleted row by row, like everything on SQLite: in small chunks, each its own transaction,
so it never holds the write lock long enough to slow ingestion down. Both ways remove exactly
the events before the cutoff, so the roll-ups, lead states and aggregates, which outlive raw
events, stay as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, text

from content.orm import SessionSource, start_of, utcnow
from tracking.models import Event
from tracking.pipeline import partitions

CHUNK = 5000
COUNTED_BELOW = 100_000
"""A dropped month with fewer events (by the statistics) is counted for the job's report; a
larger one is reported as PostgreSQL's statistics estimate it (counting two million events
would take longer than dropping them)."""


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    """The first moment kept: midnight (UTC) of the day ``retention_days`` before ``now``.

    Whole UTC days go at once, so no day is left half-counted when the daily roll-ups are
    rebuilt from what remains."""
    limit = (now or utcnow()) - timedelta(days=retention_days)
    return start_of(limit.astimezone(UTC).date())


def delete_expired_events(
    database: SessionSource, retention_days: int, now: datetime | None = None
) -> int:
    """Delete raw events that occurred more than ``retention_days`` ago; returns how many."""
    cutoff = cutoff_for(retention_days, now)
    deleted = drop_expired_months(database, cutoff)
    while True:
        with database.write() as session:
            ids = list(
                session.scalars(select(Event.id).where(Event.occurred_at < cutoff).limit(CHUNK))
            )
            if ids:
                # The time condition again: PostgreSQL then looks only in the partitions
                # before the cutoff for these ids.
                session.execute(delete(Event).where(Event.id.in_(ids), Event.occurred_at < cutoff))
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted


def drop_expired_months(database: SessionSource, cutoff: datetime) -> int:
    """Drop the month partitions that end at or before ``cutoff``; returns the events they held
    (0 on SQLite; a large month as the statistics estimate it).

    Each month is detached in a transaction of its own and dropped in the next: detaching locks
    ``event`` for a moment (readers and ingestion wait for it), while removing the month's files
    (hundreds of milliseconds for two million events on a busy disk) then locks only the
    detached table."""
    with database.read() as session:
        connection = session.connection()
        if not partitions.is_partitioned(connection):
            return 0
        expired = [
            partitions.partition_name(month)
            for month in partitions.months(connection)
            if partitions.bounds(month)[1] <= cutoff
        ]
        left = [name for name in partitions.detached(connection) if _ends_by(name, cutoff)]
    dropped = 0
    for name in expired:
        with database.write() as session:
            dropped += _detach_month(session.connection(), name)
    for name in [*left, *expired]:
        with database.write() as session:
            session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    return dropped


def _ends_by(name: str, cutoff: datetime) -> bool:
    month = partitions.month_of_partition(name)
    return month is not None and partitions.bounds(month)[1] <= cutoff


def _detach_month(connection: Connection, name: str) -> int:
    # The lock timeout keeps a long report from queueing ingestion behind the detach (which
    # waits for it): the next pass tries again.
    connection.execute(text(f"SET LOCAL lock_timeout = '{partitions.LOCK_TIMEOUT}'"))
    estimate = connection.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"), {"name": name}
    )
    if estimate is not None and estimate >= COUNTED_BELOW:
        held = round(estimate)
    else:  # never analyzed (-1) or small
        held = connection.scalar(select(func.count()).select_from(text(name))) or 0
    connection.execute(text(f"ALTER TABLE {partitions.PARENT} DETACH PARTITION {name}"))
    return int(held)
