"""The event log by month (issue 19 §5) on SQLite and PostgreSQL: on PostgreSQL every event
lands in its month's partition, or the default one when its month has none (never lost); the
event-partitions job creates the months ahead once and moves the default partition's events
into a month it creates; retention drops whole months and deletes the rest row by row, leaving
the same events and roll-ups as on SQLite; the migration keeps every event, up and down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import literal_column, select, text

from content.models import Asset
from content.orm import utcnow
from portal.db import Database
from portal.migrate import alembic_config
from tests.factories import make_asset
from tracking import events
from tracking.models import AssetDaily, Event
from tracking.pipeline import partitions, rollups
from tracking.pipeline.ingest import record
from tracking.pipeline.retention import delete_expired_events
from tracking.reporting import trails

BEFORE_PARTITIONING = "d2cfc22d0ea3-1"
FAR_PAST = datetime(1990, 1, 1, 12, 0, tzinfo=UTC)
FAR_FUTURE = datetime(2090, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def guide(db: Database) -> Asset:
    return make_asset(db)


def ingest(db: Database, *tracked: events.TrackedEvent) -> None:
    with db.write() as session:
        record(session, tracked, now=utcnow())


def view(asset: Asset, at: datetime, visitor: str = "ann", uid: str | None = None) -> Any:
    return events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at, uid=uid)


def stored(db: Database) -> list[tuple[datetime, str | None]]:
    with db.read() as session:
        rows = session.execute(select(Event.occurred_at, Event.uid).order_by(Event.occurred_at))
        return [(at, uid) for at, uid in rows]


def homes(db: Database) -> dict[datetime, str]:
    """Where each event is stored: its partition (PostgreSQL) or ``event`` (SQLite)."""
    place = literal_column("'event'" if db.is_sqlite else "tableoid::regclass::text")
    with db.read() as session:
        return {at: home for at, home in session.execute(select(Event.occurred_at, place))}


def existing(db: Database) -> list[str]:
    with db.read() as session:
        connection = session.connection()
        return partitions.partitions(connection) if partitions.is_partitioned(connection) else []


def with_month(db: Database, month: date) -> None:
    """A month's partition, as the migration makes one for a month that holds events."""
    if db.is_sqlite or partitions.partition_name(month) in existing(db):
        return
    with db.write_connection() as connection:
        partitions.create_month(connection, month)


def test_partition_names_and_months() -> None:
    assert partitions.partition_name(date(2026, 12, 1)) == "event_2026_12"
    assert partitions.month_of_partition("event_2027_01") == date(2027, 1, 1)
    assert partitions.month_of_partition("event_default") is None
    assert partitions.is_partition("event_default")
    assert not partitions.is_partition("event_unlock")
    assert partitions.add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert partitions.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert partitions.bounds(date(2026, 12, 1)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert partitions.missing_months([date(2027, 1, 1)], now) == [
        date(2026, 12, 1),
        date(2027, 2, 1),
        date(2027, 3, 1),
    ]


def test_migrated_postgresql_has_this_month_three_ahead_and_a_default(db: Database) -> None:
    current = partitions.month_of(utcnow())
    found = existing(db)
    if db.is_sqlite:
        assert found == []  # one table
        return
    ahead = [partitions.partition_name(partitions.add_months(current, n)) for n in range(4)]
    assert set(ahead) <= set(found)
    assert "event_default" in found


def test_an_event_lands_in_its_months_partition(db: Database, guide: Asset) -> None:
    now = utcnow()
    ingest(db, view(guide, now, uid="beacon-1"))
    assert stored(db) == [(now, "beacon-1")]
    expected = "event" if db.is_sqlite else partitions.partition_name(partitions.month_of(now))
    assert homes(db) == {now: expected}


@pytest.mark.parametrize("moment", [FAR_PAST, FAR_FUTURE], ids=["past", "future"])
def test_an_event_of_a_month_without_partition_is_kept_in_the_default(
    db: Database, guide: Asset, moment: datetime
) -> None:
    ingest(db, view(guide, moment), view(guide, utcnow(), visitor="bob"))
    assert homes(db)[moment] == ("event" if db.is_sqlite else "event_default")
    with db.read() as session:  # the console sees it like any other
        lead_free = session.scalars(select(Event.occurred_at).where(Event.visitor_id == "ann"))
        assert list(lead_free) == [moment]


def test_a_resent_uid_is_stored_once_whichever_month_it_would_land_in(
    db: Database, guide: Asset
) -> None:
    ingest(db, view(guide, FAR_FUTURE, uid="resent"))
    ingest(db, view(guide, utcnow(), uid="resent"))  # a resend is stamped anew
    assert [uid for _, uid in stored(db)] == ["resent"]


def test_the_partition_job_makes_the_months_ahead_once(db: Database) -> None:
    now = utcnow()
    first = partitions.keep_partitions(db, now)
    again = partitions.keep_partitions(db, now)
    assert again == []
    if db.is_sqlite:
        assert first == []
        return
    later = now + timedelta(days=62)
    created = partitions.keep_partitions(db, later)
    wanted = {partitions.partition_name(m) for m in partitions.missing_months([], later)}
    assert set(created) <= wanted
    assert wanted <= set(existing(db))
    assert partitions.keep_partitions(db, later) == []


def test_a_new_month_takes_its_events_from_the_default_partition(
    db: Database, guide: Asset
) -> None:
    current = partitions.month_of(utcnow())
    month = partitions.add_months(current, 7)  # beyond the months made ahead
    moment = partitions.bounds(month)[0] + timedelta(days=3, hours=5)
    ingest(db, view(guide, moment, uid="early"), view(guide, utcnow(), visitor="bob"))
    if not db.is_sqlite:
        assert homes(db)[moment] == "event_default"
    created = partitions.keep_partitions(db, moment - timedelta(days=40))
    name = partitions.partition_name(month)
    assert (name in created) is not db.is_sqlite
    assert homes(db)[moment] == ("event" if db.is_sqlite else name)
    assert len(stored(db)) == 2
    with db.read() as session:
        assert session.scalar(select(Event.uid).where(Event.occurred_at == moment)) == "early"


def test_imported_months_get_their_own_partition_one_a_pass_and_retention_drops_them_whole(
    db: Database, guide: Asset
) -> None:
    now = utcnow()
    current = partitions.month_of(now)
    older, old = partitions.add_months(current, -9), partitions.add_months(current, -5)
    at_older = partitions.bounds(older)[0] + timedelta(days=2)
    at_old = partitions.bounds(old)[0] + timedelta(days=20)
    ingest(db, view(guide, at_older), view(guide, at_old, visitor="bob"), view(guide, FAR_PAST))
    first = partitions.keep_partitions(db, now)
    second = partitions.keep_partitions(db, now)
    if db.is_sqlite:
        assert first == second == []
        return
    assert first == [partitions.partition_name(older)]  # the oldest first, one a pass
    assert second == [partitions.partition_name(old)]
    assert partitions.keep_partitions(db, now) == []
    assert homes(db)[at_older] == partitions.partition_name(older)
    assert homes(db)[at_old] == partitions.partition_name(old)
    assert homes(db)[FAR_PAST] == "event_default"  # beyond ten years: left to retention
    assert delete_expired_events(db, 220, now) == 2
    assert partitions.partition_name(older) not in existing(db)
    assert [at for at, _ in stored(db)] == [at_old]


def test_retention_drops_whole_months_and_leaves_the_rollups_as_they_were(
    db: Database, guide: Asset
) -> None:
    old, straddled = date(2025, 1, 1), date(2025, 2, 1)
    with_month(db, old)
    with_month(db, straddled)
    moments = [
        datetime(2025, 1, 3, 10, tzinfo=UTC),
        datetime(2025, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2025, 2, 4, 9, tzinfo=UTC),  # before the cutoff (Feb 5): deleted row by row
        datetime(2025, 2, 5, 0, tzinfo=UTC),  # the cutoff's midnight: kept
        datetime(2025, 2, 20, 8, tzinfo=UTC),
        utcnow(),
    ]
    ingest(db, *(view(guide, at, visitor=f"v{n}") for n, at in enumerate(moments)))
    before = rollup_rows(db)
    now = datetime(2025, 3, 7, 15, tzinfo=UTC)  # 30 days: the cutoff is Feb 5, 00:00

    assert delete_expired_events(db, 30, now=now) == 3

    assert [at for at, _ in stored(db)] == moments[3:]
    if not db.is_sqlite:
        left = existing(db)
        assert partitions.partition_name(old) not in left
        assert partitions.partition_name(straddled) in left
    with db.write() as session:
        rollups.rebuild(session)
    assert rollup_rows(db) == before
    assert delete_expired_events(db, 30, now=now) == 0


def test_retention_drops_a_month_a_stopped_pass_left_detached(db: Database, guide: Asset) -> None:
    if db.is_sqlite:
        return
    month = date(2024, 5, 1)
    with_month(db, month)
    ingest(db, view(guide, datetime(2024, 5, 9, 12, tzinfo=UTC)))
    name = partitions.partition_name(month)
    with db.write_connection() as connection:  # detached, then the process stopped
        connection.execute(text(f"ALTER TABLE event DETACH PARTITION {name}"))
    with db.read() as session:
        assert partitions.detached(session.connection()) == [name]

    delete_expired_events(db, 30, now=datetime(2024, 7, 1, tzinfo=UTC))

    with db.read() as session:
        assert partitions.detached(session.connection()) == []
    assert name not in existing(db)


def rollup_rows(db: Database) -> dict[date, tuple[int, int]]:
    with db.read() as session:
        rows = session.execute(select(AssetDaily.day, AssetDaily.views, AssetDaily.readers))
        return {day: (views, readers) for day, views, readers in rows}


def test_retention_reaches_old_events_in_the_default_partition(db: Database, guide: Asset) -> None:
    ingest(db, view(guide, FAR_PAST), view(guide, utcnow(), visitor="bob"))
    assert delete_expired_events(db, 30) == 1
    assert FAR_PAST not in homes(db)
    assert len(stored(db)) == 1


@pytest.fixture
def unpartitioned(db: Database) -> Iterator[None]:
    """The database just before the partitioning migration, and back at head afterwards."""
    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE_PARTITIONING)
    try:
        yield
    finally:
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def test_the_migration_keeps_every_event_down_and_up(
    db: Database, guide: Asset, unpartitioned: None
) -> None:
    now = utcnow()
    moments = [FAR_PAST, datetime(2025, 6, 3, 8, tzinfo=UTC), now, FAR_FUTURE]
    with db.write_connection() as connection:
        for n, at in enumerate(moments):
            connection.execute(
                text(
                    "INSERT INTO event (uid, visitor_id, type, asset_id, occurred_at)"
                    " VALUES (:uid, 'ann', 'asset_view', :asset, :at)"
                ),
                {"uid": f"u{n}", "asset": guide.id, "at": at},
            )
    with db.read() as session:
        assert not partitions.is_partitioned(session.connection())

    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    assert stored(db) == [(at, f"u{n}") for n, at in enumerate(moments)]
    if not db.is_sqlite:
        assert homes(db) == {
            FAR_PAST: "event_default",  # older than ten years: no month of its own
            moments[1]: "event_2025_06",
            now: partitions.partition_name(partitions.month_of(now)),
            FAR_FUTURE: "event_default",
        }
    with db.write() as session:  # ids go on from the same sequence
        record(session, [view(guide, now, visitor="bob")], now=now)
        newest = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
        assert newest == 5
        assert len(trails.trail(session, 1).items) == 0  # no lead: nothing on a lead's trail

    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE_PARTITIONING)
    assert [at for at, _ in stored(db)] == sorted([*moments, now])
    with db.read() as session:
        assert not partitions.is_partitioned(session.connection())
