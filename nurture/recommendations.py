"""Recommendations for a lead or a browser: load what tracking stores, rank with ``recommend``.

The portal (home, asset pages, after an unlock) and the console call
``recommend_for_lead`` / ``recommend_for_visitor``. What every ranking shares
(the live catalog, readers per asset and the co-reading table) sits in an
``AudienceCache`` the caller keeps for the life of the process; without one,
each call loads it afresh (correct, just slower).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from content.catalog import content_version, live
from content.models import Asset, Persona
from nurture.ranking import (
    Audience,
    Candidate,
    Read,
    ReaderContext,
    Recommendation,
    content_fast_lane,
    decision_stage,
    personas_from_title,
    rank,
)
from tracking.identity.visitors import active_lead_id
from tracking.lead_profile import profile
from tracking.models import AssetEngagement, Event, Lead, Unlock, VisitorJourney
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState, stage_evidence

__all__ = [
    "AudienceCache",
    "Recommendation",
    "recommend_for_lead",
    "recommend_for_visitor",
]

CO_READING_WINDOW = 3
"""A reader "went on to read" Y after X when Y is among the next three assets they opened."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """The live assets as candidates, by id, with persona labels (for matching job titles)."""

    version: int
    candidates: tuple[Candidate, ...]
    by_id: Mapping[int, Candidate]
    persona_labels: Mapping[str, str]


def load_catalog(session: Session) -> Catalog:
    """Every published asset as a ranking candidate (one query plus two for the taxonomies)."""
    assets = session.scalars(
        select(Asset)
        .where(live())
        .options(selectinload(Asset.topics), selectinload(Asset.personas))
        .order_by(Asset.id)
    ).all()
    originals = {a.translation_of_id for a in assets if a.translation_of_id is not None}
    original_slugs: dict[int, str] = {}
    if originals:
        found = session.execute(select(Asset.id, Asset.slug).where(Asset.id.in_(originals)))
        original_slugs = {asset_id: slug for asset_id, slug in found}
    by_id = {
        asset.id: Candidate(
            slug=asset.slug,
            title=asset.title,
            kind=asset.kind,
            stage=asset.stage,
            topics=tuple(t.slug for t in asset.topics),
            personas=tuple(p.slug for p in asset.personas),
            published_at=asset.published_at,
            updated_at=asset.updated_at,
            gate=asset.gate,
            featured=asset.featured,
            language=asset.language,
            piece=original_slugs.get(asset.translation_of_id or 0, ""),
        )
        for asset in assets
    }
    # A job title in any language matches: "Marketing Operations" and its German label too.
    labels = {
        slug: " ".join([label, *(other or {}).values()])
        for slug, label, other in session.execute(
            select(Persona.slug, Persona.label, Persona.labels)
        )
    }
    return Catalog(content_version(session), tuple(by_id.values()), by_id, labels)


def co_reading(
    trails: Iterable[Iterable[int]], window: int = CO_READING_WINDOW
) -> tuple[dict[int, int], dict[int, dict[int, float]]]:
    """Readers per asset, and X → Y → the share of X's readers who opened Y within the next
    ``window`` assets they opened. Each trail is one reader's assets in first-opened order."""
    readers: dict[int, int] = defaultdict(int)
    pairs: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for trail in trails:
        order = list(dict.fromkeys(trail))
        for at, asset_id in enumerate(order):
            readers[asset_id] += 1
            for later in order[at + 1 : at + 1 + window]:
                pairs[asset_id][later] += 1
    shares = {
        x: {y: count / readers[x] for y, count in after.items()} for x, after in pairs.items()
    }
    return dict(readers), shares


def _reader_trails(session: Session) -> list[list[int]]:
    """Each reader's assets in the order first opened (a lead's browsers count as one reader)."""
    rows = session.execute(
        select(
            AssetEngagement.lead_id,
            AssetEngagement.visitor_id,
            AssetEngagement.asset_id,
            AssetEngagement.first_at,
        )
    )
    by_reader: dict[object, list[tuple[datetime, int]]] = defaultdict(list)
    for lead_id, visitor_id, asset_id, first_at in rows:
        key = ("lead", lead_id) if lead_id is not None else ("visitor", visitor_id)
        by_reader[key].append((first_at, asset_id))
    return [[asset_id for _, asset_id in sorted(trail)] for trail in by_reader.values()]


def load_audience(session: Session, catalog: Catalog) -> tuple[Audience, int]:
    """The audience aggregates over the live catalog, and how many engagement rows went in."""
    trails = _reader_trails(session)
    readers, shares = co_reading(trails)
    slug = {asset_id: c.slug for asset_id, c in catalog.by_id.items()}
    audience = Audience(
        readers={slug[a]: n for a, n in readers.items() if a in slug},
        co_reading={
            slug[x]: {slug[y]: s for y, s in after.items() if y in slug}
            for x, after in shares.items()
            if x in slug
        },
    )
    return audience, sum(len(t) for t in trails)


def _event_head(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0


class AudienceCache:
    """The catalog and audience aggregates, shared by every ranking in this process.

    The catalog is reloaded when the content version moves. The audience is
    stale when reading has grown by ``growth`` (new events against the rows it
    was built from) or, once anything changed, after ``max_age`` seconds. With
    ``background`` (the app) a request never rebuilds aggregates it already
    has: ``refresh`` does, from a background thread (building them reads every
    engagement row: seconds at a million), and requests rank with the previous
    aggregates meanwhile, unless no refresh came for three ``max_age``. Without
    it, the request that finds them stale rebuilds them while the other threads
    rank with the previous ones.
    """

    def __init__(
        self, growth: float = 0.05, max_age: float = 600.0, *, background: bool = False
    ) -> None:
        self.growth = growth
        self.max_age = max_age
        self.background = background
        self._catalog: Catalog | None = None
        self._audience: tuple[Audience, int, int, float] | None = None
        """(aggregates, rows they came from, event head then, monotonic time built)."""
        self._lock = threading.Lock()
        self.loads = 0
        """How many times the audience was built (for benchmarks)."""

    def catalog(self, session: Session) -> Catalog:
        cached = self._catalog
        if cached is None or cached.version != content_version(session):
            cached = self._catalog = load_catalog(session)
        return cached

    def audience(self, session: Session, catalog: Catalog) -> Audience:
        cached = self._audience
        if cached is not None and self.background and not self._abandoned(cached):
            return cached[0]
        head = _event_head(session)
        if cached is not None and not self._stale(cached, head):
            return cached[0]
        if not self._lock.acquire(blocking=cached is None):
            return cached[0] if cached is not None else Audience()
        try:
            return self._load(session, catalog, head)
        finally:
            self._lock.release()

    def refresh(self, session: Session) -> bool:
        """Rebuild stale aggregates now (the app's background thread); True if it did."""
        with self._lock:  # a request building the first aggregates holds it
            head = _event_head(session)
            cached = self._audience
            if cached is not None and not self._stale(cached, head):
                return False
            self._load(session, self.catalog(session), head)
        return True

    def _load(self, session: Session, catalog: Catalog, head: int) -> Audience:
        audience, rows = load_audience(session, catalog)
        self._audience = (audience, rows, head, time.monotonic())
        self.loads += 1
        return audience

    def _abandoned(self, cached: tuple[Audience, int, int, float]) -> bool:
        """Older than three refresh periods: the background refresh is not running."""
        return time.monotonic() - cached[3] > 3 * self.max_age

    def _stale(self, cached: tuple[Audience, int, int, float], head: int) -> bool:
        _, rows, built_head, built_at = cached
        if head == built_head:
            return False
        if head < built_head:  # events were removed (retention, erasure): rebuild
            return True
        grown = head - built_head >= max(1.0, self.growth * rows)
        return grown or time.monotonic() - built_at > self.max_age


def _shared(session: Session, cache: AudienceCache | None) -> tuple[Catalog, Audience]:
    cache = cache or AudienceCache()
    catalog = cache.catalog(session)
    return catalog, cache.audience(session, catalog)


def _context(
    session: Session,
    catalog: Catalog,
    state: JourneyState,
    stage: str,
    confidence: float,
    engaged: Iterable[int],
    profile_facts: Mapping[str, str],
    model: Model,
    now: datetime,
    language: str | None = None,
) -> ReaderContext:
    """A reader context from a journey state (decayed per-asset weights) and touched assets."""
    half_life = model.scoring.half_life_days
    reads = []
    for asset_id, touch in state.assets.items():
        candidate = catalog.by_id.get(asset_id)
        if candidate is not None:
            weight = touch.evidence.at(now, half_life)
            reads.append(
                Read(candidate.slug, candidate.title, weight, candidate.topics, candidate.personas)
            )
    touched = {catalog.by_id[a].slug for a in engaged if a in catalog.by_id}
    decision = decision_stage(model)
    evidence = {e.stage: e.score for e in stage_evidence(state, profile_facts, now, model)}
    title = profile_facts.get("job_title", "")
    return ReaderContext(
        stage=stage,
        confidence=confidence,
        fast_lane=content_fast_lane(stage, evidence.get(decision, 0.0), model),
        reads=tuple(sorted(reads, key=lambda r: r.slug)),
        consumed=frozenset(touched),
        personas=personas_from_title(title, catalog.persona_labels) if title else {},
        language=language,
    )


def lead_context(
    session: Session,
    lead_id: int,
    catalog: Catalog,
    model: Model,
    now: datetime,
    language: str | None = None,
) -> ReaderContext | None:
    """What ranking needs to know of a lead (None when there is no such lead); ``language``
    is the one the lead reads now (a page's), else the lead's own."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    engaged = set(
        session.scalars(select(AssetEngagement.asset_id).where(AssetEngagement.lead_id == lead_id))
    )
    engaged |= set(session.scalars(select(Unlock.asset_id).where(Unlock.lead_id == lead_id)))
    return _context(
        session,
        catalog,
        JourneyState.from_json(lead.journey),
        lead.journey_stage,
        lead.stage_confidence,
        engaged,
        profile(session, lead_id),
        model,
        now,
        language or lead.language or None,
    )


def visitor_context(
    session: Session,
    visitor_id: str,
    catalog: Catalog,
    model: Model,
    now: datetime,
    language: str | None = None,
) -> ReaderContext:
    """What ranking needs to know of an anonymous browser (its visitor journey)."""
    row = session.get(VisitorJourney, visitor_id)
    engaged = session.scalars(
        select(AssetEngagement.asset_id).where(AssetEngagement.visitor_id == visitor_id)
    )
    if row is None:
        state, stage = JourneyState(), model.stages[0]
    else:
        state, stage = JourneyState.from_json(row.journey), row.journey_stage
    return _context(session, catalog, state, stage, 0.0, engaged, {}, model, now, language)


def _ranked(
    catalog: Catalog,
    audience: Audience,
    reader: ReaderContext,
    model: Model,
    now: datetime,
    limit: int,
    exclude: str | None,
) -> list[Recommendation]:
    if exclude:
        reader = ReaderContext(
            reader.stage,
            reader.confidence,
            reader.fast_lane,
            reader.reads,
            reader.consumed | {exclude},
            reader.personas,
            reader.language,
        )
    return rank(catalog.candidates, reader, audience, model, now, limit)


def recommend_for_lead(
    session: Session,
    lead_id: int,
    model: Model,
    now: datetime,
    limit: int = 3,
    exclude: str | None = None,
    cache: AudienceCache | None = None,
    language: str | None = None,
) -> list[Recommendation]:
    """The next assets for a lead (its whole trail over all its browsers), best first, in
    ``language`` where there is a version in it (default: the lead's language)."""
    catalog, audience = _shared(session, cache)
    reader = lead_context(session, lead_id, catalog, model, now, language)
    if reader is None:
        reader = ReaderContext(model.stages[0], language=language)
    return _ranked(catalog, audience, reader, model, now, limit, exclude)


def recommend_for_visitor(
    session: Session,
    visitor_id: str | None,
    model: Model,
    now: datetime,
    limit: int = 3,
    exclude: str | None = None,
    cache: AudienceCache | None = None,
    language: str | None = None,
) -> list[Recommendation]:
    """The next assets for a browser: its lead's when identified, its own journey when
    anonymous, the non-personal list (popular and featured, first stage) without an id; in
    ``language`` (the page's) where there is a version in it."""
    catalog, audience = _shared(session, cache)
    reader = ReaderContext(model.stages[0], language=language)
    if visitor_id:
        lead_id = active_lead_id(session, visitor_id)
        found = (
            lead_context(session, lead_id, catalog, model, now, language)
            if lead_id is not None
            else visitor_context(session, visitor_id, catalog, model, now, language)
        )
        reader = found or reader
    return _ranked(catalog, audience, reader, model, now, limit, exclude)
