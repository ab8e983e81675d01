"""The event log's monthly partitions on PostgreSQL (DESIGN.md, "Background work").

On PostgreSQL ``event`` is partitioned by RANGE on ``occurred_at``: one partition per UTC
month (``event_2026_12`` holds December 2026) and ``event_default`` for any time outside
them (a clock far off, an import of old events), so no event is ever refused or lost. The
``event-partitions`` job creates the current month and the next ``MONTHS_AHEAD`` before
they are needed, and gives a past month its own partition when the default one holds its
events (an import of old events); retention (``tracking.pipeline.retention``) drops the
months that lie wholly before its cutoff. On SQLite ``event`` stays one table and everything
here does nothing.

An event's ``uid`` is unique within its partition (a unique index on each: PostgreSQL cannot
keep one unique index over all partitions without the partition key in it). Ingestion looks
a batch's uids up across all partitions before it inserts, so a resend is stored once;
only two copies written at the same instant on either side of a month's boundary could both
be stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

from content.orm import SessionSource, utcnow

PARENT = "event"
DEFAULT = "event_default"
MONTHS_AHEAD = 3
"""Months created ahead of the current one: events stamped a little in the future (a fast
clock, a scheduled webinar) find their month, and a stopped job leaves three months' grace."""
PAST_MONTHS = 120
"""How far back the job gives a month its own partition when the default one holds its events
(older events stay in the default partition until retention deletes them)."""
LOCK_TIMEOUT = "5s"
"""How long partition DDL waits for a lock before it gives up until the next pass (a DDL
waiting on the parent would queue every reader and writer of events behind it)."""

_MONTH = re.compile(r"^event_(\d{4})_(\d{2})$")


def month_of(moment: datetime) -> date:
    """The first day of the UTC month of a moment."""
    day = moment.astimezone(UTC).date()
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month`` (before, when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    """The partition of a month: ``event_2026_12``."""
    return f"{PARENT}_{month.year:04d}_{month.month:02d}"


def month_of_partition(name: str) -> date | None:
    """The month a partition holds, from its name; None for the default (or another) table."""
    found = _MONTH.match(name)
    return date(int(found.group(1)), int(found.group(2)), 1) if found else None


def is_partition(name: str) -> bool:
    """A table that is one of ``event``'s partitions (a month's or the default)."""
    return name == DEFAULT or month_of_partition(name) is not None


def bounds(month: date) -> tuple[datetime, datetime]:
    """The range of a month's partition: from its first instant (UTC) to the next month's."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = add_months(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


def is_partitioned(connection: Connection) -> bool:
    """True on PostgreSQL once the migration has partitioned ``event``."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(
        connection.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p"
                " JOIN pg_class c ON c.oid = p.partrelid"
                " WHERE c.relname = :parent AND c.relnamespace = current_schema()::regnamespace)"
            ),
            {"parent": PARENT},
        )
    )


def partitions(connection: Connection) -> list[str]:
    """The names of ``event``'s partitions (months and default), oldest month first."""
    names = connection.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    ).all()
    return sorted(names, key=lambda name: (month_of_partition(name) or date.max, name))


def detached(connection: Connection) -> list[str]:
    """Month tables no longer attached to ``event``: retention detaches a month, commits, and
    then drops it; a process stopped in between leaves the table to the next pass."""
    return list(
        connection.scalars(
            text(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition"
                " AND relnamespace = current_schema()::regnamespace"
                " AND relname ~ '^event_[0-9]{4}_[0-9]{2}$' ORDER BY relname"
            )
        )
    )


def months(connection: Connection) -> list[date]:
    """The months that have a partition, oldest first."""
    return [m for m in map(month_of_partition, partitions(connection)) if m is not None]


def create_default(connection: Connection) -> None:
    """The default partition: every event whose month has no partition lands here."""
    connection.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {PARENT} DEFAULT"))
    unique_uid(connection, DEFAULT)


def create_month(connection: Connection, month: date) -> None:
    """Add a month's partition, moving that month's events out of the default partition.

    Built beside the table and then attached: attaching takes a lock that lets readers and
    writers of other months go on (creating a partition in place would lock all of
    ``event``), and the default partition is locked first, so no event of the month can
    land there between the move and the attach."""
    name = partition_name(month)
    start, end = bounds(month)
    window = {"start": start, "end": end}
    has_default = DEFAULT in partitions(connection)
    if has_default:
        connection.execute(text(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(
        text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    if has_default:
        connection.execute(
            text(
                f"WITH moved AS (DELETE FROM {DEFAULT}"  # noqa: S608 (names made here)
                " WHERE occurred_at >= :start AND occurred_at < :end RETURNING *)"
                f" INSERT INTO {name} SELECT * FROM moved"
            ),
            window,
        )
    # A CHECK constraint that matches the range spares the attach a scan of the new table.
    connection.execute(
        text(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_range"
            f" CHECK (occurred_at >= '{start.isoformat()}' AND occurred_at < '{end.isoformat()}')"
        )
    )
    connection.execute(
        text(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {name}"
            f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    connection.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range"))
    unique_uid(connection, name)


def unique_uid(connection: Connection, name: str) -> None:
    """The unique index on a partition's uids (only the events that have one)."""
    connection.execute(
        text(f"CREATE UNIQUE INDEX uq_{name}_uid ON {name} (uid) WHERE uid IS NOT NULL")
    )


def missing_months(
    existing: Iterable[date], now: datetime, ahead: int = MONTHS_AHEAD
) -> list[date]:
    """The months from the current one to ``ahead`` months later that have no partition."""
    have = set(existing)
    current = month_of(now)
    wanted = (add_months(current, n) for n in range(ahead + 1))
    return [month for month in wanted if month not in have]


def default_months(connection: Connection, now: datetime) -> list[date]:
    """The months of the last ``PAST_MONTHS`` that hold events in the default partition (an
    import of old events, a clock that was off), oldest first: one index probe per month."""
    start, _ = bounds(add_months(month_of(now), -PAST_MONTHS))
    return list(
        connection.scalars(
            text(
                "WITH RECURSIVE month (first) AS ("  # noqa: S608 (names made here)
                f" SELECT date_trunc('month', min(occurred_at) AT TIME ZONE 'UTC') FROM {DEFAULT}"
                "  WHERE occurred_at >= :start"
                " UNION ALL"
                " SELECT (SELECT date_trunc('month', min(e.occurred_at) AT TIME ZONE 'UTC')"
                f"  FROM {DEFAULT} e"
                "  WHERE e.occurred_at >= (month.first + interval '1 month') AT TIME ZONE 'UTC')"
                " FROM month WHERE month.first IS NOT NULL"
                ") SELECT first::date FROM month WHERE first IS NOT NULL"
            ),
            {"start": start},
        )
    )


def ensure(connection: Connection, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the default partition and the months up to ``ahead`` after ``now`` that are
    missing, and the oldest past month whose events wait in the default partition (one a
    pass: moving a month's events holds the default partition meanwhile); returns the names
    created (none on SQLite or when all exist)."""
    if not is_partitioned(connection):
        return []
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    created = []
    if DEFAULT not in partitions(connection):
        create_default(connection)
        created.append(DEFAULT)
    wanted = missing_months(months(connection), now, ahead)
    current = month_of(now)
    waiting = [month for month in default_months(connection, now) if month < current]
    for month in [*waiting[:1], *wanted]:
        create_month(connection, month)
        created.append(partition_name(month))
    return created


def keep_partitions(database: SessionSource, now: datetime | None = None) -> list[str]:
    """One pass of the ``event-partitions`` job (``ensure``); returns the partitions it made."""
    with database.write() as session:
        return ensure(session.connection(), now or utcnow())
