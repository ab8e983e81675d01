"""A hand-built set of leads for attribution: leads created, reads, visits, lifecycle moves,
and the attribution job's pass over them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from content.models import Asset
from nurture.attribution.rollup import credit_milestones, rebuild_money
from portal.db import Database
from tracking.models import AssetEngagement, Lead, LeadChange, Visitor
from tracking.pipeline import changelog
from tracking.sources.models import Visit

T = datetime(2026, 6, 20, 12, tzinfo=UTC)
"""The scenario's "now": milestones and touches are days before it."""
SIX_MONTHS = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


def day(n: int) -> datetime:
    return T - timedelta(days=n)


def lead(db: Database, email: str, created: datetime) -> int:
    """A lead created at ``created`` (the ``identified`` entry: its creation milestone)."""
    with db.write() as session:
        row = Lead(email=email, created_at=created, last_activity_at=created)
        session.add(row)
        session.flush()
        session.add(Visitor(id=f"v{row.id:031d}", lead_id=row.id, created_at=created))
        changelog.append(
            session, LeadChange(lead_id=row.id, at=created, kind="identified", new="lead")
        )
        return row.id


def lifecycle(db: Database, lead_id: int, new: str, at: datetime) -> None:
    with db.write() as session:
        changelog.append(session, LeadChange(lead_id=lead_id, at=at, kind="lifecycle", new=new))


def read(db: Database, lead_id: int, asset: Asset, at: datetime) -> None:
    with db.write() as session:
        session.add(
            AssetEngagement(
                visitor_id=f"v{lead_id:031d}", asset_id=asset.id, lead_id=lead_id,
                engaged_seconds=60.0, max_depth=1.0, views=1, first_at=at, last_at=at,
            )
        )  # fmt: skip


def visit(
    db: Database, lead_id: int, at: datetime, source: str, medium: str, campaign: str = ""
) -> None:
    with db.write() as session:
        row = Visit(
            visitor_id=f"v{lead_id:031d}", lead_id=lead_id, started_at=at, last_at=at,
            source=source, medium=medium, campaign=campaign, channel="social",
        )  # fmt: skip
        session.add(row)
        session.flush()
        found = session.get(Lead, lead_id)
        assert found is not None
        if found.first_visit_id is None:
            found.first_visit_id = row.id
        found.latest_visit_id = row.id


def run(db: Database) -> None:
    with db.write() as session:
        while credit_milestones(session, T + timedelta(days=1)):
            pass
        rebuild_money(session, T + timedelta(days=1), "EUR")
