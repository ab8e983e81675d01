"""Journey-stage inference: decayed evidence per stage, kept incrementally, explained.

Pure functions over plain values and the model. A subject's (lead's or
visitor's) ``JourneyState`` holds decayed accumulators ``(value, as_of)``:
one for engagement, one per asset touched (its stage's evidence). Adding an
event costs the same however long the trail is; reading the value at any
time decays it with the model's half-life:

    value(t) = value · 2^(-(t - as_of) / half_life)

Accumulators add in any order (an event older than ``as_of`` is decayed to
``as_of`` instead), so the state after a trail equals the state rebuilt from
the trail, and a visitor's state merges into its lead's at identification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tracking.rules.config import Model, ScoringModel

DAY_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Accumulator:
    """A decaying sum: ``value`` as it stood at ``as_of``."""

    value: float = 0.0
    as_of: datetime | None = None

    def at(self, moment: datetime, half_life_days: float) -> float:
        """The value decayed to ``moment`` (never grown: a moment before ``as_of`` reads as is)."""
        if self.as_of is None or moment <= self.as_of:
            return self.value
        return self.value * decay(moment - self.as_of, half_life_days)

    def add(self, points: float, moment: datetime, half_life_days: float) -> Accumulator:
        """Add ``points`` earned at ``moment``."""
        if self.as_of is None:
            return Accumulator(points, moment)
        if moment >= self.as_of:
            return Accumulator(self.at(moment, half_life_days) + points, moment)
        earlier = points * decay(self.as_of - moment, half_life_days)
        return Accumulator(self.value + earlier, self.as_of)

    def merge(self, other: Accumulator, half_life_days: float) -> Accumulator:
        """Both sums together (at the later of the two times)."""
        if other.as_of is None:
            return self
        return self.add(other.value, other.as_of, half_life_days)


def decay(elapsed: Any, half_life_days: float) -> float:
    """The factor a value keeps after ``elapsed`` (a timedelta) with this half-life."""
    return float(2.0 ** (-(elapsed.total_seconds() / DAY_SECONDS) / half_life_days))


@dataclass(frozen=True, slots=True)
class AssetTouch:
    """What a subject's state keeps of one asset: its stage, evidence and the acts on it."""

    stage: str
    evidence: Accumulator
    acts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Touch:
    """One event as scoring sees it (``depth_before``: the browser's deepest read before it)."""

    type: str
    at: datetime
    asset_id: int | None = None
    asset_stage: str | None = None
    seconds: float = 0.0
    depth_before: float = 0.0
    depth_after: float = 0.0


ACTS = frozenset(
    {"download", "unlock", "webinar_register", "webinar_attend", "cta_click", "demo_request"}
)
"""Event types worth naming in a stage's evidence ("attended 'Live demo'")."""

UNSCORED = frozenset({"email_open"})
"""Event types kept on the trail that are no evidence at all: no points, not counted. Most
email opens are a privacy proxy or scanner loading the pixel (those are flagged ``machine``),
and even a person's open says less than the click that follows it."""


@dataclass(frozen=True, slots=True)
class JourneyState:
    """Everything scoring keeps of one subject; its size grows with assets, not with events."""

    engagement: Accumulator = Accumulator()
    assets: Mapping[int, AssetTouch] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def acc(a: Accumulator) -> list[Any]:
            return [a.value, a.as_of.isoformat() if a.as_of else None]

        return {
            "engagement": acc(self.engagement),
            "assets": {
                str(asset_id): [t.stage, *acc(t.evidence), sorted(t.acts)]
                for asset_id, t in sorted(self.assets.items())
            },
            "counts": dict(sorted(self.counts.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> JourneyState:
        if not data:
            return cls()

        def acc(value: float, as_of: str | None) -> Accumulator:
            return Accumulator(value, datetime.fromisoformat(as_of) if as_of else None)

        return cls(
            engagement=acc(*data["engagement"]),
            assets={
                int(asset_id): AssetTouch(stage, acc(value, as_of), frozenset(acts))
                for asset_id, (stage, value, as_of, acts) in data["assets"].items()
            },
            counts=dict(data["counts"]),
        )


def touch_points(touch: Touch, scoring: ScoringModel) -> float:
    """What one event is worth: its type's points, engaged seconds, and depth milestones crossed."""
    points = scoring.event_points.get(touch.type, 0.0) + touch.seconds * scoring.seconds_points
    for depth, bonus in scoring.depth_bonus:
        if touch.depth_before < depth <= touch.depth_after:
            points += bonus
    return points


def apply(state: JourneyState, touches: Iterable[Touch], scoring: ScoringModel) -> JourneyState:
    """The state after these events (each one O(1): the trail before them is never read)."""
    half_life = scoring.half_life_days
    engagement = state.engagement
    assets = dict(state.assets)
    counts = dict(state.counts)
    for touch in touches:
        if touch.type in UNSCORED:
            continue
        points = touch_points(touch, scoring)
        engagement = engagement.add(points, touch.at, half_life)
        counts[touch.type] = counts.get(touch.type, 0) + 1
        if touch.asset_id is None or touch.asset_stage is None:
            continue
        before = assets.get(touch.asset_id) or AssetTouch(touch.asset_stage, Accumulator())
        acts = before.acts | {touch.type} if touch.type in ACTS else before.acts
        assets[touch.asset_id] = AssetTouch(
            before.stage, before.evidence.add(points, touch.at, half_life), acts
        )
    return JourneyState(engagement, assets, counts)


def merge(lead: JourneyState, visitor: JourneyState, scoring: ScoringModel) -> JourneyState:
    """A visitor's state folded into its lead's (identity stitching)."""
    half_life = scoring.half_life_days
    assets = dict(lead.assets)
    for asset_id, touch in visitor.assets.items():
        mine = assets.get(asset_id)
        assets[asset_id] = (
            touch
            if mine is None
            else AssetTouch(
                mine.stage, mine.evidence.merge(touch.evidence, half_life), mine.acts | touch.acts
            )
        )
    counts = dict(lead.counts)
    for kind, count in visitor.counts.items():
        counts[kind] = counts.get(kind, 0) + count
    return JourneyState(lead.engagement.merge(visitor.engagement, half_life), assets, counts)


@dataclass(frozen=True, slots=True)
class StageEvidence:
    """One stage's evidence: its score and the assets that weigh most, with their acts."""

    stage: str
    score: float
    top: tuple[tuple[int, float, frozenset[str]], ...]
    """(asset id, decayed weight, acts) for up to three assets, heaviest first."""
    hints: tuple[str, ...] = ()
    """Profile answers counted for this stage, e.g. "timeframe 0-3m"."""


@dataclass(frozen=True, slots=True)
class StageVerdict:
    """Where the subject stands, how sure we are, and why."""

    stage: str
    confidence: float
    evidence: tuple[StageEvidence, ...]


def stage_evidence(
    state: JourneyState, profile: Mapping[str, str], now: datetime, model: Model
) -> tuple[StageEvidence, ...]:
    """Evidence per stage of the model (decayed to ``now``), in stage order."""
    half_life = model.scoring.half_life_days
    weights: dict[str, list[tuple[int, float, frozenset[str]]]] = {s: [] for s in model.stages}
    for asset_id, touch in state.assets.items():
        if touch.stage in weights:
            weights[touch.stage].append((asset_id, touch.evidence.at(now, half_life), touch.acts))
    hints: dict[str, list[tuple[str, float]]] = {s: [] for s in model.stages}
    for hint in model.scoring.profile_hints:
        if profile.get(hint.field) == hint.value and hint.stage in hints:
            hints[hint.stage].append((f"{hint.field} {hint.value}", hint.points))
    return tuple(
        StageEvidence(
            stage=stage,
            score=round(sum(w for _, w, _ in weights[stage]) + sum(p for _, p in hints[stage]), 4),
            top=tuple(sorted(weights[stage], key=lambda item: (-item[1], item[0]))[:3]),
            hints=tuple(label for label, _ in hints[stage]),
        )
        for stage in model.stages
    )


def stage_of(state: JourneyState, now: datetime, model: Model) -> str:
    """``infer_stage(state, {}, now, model).stage`` without building its evidence: the stage
    of a browser with no profile and no lifecycle (ingestion keeps one for every anonymous
    browser in every batch; the evidence is built when a page shows it)."""
    half_life = model.scoring.half_life_days
    sums = dict.fromkeys(model.stages, 0.0)
    for touch in state.assets.values():
        if touch.stage in sums:
            sums[touch.stage] += touch.evidence.at(now, half_life)
    return _reached({stage: round(total, 4) for stage, total in sums.items()}, model)


def _reached(scores: Mapping[str, float], model: Model) -> str:
    """The most advanced stage (not the customer stage) whose score reaches its threshold;
    the first stage otherwise."""
    customer = model.scoring.customer_stage
    thresholds = model.scoring.stage_thresholds
    chosen = model.stages[0]
    for stage in model.stages[1:]:
        score = scores[stage]
        if stage != customer and score > 0 and score >= thresholds.get(stage, 0.0):
            chosen = stage
    return chosen


def infer_stage(
    state: JourneyState,
    profile: Mapping[str, str],
    now: datetime,
    model: Model,
    lifecycle: str | None = None,
) -> StageVerdict:
    """The most advanced stage whose evidence reaches its threshold (the first stage otherwise).

    The customer stage is not inferred from reading: a prospect who reads
    customer content is still a prospect. A lead whose lifecycle is customer
    (set by sales or the CRM) is in it, whatever it reads.

    Confidence is the stage's share of its own and the strongest other stage's
    evidence: 1.0 when nothing speaks for another stage, 0.5 when one speaks as loud.
    """
    evidence = stage_evidence(state, profile, now, model)
    customer = model.scoring.customer_stage
    if customer in model.stages and lifecycle == "customer":
        return StageVerdict(customer, 1.0, evidence)
    reached = _reached({item.stage: item.score for item in evidence}, model)
    chosen = next(item for item in evidence if item.stage == reached)
    rival = max((e.score for e in evidence if e.stage not in (chosen.stage, customer)), default=0.0)
    total = chosen.score + rival
    confidence = chosen.score / total if total > 0 else 0.0
    return StageVerdict(chosen.stage, round(confidence, 2), evidence)
