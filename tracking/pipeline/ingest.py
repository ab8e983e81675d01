"""Ingestion: a batch of requests' events stored in the caller's transaction (``store``).

A batch is written in one transaction: events, per visitor and asset aggregates, and with a
model the journey states and lead verdicts. The web's requests reach it through the group
commit (``tracking.pipeline.group_commit.Ingestor``); tools and handlers that already hold a
transaction call ``record`` or ``store`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from content.orm import utcnow
from tracking.events import EventType, TrackedEvent, event_row
from tracking.models import AssetEngagement, Event, Visitor
from tracking.pipeline import audience, bulk, leadstate, rollups
from tracking.rules.config import Model
from tracking.sources import visits
from tracking.sources.arrivals import Arrival

EVENT_TABLE: Table = Event.__table__  # type: ignore[assignment]
ENGAGEMENT_TABLE: Table = AssetEngagement.__table__  # type: ignore[assignment]
VISITOR_TABLE: Table = Visitor.__table__  # type: ignore[assignment]
EVENT_COLUMNS = (
    "uid", "visitor_id", "lead_id", "type", "asset_id", "occurred_at", "seconds", "depth",
    "properties",
)  # fmt: skip
"""The columns of ``tracking.events.event_row``."""
ENGAGEMENT_COLUMNS = (
    "visitor_id", "asset_id", "lead_id", "engaged_seconds", "max_depth", "views", "downloads",
    "first_at", "last_at",
)  # fmt: skip
"""The columns of ``_engagement_deltas``'s rows."""


def store(
    session: Session,
    groups: Sequence[Sequence[TrackedEvent]],
    now: datetime | None = None,
    model: Model | None = None,
) -> list[int]:
    """Store groups of events in the caller's transaction; returns how many of each were new.

    Resent events (an ``uid`` already stored, or twice in the batch) are skipped.
    Visitors are created on first sight and events take their visitor's lead; page views
    with an ``arrival`` start or continue their browser's visit (``tracking.sources.visits``).
    With a ``model``, the leads' and visitors' journey states are updated too.

    On PostgreSQL the batch's reads go to the server in one round trip and its writes in
    another (``bulk.read_together``, ``bulk.pipelined``); page views and leads add their own.
    """
    now = now or utcnow()
    statements = _statements(session.get_bind().dialect.name)
    connection = session.connection()
    events = [event for group in groups for event in group]
    with_pages = any(event.arrival is not None and event.visitor_id for event in events)
    reads = _Reads.of(statements, events, model, connection.dialect.name)
    state = None
    if with_pages:  # their visitors are locked with their visits, after the uids are read
        leads, (stored_uids,) = None, bulk.read_together(connection, [reads.uids])
    else:  # most beacons: one round trip; the visitors are created if new, then locked
        found = iter(
            bulk.read_together(
                connection,
                [reads.leads, reads.uids, *reads.state],
                first=lambda: _insert_visitors(connection, statements, reads.visitor_ids, now),
            )
        )
        leads, stored_uids = [(v, lead_id) for v, lead_id in next(found)], next(found)
        state = _State.of(found, model)
    rows, arrived, counts = _fresh_rows(groups, {uid for (uid,) in stored_uids}, now)
    if not rows:
        return counts
    browsers = _attach_leads(connection, statements, rows, now, leads)
    if state is None:  # what the visitors had, read once they are locked
        state = _State.of(iter(bulk.read_together(connection, reads.state)), model)
    deltas = _engagement_deltas(rows)
    touched = leadstate.Touched.of(rows, state.stages, state.depths) if model is not None else None
    with bulk.pipelined(connection):
        statements.insert_events.run(connection, rows)
        if deltas:
            statements.upsert_engagement.run(connection, deltas)
            audience.mark(connection, audience.changed(deltas, state.stored))
        rollups.fold(connection, rows, state.depths, state.viewers)
        if touched is not None and model is not None:
            leadstate.score_visitors(connection, touched, state.journeys, model, now)
    if arrived:
        batch_leads = {row["lead_id"] for row in rows if row["lead_id"]}
        visits.record(connection, visits.pages_of(arrived), browsers, batch_leads)
    if touched is not None and model is not None:
        leadstate.score_leads(session, touched, model, now)
    return counts


def _fresh_rows(
    groups: Sequence[Sequence[TrackedEvent]], seen: set[str], now: datetime
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], Arrival]], list[int]]:
    """The rows of the events not stored yet (``seen`` holds the stored uids; it gains the
    batch's), the page views among them with where from, and how many each group has."""
    rows: list[dict[str, Any]] = []
    arrived: list[tuple[dict[str, Any], Arrival]] = []
    counts = []
    for group in groups:
        fresh = []
        for event in group:
            if event.uid:
                if event.uid in seen:
                    continue
                seen.add(event.uid)
            fresh.append(event_row(event, now))
            if event.arrival is not None and event.visitor_id:
                arrived.append((fresh[-1], event.arrival))
        rows.extend(fresh)
        counts.append(len(fresh))
    return rows, arrived, counts


def record(
    session: Session,
    events: Sequence[TrackedEvent],
    now: datetime | None = None,
    model: Model | None = None,
) -> int:
    """Store one group of events in the caller's transaction; returns how many were new."""
    return store(session, [events], now=now, model=model)[0]


@dataclass(frozen=True, slots=True)
class _Statements:
    """The hot path's statements, built once per dialect (building them costs more than running)."""

    stored_uids: Select[Any]
    prior_reads: Select[Any]
    insert_visitors: bulk.Rows
    visitor_leads: Select[Any]
    insert_events: bulk.Rows
    upsert_engagement: bulk.Rows


@cache
def _statements(dialect: str) -> _Statements:
    greatest, least = (func.max, func.min) if dialect == "sqlite" else (func.greatest, func.least)
    table = ENGAGEMENT_TABLE
    visitors = VISITOR_TABLE.c

    def add_to_engagement(upsert: Any) -> Any:
        excluded = upsert.excluded
        return upsert.on_conflict_do_update(
            index_elements=[table.c.visitor_id, table.c.asset_id],
            set_={
                "lead_id": func.coalesce(table.c.lead_id, excluded.lead_id),
                "engaged_seconds": table.c.engaged_seconds + excluded.engaged_seconds,
                "max_depth": greatest(table.c.max_depth, excluded.max_depth),
                "views": table.c.views + excluded.views,
                "downloads": table.c.downloads + excluded.downloads,
                "first_at": least(table.c.first_at, excluded.first_at),
                "last_at": greatest(table.c.last_at, excluded.last_at),
            },
        )

    return _Statements(
        stored_uids=select(EVENT_TABLE.c.uid).where(
            bulk.one_of(dialect, EVENT_TABLE.c.uid, "uids")
        ),
        prior_reads=select(
            table.c.visitor_id,
            table.c.asset_id,
            table.c.max_depth,
            table.c.views,
            table.c.first_at,
            table.c.lead_id,
        ).where(bulk.one_of(dialect, table.c.visitor_id, "ids")),
        insert_visitors=bulk.rows(
            dialect,
            VISITOR_TABLE,
            ("id", "created_at"),
            lambda statement: statement.on_conflict_do_nothing(index_elements=["id"]),
        ),
        # FOR NO KEY UPDATE (PostgreSQL), in id order: an identification of these visitors,
        # or another writer's batch of them, waits for this batch, or this batch for it, so no
        # event escapes stitching and no batch reads what another is changing.
        visitor_leads=select(visitors.id, visitors.lead_id)
        .where(bulk.one_of(dialect, visitors.id, "ids"))
        .order_by(visitors.id)
        .with_for_update(key_share=True),
        insert_events=bulk.rows(dialect, EVENT_TABLE, EVENT_COLUMNS),
        upsert_engagement=bulk.rows(dialect, table, ENGAGEMENT_COLUMNS, add_to_engagement),
    )


@dataclass(frozen=True, slots=True)
class _Reads:
    """What a batch reads before it writes, about all of its events (resends included: a few
    rows more cost less than another round trip)."""

    visitor_ids: list[str]
    """The batch's visitors, in id order (created if new before ``leads`` locks them)."""
    leads: bulk.Read
    """The visitors and their leads, locked: a stitching of these visitors, or another
    writer's batch of them, commits before the reads after it, or waits for this batch."""
    uids: bulk.Read
    """The uids already stored (resends). Never prepared: a prepared plan is kept for the
    connection's life, and one made while the month's partition was nearly empty scans it
    whole, a scan that grows with every event until autovacuum's next ANALYZE (in a fresh
    database or a new month, 0.5 ms more per thousand events stored)."""
    state: list[bulk.Read]
    """What the visitors had (``_State``): read once they are locked."""

    @classmethod
    def of(
        cls,
        statements: _Statements,
        events: Sequence[TrackedEvent],
        model: Model | None,
        dialect: str,
    ) -> _Reads:
        uids = sorted({event.uid for event in events if event.uid})
        visitor_ids = sorted({event.visitor_id for event in events if event.visitor_id})
        asset_ids = sorted({event.asset_id for event in events if event.asset_id is not None})
        state = [bulk.Read(statements.prior_reads, {"ids": visitor_ids})]
        if model is not None:
            scoring = leadstate.statements(dialect)
            state.append(bulk.Read(scoring.asset_stages, {"ids": asset_ids}))
            state.append(bulk.Read(scoring.visitor_states, {"ids": visitor_ids}))
        return cls(
            visitor_ids=visitor_ids,
            leads=bulk.Read(statements.visitor_leads, {"ids": visitor_ids}),
            uids=bulk.Read(statements.stored_uids, {"uids": uids}, planned_each_time=True),
            state=state,
        )


@dataclass(frozen=True, slots=True)
class _State:
    """What the batch's visitors had before it."""

    depths: dict[tuple[str, int], float]
    """The deepest read per (visitor, asset) (for scoring's depth bonus and the roll-ups'
    completions)."""
    viewers: set[tuple[str, int]]
    """The (visitor, asset) pairs whose visitor had opened the asset (readers)."""
    stored: dict[tuple[str, int], tuple[datetime, int | None]]
    """Each stored (visitor, asset) pair's first time and lead (whose trail the batch changes,
    for the audience)."""
    stages: dict[int, str]
    """The batch's assets' stages (with a model)."""
    journeys: dict[str, Any]
    """The anonymous visitors' stored journey states (with a model)."""

    @classmethod
    def of(cls, found: Iterator[list[tuple[Any, ...]]], model: Model | None) -> _State:
        """From the rows of ``_Reads.state``, in order."""
        depths: dict[tuple[str, int], float] = {}
        viewers: set[tuple[str, int]] = set()
        stored: dict[tuple[str, int], tuple[datetime, int | None]] = {}
        for visitor_id, asset_id, depth, views, first_at, lead_id in next(found):
            depths[(visitor_id, asset_id)] = depth
            stored[(visitor_id, asset_id)] = (first_at, lead_id)
            if views:
                viewers.add((visitor_id, asset_id))
        stages, journeys = (dict(next(found)), dict(next(found))) if model is not None else ({}, {})
        return cls(depths, viewers, stored, stages, journeys)


def _attach_leads(
    connection: Connection,
    statements: _Statements,
    rows: list[dict[str, Any]],
    now: datetime,
    known: list[tuple[str, int | None]] | None,
) -> dict[str, visits.Browser]:
    """Give anonymous rows their visitor's lead, if it has one. ``known``: the visitors with
    their leads, created and locked with the batch's reads; None for a batch with page views,
    whose visitors are created here and read with their current visits, locked for writing,
    and returned."""
    visitor_ids = sorted({row["visitor_id"] for row in rows if row["visitor_id"]})
    if not visitor_ids:
        return {}
    browsers: dict[str, visits.Browser] = {}
    if known is None:
        _insert_visitors(connection, statements, visitor_ids, now)
        browsers = visits.browsers(connection, visitor_ids)
        found: list[Any] = [(v, browser.lead_id) for v, browser in browsers.items()]
    else:
        found = known
    leads: dict[str, int] = {v: lead_id for v, lead_id in found if lead_id is not None}
    for row in rows:
        if row["lead_id"] is None and row["visitor_id"] in leads:
            row["lead_id"] = leads[row["visitor_id"]]
    return browsers


def _insert_visitors(
    connection: Connection, statements: _Statements, visitor_ids: list[str], now: datetime
) -> None:
    """Create the visitors not seen before (one statement that returns nothing)."""
    statements.insert_visitors.run(connection, [{"id": v, "created_at": now} for v in visitor_ids])


def _engagement_deltas(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch folded per visitor and asset, as parameters of the aggregate upsert."""
    deltas: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        if row["asset_id"] is None or not row["visitor_id"]:
            continue
        at = row["occurred_at"]
        delta = deltas.get((row["visitor_id"], row["asset_id"]))
        if delta is None:
            delta = deltas[(row["visitor_id"], row["asset_id"])] = {
                "visitor_id": row["visitor_id"],
                "asset_id": row["asset_id"],
                "lead_id": row["lead_id"],
                "engaged_seconds": 0.0,
                "max_depth": 0.0,
                "views": 0,
                "downloads": 0,
                "first_at": at,
                "last_at": at,
            }
        delta["first_at"], delta["last_at"] = min(delta["first_at"], at), max(delta["last_at"], at)
        delta["lead_id"] = delta["lead_id"] or row["lead_id"]
        delta["engaged_seconds"] += row["seconds"] or 0.0
        delta["max_depth"] = max(delta["max_depth"], row["depth"] or 0.0)
        delta["views"] += row["type"] == EventType.ASSET_VIEW.value
        delta["downloads"] += row["type"] == EventType.DOWNLOAD.value
    # A stable order keeps concurrent writers (PostgreSQL) from deadlocking on the same rows.
    return [deltas[key] for key in sorted(deltas)]
