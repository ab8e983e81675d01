"""A deal as the CRM knows it, kept by its external id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow


class Deal(Base):
    """One opportunity in the CRM. A post with the same ``external_id`` updates it."""

    __tablename__ = "deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(300), default="")
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """The amount in the currency's minor unit (cents): exact on both backends."""
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    stage: Mapped[str] = mapped_column(String(8), default="open", index=True)
    """``open``, ``won`` or ``lost``."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    """When the CRM opened the deal (``created_at`` of the post, else when first posted)."""
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    recycle_at: Mapped[datetime | None] = mapped_column(index=True)
    """For a lost deal: when its lead goes back to nurturing (``recycled``), unless it has
    another open or won deal by then."""
