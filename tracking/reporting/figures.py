"""Pure report rules: funnels with conversion, medians, daily series, the decayed engagement
curve, and a trail cut into days and visits. Plain data in, plain data out."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tracking.rules.config import ScoringModel

VISIT_GAP = timedelta(minutes=30)
"""A pause longer than this starts a new visit (the web-analytics convention)."""


@dataclass(frozen=True, slots=True)
class FunnelStep:
    label: str
    count: int
    """Leads that reached the step (each once, however often)."""
    conversion: float | None
    """Share of the leads that reached the step before which reached this one after it (None
    for the first step, and when nobody reached the step before)."""
    skipped: int = 0
    """Leads that reached this step without having been at the step before (the sales fast
    lane to SQL past MQL, a content fast lane past a stage); not counted as converting."""


Reach = Mapping[str, tuple[int, int]]
"""Per step after the entry: the leads that reached it, and how many of them reached it after
having been at the step before (their first arrival there came before their last one here)."""


def path_funnel(entry: tuple[str, int], steps: Sequence[str], reach: Reach) -> list[FunnelStep]:
    """A funnel counted along the paths leads took.

    ``entry`` is the step every lead starts at, with the number of leads. Each later step
    counts the leads that reached it; its conversion is the share of the leads at the step
    before that went on to reach it (everyone was at the entry; None when nobody reached the
    step before), and ``skipped`` counts those that reached it without passing the step
    before: they are not a conversion from it.
    """
    label, total = entry
    result = [FunnelStep(label, total, None)]
    previous = total
    for step in steps:
        reached, converted = reach.get(step, (0, 0))
        if step == steps[0]:
            converted = reached  # every lead has been at the entry
        conversion = converted / previous if previous else None
        result.append(FunnelStep(step, reached, conversion, skipped=reached - converted))
        previous = reached
    return result


def median_days(seconds: Iterable[float]) -> float | None:
    """The median of durations given in seconds, in days (None without any)."""
    values = [s for s in seconds if s is not None]
    return statistics.median(values) / 86_400 if values else None


def daily(counts: Mapping[date, float], first: date, last: date) -> list[tuple[date, float]]:
    """A value per day from ``first`` to ``last``, zero where nothing happened."""
    days = (last - first).days + 1
    return [(first + timedelta(d), counts.get(first + timedelta(d), 0)) for d in range(days)]


def day_points(
    counts: Iterable[tuple[date, str, int, float]], scoring: ScoringModel
) -> dict[date, float]:
    """Engagement points per day from (day, event type, events, engaged seconds) rows: each
    type's points and the seconds' points (depth bonuses need the read order; left out)."""
    points: dict[date, float] = {}
    for day, event_type, events, seconds in counts:
        earned = events * scoring.event_points.get(event_type, 0.0)
        earned += (seconds or 0.0) * scoring.seconds_points
        points[day] = points.get(day, 0.0) + earned
    return points


def engagement_curve(
    points: Mapping[date, float], first: date, last: date, half_life_days: float
) -> list[tuple[date, float]]:
    """The decayed engagement at the end of each day, from zero at ``first``."""
    factor = 2.0 ** (-1.0 / half_life_days)
    value = 0.0
    curve = []
    for day, earned in daily(points, first, last):
        value = value * factor + earned
        curve.append((day, round(value, 1)))
    return curve


@dataclass(slots=True)
class VisitAsset:
    """One asset within a visit: time spent and how deep the reading went."""

    slug: str
    title: str
    kind: str
    stage: str
    seconds: float = 0.0
    depth: float = 0.0
    acts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Visit:
    started: datetime
    ended: datetime
    assets: list[VisitAsset] = field(default_factory=list)
    other: list[Any] = field(default_factory=list)
    """Events without an asset (searches, page views), newest first."""

    @property
    def minutes(self) -> int:
        return max(1, round((self.ended - self.started).total_seconds() / 60))


@dataclass(slots=True)
class TrailDay:
    day: date
    visits: list[Visit] = field(default_factory=list)


QUIET_ACTS = frozenset({"read_progress", "asset_view"})


def group_trail(items: Sequence[Any], gap: timedelta = VISIT_GAP) -> list[TrailDay]:
    """Trail items (newest first, with ``at``, ``type``, ``asset``, ``seconds``, ``depth``)
    cut into days and visits; within a visit each asset appears once with its total time,
    deepest read and notable acts (download, unlock, ...)."""
    days: list[TrailDay] = []
    visit: Visit | None = None
    by_slug: dict[str, VisitAsset] = {}
    for item in items:
        if visit is None or visit.started - item.at > gap or item.at.date() != days[-1].day:
            if not days or days[-1].day != item.at.date():
                days.append(TrailDay(item.at.date()))
            visit = Visit(started=item.at, ended=item.at)
            days[-1].visits.append(visit)
            by_slug = {}
        visit.started = item.at
        if item.asset is None:
            visit.other.append(item)
            continue
        entry = by_slug.get(item.asset.slug)
        if entry is None:
            entry = by_slug[item.asset.slug] = VisitAsset(
                item.asset.slug, item.asset.title, item.asset.kind, item.asset.stage
            )
            visit.assets.append(entry)
        entry.seconds += item.seconds or 0.0
        entry.depth = max(entry.depth, item.depth or 0.0)
        if item.type not in QUIET_ACTS and item.type not in entry.acts:
            entry.acts.append(item.type)
    return days
