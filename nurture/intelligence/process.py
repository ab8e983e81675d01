"""The buying process of the leads that reached decision lately (``rules.buying_process``): how
many assets they read before it, which, in which order, and how long each stage took; for the
whole library and for the readers of each topic.

The ``content-intelligence`` job computes it (``refresh``): one read of the decided leads'
reading, the latest ``MOST_LEADS`` chosen overall and per topic in Python by the assets' topics,
then the chosen leads' stage changes; it replaces the ``content_process`` rows in one short
write. The page reads one row (``read_process``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from content.models import Asset, Topic, asset_topic
from nurture.intelligence.gaps import SessionSource
from nurture.intelligence.models import ContentProcess
from nurture.intelligence.rules import Journey, Process, buying_process
from tracking.models import AssetEngagement, Lead, LeadChange

DAYS = 180
"""Leads that reached decision in this many days before now."""
MOST_LEADS = 5_000
"""At most this many of them (the latest) are counted, for the library and for each topic."""
DECISION = "decision"
WHOLE_LIBRARY = ""
"""The ``content_process`` row of every lead that reached decision, whatever it read."""
CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class ProcessView:
    topic: str
    process: Process
    titles: dict[int, tuple[str, str]]
    """asset id → (slug, title) of every asset the view names."""
    capped: bool
    computed_at: datetime | None = None


def decided_leads(session: Session, now: datetime) -> dict[int, datetime]:
    """Every lead that reached decision in the last ``DAYS`` days, and when it first did."""
    return dict(
        session.execute(
            select(LeadChange.lead_id, func.min(LeadChange.at))
            .where(
                LeadChange.kind == "stage",
                LeadChange.new == DECISION,
                LeadChange.at >= now - timedelta(days=DAYS),
            )
            .group_by(LeadChange.lead_id)
        ).all()
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    return (ids[first : first + CHUNK] for first in range(0, len(ids), CHUNK))


def first_reads(session: Session, leads: Collection[int]) -> dict[int, list[tuple[datetime, int]]]:
    """(first read, asset) of every asset each lead has read, whenever."""
    reads: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for chunk in _chunks(sorted(leads)):
        for lead_id, asset_id, first_at in session.execute(
            select(
                AssetEngagement.lead_id, AssetEngagement.asset_id, AssetEngagement.first_at
            ).where(AssetEngagement.lead_id.in_(chunk))
        ):
            if lead_id is not None:
                reads[lead_id].append((first_at, asset_id))
    return reads


def stages_reached(
    session: Session, leads: Collection[int], first_stage: str
) -> dict[int, dict[str, datetime]]:
    """When each lead reached each stage (the first stage: when it became a lead)."""
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    for chunk in _chunks(sorted(leads)):
        for lead_id, created in session.execute(
            select(Lead.id, Lead.created_at).where(Lead.id.in_(chunk))
        ):
            reached[lead_id][first_stage] = created
        for lead_id, stage, at in session.execute(
            select(LeadChange.lead_id, LeadChange.new, func.min(LeadChange.at))
            .where(LeadChange.lead_id.in_(chunk), LeadChange.kind == "stage")
            .group_by(LeadChange.lead_id, LeadChange.new)
        ):
            reached[lead_id][stage] = at
    return reached


def latest(decided: dict[int, datetime], leads: Iterable[int]) -> tuple[list[int], bool]:
    """The latest ``MOST_LEADS`` of ``leads`` to reach decision, by id; and whether there were
    more."""
    ordered = sorted(leads, key=lambda lead_id: (decided[lead_id], lead_id), reverse=True)
    return sorted(ordered[:MOST_LEADS]), len(ordered) > MOST_LEADS


def journey(
    reads: list[tuple[datetime, int]], decided_at: datetime, reached: dict[str, datetime]
) -> Journey:
    """A lead's first reads up to its decision, in order, each asset once."""
    ordered: list[int] = []
    for first_at, asset_id in sorted(reads):
        if first_at <= decided_at and asset_id not in ordered:
            ordered.append(asset_id)
    return Journey(tuple(ordered), reached)


def compute(
    session: Session, stages: Sequence[str], now: datetime
) -> dict[str, tuple[Process, bool]]:
    """(process, capped) for the whole library (``WHOLE_LIBRARY``) and every topic, whose
    leads are those that read one of its assets (before or after deciding)."""
    decided = decided_leads(session, now)
    reads = first_reads(session, decided)
    topics_of: dict[int, set[str]] = defaultdict(set)
    for asset_id, slug in session.execute(
        select(asset_topic.c.asset_id, Topic.slug).join(Topic, Topic.id == asset_topic.c.topic_id)
    ):
        topics_of[asset_id].add(slug)
    readers: dict[str, set[int]] = {slug: set() for slug in session.scalars(select(Topic.slug))}
    for lead_id, read in reads.items():
        for _, asset_id in read:
            for slug in topics_of.get(asset_id, ()):
                readers.setdefault(slug, set()).add(lead_id)
    chosen = {WHOLE_LIBRARY: latest(decided, decided)}
    chosen.update((slug, latest(decided, leads)) for slug, leads in readers.items())
    counted = {lead_id for leads, _ in chosen.values() for lead_id in leads}
    reached = stages_reached(session, counted, stages[0])
    journeys = {
        lead_id: journey(reads.get(lead_id, []), decided[lead_id], reached.get(lead_id, {}))
        for lead_id in counted
    }
    return {
        topic: (buying_process([journeys[lead_id] for lead_id in leads], stages), capped)
        for topic, (leads, capped) in chosen.items()
    }


def named(process: Process) -> set[int]:
    """The assets a process names: its most read and those on its paths."""
    return {asset for asset, _ in process.most_read} | {
        asset for path, _ in process.paths for asset in path
    }


def titles_of(session: Session, assets: Collection[int]) -> dict[int, tuple[str, str]]:
    return {
        asset_id: (slug, title)
        for asset_id, slug, title in session.execute(
            select(Asset.id, Asset.slug, Asset.title).where(Asset.id.in_(sorted(assets)))
        )
    }


def row(
    topic: str, process: Process, capped: bool, titles: dict[int, tuple[str, str]], now: datetime
) -> dict[str, Any]:
    """The ``content_process`` row of one topic's process."""
    figures = {
        "leads": process.leads,
        "capped": capped,
        "median_assets": process.median_assets,
        "most_read": [list(item) for item in process.most_read],
        "paths": [[list(path), count] for path, count in process.paths],
        "stage_days": process.stage_days,
    }
    assets = [[asset, *titles[asset]] for asset in sorted(named(process)) if asset in titles]
    return {"topic": topic, "figures": figures, "assets": assets, "computed_at": now}


def refresh(read: SessionSource, write: SessionSource, stages: Sequence[str], now: datetime) -> str:
    """The job's pass: compute every topic's process in one read session, then replace the
    ``content_process`` rows in one short write."""
    with read() as session:
        found = compute(session, stages, now)
        titles = titles_of(session, set().union(*(named(p) for p, _ in found.values())))
    rows = [row(topic, p, capped, titles, now) for topic, (p, capped) in found.items()]
    with write() as session:
        session.execute(delete(ContentProcess))
        session.execute(insert(ContentProcess), rows)
    leads = found[WHOLE_LIBRARY][0].leads
    return f"the buying process of {leads} lead(s) and {len(found) - 1} topic(s)"


def read_process(session: Session, topic: str = WHOLE_LIBRARY) -> ProcessView | None:
    """The process the job kept for ``topic`` (None before its first pass), naming each asset
    by its title now when it still exists."""
    kept = session.get(ContentProcess, topic)
    if kept is None:
        return None
    figures = kept.figures
    process = Process(
        leads=figures["leads"],
        median_assets=figures["median_assets"],
        most_read=[(asset, count) for asset, count in figures["most_read"]],
        paths=[((path[0], path[1], path[2]), count) for path, count in figures["paths"]],
        stage_days=dict(figures["stage_days"]),
    )
    titles = {asset: (slug, title) for asset, slug, title in kept.assets}
    titles.update(titles_of(session, named(process)))
    return ProcessView(topic, process, titles, bool(figures["capped"]), kept.computed_at)
