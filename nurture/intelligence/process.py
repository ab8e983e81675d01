"""The buying process of the leads that reached decision lately (``rules.buying_process``): how
many assets they read before it, which, in which order, and how long each stage took; for the
whole library or one topic."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Asset, Topic, asset_topic
from nurture.intelligence.rules import Journey, Process, buying_process
from tracking.models import AssetEngagement, Lead, LeadChange

DAYS = 180
"""Leads that reached decision in this many days before now."""
MOST_LEADS = 5_000
"""At most this many of them (the latest) are read, so the page stays quick."""
DECISION = "decision"


@dataclass(frozen=True, slots=True)
class ProcessView:
    topic: str
    process: Process
    titles: dict[int, tuple[str, str]]
    """asset id → (slug, title) of every asset the view names."""
    capped: bool


def read_process(
    session: Session, stages: Sequence[str], now: datetime, topic: str = ""
) -> ProcessView:
    """The buying process of the latest leads that reached decision in ``DAYS`` days, those
    that read an asset of ``topic`` when one is given."""
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
            reached.order_by(func.min(LeadChange.at).desc()).limit(MOST_LEADS + 1)
        ).all()
    )
    capped = len(decided) > MOST_LEADS
    if capped:
        decided.pop(min(decided, key=lambda lead_id: decided[lead_id]))
    ids = sorted(decided)
    reads: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    reached_at: dict[int, dict[str, datetime]] = defaultdict(dict)
    for first in range(0, len(ids), 2_000):
        chunk = ids[first : first + 2_000]
        for lead_id, asset_id, first_at in session.execute(
            select(
                AssetEngagement.lead_id, AssetEngagement.asset_id, AssetEngagement.first_at
            ).where(AssetEngagement.lead_id.in_(chunk))
        ):
            if lead_id is not None and first_at <= decided[lead_id]:
                reads[lead_id].append((first_at, asset_id))
        for lead_id, created in session.execute(
            select(Lead.id, Lead.created_at).where(Lead.id.in_(chunk))
        ):
            reached_at[lead_id][stages[0]] = created
        for lead_id, stage, at in session.execute(
            select(LeadChange.lead_id, LeadChange.new, func.min(LeadChange.at))
            .where(LeadChange.lead_id.in_(chunk), LeadChange.kind == "stage")
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
