"""A visit and its source: the first touch of a browser's session with the portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow
from tracking.models import VISITOR_ID_LENGTH


class Visit(Base):
    """One visit of one browser: where it came from (UTM, click id, referrer) and when.

    A visit starts with the first page of a browser, after 30 minutes without a page, or when
    a page arrives with another campaign; ``lead_id`` is set when the browser's lead is known
    (and stitched on when it identifies later)."""

    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_lead_id_started_at", "lead_id", "started_at"),
        Index("ix_visit_visitor_id_started_at", "visitor_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[str] = mapped_column(
        String(VISITOR_ID_LENGTH), ForeignKey("visitor.id", ondelete="CASCADE")
    )
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    """The visit's latest page once it is over (written when the browser's next visit starts;
    while it goes on, its latest page is its browser's ``Visitor.last_seen_at``, so a page of
    a continuing visit writes one row, not two)."""
    source: Mapped[str] = mapped_column(String(100), default="")
    """``utm_source``, else the referrer's name (``google``, ``linkedin``), else ``direct``."""
    medium: Mapped[str] = mapped_column(String(100), default="")
    """``utm_medium``, else what the referrer is (``organic``, ``social``, ``email``,
    ``referral``), else ``none``."""
    campaign: Mapped[str] = mapped_column(String(200), default="", index=True)
    term: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(String(200), default="")
    referrer: Mapped[str] = mapped_column(String(253), default="")
    """The referring host (``www.linkedin.com``); empty when there was none or it was us."""
    channel: Mapped[str] = mapped_column(String(12), default="direct", index=True)
    """``search``, ``social``, ``email``, ``referral`` (another site), ``paid`` or ``direct``."""
    click_id: Mapped[str] = mapped_column(String(200), default="")
    """``gclid``, ``msclkid`` or ``li_fat_id`` as ``name:value``."""
    landing: Mapped[str] = mapped_column(String(300), default="")
    """The path (and query) of the visit's first page."""
