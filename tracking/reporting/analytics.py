"""What the console reports: per-asset figures, the funnel dashboard, a lead's engagement by
day. Every query reads the daily roll-ups, the lead rows or the change log through an index;
none scans raw events except one lead's own recent ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from content.models import Asset, Status, Topic, asset_topic
from content.orm import start_of
from tracking.models import AssetDaily, AssetLeadStats, Event, FieldDaily, Lead, LeadChange
from tracking.reporting import figures
from tracking.rules.config import Model

LIFECYCLE_STEPS = ("mql", "sql", "opportunity", "customer")


def utc_day(session: Session, column: Any) -> Any:
    """SQL: the UTC calendar day of a stored time (SQLite keeps UTC text; PostgreSQL converts)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)
    return cast(func.timezone("UTC", column), Date)


@dataclass(frozen=True, slots=True)
class Period:
    """The days a report covers (both ends included)."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, today: date) -> Period:
        return cls(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        return start_of(self.first)

    @property
    def end(self) -> datetime:
        return start_of(self.last + timedelta(days=1))


class AssetSort(StrEnum):
    VIEWS = "views"
    READERS = "readers"
    CONVERSION = "conversion"
    UNLOCKS = "unlocks"
    DOWNLOADS = "downloads"
    TIME = "time"
    COMPLETION = "completion"
    INFLUENCED = "influenced"
    BEFORE_MQL = "before_mql"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class AssetFigures:
    slug: str
    title: str
    kind: str
    stage: str
    gate: str
    views: int
    readers: int
    gate_views: int
    unlocks: int
    downloads: int
    engaged_seconds: float
    completions: int
    leads_influenced: int
    read_before_mql: int

    @property
    def conversion(self) -> float | None:
        """Gate views that turned into an unlock."""
        return self.unlocks / self.gate_views if self.gate_views else None

    @property
    def average_seconds(self) -> float:
        """Engaged time per view."""
        return self.engaged_seconds / self.views if self.views else 0.0

    @property
    def completion_rate(self) -> float | None:
        """Readers who read to the end (depth 0.9 or more)."""
        return min(1.0, self.completions / self.readers) if self.readers else None


def _sort_key(sort: AssetSort) -> Any:
    keys: dict[AssetSort, Any] = {
        AssetSort.VIEWS: lambda a: a.views,
        AssetSort.READERS: lambda a: a.readers,
        AssetSort.CONVERSION: lambda a: a.conversion or 0.0,
        AssetSort.UNLOCKS: lambda a: a.unlocks,
        AssetSort.DOWNLOADS: lambda a: a.downloads,
        AssetSort.TIME: lambda a: a.average_seconds,
        AssetSort.COMPLETION: lambda a: a.completion_rate or 0.0,
        AssetSort.INFLUENCED: lambda a: a.leads_influenced,
        AssetSort.BEFORE_MQL: lambda a: a.read_before_mql,
        AssetSort.TITLE: lambda a: a.title.lower(),
    }
    return keys[sort]


def asset_figures(
    session: Session, period: Period, sort: AssetSort = AssetSort.VIEWS, descending: bool = True
) -> list[AssetFigures]:
    """Every published asset with its figures for the period (lead figures are all-time)."""
    sums = {
        row.asset_id: row
        for row in session.execute(
            select(
                AssetDaily.asset_id,
                func.sum(AssetDaily.views).label("views"),
                func.sum(AssetDaily.readers).label("readers"),
                func.sum(AssetDaily.gate_views).label("gate_views"),
                func.sum(AssetDaily.unlocks).label("unlocks"),
                func.sum(AssetDaily.downloads).label("downloads"),
                func.sum(AssetDaily.engaged_seconds).label("seconds"),
                func.sum(AssetDaily.completions).label("completions"),
            )
            .where(AssetDaily.day >= period.first, AssetDaily.day <= period.last)
            .group_by(AssetDaily.asset_id)
        )
    }
    leads = {row.asset_id: row for row in session.scalars(select(AssetLeadStats))}
    found = []
    for asset in session.execute(
        select(Asset.id, Asset.slug, Asset.title, Asset.kind, Asset.stage, Asset.gate).where(
            Asset.status == Status.PUBLISHED.value
        )
    ):
        day = sums.get(asset.id)
        lead = leads.get(asset.id)
        found.append(
            AssetFigures(
                slug=asset.slug,
                title=asset.title,
                kind=asset.kind,
                stage=asset.stage,
                gate=asset.gate,
                views=int(day.views) if day else 0,
                readers=int(day.readers) if day else 0,
                gate_views=int(day.gate_views) if day else 0,
                unlocks=int(day.unlocks) if day else 0,
                downloads=int(day.downloads) if day else 0,
                engaged_seconds=float(day.seconds) if day else 0.0,
                completions=int(day.completions) if day else 0,
                leads_influenced=lead.leads_influenced if lead else 0,
                read_before_mql=lead.read_before_mql if lead else 0,
            )
        )
    found.sort(key=lambda a: a.slug)  # ties keep a stable, readable order
    found.sort(key=_sort_key(sort), reverse=descending)
    return found


def lead_stats_as_of(session: Session) -> datetime | None:
    """When the per-asset lead figures were last recomputed."""
    return session.scalar(select(func.max(AssetLeadStats.computed_at)))


@dataclass(frozen=True, slots=True)
class FieldFigures:
    field: str
    asked: int
    answered: int

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None


@dataclass(frozen=True, slots=True)
class Dashboard:
    period: Period
    stage_funnel: list[figures.FunnelStep]
    """Leads that reached each journey stage, along the paths they took (every lead starts at
    the first stage)."""
    lifecycle_funnel: list[figures.FunnelStep]
    """Leads that reached each lifecycle step, along the paths they took."""
    lifecycle_now: dict[str, int]
    new_leads: list[tuple[date, float]]
    new_mqls: list[tuple[date, float]]
    new_sqls: list[tuple[date, float]]
    median_days: dict[str, float | None]
    top_assets: list[tuple[str, str, int]]
    """(slug, title, views + unlocks + downloads) in the period, best first."""
    top_topics: list[tuple[str, int]]
    fields: list[FieldFigures]
    gate_views: int
    form_submits: int
    topic_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """The top topics' labels in other languages (``{"de": "…"}``) by their English label."""

    @property
    def abandonment(self) -> float | None:
        """Gate forms shown but not sent."""
        if not self.gate_views:
            return None
        return max(0.0, 1.0 - self.form_submits / self.gate_views)


def _by_day(session: Session, query: Any) -> dict[date, float]:
    found: dict[date, float] = {}
    for day, count in session.execute(query):
        key = day if isinstance(day, date) else date.fromisoformat(str(day))
        found[key] = found.get(key, 0) + count
    return found


def _changes_per_day(session: Session, kind: str, new: str, period: Period) -> dict[date, float]:
    day = utc_day(session, LeadChange.at)
    return _by_day(
        session,
        select(day, func.count(func.distinct(LeadChange.lead_id)))
        .where(
            LeadChange.kind == kind,
            LeadChange.new == new,
            LeadChange.at >= period.start,
            LeadChange.at < period.end,
        )
        .group_by(day),
    )


def dashboard(session: Session, model: Model, period: Period) -> Dashboard:
    """The marketer's funnel view for the period."""
    lifecycle_now = dict(
        session.execute(select(Lead.lifecycle, func.count()).group_by(Lead.lifecycle)).all()
    )
    total = sum(lifecycle_now.values())
    dwell: dict[str, list[float]] = defaultdict(list)
    for old, seconds in session.execute(
        select(LeadChange.old, LeadChange.dwell_seconds).where(
            LeadChange.kind == "stage",
            LeadChange.new.in_(model.stages),  # uses the (kind, new, at) index
            LeadChange.at >= period.start,
            LeadChange.at < period.end,
            LeadChange.dwell_seconds.is_not(None),
        )
    ):
        if old is not None and seconds is not None:
            dwell[old].append(seconds)
    return Dashboard(
        period=period,
        stage_funnel=figures.path_funnel(
            (model.stages[0], total),
            model.stages[1:],
            _reach(session, "stage", model.stages[1:]),
        ),
        lifecycle_funnel=figures.path_funnel(
            ("lead", total), LIFECYCLE_STEPS, _reach(session, "lifecycle", LIFECYCLE_STEPS)
        ),
        lifecycle_now=lifecycle_now,
        new_leads=figures.daily(_new_leads(session, period), period.first, period.last),
        new_mqls=figures.daily(
            _changes_per_day(session, "lifecycle", "mql", period), period.first, period.last
        ),
        new_sqls=figures.daily(
            _changes_per_day(session, "lifecycle", "sql", period), period.first, period.last
        ),
        median_days={stage: figures.median_days(dwell.get(stage, ())) for stage in model.stages},
        top_assets=_top_assets(session, period),
        top_topics=(top_topics := _top_topics(session, period)),
        **_forms(session, period),
        topic_labels=_labels_of(session, [label for label, _ in top_topics]),
    )


def _reach(session: Session, kind: str, steps: Sequence[str]) -> figures.Reach:
    """Per step, from the stage or lifecycle changes: the leads that reached it, and those whose
    first arrival at the step before came before their last arrival at it. One grouped pass
    over the (kind, new, at) index, summed in the database (a row per lead costs seconds)."""
    if not steps:
        return {}
    arrivals = []
    for index, step in enumerate(steps):
        seq = case((LeadChange.new == step, LeadChange.seq))
        arrivals += [func.min(seq).label(f"first_{index}"), func.max(seq).label(f"last_{index}")]
    per_lead = (
        select(*arrivals)
        .where(LeadChange.kind == kind, LeadChange.new.in_(steps))
        .group_by(LeadChange.lead_id)
        .subquery()
    )
    totals = []
    for index in range(len(steps)):
        last = per_lead.c[f"last_{index}"]
        after = last if index == 0 else case((per_lead.c[f"first_{index - 1}"] < last, 1))
        totals += [func.count(last), func.count(after)]
    row = session.execute(select(*totals)).one()
    return {step: (int(row[2 * i]), int(row[2 * i + 1])) for i, step in enumerate(steps)}


def _new_leads(session: Session, period: Period) -> dict[date, float]:
    day = utc_day(session, Lead.created_at)
    return _by_day(
        session,
        select(day, func.count())
        .where(Lead.created_at >= period.start, Lead.created_at < period.end)
        .group_by(day),
    )


def _touches() -> Any:
    return func.sum(AssetDaily.views + AssetDaily.unlocks + AssetDaily.downloads)


def _top_assets(session: Session, period: Period, limit: int = 10) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(Asset.slug, Asset.title, _touches().label("touches"))
        .join(Asset, Asset.id == AssetDaily.asset_id)
        .where(AssetDaily.day >= period.first, AssetDaily.day <= period.last)
        .where(Asset.status == Status.PUBLISHED.value)
        .group_by(Asset.id, Asset.slug, Asset.title)
        .order_by(_touches().desc(), Asset.slug)
        .limit(limit)
    )
    return [(slug, title, int(touches or 0)) for slug, title, touches in rows]


def _top_topics(session: Session, period: Period, limit: int = 10) -> list[tuple[str, int]]:
    rows = session.execute(
        select(Topic.label, _touches().label("touches"))
        .join(asset_topic, asset_topic.c.asset_id == AssetDaily.asset_id)
        .join(Topic, Topic.id == asset_topic.c.topic_id)
        .join(Asset, Asset.id == AssetDaily.asset_id)
        .where(AssetDaily.day >= period.first, AssetDaily.day <= period.last)
        .where(Asset.status == Status.PUBLISHED.value)
        .group_by(Topic.id, Topic.label)
        .order_by(_touches().desc(), Topic.label)
        .limit(limit)
    )
    return [(label, int(touches or 0)) for label, touches in rows]


def _labels_of(session: Session, english: list[str]) -> dict[str, dict[str, str]]:
    """The other languages' labels of the topics with these English labels."""
    if not english:
        return {}
    rows = session.execute(select(Topic.label, Topic.labels).where(Topic.label.in_(english)))
    return {label: dict(labels or {}) for label, labels in rows}


def _forms(session: Session, period: Period) -> dict[str, Any]:
    fields = [
        FieldFigures(name, int(asked or 0), int(answered or 0))
        for name, asked, answered in session.execute(
            select(FieldDaily.field, func.sum(FieldDaily.asked), func.sum(FieldDaily.answered))
            .where(FieldDaily.day >= period.first, FieldDaily.day <= period.last)
            .group_by(FieldDaily.field)
            .order_by(func.sum(FieldDaily.asked).desc(), FieldDaily.field)
        )
    ]
    gate_views, submits = session.execute(
        select(
            func.coalesce(func.sum(AssetDaily.gate_views), 0),
            func.coalesce(func.sum(AssetDaily.form_submits), 0),
        ).where(AssetDaily.day >= period.first, AssetDaily.day <= period.last)
    ).one()
    return {"fields": fields, "gate_views": int(gate_views), "form_submits": int(submits)}


def lead_day_counts(
    session: Session, lead_id: int, period: Period
) -> list[tuple[date, str, int, float]]:
    """A lead's events in the period per day and type (one index range scan)."""
    day = utc_day(session, Event.occurred_at)
    rows = session.execute(
        select(day, Event.type, func.count(), func.coalesce(func.sum(Event.seconds), 0.0))
        .where(
            Event.lead_id == lead_id,
            Event.occurred_at >= period.start,
            Event.occurred_at < period.end,
        )
        .group_by(day, Event.type)
    )
    return [
        (d if isinstance(d, date) else date.fromisoformat(str(d)), t, int(n), float(s))
        for d, t, n, s in rows
    ]


def stage_history(session: Session, lead_id: int) -> list[LeadChange]:
    """The lead's stage and lifecycle changes, oldest first (the stage timeline)."""
    return list(
        session.scalars(
            select(LeadChange)
            .where(LeadChange.lead_id == lead_id, LeadChange.kind.in_(("stage", "lifecycle")))
            .order_by(LeadChange.seq)
        )
    )
