"""The gap matrix the content-intelligence job keeps, on SQLite and PostgreSQL: cells per
stage and topic (and persona, per language), recent reading from asset_daily, and stalled
leads by the cell they read last."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from content.orm import utcnow
from nurture.intelligence import gaps
from nurture.intelligence.models import ContentCell
from portal.db import Database
from tests.factories import make_asset
from tests.factories import make_reader as lead
from tracking.models import AssetDaily, Lead, StalledLead


def cells(
    db: Database, dimension: str = "topic", language: str = "*"
) -> dict[tuple[str, str], ContentCell]:
    with db.read() as session:
        found = session.scalars(
            select(ContentCell).where(
                ContentCell.dimension == dimension, ContentCell.language == language
            )
        )
        return {(cell.stage, cell.key): cell for cell in found}


def test_the_matrix_counts_assets_reading_and_stalled_leads_by_cell(db: Database) -> None:
    energy = make_asset(db, stage="consideration", topics=["energy-monitoring"], language="en")
    other = make_asset(db, stage="consideration", topics=["energy-monitoring"], language="de")
    make_asset(
        db, stage="awareness", topics=["energy-monitoring", "lead-scoring"], personas=["cfo"]
    )
    make_asset(db, stage="decision", topics=["lead-scoring"], published=False)  # a draft
    today = utcnow().date()
    with db.write() as session:
        session.add(AssetDaily(asset_id=energy.id, day=today, readers=4, engaged_seconds=600))
        session.add(AssetDaily(asset_id=energy.id, day=today - timedelta(days=120), readers=50))
    done_all = lead(db, "a@x.example", "consideration", 45, {energy.id: 3, other.id: 5})
    stuck = lead(db, "b@x.example", "consideration", 60, {energy.id: 2})
    lead(db, "c@x.example", "consideration", 10, {energy.id: 2})  # moved lately: not stalled
    lead(db, "d@x.example", "consideration", 90, {energy.id: 40})  # quiet: not stalled
    lead(db, "e@x.example", "awareness", 90, {energy.id: 1})  # stalled, at another stage

    said = gaps.refresh(db.read, db.write, utcnow())
    assert said.endswith(" cell(s), 3 stalled lead(s)")

    matrix = cells(db)
    cell = matrix["consideration", "energy-monitoring"]
    assert (cell.assets, cell.readers, cell.engaged_seconds) == (2, 4, 600.0)  # 90 days only
    assert (cell.stalled, cell.stalled_here, cell.exhausted) == (3, 2, 1)
    assert matrix["awareness", "energy-monitoring"].assets == 1
    assert matrix["awareness", "lead-scoring"].stalled == 0
    assert ("decision", "lead-scoring") not in matrix  # drafts make no cell
    assert set(cells(db, "persona")) == {("awareness", "cfo")}
    # per language: the German asset alone; its readers' last read was English, so no stalls
    german = cells(db, "topic", "de")["consideration", "energy-monitoring"]
    assert (german.assets, german.stalled) == (1, 0)
    with db.read() as session:
        linked = set(
            session.execute(select(StalledLead.lead_id, StalledLead.stage, StalledLead.key))
        )
    assert {(lead_id, stage) for lead_id, stage, key in linked if key == "energy-monitoring"} >= {
        (done_all, "consideration"),
        (stuck, "consideration"),
    }


def test_a_second_pass_replaces_the_first(db: Database) -> None:
    asset = make_asset(db, stage="decision", topics=["pricing"])
    lead(db, "a@x.example", "decision", 45, {asset.id: 3})
    gaps.refresh(db.read, db.write, utcnow())
    assert cells(db)["decision", "pricing"].stalled == 1
    with db.write() as session:
        session.query(Lead).update({Lead.stage_changed_at: utcnow()})
    gaps.refresh(db.read, db.write, utcnow())
    assert cells(db)["decision", "pricing"].stalled == 0
    with db.read() as session:
        assert session.scalars(select(StalledLead)).all() == []
