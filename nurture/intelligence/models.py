"""Content intelligence's tables (``StalledLead`` lives in ``tracking.models``: the lead
list filters by it), kept by the ``content-intelligence`` job so its pages read a
few hundred rows, never the event log or every lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow
from tracking.models import VISITOR_ID_LENGTH


class ContentCell(Base):
    """One cell of the gap matrix: a journey stage by a topic or persona, in one language of
    the library (``*``: all of them)."""

    __tablename__ = "content_cell"

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``topic`` or ``persona``."""
    language: Mapped[str] = mapped_column(String(5), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    """The topic's or persona's slug."""
    assets: Mapped[int] = mapped_column(default=0)
    """Published assets in the cell."""
    readers: Mapped[int] = mapped_column(default=0)
    """Readers of the cell's assets in the last 90 days (a reader of two of them counts twice)."""
    engaged_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    stalled: Mapped[int] = mapped_column(default=0)
    """Stalled leads whose last read was in this cell."""
    stalled_here: Mapped[int] = mapped_column(default=0)
    """Of those, the ones at the cell's stage themselves."""
    exhausted: Mapped[int] = mapped_column(default=0)
    """Of ``stalled_here``, the ones who have read every asset of the cell."""
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentProcess(Base):
    """The buying process of one topic's readers (``""``: the whole library) as the job last
    computed it (``process.compute``), so the page reads one row."""

    __tablename__ = "content_process"

    topic: Mapped[str] = mapped_column(String(80), primary_key=True)
    """The topic's slug, or "" for every lead that reached decision."""
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``leads``, ``capped``, ``median_assets``, ``most_read`` ([asset, leads]), ``paths``
    ([[a, b, c], leads]) and ``stage_days`` ({stage: median days})."""
    assets: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    """[id, slug, title] of every asset the figures name, as they were when computed."""
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class GateExperiment(Base):
    """An editor's test of a gated (or soft-gated) asset: ``open_share`` of new browsers see
    it open, the rest the gate, until the editor ends it (and maybe applies the winner)."""

    __tablename__ = "gate_experiment"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    gate: Mapped[str] = mapped_column(String(10))
    """The asset's gate when the experiment started (the gated arm's)."""
    open_share: Mapped[float] = mapped_column(Float, default=0.5)
    window_days: Mapped[int] = mapped_column(default=90)
    """How long after their visit readers' milestones (MQL, SQL, opportunity) count."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[str] = mapped_column(String(254), default="")
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str] = mapped_column(String(254), default="")
    applied: Mapped[str] = mapped_column(String(10), default="")
    """The arm applied to the asset when the experiment ended (``open``/``gated``), or ""."""


class GateExposure(Base):
    """A browser's first sight of an experiment's asset, and the arm it got."""

    __tablename__ = "gate_exposure"
    # the report counts each arm's browsers from this index alone
    __table_args__ = (Index("ix_gate_exposure_arm", "experiment_id", "arm"),)

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("gate_experiment.id", ondelete="CASCADE"), primary_key=True
    )
    visitor_id: Mapped[str] = mapped_column(String(VISITOR_ID_LENGTH), primary_key=True)
    arm: Mapped[str] = mapped_column(String(6))
    first_at: Mapped[datetime] = mapped_column(default=utcnow)


class GateArmFigures(Base):
    """What one arm of an experiment's exposed browsers did, kept by the
    ``content-intelligence`` job (and when an experiment ends) so its report reads two rows."""

    __tablename__ = "gate_arm_figures"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("gate_experiment.id", ondelete="CASCADE"), primary_key=True
    )
    arm: Mapped[str] = mapped_column(String(6), primary_key=True)
    readers: Mapped[int] = mapped_column(default=0)
    """Browsers exposed to the arm."""
    engaged: Mapped[int] = mapped_column(default=0)
    """Of those, the ones that read the asset for ``ENGAGED_SECONDS`` or more."""
    engaged_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    submissions: Mapped[int] = mapped_column(default=0)
    """Readers that sent the asset's form after their first sight."""
    new_leads: Mapped[int] = mapped_column(default=0)
    """Readers that became a lead after their first sight."""
    mql: Mapped[int] = mapped_column(default=0)
    sql: Mapped[int] = mapped_column(default=0)
    opportunity: Mapped[int] = mapped_column(default=0)
    """Readers whose lead reached MQL, SQL, opportunity within the window after first sight."""
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetSnooze(Base):
    """An editor's answer to a fading or out-of-date flag: not now, and why."""

    __tablename__ = "asset_snooze"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    snoozed_by: Mapped[str] = mapped_column(String(254), default="")
    snoozed_at: Mapped[datetime] = mapped_column(default=utcnow)
    until: Mapped[datetime]
