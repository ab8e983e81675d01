"""Next-best content: which unread assets to offer a reader next, each with a short reason.

Pure: plain candidates, a reader context and audience aggregates in, a ranked
list out (no database, no clock). The rules, in order:

1. Never an asset the reader has already consumed.
2. Stage fit: the reader's current stage or the next one of the model. With
   strong decision evidence (the content fast lane) earlier content is
   skipped: the decision stage comes first, then the stage after the current one.
   Other stages only fill a list the fitting assets cannot fill.
3. Within the fit, weigh topic affinity (decayed weight of what they read),
   persona, co-reading ("readers who read X went on to read Y"), popularity
   and freshness; ties go to the slug, so the same input gives the same list.
4. Diversity: at most two assets of one kind in a list.
5. Each recommendation says why, from its strongest signal.
6. Languages: one version of each piece of content (an original and its translations), the one
   in the reader's language when there is one, else the original; a piece the reader read in
   any language counts as read. Within a stage's fit, the reader's language comes first; the
   other language only fills what theirs cannot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from content.words import N_, Said
from tracking.rules.config import Model

MAX_PER_KIND = 2
DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A published asset that may be recommended."""

    slug: str
    title: str
    kind: str
    stage: str
    topics: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    published_at: datetime | None = None
    updated_at: datetime | None = None
    gate: str = "open"
    featured: bool = False
    language: str = "en"
    piece: str = ""
    """The slug of the original this asset translates ("" for an original: its own slug)."""

    @property
    def original(self) -> str:
        return self.piece or self.slug


@dataclass(frozen=True, slots=True)
class Read:
    """An asset the reader consumed, and how much it still speaks for them (decayed weight)."""

    slug: str
    title: str
    weight: float
    topics: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReaderContext:
    """What we know of one reader (a lead, or an anonymous browser); empty for a stranger."""

    stage: str
    confidence: float = 0.0
    fast_lane: bool = False
    """Decision evidence is strong although the stage is earlier: skip ahead (content fast lane)."""
    reads: tuple[Read, ...] = ()
    consumed: frozenset[str] = frozenset()
    """Every slug the reader touched (read, unlocked, registered, downloaded); never offered."""
    personas: Mapping[str, float] = field(default_factory=dict)
    """Persona slug → 0..1 from the profile (e.g. the job title); reads add their own."""
    language: str | None = None
    """The language the reader reads (the page's, the lead's); None: no preference."""

    @property
    def personal(self) -> bool:
        """Whether anything about this reader shapes the list (else it is the same for all)."""
        return bool(self.reads or self.consumed or self.personas or self.fast_lane)


@dataclass(frozen=True, slots=True)
class Audience:
    """Aggregates over all readers: how many read each asset, and who moved on to what."""

    readers: Mapping[str, int] = field(default_factory=dict)
    co_reading: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """X → Y → the share of X's readers who went on to read Y."""


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal counts (tuned on the simulated journeys, bench/journeys.py)."""

    stage: float = 1.0
    next_stage: float = 0.7
    """Fit of the next stage (the current one is 1.0): a next-stage asset on the reader's topic
    outranks a current-stage one on another topic."""
    topic: float = 0.35
    persona: float = 0.15
    co_reading: float = 0.6
    popularity: float = 0.2
    freshness: float = 0.1
    featured: float = 0.05
    fresh_half_life_days: float = 60.0
    co_reading_min: float = 0.05
    """Below this share a co-reading link is noise and gives no reason."""


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One asset to offer next, with the reason shown to the reader (``why``, said in the
    reader's language; ``reason`` is its English)."""

    slug: str
    title: str
    kind: str
    stage: str
    why: Said
    score: float
    language: str = "en"

    @property
    def reason(self) -> str:
        return str(self.why)


MODEL_STAGE_LABELS = (N_("Awareness"), N_("Consideration"), N_("Decision"), N_("Customer"))
"""The built-in model's stage labels, marked here: a reason names the stage to a prospect."""


def decision_stage(model: Model) -> str:
    """The last stage before the customer stage (the content fast lane's target)."""
    stages = model.stages
    customer = model.scoring.customer_stage
    if customer in stages and stages.index(customer) > 0:
        return stages[stages.index(customer) - 1]
    return stages[-1]


def stage_fit(
    reader: ReaderContext, model: Model, weights: Weights = DEFAULT_WEIGHTS
) -> dict[str, float]:
    """Stage → fit for this reader: 1.0 for the stage to read now, less for the next one."""
    stages = model.stages
    at = model.stage_index(reader.stage)
    after = stages[at + 1] if at + 1 < len(stages) else None
    decision = decision_stage(model)
    if reader.fast_lane and at < stages.index(decision):
        fit = {decision: 1.0}
        if after is not None and after != decision:
            fit[after] = weights.next_stage
        return fit
    fit = {stages[at]: 1.0}
    if after is not None:
        fit[after] = weights.next_stage
    return fit


def content_fast_lane(
    stage: str, decision_evidence: float, model: Model, share: float = 0.5
) -> bool:
    """Decision evidence reaches ``share`` of the decision threshold while the reader's stage is
    still earlier (e.g. a deep read of a pricing datasheet, or "deciding within 3 months")."""
    decision = decision_stage(model)
    if model.stage_index(stage) >= model.stages.index(decision):
        return False
    threshold = model.scoring.stage_thresholds.get(decision, 0.0)
    return decision_evidence > 0 and decision_evidence >= share * threshold


_WORD = re.compile(r"[a-z]+")
_GENERIC = frozenset({"leader", "lead", "team", "manager", "head", "and", "the", "of"})


def personas_from_title(job_title: str, personas: Mapping[str, str]) -> dict[str, float]:
    """Personas (slug → label) whose distinctive words appear in a job title (weight 1.0).

    "Head of Sales" matches ``sales-leader``; "Marketing Operations" matches
    ``marketing-ops`` (a word matches when one starts with the other).
    """
    title_words = set(_WORD.findall(job_title.lower()))
    found = {}
    for slug, label in personas.items():
        words = set(_WORD.findall(f"{slug} {label}".lower())) - _GENERIC
        if any(
            a.startswith(b) or b.startswith(a) for a in title_words for b in words if len(b) > 2
        ):
            found[slug] = 1.0
    return found


@dataclass(frozen=True, slots=True)
class _Signals:
    """One candidate's signals (each 0..1) and the read that explains the personal ones."""

    fit: float
    topic: float = 0.0
    topic_source: str | None = None
    persona: float = 0.0
    co_reading: float = 0.0
    co_source: str | None = None
    popularity: float = 0.0
    freshness: float = 0.0
    featured: float = 0.0


def _affinity(reads: Sequence[Read], attribute: str) -> dict[str, float]:
    """Topic (or persona) → the share of the reader's decayed reading weight it carries (0..1)."""
    total = sum(max(r.weight, 0.0) for r in reads)
    if total <= 0:
        return {}
    found: dict[str, float] = {}
    for read in reads:
        for name in getattr(read, attribute):
            found[name] = found.get(name, 0.0) + max(read.weight, 0.0) / total
    return found


def _freshness(candidate: Candidate, now: datetime, half_life_days: float) -> float:
    moments = [m for m in (candidate.published_at, candidate.updated_at) if m is not None]
    if not moments:
        return 0.0
    age = max(0.0, (now - max(moments)).total_seconds() / DAY_SECONDS)
    return float(2.0 ** (-age / half_life_days))


@dataclass(frozen=True, slots=True)
class _Reader:
    """The reader's context with its derived affinities, computed once per ranking."""

    context: ReaderContext
    topics: dict[str, float]
    personas: dict[str, float]
    heaviest: float
    max_readers: int


def _prepare(reader: ReaderContext, audience: Audience) -> _Reader:
    personas = _affinity(reader.reads, "personas")
    for slug, weight in reader.personas.items():
        personas[slug] = max(personas.get(slug, 0.0), weight)
    return _Reader(
        context=reader,
        topics=_affinity(reader.reads, "topics"),
        personas=personas,
        heaviest=max((r.weight for r in reader.reads), default=0.0),
        max_readers=max(audience.readers.values(), default=0),
    )


def _co_reading(
    candidate: Candidate, reader: _Reader, audience: Audience
) -> tuple[float, str | None]:
    best, source = 0.0, None
    for read in reader.context.reads:
        share = audience.co_reading.get(read.slug, {}).get(candidate.slug, 0.0)
        recency = read.weight / reader.heaviest if reader.heaviest > 0 else 0.0
        value = share * (0.5 + 0.5 * recency)
        if value > best or (
            value == best and value > 0 and source is not None and read.title < source
        ):
            best, source = value, read.title
    return best, source


def _topic_source(candidate: Candidate, reads: Sequence[Read]) -> str | None:
    """The heaviest read sharing a topic with the candidate (for "Because you read …")."""
    sharing = [r for r in reads if set(r.topics) & set(candidate.topics)]
    if not sharing:
        return None
    return min(sharing, key=lambda r: (-r.weight, r.title)).title


def _signals(
    candidate: Candidate,
    fit: float,
    reader: _Reader,
    audience: Audience,
    now: datetime,
    weights: Weights,
) -> _Signals:
    co, co_source = _co_reading(candidate, reader, audience)
    readers = audience.readers.get(candidate.slug, 0)
    return _Signals(
        fit=fit,
        topic=max((reader.topics.get(t, 0.0) for t in candidate.topics), default=0.0),
        topic_source=_topic_source(candidate, reader.context.reads),
        persona=max((reader.personas.get(p, 0.0) for p in candidate.personas), default=0.0),
        co_reading=co if co >= weights.co_reading_min else 0.0,
        co_source=co_source,
        popularity=readers / reader.max_readers if reader.max_readers else 0.0,
        freshness=_freshness(candidate, now, weights.fresh_half_life_days),
        featured=1.0 if candidate.featured else 0.0,
    )


def _score(signals: _Signals, weights: Weights) -> float:
    return (
        weights.stage * signals.fit
        + weights.topic * signals.topic
        + weights.persona * signals.persona
        + weights.co_reading * signals.co_reading
        + weights.popularity * signals.popularity
        + weights.freshness * signals.freshness
        + weights.featured * signals.featured
    )


def _reason(
    candidate: Candidate, signals: _Signals, reader: ReaderContext, model: Model, weights: Weights
) -> Said:
    """The strongest signal, said in a few words."""
    parts = {
        "co": weights.co_reading * signals.co_reading if signals.co_source else 0.0,
        "topic": weights.topic * signals.topic if signals.topic_source else 0.0,
        "persona": weights.persona * signals.persona,
        "popular": weights.popularity * signals.popularity,
        "fresh": weights.freshness * signals.freshness,
        "featured": weights.featured * signals.featured,
    }
    strongest = max(parts, key=lambda name: (parts[name], name))
    label = Said(model.stage_labels.get(candidate.stage, candidate.stage))
    if parts[strongest] <= 0:
        strongest = "none"
    if (
        reader.fast_lane
        and candidate.stage == decision_stage(model)
        and strongest not in ("co", "topic")
    ):
        return Said(N_("For readers ready to decide"))
    if strongest == "co":
        return Said(N_("Readers of '%(title)s' went on to read this"), title=signals.co_source)
    if strongest == "topic":
        return Said(N_("Because you read '%(title)s'"), title=signals.topic_source)
    if strongest == "persona":
        return Said(N_("Written for people in your role"))
    if strongest == "fresh" and signals.freshness >= 0.5:
        return Said(N_("New in the library"))
    if strongest == "featured":
        return Said(N_("Picked by our editors"))
    if not reader.personal:
        if candidate.stage == model.stages[0]:
            return Said(N_("Popular with new readers"))
        return Said(N_("Popular: %(stage)s"), stage=label)
    if candidate.stage == reader.stage:
        return Said(N_("Popular with readers at your stage"))
    return Said(N_("A next step: %(stage)s"), stage=label)


def versions_for(
    candidates: Sequence[Candidate], language: str | None, consumed: frozenset[str]
) -> list[Candidate]:
    """One version of each piece not yet read in any language: the reader's language's, else
    the original, else the first given."""
    read = {c.original for c in candidates if c.slug in consumed}
    pieces: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.original not in read and candidate.slug not in consumed:
            pieces.setdefault(candidate.original, []).append(candidate)
    chosen = []
    for original, versions in pieces.items():
        chosen.append(
            next((v for v in versions if v.language == language), None)
            or next((v for v in versions if v.slug == original), versions[0])
        )
    return chosen


def rank(
    candidates: Sequence[Candidate],
    reader: ReaderContext,
    audience: Audience,
    model: Model,
    now: datetime,
    limit: int = 3,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[Recommendation]:
    """Up to ``limit`` unconsumed candidates for this reader, best first, each with a reason."""
    if limit <= 0:
        return []
    fit = stage_fit(reader, model, weights)
    prepared = _prepare(reader, audience)
    consumed = reader.consumed | {r.slug for r in reader.reads}
    scored = []
    for candidate in versions_for(candidates, reader.language, consumed):
        signals = _signals(
            candidate, fit.get(candidate.stage, 0.0), prepared, audience, now, weights
        )
        scored.append((candidate, signals, _score(signals, weights)))
    here = model.stage_index(reader.stage)
    scored.sort(
        key=lambda item: (
            item[1].fit == 0,
            abs(model.stage_index(item[0].stage) - here) if item[1].fit == 0 else 0,
            reader.language is not None and item[0].language != reader.language,
            -item[2],
            item[0].slug,
        )
    )
    chosen: list[Recommendation] = []
    kinds: dict[str, int] = {}
    seen: set[str] = set()
    for candidate, signals, score in scored:
        if len(chosen) == limit:
            break
        if kinds.get(candidate.kind, 0) >= MAX_PER_KIND or candidate.slug in seen:
            continue
        kinds[candidate.kind] = kinds.get(candidate.kind, 0) + 1
        seen.add(candidate.slug)
        chosen.append(
            Recommendation(
                slug=candidate.slug,
                title=candidate.title,
                kind=candidate.kind,
                stage=candidate.stage,
                why=_reason(candidate, signals, reader, model, weights),
                score=round(score, 4),
                language=candidate.language,
            )
        )
    return chosen
