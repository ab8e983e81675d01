"""A lead's original and latest source, as the lead page, the lead list, the CSV export, the
Lead JSON and webhooks show them: its first visit ever and its latest visit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.models import Lead
from tracking.sources.models import Visit


class TouchRead(msgspec.Struct):
    """Where a visit came from: when it started, its source and medium (``utm_source`` and
    ``utm_medium``, else the referrer's name and kind, else ``direct`` / ``none``), its
    campaign, term and content, the referring host and the ad click id (``gclid:…``); empty
    text where there was none."""

    at: datetime
    source: str
    medium: str
    campaign: str
    term: str
    content: str
    referrer: str
    click_id: str


class LeadSourceRead(msgspec.Struct):
    """The lead's original source (its first visit ever) and its latest (its latest visit);
    null until a tracked browser of the lead has loaded a page."""

    first: TouchRead | None
    latest: TouchRead | None


@dataclass(frozen=True, slots=True)
class LeadSources:
    """A lead's first and latest visit (the same visit when it had one)."""

    first: Visit | None
    latest: Visit | None


def touch_read(visit: Visit | None) -> TouchRead | None:
    if visit is None:
        return None
    return TouchRead(
        at=visit.started_at,
        source=visit.source,
        medium=visit.medium,
        campaign=visit.campaign,
        term=visit.term,
        content=visit.content,
        referrer=visit.referrer,
        click_id=visit.click_id,
    )


def sources_of(session: Session, leads: Iterable[Lead]) -> dict[int, LeadSources]:
    """The first and latest visit of each lead, read in one query."""
    leads = list(leads)
    ids = {i for lead in leads for i in (lead.first_visit_id, lead.latest_visit_id) if i}
    found = (
        {visit.id: visit for visit in session.scalars(select(Visit).where(Visit.id.in_(ids)))}
        if ids
        else {}
    )
    return {
        lead.id: LeadSources(
            found.get(lead.first_visit_id or 0), found.get(lead.latest_visit_id or 0)
        )
        for lead in leads
    }


def lead_sources(session: Session, lead: Lead) -> LeadSources:
    """One lead's first and latest visit."""
    return sources_of(session, [lead])[lead.id]


def source_read(session: Session, lead: Lead) -> LeadSourceRead:
    """The Lead document's ``source``."""
    found = lead_sources(session, lead)
    return LeadSourceRead(first=touch_read(found.first), latest=touch_read(found.latest))
