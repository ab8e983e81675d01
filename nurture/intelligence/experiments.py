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

from content.editing import add_revision
from content.indexer import record_change
from content.models import Asset, Gate, Status
from content.orm import dialect_insert
from content.words import N_, Said
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


# --- an editor's experiment: start, end, apply the winner ------------------------------------

MIN_SHARE, MAX_SHARE = 5, 95
"""The open share an editor may choose, in per cent."""
MAX_WINDOW_DAYS = 365


class Refused(Exception):
    """An experiment the editor asked for cannot be had: ``said`` says why, ``conflict`` when
    it clashes with the state (HTTP 409) rather than being wrong input (400)."""

    def __init__(self, said: Said, *, conflict: bool = False) -> None:
        super().__init__(str(said))
        self.said = said
        self.conflict = conflict


def start(
    session: Session,
    asset_id: int,
    open_percent: int,
    window_days: int,
    author: str,
    now: datetime,
) -> GateExperiment:
    """Start an experiment on a live gated or soft asset: ``open_percent`` of new browsers see
    it open. One runs per asset at a time."""
    if not MIN_SHARE <= open_percent <= MAX_SHARE:
        raise Refused(
            Said(
                N_("The open share must be between %(low)s %% and %(high)s %%."),
                low=MIN_SHARE,
                high=MAX_SHARE,
            )
        )
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise Refused(
            Said(N_("The window must be between 1 and %(days)s days."), days=MAX_WINDOW_DAYS)
        )
    asset = session.get(Asset, asset_id) if 0 < asset_id < 2**31 else None
    if asset is None or asset.status != Status.PUBLISHED.value:
        raise Refused(Said(N_("Choose a published asset.")))
    if asset.gate == Gate.OPEN.value:
        raise Refused(
            Said(
                N_("“%(title)s” is open: only a gated or soft asset can be tested."),
                title=asset.title,
            )
        )
    if running(session, asset.id) is not None:
        raise Refused(
            Said(N_("An experiment already runs on “%(title)s”: end it first."), title=asset.title),
            conflict=True,
        )
    experiment = GateExperiment(
        asset_id=asset.id,
        gate=asset.gate,
        open_share=open_percent / 100,
        window_days=window_days,
        started_at=now,
        started_by=author,
    )
    session.add(experiment)
    session.flush()
    return experiment


def end(
    session: Session, experiment_id: int, author: str, now: datetime, apply: Arm | None = None
) -> GateExperiment:
    """End a running experiment, or apply the winner to one (running or ended, not yet
    applied): ``open`` opens the asset's gate, ``gated`` keeps the gate it had."""
    experiment = session.get(GateExperiment, experiment_id) if 0 < experiment_id < 2**31 else None
    if experiment is None:
        raise Refused(Said(N_("There is no such experiment.")))
    if experiment.applied:
        raise Refused(
            Said(N_("This experiment has ended and its winner is applied.")), conflict=True
        )
    if experiment.ended_at is not None and apply is None:
        raise Refused(Said(N_("This experiment has ended already.")), conflict=True)
    if experiment.ended_at is None:
        experiment.ended_at = now
        experiment.ended_by = author
    if apply is not None:
        experiment.applied = apply.value
        asset = session.get(Asset, experiment.asset_id)
        if apply is Arm.OPEN and asset is not None and asset.gate != Gate.OPEN.value:
            _set_gate(session, asset, Gate.OPEN.value, author, now)
    session.flush()
    return experiment


def _set_gate(session: Session, asset: Asset, gate: str, author: str, now: datetime) -> None:
    """Change the asset's gate as an edit would: a revision saying who and why, and the content
    change the search index and the page caches follow."""
    changes = {"gate": [asset.gate, gate]}
    asset.gate = gate
    asset.updated_at = now
    session.flush()
    add_revision(session, asset, author, "edited", changes)
    record_change(session, asset.id, "edited")


def experiments_of(
    session: Session, asset_id: int | None = None
) -> list[tuple[GateExperiment, Asset]]:
    """Experiments with their asset, running first then the latest ended (one asset's, or
    all)."""
    query = (
        select(GateExperiment, Asset)
        .join(Asset, Asset.id == GateExperiment.asset_id)
        .order_by(GateExperiment.ended_at.is_not(None), GateExperiment.id.desc())
        .limit(200)
    )
    if asset_id is not None:
        query = query.where(GateExperiment.asset_id == asset_id)
    return [(experiment, asset) for experiment, asset in session.execute(query)]


def testable_assets(session: Session) -> list[tuple[int, str, str]]:
    """Published gated and soft assets without a running experiment: (id, title, gate)."""
    busy = select(GateExperiment.asset_id).where(GateExperiment.ended_at.is_(None))
    return [
        (asset_id, title, gate)
        for asset_id, title, gate in session.execute(
            select(Asset.id, Asset.title, Asset.gate)
            .where(
                Asset.status == Status.PUBLISHED.value,
                Asset.gate != Gate.OPEN.value,
                Asset.id.not_in(busy),
            )
            .order_by(Asset.title)
        )
    ]
