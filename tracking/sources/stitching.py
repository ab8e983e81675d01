"""Visits and identity: a browser's anonymous visits become its lead's when it identifies, its
current visit goes on under the browser's fresh id, and a lead's first and latest visit are
the earliest and the newest of all its visits (after identification and after a merge)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tracking.models import Lead, Visitor
from tracking.sources.models import Visit


def stitch_visits(session: Session, visitor_id: str, lead_id: int) -> int:
    """Give a browser's anonymous visits to a lead; returns how many moved (visits of another
    lead never move)."""
    result = session.execute(
        update(Visit)
        .where(Visit.visitor_id == visitor_id, Visit.lead_id.is_(None))
        .values(lead_id=lead_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def carried_visit(old: Visitor, lead_id: int) -> tuple[int | None, datetime | None]:
    """The visit (and last page) a browser's fresh id goes on with when the browser identifies
    as ``lead_id``: its current one, unless that was another lead's or the id was retired."""
    if old.retired_at is not None or old.lead_id not in (None, lead_id):
        return None, None
    return old.visit_id, old.last_seen_at


def refresh_lead_visits(session: Session, lead: Lead) -> None:
    """Set the lead's first and latest visit from all its visits (two index lookups)."""
    mine = select(Visit.id).where(Visit.lead_id == lead.id).limit(1)
    lead.first_visit_id = session.scalar(mine.order_by(Visit.started_at, Visit.id))
    lead.latest_visit_id = session.scalar(mine.order_by(Visit.started_at.desc(), Visit.id.desc()))
