"""Forgetting a browser ("Not you?"): its id stops speaking for its lead; the history stays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from content.orm import utcnow
from tracking.models import Visitor


def forget(session: Session, visitor_id: str, now: datetime | None = None) -> None:
    """ "Not you?": this browser id stops speaking for its lead (its history stays the lead's)."""
    session.execute(
        update(Visitor)
        .where(Visitor.id == visitor_id, Visitor.retired_at.is_(None))
        .values(retired_at=now or utcnow())
    )
