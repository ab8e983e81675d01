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

from tracking.models import LeadChange


def append(session: Session, *entries: LeadChange) -> None:
    """Add change-log entries in the caller's transaction."""
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE lead_change IN SHARE ROW EXCLUSIVE MODE"))
    session.add_all(entries)
