"""A lead's profile as it stands now, and every value it ever had."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.models import ProfileFact


def profile(session: Session, lead_id: int) -> dict[str, str]:
    """The lead's current profile: the newest value of every field."""
    rows = session.execute(
        select(ProfileFact.field, ProfileFact.value).where(
            ProfileFact.lead_id == lead_id, ProfileFact.superseded_at.is_(None)
        )
    )
    return {field: value for field, value in rows}


def profile_history(session: Session, lead_id: int) -> list[ProfileFact]:
    """Every value the lead's fields ever had, newest first (provenance included)."""
    return list(
        session.scalars(
            select(ProfileFact)
            .where(ProfileFact.lead_id == lead_id)
            .order_by(ProfileFact.recorded_at.desc(), ProfileFact.id.desc())
        )
    )
