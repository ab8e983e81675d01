"""An account: one company, its people (leads) and what it adds up to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow


class Account(Base):
    """A company. Made from a business email domain when its first lead arrives, or by a
    marketer (then possibly without a domain). The figures are kept by the account job."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    """The company's email domain (``pipewise.example``); none for an account made by hand."""
    name: Mapped[str] = mapped_column(String(200), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    """The staff member who made it by hand; empty when made from a domain."""
    people: Mapped[int] = mapped_column(default=0, index=True)
    engagement: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    """The account's engagement score as it stood at ``engagement_as_of``."""
    engagement_as_of: Mapped[datetime | None]
    furthest_stage: Mapped[str] = mapped_column(String(40), default="")
    common_stage: Mapped[str] = mapped_column(String(40), default="")
    last_activity_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
