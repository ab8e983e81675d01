"""The buying process the content-intelligence job keeps, on SQLite and PostgreSQL: for the
whole library and for each topic it equals what the page used to compute on every request
(kept below as the reference), capped at the latest leads, named by the assets' titles now."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session

from content.models import Asset, Topic, asset_topic
from content.orm import utcnow
from nurture.intelligence import experiments_report, process
from nurture.intelligence.process import DAYS, DECISION, ProcessView
from nurture.intelligence.rules import Journey, buying_process
from portal.db import Database
from portal.migrate import alembic_config
from tests.factories import make_asset
from tests.factories import make_reader as lead
from tracking.models import AssetEngagement, Lead, LeadChange
from tracking.rules.config import default_model

STAGES = default_model().stages


def computed_per_request(
    session: Session, stages: Sequence[str], now: datetime, topic: str, most_leads: int
) -> ProcessView:
    """The page's computation before the job kept it (``read_process`` until issue 20's last
    part): one topic's latest decided leads chosen in SQL, their journeys read per request."""
    reached = (
        select(LeadChange.lead_id, func.min(LeadChange.at).label("at"))
        .where(
            LeadChange.kind == "stage",
            LeadChange.new == DECISION,
            LeadChange.at >= now - timedelta(days=DAYS),
        )
        .group_by(LeadChange.lead_id)
    )
    if topic:
        reached = reached.where(
            LeadChange.lead_id.in_(
                select(AssetEngagement.lead_id)
                .join(asset_topic, asset_topic.c.asset_id == AssetEngagement.asset_id)
                .join(Topic, Topic.id == asset_topic.c.topic_id)
                .where(Topic.slug == topic)
            )
        )
    decided = dict(
        session.execute(
            reached.order_by(func.min(LeadChange.at).desc()).limit(most_leads + 1)
        ).all()
    )
    capped = len(decided) > most_leads
    if capped:
        decided.pop(min(decided, key=lambda lead_id: decided[lead_id]))
    ids = sorted(decided)
    reads: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    reached_at: dict[int, dict[str, datetime]] = defaultdict(dict)
    for lead_id, asset_id, first_at in session.execute(
        select(AssetEngagement.lead_id, AssetEngagement.asset_id, AssetEngagement.first_at).where(
            AssetEngagement.lead_id.in_(ids)
        )
    ):
        if lead_id is not None and first_at <= decided[lead_id]:
            reads[lead_id].append((first_at, asset_id))
    for lead_id, created in session.execute(
        select(Lead.id, Lead.created_at).where(Lead.id.in_(ids))
    ):
        reached_at[lead_id][stages[0]] = created
    for lead_id, stage, at in session.execute(
        select(LeadChange.lead_id, LeadChange.new, func.min(LeadChange.at))
        .where(LeadChange.lead_id.in_(ids), LeadChange.kind == "stage")
        .group_by(LeadChange.lead_id, LeadChange.new)
    ):
        reached_at[lead_id][stage] = at
    journeys = []
    for lead_id in ids:
        ordered: list[int] = []
        for _, asset_id in sorted(reads.get(lead_id, [])):
            if asset_id not in ordered:
                ordered.append(asset_id)
        journeys.append(Journey(tuple(ordered), reached_at.get(lead_id, {})))
    found = buying_process(journeys, stages)
    named = {asset for asset, _ in found.most_read} | {
        asset for path, _ in found.paths for asset in path
    }
    titles = {
        asset_id: (slug, title)
        for asset_id, slug, title in session.execute(
            select(Asset.id, Asset.slug, Asset.title).where(Asset.id.in_(sorted(named)))
        )
    }
    return ProcessView(topic, found, titles, capped)


def changed(db: Database, lead_id: int, days_ago: float, new: str, old: str = "") -> None:
    with db.write() as session:
        session.add(
            LeadChange(
                lead_id=lead_id, at=utcnow() - timedelta(days=days_ago), kind="stage",
                old=old, new=new,
            )
        )  # fmt: skip


def decided(db: Database, email: str, days_ago: float, read: dict[int, int]) -> int:
    """A lead that read ``read`` (days ago), reached consideration and then decision."""
    lead_id = lead(db, email, DECISION, int(days_ago), read)
    changed(db, lead_id, days_ago + 14.5, "consideration", "awareness")
    changed(db, lead_id, days_ago, DECISION, "consideration")
    return lead_id


def library(db: Database) -> dict[str, Asset]:
    """Readers of pricing, energy, both and neither; leads decided inside and outside the
    window, twice, never, and reading after deciding."""
    assets = {
        "p1": make_asset(db, title="Pricing 1", topics=["pricing"]),
        "p2": make_asset(db, title="Pricing 2", topics=["pricing"]),
        "p3": make_asset(db, title="Pricing 3", topics=["pricing"]),
        "e1": make_asset(db, title="Energy 1", topics=["energy"]),
        "pe": make_asset(db, title="Both", topics=["pricing", "energy"]),
        "m1": make_asset(db, title="Misc", topics=["misc"]),
        "q1": make_asset(db, title="Quiet", topics=["quiet"]),  # read by no decided lead
    }
    a = {key: asset.id for key, asset in assets.items()}
    decided(db, "d1@x.example", 10, {a["p1"]: 30, a["p2"]: 20, a["p3"]: 15, a["e1"]: 5})
    decided(db, "d2@x.example", 11, {a["p1"]: 40, a["pe"]: 30, a["p2"]: 12})
    decided(db, "d3@x.example", 15, {a["e1"]: 50, a["m1"]: 40, a["pe"]: 35, a["p1"]: 20})
    decided(db, "d4@x.example", 5, {a["m1"]: 1})  # read only after deciding
    decided(db, "d5@x.example", 3, {a["p1"]: 9, a["p2"]: 8, a["p3"]: 7})
    twice = decided(db, "d6@x.example", 20, {a["p2"]: 60, a["p1"]: 50, a["p3"]: 30})
    changed(db, twice, 4, DECISION, "consideration")  # the first decision counts
    decided(db, "old@x.example", DAYS + 20, {a["p1"]: 300, a["q1"]: 250})
    lead(db, "still@x.example", "consideration", 40, {a["p1"]: 3, a["q1"]: 2})
    return assets


@pytest.mark.parametrize("most_leads", [process.MOST_LEADS, 2])
def test_the_job_keeps_what_the_page_computed_for_the_library_and_each_topic(
    db: Database, monkeypatch: pytest.MonkeyPatch, most_leads: int
) -> None:
    assets = library(db)
    monkeypatch.setattr(process, "MOST_LEADS", most_leads)
    now = utcnow()
    said = process.refresh(db.read, db.write, STAGES, now)
    assert said.endswith(" lead(s) and 4 topic(s)")
    with db.read() as session:
        for topic in ("", "pricing", "energy", "misc", "quiet"):
            kept = process.read_process(session, topic)
            assert kept is not None
            before = computed_per_request(session, STAGES, now, topic, most_leads)
            assert (kept.topic, kept.process, kept.titles, kept.capped) == (
                before.topic,
                before.process,
                before.titles,
                before.capped,
            ), topic
            assert kept.computed_at == now
        whole = process.read_process(session, "")
        quiet = process.read_process(session, "quiet")
    assert whole is not None
    assert quiet is not None
    if most_leads == 2:
        assert whole.capped
        assert whole.process.leads == 2
    else:
        assert not whole.capped
        assert whole.process.leads == 6
        first, second, third = (assets[key].id for key in ("p1", "p2", "p3"))
        assert whole.process.paths[0] == ((first, second, third), 2)
    assert quiet.process.leads == 0  # its readers decided too long ago, or never


def test_the_page_names_assets_by_their_title_now_or_as_kept(db: Database) -> None:
    assets = library(db)
    process.refresh(db.read, db.write, STAGES, utcnow())
    with db.write() as session:
        session.execute(
            update(Asset).where(Asset.id == assets["p1"].id).values(title="Pricing, renamed")
        )
        session.execute(delete(Asset).where(Asset.id == assets["p2"].id))
    with db.read() as session:
        view = process.read_process(session, "pricing")
    assert view is not None
    assert view.titles[assets["p1"].id] == (assets["p1"].slug, "Pricing, renamed")
    assert view.titles[assets["p2"].id] == (assets["p2"].slug, "Pricing 2")  # deleted: as kept


def test_before_the_first_pass_nothing_is_kept_and_a_pass_replaces_the_last(
    db: Database,
) -> None:
    with db.read() as session:
        assert process.read_process(session, "") is None
    assets = library(db)
    said = experiments_report.intelligence_pass(db.read, db.write, STAGES, utcnow())
    assert said.endswith(", the buying process of 6 lead(s) and 4 topic(s)")
    with db.write() as session:
        session.execute(delete(Lead).where(Lead.email.in_(["d1@x.example", "d2@x.example"])))
        session.execute(delete(Topic).where(Topic.slug == "quiet"))
    later = utcnow() + timedelta(minutes=15)
    process.refresh(db.read, db.write, STAGES, later)
    with db.read() as session:
        whole = process.read_process(session, "")
        assert whole is not None
        assert (whole.process.leads, whole.computed_at) == (4, later)
        assert process.read_process(session, "quiet") is None
    assert assets


def test_the_migration_goes_down_and_up(db: Database) -> None:
    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "f3b8d1c6a274-1")  # before the kept buying process
    try:
        assert "content_process" not in inspect(db.engine).get_table_names()
    finally:
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    assert "content_process" in inspect(db.engine).get_table_names()
    library(db)
    process.refresh(db.read, db.write, STAGES, utcnow())
    with db.read() as session:
        assert process.read_process(session, "energy") is not None
