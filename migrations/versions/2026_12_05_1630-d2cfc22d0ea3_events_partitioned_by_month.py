"""PostgreSQL: the event table partitioned by month on ``occurred_at`` (issue 19 §5).

A new partitioned ``event`` takes the rows of the old one: a partition for every month that
holds events (at most ten years back) and from the current month to three months ahead, and
a default partition for everything else (``tracking.pipeline.partitions``). The primary key becomes
``(id, occurred_at)`` (a partitioned table's unique keys hold its partition key; ids still
come from the same sequence and stay unique), and ``uid`` is unique within each partition.
No table refers to event ids. On SQLite nothing changes: one table, as before.

The copy rewrites the whole table in one transaction: about as long as building its
indexes again, and twice its size on disk until the old table is dropped.

Revision ID: d2cfc22d0ea3
Revises: b5d2e8f3a961
"""

from __future__ import annotations

from datetime import date

from alembic import op
from sqlalchemy import Connection, text

from content.orm import utcnow
from tracking.models import WEBINAR_EVENTS
from tracking.pipeline import partitions

revision = "d2cfc22d0ea3"
down_revision = "b5d2e8f3a961"
branch_labels = None
depends_on = None

OLDEST_MONTHS = 120
"""Events older than this many months (a clock far off) go to the default partition."""

INDEXES = (
    "CREATE INDEX ix_event_lead_trail ON event (lead_id, occurred_at, id)",
    "CREATE INDEX ix_event_visitor ON event (visitor_id, id)",
    "CREATE INDEX ix_event_occurred_at ON event (occurred_at)",
    "CREATE INDEX ix_event_webinar ON event (asset_id, lead_id, type, occurred_at)"
    f" WHERE {WEBINAR_EVENTS}",
)
FOREIGN_KEYS = (
    "ALTER TABLE event ADD CONSTRAINT fk_event_lead_id_lead FOREIGN KEY (lead_id)"
    " REFERENCES lead (id) ON DELETE SET NULL",
    "ALTER TABLE event ADD CONSTRAINT fk_event_asset_id_asset FOREIGN KEY (asset_id)"
    " REFERENCES asset (id) ON DELETE SET NULL",
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    found = _event_months(connection)
    _strip("event", unique="uq_event_uid")
    op.execute("ALTER TABLE event RENAME TO event_unpartitioned")
    op.execute(
        "CREATE TABLE event (LIKE event_unpartitioned INCLUDING DEFAULTS)"
        " PARTITION BY RANGE (occurred_at)"
    )
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY event.id")
    partitions.create_default(connection)
    for month in _months(found):
        partitions.create_month(connection, month)
    op.execute("INSERT INTO event SELECT * FROM event_unpartitioned")
    op.execute("DROP TABLE event_unpartitioned")
    op.execute("ALTER TABLE event ADD CONSTRAINT pk_event PRIMARY KEY (id, occurred_at)")
    _build(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    _strip("event")
    op.execute("ALTER TABLE event RENAME TO event_partitioned")
    op.execute("CREATE TABLE event (LIKE event_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY event.id")
    op.execute("INSERT INTO event SELECT * FROM event_partitioned")
    op.execute("DROP TABLE event_partitioned")  # and its partitions
    op.execute("ALTER TABLE event ADD CONSTRAINT pk_event PRIMARY KEY (id)")
    op.execute("ALTER TABLE event ADD CONSTRAINT uq_event_uid UNIQUE (uid)")
    _build(connection)


def _months(found: list[date]) -> list[date]:
    """The months to create: each month that holds events (at most ``OLDEST_MONTHS`` back),
    and the current one to ``MONTHS_AHEAD`` after it."""
    current = partitions.month_of(utcnow())
    oldest = partitions.add_months(current, -OLDEST_MONTHS)
    ahead = [partitions.add_months(current, n) for n in range(partitions.MONTHS_AHEAD + 1)]
    return sorted({m for m in found if oldest <= m <= ahead[-1]} | set(ahead))


def _event_months(connection: Connection) -> list[date]:
    """The UTC months that hold events, one index probe per month (a skip scan)."""
    return list(
        connection.scalars(
            text(
                "WITH RECURSIVE month (first) AS ("
                " SELECT date_trunc('month', min(occurred_at) AT TIME ZONE 'UTC') FROM event"
                " UNION ALL"
                " SELECT (SELECT date_trunc('month', min(e.occurred_at) AT TIME ZONE 'UTC')"
                " FROM event e"
                " WHERE e.occurred_at >= (month.first + interval '1 month') AT TIME ZONE 'UTC')"
                " FROM month WHERE month.first IS NOT NULL"
                ") SELECT first::date FROM month WHERE first IS NOT NULL"
            )
        )
    )


def _strip(table: str, unique: str | None = None) -> None:
    """Drop the table's keys and indexes before its rows move (they are built after)."""
    for name in ("fk_event_lead_id_lead", "fk_event_asset_id_asset", "pk_event", unique):
        if name:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name in (
        "ix_event_lead_trail",
        "ix_event_visitor",
        "ix_event_occurred_at",
        "ix_event_webinar",
    ):
        op.execute(f"DROP INDEX {name}")


def _build(connection: Connection) -> None:
    connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for statement in (*INDEXES, *FOREIGN_KEYS):
        op.execute(statement)
    op.execute("ANALYZE event")  # autovacuum analyzes partitions, never their parent
