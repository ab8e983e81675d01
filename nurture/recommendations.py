"""Recommendations for a lead or a browser: load what tracking stores, rank with ``recommend``.

The portal (home, asset pages, after an unlock), the console and program mails call
``recommend_for_lead`` / ``recommend_for_visitor``. What every ranking shares (the live
catalog, readers per asset and co-reading) comes from the audience tables one job keeps for
every process (``tracking.pipeline.audience``); an ``AudienceCache`` the caller keeps for the
life of the process holds the small parts between changes; without one, each call reads
them afresh (correct, a few small queries more).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
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
from tracking.models import AssetEngagement, Lead, Unlock, VisitorJourney
from tracking.pipeline import audience as audience_store
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState, stage_evidence

__all__ = [
    "AudienceCache",
    "Recommendation",
    "recommend_for_lead",
    "recommend_for_visitor",
]


@dataclass(frozen=True, slots=True)
class Catalog:
    """The live assets as candidates, by id, with persona labels (for matching job titles)."""

    version: int
    candidates: tuple[Candidate, ...]
    by_id: Mapping[int, Candidate]
    persona_labels: Mapping[str, str]

    @property
    def id_of(self) -> Mapping[str, int]:
        return {candidate.slug: asset_id for asset_id, candidate in self.by_id.items()}


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


class AudienceCache:
    """The live catalog (per content version) and the readers per asset (per audience
    generation) for the rankings of this process, with the co-reading rows rankings asked for.

    Both are small (one row per asset) and come from shared tables the
    ``recommendation-audience`` job keeps (``tracking.pipeline.audience``): nothing is
    built here, so no request ever waits for an aggregate over the whole history.
    """

    def __init__(self) -> None:
        self._catalog: Catalog | None = None
        self._readers: tuple[int, int, dict[str, int]] | None = None
        """(generation, catalog version, readers per live slug)."""
        self._pairs: tuple[int, dict[int, dict[int, int]]] = (-1, {})
        """(generation, asset id → later asset id → readers), filled as rankings ask."""

    def catalog(self, session: Session) -> Catalog:
        cached = self._catalog
        if cached is None or cached.version != content_version(session):
            cached = self._catalog = load_catalog(session)
        return cached

    def audience(self, session: Session, catalog: Catalog, reads: Iterable[str] = ()) -> Audience:
        """Readers per live asset, and co-reading after the assets in ``reads`` (the only
        rows a ranking looks at: what went on from the reader's own reads)."""
        now = audience_store.generation(session)
        readers = self._readers
        if readers is None or readers[0] != now or readers[1] != catalog.version:
            counts = audience_store.readers_per_asset(session)
            slugs = {a: c.slug for a, c in catalog.by_id.items()}
            readers = (now, catalog.version, {slugs[a]: n for a, n in counts.items() if a in slugs})
            self._readers = readers
        known, pairs = self._pairs
        if known != now:
            pairs = {}
            self._pairs = (now, pairs)
        id_of = catalog.id_of
        wanted = {id_of[slug] for slug in reads if slug in id_of}
        missing = wanted - pairs.keys()
        if missing:
            pairs.update(audience_store.pairs_after(session, missing))
        return Audience(readers[2], _shares(catalog, readers[2], pairs, wanted))


def _shares(
    catalog: Catalog,
    readers: Mapping[str, int],
    pairs: Mapping[int, Mapping[int, int]],
    wanted: Iterable[int],
) -> dict[str, dict[str, float]]:
    """X → Y → the share of X's readers who went on to read Y, for live X and Y."""
    by_id = catalog.by_id
    shares = {}
    for x in wanted:
        slug = by_id[x].slug
        total = readers.get(slug, 0)
        if total:
            shares[slug] = {
                by_id[y].slug: n / total for y, n in pairs.get(x, {}).items() if y in by_id
            }
    return shares


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
    cache = cache or AudienceCache()
    catalog = cache.catalog(session)
    reader = lead_context(session, lead_id, catalog, model, now, language)
    if reader is None:
        reader = ReaderContext(model.stages[0], language=language)
    audience = cache.audience(session, catalog, (read.slug for read in reader.reads))
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
    cache = cache or AudienceCache()
    catalog = cache.catalog(session)
    reader = ReaderContext(model.stages[0], language=language)
    if visitor_id:
        lead_id = active_lead_id(session, visitor_id)
        found = (
            lead_context(session, lead_id, catalog, model, now, language)
            if lead_id is not None
            else visitor_context(session, visitor_id, catalog, model, now, language)
        )
        reader = found or reader
    audience = cache.audience(session, catalog, (read.slug for read in reader.reads))
    return _ranked(catalog, audience, reader, model, now, limit, exclude)
