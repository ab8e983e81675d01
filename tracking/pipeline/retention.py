"""Raw-event retention: events older than the retention period go; aggregates stay.

Deleting runs in small chunks, each its own transaction, so it never holds
the write lock long enough to slow ingestion down.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from content.orm import SessionSource, start_of, utcnow
from tracking.models import Event

CHUNK = 5000


def delete_expired_events(
    database: SessionSource, retention_days: int, now: datetime | None = None
) -> int:
    """Delete raw events that occurred more than ``retention_days`` ago; returns how many.

    Whole UTC days go at once (the cut is the midnight before the limit), so no day is left
    half-counted when the daily roll-ups are rebuilt from what remains."""
    limit = (now or utcnow()) - timedelta(days=retention_days)
    cutoff = start_of(limit.astimezone(UTC).date())
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
