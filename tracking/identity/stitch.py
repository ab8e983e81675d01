"""Stitching: a browser's anonymous history becomes its lead's when the browser identifies."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from tracking.models import AssetEngagement, Event
from tracking.pipeline import audience


def stitch(session: Session, visitor_id: str, lead_id: int) -> int:
    """Move a visitor's anonymous events and aggregates to a lead; returns how many events moved.

    Only rows without a lead move, so stitching twice changes nothing and
    another lead's history is never touched.
    """
    result = session.execute(
        update(Event)
        .where(Event.visitor_id == visitor_id, Event.lead_id.is_(None))
        .values(lead_id=lead_id)
    )
    moved = session.execute(
        update(AssetEngagement)
        .where(AssetEngagement.visitor_id == visitor_id, AssetEngagement.lead_id.is_(None))
        .values(lead_id=lead_id)
    )
    if getattr(moved, "rowcount", 0):  # one reader's trail joins another's
        audience.mark(
            session, (audience.reader_of(None, visitor_id), audience.reader_of(lead_id, ""))
        )
    return int(getattr(result, "rowcount", 0) or 0)
