"""Daily roll-ups: per asset and day, and per profile field and day.

How they stay current: ingestion folds every batch of events into them in the
same transaction that stores the events (``fold``), so a committed event is
always counted exactly once and reports read a few hundred rows instead of
millions of events. ``rebuild`` recomputes them from the raw events still kept
(after an upgrade, or if someone edits events by hand); days whose raw events
have passed retention keep their roll-ups. ``refresh_lead_stats`` recomputes the
per-asset lead figures that need joins over every aggregate; the background
task runs it every few minutes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from content.orm import SessionSource, start_of, utcnow
from tracking.events import EventType
from tracking.models import (
    AssetDaily,
    AssetEngagement,
    AssetLeadStats,
    Event,
    FieldDaily,
    LeadChange,
)

COMPLETED_DEPTH = 0.9
ASSET_DAILY: Table = AssetDaily.__table__  # type: ignore[assignment]
FIELD_DAILY: Table = FieldDaily.__table__  # type: ignore[assignment]
LEAD_STATS: Table = AssetLeadStats.__table__  # type: ignore[assignment]

_COUNTED = {
    EventType.ASSET_VIEW.value: "views",
    EventType.GATE_VIEW.value: "gate_views",
    EventType.FORM_SUBMIT.value: "form_submits",
    EventType.UNLOCK.value: "unlocks",
    EventType.DOWNLOAD.value: "downloads",
    EventType.WEBINAR_REGISTER.value: "registrations",
}
ASSET_COUNTERS = (
    "views",
    "readers",
    "completions",
    "engaged_seconds",
    "gate_views",
    "form_submits",
    "unlocks",
    "downloads",
    "registrations",
)
Prior = Mapping[tuple[str, int], float]
"""The deepest read of each (visitor, asset) stored before a batch."""
Viewers = Collection[tuple[str, int]]
"""The (visitor, asset) pairs that had opened the asset (an ``asset_view``) before a batch."""


def _blank_asset_day(asset_id: int, day: date) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ASSET_COUNTERS, 0)
    row.update(asset_id=asset_id, day=day, engaged_seconds=0.0)
    return row


def asset_deltas(
    rows: Iterable[Mapping[str, Any]], prior: Prior, viewers: Viewers
) -> list[dict[str, Any]]:
    """A batch of event rows folded per asset and UTC day.

    ``views`` counts ``asset_view`` events; ``readers`` (the unique visitors) the visitors who
    opened the asset for the first time, so they never outnumber the views (a form sent from
    the asset, under the fresh visitor id an identification gives, makes nobody a reader);
    ``completions`` those readers whose deepest read first reaches ``COMPLETED_DEPTH``.
    ``prior`` and ``viewers`` hold what was stored before the batch (see their types).
    """
    days: dict[tuple[int, date], dict[str, Any]] = {}
    depths: dict[tuple[str, int], float] = {}  # reads within the batch, over ``prior``
    opened = set(viewers)
    for row in rows:
        asset_id = row["asset_id"]
        if asset_id is None:
            continue
        day = row["occurred_at"].astimezone(UTC).date()
        delta = days.get((asset_id, day))
        if delta is None:
            delta = days[(asset_id, day)] = _blank_asset_day(asset_id, day)
        counter = _COUNTED.get(row["type"])
        if counter:
            delta[counter] += 1
        delta["engaged_seconds"] += row["seconds"] or 0.0
        if row["visitor_id"]:
            _follow_reader(delta, (row["visitor_id"], asset_id), row, depths, prior, opened)
    return [days[key] for key in sorted(days)]


def _follow_reader(
    delta: dict[str, Any],
    key: tuple[str, int],
    row: Mapping[str, Any],
    depths: dict[tuple[str, int], float],
    prior: Prior,
    opened: set[tuple[str, int]],
) -> None:
    """Count a new reader and a completed reading (by a reader) that this row brings."""
    before = depths.get(key, prior.get(key, 0.0))
    after = depths[key] = max(before, row["depth"] or 0.0)
    was_reader = key in opened
    if not was_reader and row["type"] == EventType.ASSET_VIEW.value:
        opened.add(key)
        delta["readers"] += 1
        if after >= COMPLETED_DEPTH:  # read to the end before the view was counted
            delta["completions"] += 1
    elif was_reader and before < COMPLETED_DEPTH <= after:
        delta["completions"] += 1


def field_deltas(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Gate views count the fields they asked; form submissions the fields they answered."""
    fields: dict[tuple[str, date], dict[str, Any]] = {}
    for row in rows:
        if row["type"] == EventType.GATE_VIEW.value:
            names, counter = (row["properties"] or {}).get("asked", ()), "asked"
        elif row["type"] == EventType.FORM_SUBMIT.value:
            names, counter = (row["properties"] or {}).get("answered", ()), "answered"
        else:
            continue
        day = row["occurred_at"].astimezone(UTC).date()
        for name in names:
            delta = fields.setdefault(
                (name, day), {"field": name, "day": day, "asked": 0, "answered": 0}
            )
            delta[counter] += 1
    return [fields[key] for key in sorted(fields)]


@dataclass(frozen=True, slots=True)
class _Statements:
    upsert_asset_daily: Executable
    upsert_field_daily: Executable


@cache
def _statements(dialect: str) -> _Statements:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    assets = insert(ASSET_DAILY)
    fields = insert(FIELD_DAILY)
    return _Statements(
        upsert_asset_daily=assets.on_conflict_do_update(
            index_elements=["asset_id", "day"],
            set_={name: ASSET_DAILY.c[name] + assets.excluded[name] for name in ASSET_COUNTERS},
        ),
        upsert_field_daily=fields.on_conflict_do_update(
            index_elements=["field", "day"],
            set_={
                "asked": FIELD_DAILY.c.asked + fields.excluded.asked,
                "answered": FIELD_DAILY.c.answered + fields.excluded.answered,
            },
        ),
    )


def fold(
    connection: Connection, rows: list[dict[str, Any]], prior: Prior, viewers: Viewers
) -> None:
    """Add a stored batch of events to the daily roll-ups (the caller's transaction)."""
    statements = _statements(connection.dialect.name)
    assets = asset_deltas(rows, prior, viewers)
    if assets:
        connection.execute(statements.upsert_asset_daily, assets)
    fields = field_deltas(rows)
    if fields:
        connection.execute(statements.upsert_field_daily, fields)


def rebuild(session: Session, chunk: int = 20_000) -> int:
    """Recompute the roll-ups of every day that still has raw events; returns events read.

    Retention deletes whole UTC days (``tracking.pipeline.retention``), so the first day with events
    is complete and the days before it keep their roll-ups. Events are replayed in stored
    order, so first views and completions land on the day they happened, and readers who
    opened the asset before the rebuilt days are not new again.
    """
    first = session.scalar(select(func.min(Event.occurred_at)))
    if first is None:
        return 0
    since = first.astimezone(UTC).date()
    start = start_of(since)
    session.execute(delete(AssetDaily).where(AssetDaily.day >= since))
    session.execute(delete(FieldDaily).where(FieldDaily.day >= since))
    depths: dict[tuple[str, int], float] = {}
    viewers = _viewers_before(session, start)
    # Summed in memory and written once: one row per asset and day, not one per chunk.
    assets: dict[tuple[int, date], dict[str, Any]] = {}
    fields: dict[tuple[str, date], dict[str, Any]] = {}
    last_id, read = 0, 0
    columns = (Event.id, Event.visitor_id, Event.asset_id, Event.type, Event.occurred_at)
    while True:
        found = session.execute(
            select(*columns, Event.seconds, Event.depth, Event.properties)
            .where(Event.id > last_id, Event.occurred_at >= start)
            .order_by(Event.id)
            .limit(chunk)
        ).all()
        if not found:
            break
        rows = [dict(row._mapping) for row in found]
        _add(assets, asset_deltas(rows, depths, viewers), ("asset_id", "day"), ASSET_COUNTERS)
        _add(fields, field_deltas(rows), ("field", "day"), ("asked", "answered"))
        for row in rows:
            if row["asset_id"] is not None and row["visitor_id"]:
                key = (row["visitor_id"], row["asset_id"])
                depths[key] = max(depths.get(key, 0.0), row["depth"] or 0.0)
                if row["type"] == EventType.ASSET_VIEW.value:
                    viewers.add(key)
        last_id, read = rows[-1]["id"], read + len(rows)
    if assets:
        session.execute(ASSET_DAILY.insert(), [assets[key] for key in sorted(assets)])
    if fields:
        session.execute(FIELD_DAILY.insert(), [fields[key] for key in sorted(fields)])
    return read


def _viewers_before(session: Session, start: datetime) -> set[tuple[str, int]]:
    """The (visitor, asset) pairs that opened the asset before ``start``: their aggregate holds
    more views than the raw events still stored from ``start`` on."""
    kept = (
        select(Event.visitor_id, Event.asset_id, func.count().label("views"))
        .where(Event.type == EventType.ASSET_VIEW.value, Event.occurred_at >= start)
        .group_by(Event.visitor_id, Event.asset_id)
        .subquery()
    )
    found = session.execute(
        select(AssetEngagement.visitor_id, AssetEngagement.asset_id)
        .outerjoin(
            kept,
            and_(
                kept.c.visitor_id == AssetEngagement.visitor_id,
                kept.c.asset_id == AssetEngagement.asset_id,
            ),
        )
        .where(
            AssetEngagement.first_at < start,
            AssetEngagement.views > func.coalesce(kept.c.views, 0),
        )
    )
    return {(visitor_id, asset_id) for visitor_id, asset_id in found}


def _add(
    totals: dict[Any, dict[str, Any]],
    deltas: list[dict[str, Any]],
    key: tuple[str, str],
    counters: tuple[str, ...],
) -> None:
    """Add a chunk's deltas into the running totals (by ``key``)."""
    for delta in deltas:
        name_of = (delta[key[0]], delta[key[1]])
        found = totals.get(name_of)
        if found is None:
            totals[name_of] = dict(delta)
            continue
        for name in counters:
            found[name] += delta[name]


def lead_stats(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per asset: the leads it influenced and the leads who read it before they became MQL
    (their first MQL change). Reads only, so it can run outside a write transaction."""
    now = now or utcnow()
    influenced = dict(
        session.execute(
            select(AssetEngagement.asset_id, func.count(func.distinct(AssetEngagement.lead_id)))
            .where(AssetEngagement.lead_id.is_not(None))
            .group_by(AssetEngagement.asset_id)
        ).all()
    )
    became_mql = (
        select(LeadChange.lead_id, func.min(LeadChange.at).label("at"))
        .where(LeadChange.kind == "lifecycle", LeadChange.new == "mql")
        .group_by(LeadChange.lead_id)
        .subquery()
    )
    before_mql = dict(
        session.execute(
            select(AssetEngagement.asset_id, func.count(func.distinct(AssetEngagement.lead_id)))
            .join(
                became_mql,
                and_(
                    became_mql.c.lead_id == AssetEngagement.lead_id,
                    AssetEngagement.first_at <= became_mql.c.at,
                ),
            )
            .group_by(AssetEngagement.asset_id)
        ).all()
    )
    return [
        {
            "asset_id": asset_id,
            "leads_influenced": count,
            "read_before_mql": before_mql.get(asset_id, 0),
            "computed_at": now,
        }
        for asset_id, count in sorted(influenced.items())
    ]


def recompute_lead_stats(database: SessionSource, now: datetime | None = None) -> int:
    """The lead figures job: ``refresh_lead_stats`` with the long read outside the write lock
    (only the store is a write transaction, a short one). Returns for how many assets."""
    with database.read() as session:
        figures = lead_stats(session, now)
    with database.write() as session:
        store_lead_stats(session, figures)
    return len(figures)


def store_lead_stats(session: Session, rows: list[dict[str, Any]]) -> None:
    """Replace the per-asset lead figures (a short write)."""
    session.execute(delete(AssetLeadStats))
    if rows:
        session.execute(LEAD_STATS.insert(), rows)


def refresh_lead_stats(session: Session, now: datetime | None = None) -> int:
    """Recompute and store the per-asset lead figures; returns how many assets have figures."""
    rows = lead_stats(session, now)
    store_lead_stats(session, rows)
    return len(rows)
