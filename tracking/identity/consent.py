"""Marketing consent: each decision stored with the wording the person saw, its source and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.identity.facts import Source
from tracking.models import Consent, Lead


@dataclass(frozen=True, slots=True)
class ConsentText:
    """The consent wording shown, and its version."""

    version: str
    text: str


def record_consent(
    session: Session,
    lead: Lead,
    *,
    granted: bool,
    wording: ConsentText,
    source: Source,
    now: datetime,
) -> None:
    """Store a marketing consent decision with the text the person saw; the lead reflects it."""
    session.add(
        Consent(
            lead_id=lead.id,
            purpose="marketing",
            granted=granted,
            text_version=wording.version,
            text=wording.text,
            source=source.kind,
            source_ref=source.ref[:200],
            recorded_at=now,
        )
    )
    lead.marketing_consent = granted
    lead.marketing_consent_at = now


def consents(session: Session, lead_id: int) -> list[Consent]:
    """The lead's consent decisions, newest first."""
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.lead_id == lead_id)
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        )
    )
