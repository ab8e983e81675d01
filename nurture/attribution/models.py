"""The attribution rollups: credits per month, milestone, family, key, model and window, kept
by the ``attribution`` job so the report reads small tables, never the event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow


class AttributionMonth(Base):
    """What one key (an asset id, a source, a campaign, a program id) earned in one month.

    ``milestone``: ``created``, ``mql``, ``sql``, ``opportunity``, ``customer`` (credit in
    milestones, a fraction each) or ``pipeline`` / ``revenue`` (credit in the report
    currency's minor unit, from deals opened / won). ``touched``: the milestones (or deals)
    of the month whose window held this key, whatever the model."""

    __tablename__ = "attribution_month"
    __table_args__ = (
        # The report's slice (a family under one model and window, over months), with every
        # column it sums: read from the index alone, whatever the other slices hold.
        Index(
            "ix_attribution_month_slice",
            "family",
            "model",
            "window_days",
            "month",
            "milestone",
            "key",
            "credit",
            "touched",
        ),
    )

    month: Mapped[datetime] = mapped_column(primary_key=True)
    milestone: Mapped[str] = mapped_column(String(12), primary_key=True)
    family: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str] = mapped_column(String(6), primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit: Mapped[float] = mapped_column(Float, default=0.0)
    touched: Mapped[int] = mapped_column(default=0)


class AttributionGap(Base):
    """Milestones (or deals) of a month with no touch of a family in the window: the part of
    the funnel a report cannot credit, shown beside it."""

    __tablename__ = "attribution_gap"

    month: Mapped[datetime] = mapped_column(primary_key=True)
    milestone: Mapped[str] = mapped_column(String(12), primary_key=True)
    family: Mapped[str] = mapped_column(String(8), primary_key=True)
    window_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    reached: Mapped[float] = mapped_column(Float, default=0.0)
    """Milestones reached (deals: their amount in minor units)."""
    unattributed: Mapped[float] = mapped_column(Float, default=0.0)


class SourceTiming(Base):
    """Time from a lead's first touch (its first visit) to a milestone, per original source
    and month of the milestone: the report shows the average per source."""

    __tablename__ = "attribution_timing"

    month: Mapped[datetime] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    milestone: Mapped[str] = mapped_column(String(12), primary_key=True)
    leads: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[int] = mapped_column(BigInteger, default=0)


class AttributionState(Base):
    """How far the job has read: the last funnel milestone credited, and the deals' state."""

    __tablename__ = "attribution_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(BigInteger, default=0)
    deals_seen_at: Mapped[datetime | None]
    """The newest ``deal.updated_at`` whose pipeline and revenue are in the rollups."""
    deals: Mapped[int] = mapped_column(default=0)
    """How many deals the money rollups were built from (a deleted deal changes it)."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
