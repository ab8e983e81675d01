"""Raw-event retention: events older than the retention period go; aggregates stay.

Deleting runs in small chunks, each its own transaction, so it never holds
the write lock long enough to slow ingestion down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from content.orm import utcnow
from tracking.ingest import WriteSessions
from tracking.models import Event

CHUNK = 5000


def delete_expired_events(
    database: WriteSessions, retention_days: int, now: datetime | None = None
) -> int:
    """Delete raw events that occurred more than ``retention_days`` ago; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    deleted = 0
    while True:
        with database.write() as session:
            ids = list(
                session.scalars(select(Event.id).where(Event.occurred_at < cutoff).limit(CHUNK))
            )
            if ids:
                session.execute(delete(Event).where(Event.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted
