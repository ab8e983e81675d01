"""Funnel milestones: written with the change-log entry that records them, so attribution
finds a lead's creation, MQL, SQL, opportunity and customer moments without the event log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from content.orm import utcnow
from portal.db import Database
from tracking.identity import identify as identification
from tracking.identity.facts import Source
from tracking.identity.leadadmin import erase
from tracking.models import FunnelMilestone, Lead, LeadChange
from tracking.pipeline import changelog, leadstate
from tracking.rules.scoring import Lifecycle


def milestones(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(Lead.email, FunnelMilestone.kind)
            .join(Lead, Lead.id == FunnelMilestone.lead_id)
            .order_by(FunnelMilestone.at, FunnelMilestone.id)
        ).all()
    return [(email, kind) for email, kind in rows]


def new_lead(db: Database, email: str) -> int:
    with db.write() as session:
        done = identification.identify(
            session, visitor_id=None, email=email, answers={}, consent=None,
            source=Source("form", "pricing-guide"),
        )  # fmt: skip
        return done.lead_id


def move(db: Database, lead_id: int, target: Lifecycle, minutes: int) -> None:
    """Sales' move by hand (SQL, recycled)."""
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        leadstate.set_lifecycle(
            session, lead, target, "test", now=utcnow() + timedelta(minutes=minutes)
        )


def becomes_mql(db: Database, lead_id: int, minutes: int) -> None:
    """The rules' move, logged as ``leadstate.evaluate`` logs it."""
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        at = utcnow() + timedelta(minutes=minutes)
        entry = LeadChange(lead_id=lead_id, at=at, kind="lifecycle", old=lead.lifecycle, new="mql")
        lead.lifecycle = "mql"
        changelog.append(session, entry)


def test_creation_and_each_funnel_lifecycle_are_milestones_and_a_recycle_is_not(
    db: Database,
) -> None:
    ada = new_lead(db, "ada@example.com")
    new_lead(db, "ada@example.com")  # the same person again: no second creation
    becomes_mql(db, ada, 1)
    move(db, ada, Lifecycle.SQL, 2)
    move(db, ada, Lifecycle.RECYCLED, 3)
    becomes_mql(db, ada, 4)  # back from nurturing: a second MQL moment
    assert milestones(db) == [
        ("ada@example.com", "created"),
        ("ada@example.com", "mql"),
        ("ada@example.com", "sql"),
        ("ada@example.com", "mql"),
    ]


def test_erasing_a_lead_removes_its_milestones(db: Database) -> None:
    ada = new_lead(db, "ada@example.com")
    new_lead(db, "bo@example.com")
    with db.write() as session:
        assert erase(session, ada)
    assert milestones(db) == [("bo@example.com", "created")]
