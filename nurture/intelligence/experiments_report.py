"""Gate experiments' report: what each arm's exposed browsers did with the asset (read it,
engaged, sent its form, became leads) and what their leads reached within the window after
their first sight (MQL, SQL, opportunity: the closed-loop milestones), compared by
``rules.verdict``.

The figures are kept per arm in ``gate_arm_figures`` by the ``content-intelligence`` job
(and when an experiment ends), so the report reads two rows and counts each arm's browsers
from an index; the pass reads an experiment's exposures with their visitors and leads, the
asset's engagement rows since the start, and those leads' unlocks and milestones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from content.words import N_
from nurture.intelligence import gaps, process
from nurture.intelligence.experiments import MAX_WINDOW_DAYS
from nurture.intelligence.gaps import SessionSource
from nurture.intelligence.models import GateArmFigures, GateExperiment, GateExposure
from nurture.intelligence.rules import Arm, Share, Verdict, verdict
from tracking.models import (
    AssetEngagement,
    FunnelMilestone,
    IdentityClaim,
    Lead,
    Unlock,
    Visitor,
)

ENGAGED_SECONDS = 30.0
"""A reader who spent this long on the asset engaged with it."""
MILESTONES = ("mql", "sql", "opportunity")
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """One exposed browser and what followed its first sight."""

    arm: str
    engaged_seconds: float = 0.0
    submitted: bool = False
    new_lead: bool = False
    reached: frozenset[str] = frozenset()
    """The milestones its lead reached within the window."""


def tally(outcomes: Iterable[Outcome]) -> dict[str, dict[str, float]]:
    """Each arm's figures from its browsers' outcomes (both arms always present)."""
    figures: dict[str, dict[str, float]] = {
        arm.value: {
            "readers": 0,
            "engaged": 0,
            "engaged_seconds": 0.0,
            "submissions": 0,
            "new_leads": 0,
            **{kind: 0 for kind in MILESTONES},
        }
        for arm in Arm
    }
    for outcome in outcomes:
        arm = figures[outcome.arm]
        arm["readers"] += 1
        arm["engaged"] += outcome.engaged_seconds >= ENGAGED_SECONDS
        arm["engaged_seconds"] += outcome.engaged_seconds
        arm["submissions"] += outcome.submitted
        arm["new_leads"] += outcome.new_lead
        for kind in MILESTONES:
            arm[kind] += kind in outcome.reached
    return figures


def _chunks(values: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def outcomes(session: Session, experiment: GateExperiment) -> list[Outcome]:
    """What followed each exposed browser's first sight of the experiment's asset."""
    asset_id = experiment.asset_id
    window = timedelta(days=experiment.window_days)
    exposed = session.execute(
        select(
            GateExposure.visitor_id,
            GateExposure.arm,
            GateExposure.first_at,
            Visitor.lead_id,
            Lead.created_at,
        )
        .outerjoin(Visitor, Visitor.id == GateExposure.visitor_id)
        .outerjoin(Lead, Lead.id == Visitor.lead_id)
        .where(GateExposure.experiment_id == experiment.id)
    ).all()
    lead_ids = sorted({row.lead_id for row in exposed if row.lead_id is not None})
    by_visitor: dict[str, float] = {}
    by_lead: dict[int, float] = {}
    for visitor_id, lead_id, seconds in session.execute(
        select(
            AssetEngagement.visitor_id, AssetEngagement.lead_id, AssetEngagement.engaged_seconds
        ).where(
            AssetEngagement.asset_id == asset_id,
            AssetEngagement.last_at >= experiment.started_at,
        )
    ):
        by_visitor[visitor_id] = seconds
        if lead_id is not None:
            by_lead[lead_id] = by_lead.get(lead_id, 0.0) + seconds
    unlocked: dict[int, datetime] = {}
    reached: dict[int, list[tuple[str, datetime]]] = {}
    for chunk in _chunks(lead_ids):
        for lead_id, first_unlock in session.execute(
            select(Unlock.lead_id, Unlock.unlocked_at).where(
                Unlock.asset_id == asset_id, Unlock.lead_id.in_(chunk)
            )
        ):
            unlocked[lead_id] = first_unlock
        for lead_id, kind, at in session.execute(
            select(FunnelMilestone.lead_id, FunnelMilestone.kind, FunnelMilestone.at).where(
                FunnelMilestone.lead_id.in_(chunk),
                FunnelMilestone.kind.in_(MILESTONES),
                FunnelMilestone.at >= experiment.started_at,
            )
        ):
            reached.setdefault(lead_id, []).append((kind, at))
    claimed = set(
        session.scalars(
            select(IdentityClaim.visitor_id).where(
                IdentityClaim.asset_id == asset_id,
                IdentityClaim.created_at >= experiment.started_at,
            )
        )
    )
    found = []
    for row in exposed:
        lead_id = row.lead_id
        seconds = by_lead.get(lead_id, 0.0) if lead_id is not None else 0.0
        seconds = max(seconds, by_visitor.get(row.visitor_id, 0.0))
        unlocked_at = unlocked.get(lead_id) if lead_id is not None else None
        found.append(
            Outcome(
                arm=row.arm,
                engaged_seconds=seconds,
                submitted=(unlocked_at is not None and unlocked_at >= row.first_at)
                or row.visitor_id in claimed,
                new_lead=row.created_at is not None and row.created_at >= row.first_at,
                reached=frozenset(
                    kind
                    for kind, at in reached.get(lead_id or 0, ())
                    if row.first_at <= at <= row.first_at + window
                ),
            )
        )
    return found


def store(
    session: Session, experiment_id: int, figures: dict[str, dict[str, float]], now: datetime
) -> None:
    """Replace an experiment's kept figures (``tally``'s) in a short write."""
    session.execute(delete(GateArmFigures).where(GateArmFigures.experiment_id == experiment_id))
    session.execute(
        insert(GateArmFigures),
        [
            {"experiment_id": experiment_id, "arm": arm, "computed_at": now, **values}
            for arm, values in figures.items()
        ],
    )


def refresh(read: SessionSource, write: SessionSource, experiment_id: int, now: datetime) -> None:
    """Recompute one experiment's figures: read in one session (seconds at tens of thousands
    of exposures), then store them in a short write (the write lock ingestion waits for)."""
    with read() as session:
        experiment = session.get(GateExperiment, experiment_id)
        if experiment is None:
            return
        figures = tally(outcomes(session, experiment))
    with write() as session:
        if session.get(GateExperiment, experiment_id) is not None:
            store(session, experiment_id, figures, now)


def refresh_all(read: SessionSource, write: SessionSource, now: datetime) -> str:
    """The job's pass over the experiments whose figures may still move (running, or ended
    within their window: milestones still come in), each read apart and stored in a short
    write of its own."""
    with read() as session:
        ids = [
            experiment.id
            for experiment in session.scalars(
                select(GateExperiment).where(
                    or_(
                        GateExperiment.ended_at.is_(None),
                        GateExperiment.ended_at >= now - timedelta(days=MAX_WINDOW_DAYS),
                    )
                )
            )
            if experiment.ended_at is None
            or experiment.ended_at + timedelta(days=experiment.window_days) >= now
        ]
    for experiment_id in ids:
        refresh(read, write, experiment_id, now)
    return f"{len(ids)} experiment(s)"


def intelligence_pass(
    read: SessionSource, write: SessionSource, stages: Sequence[str], now: datetime
) -> str:
    """The ``content-intelligence`` job: the gap matrix, the experiments' figures, then the
    buying process of the library and each topic."""
    return (
        f"{gaps.refresh(read, write, now)}, {refresh_all(read, write, now)}, "
        f"{process.refresh(read, write, stages, now)}"
    )


# --- the report ---------------------------------------------------------------------------------

METRICS = (
    ("engaged", N_("Engaged readers (30 s or more)")),
    ("submissions", N_("Form submissions")),
    ("new_leads", N_("New leads")),
    ("mql", N_("Reached MQL")),
    ("sql", N_("Reached SQL")),
    ("opportunity", N_("Reached opportunity")),
)
"""The shares compared, each out of the arm's readers."""


@dataclass(frozen=True, slots=True)
class ArmFigures:
    arm: str
    readers: int
    engaged_minutes: float
    """Engaged minutes per reader."""


@dataclass(frozen=True, slots=True)
class Report:
    experiment: GateExperiment
    exposed: dict[str, int]
    """Browsers exposed to each arm so far (counted now)."""
    computed_at: datetime | None
    arms: dict[str, ArmFigures] = field(default_factory=dict)
    verdicts: list[tuple[str, Verdict]] = field(default_factory=list)
    """(the metric's English label, its verdict) per compared share."""


def report(session: Session, experiment: GateExperiment) -> Report:
    """The experiment's kept figures, compared per metric, and each arm's exposures now."""
    exposed = {arm.value: 0 for arm in Arm}
    for arm, count in session.execute(
        select(GateExposure.arm, func.count())
        .where(GateExposure.experiment_id == experiment.id)
        .group_by(GateExposure.arm)
    ):
        exposed[arm] = count
    rows = {
        row.arm: row
        for row in session.scalars(
            select(GateArmFigures).where(GateArmFigures.experiment_id == experiment.id)
        )
    }
    if set(rows) != {arm.value for arm in Arm}:
        return Report(experiment, exposed, None)
    arms = {
        arm: ArmFigures(
            arm,
            row.readers,
            row.engaged_seconds / 60 / row.readers if row.readers else 0.0,
        )
        for arm, row in rows.items()
    }
    verdicts = [
        (
            label,
            verdict(
                metric,
                Share(getattr(rows[Arm.OPEN.value], metric), rows[Arm.OPEN.value].readers),
                Share(getattr(rows[Arm.GATED.value], metric), rows[Arm.GATED.value].readers),
            ),
        )
        for metric, label in METRICS
    ]
    computed = min(row.computed_at for row in rows.values())
    return Report(experiment, exposed, computed, arms, verdicts)
