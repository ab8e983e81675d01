"""Key figures marketing and sales agreed on (the model file's ``[kpis]``), and how a period's
value compares with the period before and with its goal. Pure.

The model file::

    [kpis]
    period = "month"          # or "quarter"
    [[kpis.figures]]          # replaces the default list; shown in this order
    figure = "mqls"           # one of FIGURES
    goal = 120                # optional; days for days_to_sql, a share (0.25) for mql_to_sql,
    label = "MQLs"            # money in the report currency's major unit (50000)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from content.words import N_


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    unit: str
    """``count``, ``share``, ``days`` or ``money``."""
    lower_is_better: bool = False


FIGURES: Mapping[str, Figure] = {
    "new_leads": Figure(N_("New leads"), "count"),
    "mqls": Figure(N_("MQLs"), "count"),
    "sqls": Figure(N_("SQLs"), "count"),
    "opportunities": Figure(N_("Opportunities"), "count"),
    "customers": Figure(N_("New customers"), "count"),
    "mql_to_sql": Figure(N_("MQL → SQL rate"), "share"),
    "days_to_sql": Figure(N_("Days from lead to SQL"), "days", lower_is_better=True),
    "pipeline": Figure(N_("Pipeline"), "money"),
    "revenue": Figure(N_("Revenue"), "money"),
    "content_pipeline": Figure(N_("Pipeline influenced by content"), "money"),
    "content_revenue": Figure(N_("Revenue influenced by content"), "money"),
}
"""Each figure's label (English, marked: the console shows it in the reader's language; a
label the model file gives is shown as written) and unit."""
PERIODS = ("month", "quarter")


@dataclass(frozen=True, slots=True)
class KpiSpec:
    figure: str
    goal: float | None = None
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or FIGURES[self.figure].label


DEFAULT_KPIS = tuple(
    KpiSpec(name)
    for name in ("new_leads", "mqls", "mql_to_sql", "days_to_sql", "content_pipeline",
                 "content_revenue")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class KpiModel:
    period: str = "month"
    figures: tuple[KpiSpec, ...] = DEFAULT_KPIS


def period_start(moment: datetime, period: str) -> datetime:
    """The first instant (UTC) of the month or quarter holding ``moment``."""
    month = moment.month if period == "month" else 3 * ((moment.month - 1) // 3) + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def shift(start: datetime, period: str, count: int) -> datetime:
    """The start of the period ``count`` periods after (negative: before) ``start``."""
    months = count * (1 if period == "month" else 3)
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Assessment:
    value: float | None
    last: float | None
    change: float | None
    """``value - last`` (None when either is unknown)."""
    goal: float | None
    progress: float | None
    """``value / goal`` so far (for a figure where lower is better: ``goal / value``)."""
    projected: float | None
    """For counts and money: the value at this pace by the end of the period."""
    verdict: str
    """``ahead``, ``on track``, ``behind``, ``no goal`` or ``no data``."""


def assess(spec: KpiSpec, value: float | None, last: float | None, elapsed: float) -> Assessment:
    """Compare this period so far (``elapsed``: the share of it gone, 0 to 1) with the period
    before and with the goal. Counts and money are judged on their pace (projected to the end
    of the period); rates and durations as they stand."""
    figure = FIGURES[spec.figure]
    change = value - last if value is not None and last is not None else None
    summed = figure.unit in ("count", "money")
    projected = value / elapsed if summed and value is not None and elapsed > 0 else None
    judged = projected if summed else value
    if spec.goal is None:
        return Assessment(value, last, change, None, None, projected, "no goal")
    if judged is None:
        return Assessment(value, last, change, spec.goal, None, projected, "no data")
    if figure.lower_is_better:
        progress = spec.goal / judged if judged else None
        good, close = judged <= spec.goal, judged <= spec.goal * 1.1
    else:
        progress = (value or 0.0) / spec.goal if spec.goal else None
        good, close = judged >= spec.goal, judged >= spec.goal * 0.9
    verdict = "ahead" if good and judged != spec.goal else "on track" if close else "behind"
    return Assessment(value, last, change, spec.goal, progress, projected, verdict)
