"""Appending to the lead change log so its sequence is also the commit order.

On PostgreSQL two transactions could take sequence numbers 7 and 8 and commit
8 first; a reader that has seen 8 would then skip 7 for good. A table lock
that conflicts only with itself makes writers of the log queue until the
holder commits (readers are never blocked). SQLite needs nothing: its write
transactions already run one at a time.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from content.orm import utcnow
from tracking.models import FunnelMilestone, LeadChange

MILESTONE_LIFECYCLES = frozenset({"mql", "sql", "opportunity", "customer"})
"""Lifecycles whose reaching is a funnel milestone (with ``created``: the lead's creation)."""


def append(session: Session, *entries: LeadChange) -> None:
    """Add change-log entries in the caller's transaction, and the funnel milestones they
    record (a lead created, a lifecycle of ``MILESTONE_LIFECYCLES`` reached)."""
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE lead_change IN SHARE ROW EXCLUSIVE MODE"))
    session.add_all(entries)
    session.add_all(
        FunnelMilestone(lead_id=entry.lead_id, kind=kind, at=entry.at or utcnow())
        for entry in entries
        if (kind := milestone_of(entry.kind, entry.new)) is not None
    )


def milestone_of(kind: str, new: str) -> str | None:
    """The funnel milestone a change-log entry records, if any."""
    if kind == "identified":
        return "created"
    if kind == "lifecycle" and new in MILESTONE_LIFECYCLES:
        return new
    return None
