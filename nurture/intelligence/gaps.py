"""The gap matrix, kept by the ``content-intelligence`` job: for each journey stage by topic
(and by persona), per library language and for the whole library, the published assets,
their readers and engaged time in the last 90 days, and the stalled leads who read there last
(``rules.stalls_by_cell``). The job reads the assets, ``asset_daily`` and, for the leads that
may be stalled only, their reading (``asset_engagement``); the console reads the few hundred
rows it writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from content.models import Asset, Persona, Status, Topic, asset_persona, asset_topic
from nurture.intelligence.models import ContentCell
from nurture.intelligence.rules import (
    READING_DAYS,
    STALL_DAYS,
    Reader,
    is_stalled,
    stalls_by_cell,
)
from tracking.models import AssetDaily, AssetEngagement, Lead, StalledLead

ALL = "*"
"""The language of the cells that count the whole library."""
DIMENSIONS = ("topic", "persona")
RECENT_DAYS = 90

SessionSource = Callable[[], AbstractContextManager[Session]]
Cells = dict[tuple[str, str], frozenset[int]]
"""(stage, key) → the published assets of the cell."""


@dataclass(frozen=True, slots=True)
class Library:
    """The published assets as the matrix sees them."""

    stage: dict[int, str]
    language: dict[int, str]
    keys: dict[tuple[str, int], tuple[str, ...]]
    """(dimension, asset) → the asset's topic or persona slugs."""

    def languages(self) -> list[str]:
        return [ALL, *sorted(set(self.language.values()))]

    def cells_of(self, dimension: str, asset_id: int, language: str) -> tuple[tuple[str, str], ...]:
        """The (stage, key) cells of an asset in ``language`` (ALL: whatever its language)."""
        if asset_id not in self.stage or language not in (ALL, self.language[asset_id]):
            return ()
        stage = self.stage[asset_id]
        return tuple((stage, key) for key in self.keys.get((dimension, asset_id), ()))

    def cells(self, dimension: str, language: str) -> Cells:
        found: dict[tuple[str, str], set[int]] = defaultdict(set)
        for asset_id in self.stage:
            for cell in self.cells_of(dimension, asset_id, language):
                found[cell].add(asset_id)
        return {cell: frozenset(assets) for cell, assets in found.items()}


def _slugs(dimension: str) -> Select[Any]:
    if dimension == "topic":
        return select(asset_topic.c.asset_id, Topic.slug).join(
            Topic, Topic.id == asset_topic.c.topic_id
        )
    return select(asset_persona.c.asset_id, Persona.slug).join(
        Persona, Persona.id == asset_persona.c.persona_id
    )


def read_library(session: Session) -> Library:
    published = session.execute(
        select(Asset.id, Asset.stage, Asset.language).where(Asset.status == Status.PUBLISHED.value)
    ).all()
    keys: dict[tuple[str, int], list[str]] = defaultdict(list)
    for dimension in DIMENSIONS:
        for asset_id, slug in session.execute(_slugs(dimension)):
            keys[dimension, asset_id].append(slug)
    return Library(
        stage={asset_id: stage for asset_id, stage, _ in published},
        language={asset_id: language for asset_id, _, language in published},
        keys={key: tuple(sorted(slugs)) for key, slugs in keys.items()},
    )


def recent_reading(session: Session, now: datetime) -> dict[int, tuple[int, float]]:
    """Per asset: readers and engaged seconds over the last ``RECENT_DAYS`` days."""
    since = (now - timedelta(days=RECENT_DAYS)).date()
    rows = session.execute(
        select(
            AssetDaily.asset_id, func.sum(AssetDaily.readers), func.sum(AssetDaily.engaged_seconds)
        )
        .where(AssetDaily.day >= since)
        .group_by(AssetDaily.asset_id)
    )
    return {
        asset_id: (int(readers or 0), float(seconds or 0)) for asset_id, readers, seconds in rows
    }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A lead that may be stalled: its stage, since when, and its reading."""

    lead_id: int
    stage: str
    stage_since: datetime
    last_read_at: datetime | None
    last_asset: int | None
    read: frozenset[int]


def candidates(session: Session, now: datetime) -> Iterator[Candidate]:
    """Leads at their stage for ``STALL_DAYS`` or more that were active in the last
    ``READING_DAYS``, each with its reading: the only leads the stall rule may flag."""
    since = func.coalesce(Lead.stage_changed_at, Lead.created_at)
    wanted = (
        select(Lead.id, Lead.journey_stage, since)
        .where(since <= now - timedelta(days=STALL_DAYS))
        .where(Lead.last_activity_at >= now - timedelta(days=READING_DAYS))
    )
    leads = {lead_id: (stage, at) for lead_id, stage, at in session.execute(wanted)}
    reading: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    ids = sorted(leads)
    for first in range(0, len(ids), 5000):
        chunk = ids[first : first + 5000]
        for lead_id, asset_id, last_at in session.execute(
            select(
                AssetEngagement.lead_id, AssetEngagement.asset_id, AssetEngagement.last_at
            ).where(AssetEngagement.lead_id.in_(chunk))
        ):
            if lead_id is not None:
                reading[lead_id].append((asset_id, last_at))
    for lead_id in ids:
        stage, at = leads[lead_id]
        reads = reading.get(lead_id, [])
        last = max(reads, key=lambda read: read[1]) if reads else None
        yield Candidate(
            lead_id=lead_id,
            stage=stage,
            stage_since=at,
            last_read_at=last[1] if last else None,
            last_asset=last[0] if last else None,
            read=frozenset(asset for asset, _ in reads),
        )


@dataclass(frozen=True, slots=True)
class Matrix:
    cells: list[dict[str, Any]]
    stalled: list[dict[str, Any]]


def compute(
    library: Library,
    recent: dict[int, tuple[int, float]],
    leads: list[Candidate],
    now: datetime,
) -> Matrix:
    """Every cell of both dimensions in every language (and ALL), with its assets, recent
    reading and stalls; and the stalled leads of each cell (whole library only)."""
    rows: list[dict[str, Any]] = []
    stalled_rows: list[dict[str, Any]] = []
    for dimension in DIMENSIONS:
        for language in library.languages():
            cells = library.cells(dimension, language)
            readers = [
                Reader(
                    lead_id=lead.lead_id,
                    stage=lead.stage,
                    stage_since=lead.stage_since,
                    last_read_at=lead.last_read_at,
                    last_cells=(
                        library.cells_of(dimension, lead.last_asset, language)
                        if lead.last_asset is not None
                        else ()
                    ),
                    read=lead.read,
                )
                for lead in leads
            ]
            stalls = stalls_by_cell(readers, cells, now)
            for stage, key in sorted(set(cells) | set(stalls)):
                assets = cells.get((stage, key), frozenset())
                stalled, here, exhausted = stalls.get((stage, key), (0, 0, 0))
                rows.append(
                    {
                        "dimension": dimension,
                        "language": language,
                        "stage": stage,
                        "key": key,
                        "assets": len(assets),
                        "readers": sum(recent.get(a, (0, 0.0))[0] for a in assets),
                        "engaged_seconds": sum(recent.get(a, (0, 0.0))[1] for a in assets),
                        "stalled": stalled,
                        "stalled_here": here,
                        "exhausted": exhausted,
                        "computed_at": now,
                    }
                )
            if language == ALL:
                stalled_rows.extend(
                    {"dimension": dimension, "stage": stage, "key": key, "lead_id": r.lead_id}
                    for r in readers
                    if is_stalled(r, now)
                    for stage, key in r.last_cells
                )
    return Matrix(rows, stalled_rows)


def refresh(read: SessionSource, write: SessionSource, now: datetime) -> str:
    """One pass of the job: read in one session, replace the matrix in one short write."""
    with read() as session:
        library = read_library(session)
        recent = recent_reading(session, now)
        leads = list(candidates(session, now))
    matrix = compute(library, recent, leads, now)
    with write() as session:
        session.execute(delete(StalledLead))
        session.execute(delete(ContentCell))
        if matrix.cells:
            session.execute(insert(ContentCell), matrix.cells)
        if matrix.stalled:
            session.execute(insert(StalledLead), matrix.stalled)
    stalled = len({row["lead_id"] for row in matrix.stalled})
    return f"{len(matrix.cells)} cell(s), {stalled} stalled lead(s)"
