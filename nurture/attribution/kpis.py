"""Console → KPIs: the model's key figures for this period so far and the period before, read
from the funnel milestones, the deals and the attribution rollups (small tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.attribution.models import AttributionMonth
from tracking.deals.models import Deal
from tracking.models import FunnelMilestone, Lead
from tracking.rules.kpis import FIGURES, Assessment, KpiModel, KpiSpec, assess, period_start, shift

COUNTED = {"new_leads": "created", "mqls": "mql", "sqls": "sql", "opportunities": "opportunity",
           "customers": "customer"}  # fmt: skip
CONTENT_MONEY = {"content_pipeline": "pipeline", "content_revenue": "revenue"}
"""Money influenced by content: the linear model's content credits within 90 days, which add
up to the amounts of the deals whose lead read something in the 90 days before."""


@dataclass(frozen=True, slots=True)
class KpiLine:
    spec: KpiSpec
    unit: str
    lower_is_better: bool
    assessment: Assessment


@dataclass(frozen=True, slots=True)
class Kpis:
    period: str
    start: datetime
    end: datetime
    last_start: datetime
    elapsed: float
    lines: list[KpiLine]


def figure(session: Session, name: str, start: datetime, end: datetime, currency: str
           ) -> float | None:  # fmt: skip
    """One figure over [start, end); money in the currency's minor unit."""
    if name in COUNTED:
        return float(_milestones(session, COUNTED[name], start, end))
    if name == "mql_to_sql":
        mqls = _milestones(session, "mql", start, end)
        return _milestones(session, "sql", start, end) / mqls if mqls else None
    if name == "days_to_sql":
        # Summed by the database: at 100,000 leads a month's SQLs were thousands of rows
        # fetched (and their times parsed) only to be averaged.
        if session.get_bind().dialect.name == "postgresql":
            days = func.extract("epoch", FunnelMilestone.at - Lead.created_at) / 86400
        else:  # naive UTC text on SQLite, which julianday() reads
            days = func.julianday(FunnelMilestone.at) - func.julianday(Lead.created_at)
        count, total = session.execute(
            select(func.count(), func.sum(days))
            .select_from(FunnelMilestone)
            .join(Lead, Lead.id == FunnelMilestone.lead_id)
            .where(
                FunnelMilestone.kind == "sql", FunnelMilestone.at >= start, FunnelMilestone.at < end
            )
        ).one()
        return float(total) / count if count else None
    if name in ("pipeline", "revenue"):
        moment = Deal.created_at if name == "pipeline" else Deal.closed_at
        query = select(func.coalesce(func.sum(Deal.amount_minor), 0)).where(
            Deal.currency == currency, moment >= start, moment < end
        )
        if name == "revenue":
            query = query.where(Deal.stage == "won")
        return float(session.scalar(query) or 0)
    milestone = CONTENT_MONEY[name]
    return float(
        session.scalar(
            select(func.coalesce(func.sum(AttributionMonth.credit), 0.0)).where(
                AttributionMonth.milestone == milestone,
                AttributionMonth.family == "content",
                AttributionMonth.model == "linear",
                AttributionMonth.window_days == 90,
                AttributionMonth.month >= start,
                AttributionMonth.month < end,
            )
        )
        or 0.0
    )


def _milestones(session: Session, kind: str, start: datetime, end: datetime) -> int:
    return (
        session.scalar(
            select(func.count(FunnelMilestone.id)).where(
                FunnelMilestone.kind == kind, FunnelMilestone.at >= start, FunnelMilestone.at < end
            )
        )
        or 0
    )


def kpis(session: Session, model: KpiModel, now: datetime, currency: str) -> Kpis:
    """This period so far against the whole period before, and each figure's goal."""
    start = period_start(now, model.period)
    end, last_start = shift(start, model.period, 1), shift(start, model.period, -1)
    elapsed = (now - start).total_seconds() / (end - start).total_seconds()
    lines = []
    for spec in model.figures:
        this = figure(session, spec.figure, start, now, currency)
        last = figure(session, spec.figure, last_start, start, currency)
        unit = FIGURES[spec.figure].unit
        goal = spec.goal * 100 if spec.goal is not None and unit == "money" else spec.goal
        judged = KpiSpec(spec.figure, goal, spec.label)
        lines.append(
            KpiLine(spec, unit, FIGURES[spec.figure].lower_is_better,
                    assess(judged, this, last, elapsed))
        )  # fmt: skip
    return Kpis(model.period, start, end, last_start, elapsed, lines)
