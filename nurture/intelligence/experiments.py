"""Gate experiments on the public side: which arm a browser is shown on an asset with a
running experiment (``rules.arm_shown``: sticky per browser, a lead that passed the gate
never gated again) and its first sight recorded as a ``GateExposure``.

The asset page stays the same for every browser; the arm is decided where the gate form is,
the per-browser fragment ``GET /library/{slug}/gate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import dialect_insert
from nurture.intelligence.models import GateExperiment, GateExposure
from nurture.intelligence.rules import Arm, arm_for, arm_shown


@dataclass(frozen=True, slots=True)
class Shown:
    """The arm one browser is shown on one running experiment."""

    experiment_id: int
    arm: Arm
    counted: bool
    """The visit counts for the experiment (False: the browser passed the gate before)."""
    exposed: bool
    """Its exposure is recorded already."""

    @property
    def open(self) -> bool:
        return self.arm is Arm.OPEN

    @property
    def to_record(self) -> bool:
        return self.counted and not self.exposed


def running(session: Session, asset_id: int) -> GateExperiment | None:
    """The asset's running experiment (at most one runs per asset)."""
    return session.scalar(
        select(GateExperiment)
        .where(GateExperiment.asset_id == asset_id, GateExperiment.ended_at.is_(None))
        .order_by(GateExperiment.id.desc())
        .limit(1)
    )


def shown(
    session: Session, asset_id: int, visitor_id: str | None, *, passed_gate: bool
) -> Shown | None:
    """The arm this browser sees, or None when no experiment runs on the asset (or the browser
    has no id to be sticky by)."""
    if not visitor_id:
        return None
    experiment = running(session, asset_id)
    if experiment is None:
        return None
    arm, counted = arm_shown(
        experiment.id, visitor_id, experiment.open_share, passed_gate=passed_gate
    )
    exposed = counted and session.get(GateExposure, (experiment.id, visitor_id)) is not None
    return Shown(experiment.id, arm, counted, exposed)


def expose(session: Session, seen: Shown, visitor_id: str, now: datetime) -> bool:
    """Record a browser's first sight of the experiment and its arm; True when it was new (a
    second sight, also a racing one, changes nothing)."""
    if not seen.counted:
        return False
    insert = dialect_insert(session)
    return (
        session.scalar(
            insert(GateExposure)
            .values(
                experiment_id=seen.experiment_id, visitor_id=visitor_id, arm=seen.arm, first_at=now
            )
            .on_conflict_do_nothing(
                index_elements=[GateExposure.experiment_id, GateExposure.visitor_id]
            )
            .returning(GateExposure.visitor_id)
        )
        is not None
    )


def sees_open(session: Session, asset_id: int, visitor_id: str | None) -> bool:
    """Whether this browser is in the open arm of the asset's running experiment: it may read
    the gated file (its page and download link say so)."""
    if not visitor_id:
        return False
    experiment = running(session, asset_id)
    return (
        experiment is not None
        and arm_for(experiment.id, visitor_id, experiment.open_share) is Arm.OPEN
    )
