"""Fit, engagement, grade, lead category, milestones and lifecycle: pure rules that explain
themselves.

Each function takes plain values and the model and returns its verdict with
the reason a marketer reads ("B: fit medium (45), engagement high (31)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tracking.rules.config import BANT_FIELDS, ScoringModel
from tracking.rules.journey import JourneyState


class Lifecycle(StrEnum):
    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    RECYCLED = "recycled"


class Category(StrEnum):
    """The qualification ladder practitioners use, lowest first."""

    KNOWN = "known"
    TWO_TOUCH = "two_touch"
    PROFILING_QUESTION = "profiling_question"
    QUALIFIED_QUESTION = "qualified_question"
    BANT = "bant"


IDENTITY_FIELDS = frozenset({"email", "first_name", "last_name"})
"""Answers that identify a person but say nothing about their buying."""


@dataclass(frozen=True, slots=True)
class FitScore:
    """0 to 100 from profile answers, with the points each answer earned."""

    score: int
    breakdown: tuple[tuple[str, str, float], ...]
    """(field, answer, points) for every answer the fit rules know."""


def fit(profile: Mapping[str, str], scoring: ScoringModel) -> FitScore:
    """Who the lead is: BANT and firmographic answers scored by the fit rules, capped at 100."""
    breakdown = []
    for field_name, rules in scoring.fit_rules.items():
        answer = profile.get(field_name)
        if not answer:
            continue
        points = rules.get(answer, rules.get("*"))
        if points is not None:  # an answer the rules do not know earns nothing and is not listed
            breakdown.append((field_name, answer, float(points)))
    total = sum(points for _, _, points in breakdown)
    return FitScore(min(100, round(total)), tuple(breakdown))


def engagement(state: JourneyState, now: datetime, scoring: ScoringModel) -> float:
    """What the lead does: its behaviour points, decayed to ``now``."""
    return round(state.engagement.at(now, scoring.half_life_days), 2)


def _band(value: float, bands: tuple[float, float]) -> int:
    high, medium = bands
    return 0 if value >= high else 1 if value >= medium else 2


_BAND_NAMES = ("high", "medium", "low")


def grade(fit_score: float, engagement_score: float, scoring: ScoringModel) -> tuple[str, str]:
    """A to E from fit and engagement; the reason says which of the two to work on next."""
    fit_band = _band(fit_score, scoring.fit_bands)
    engagement_band = _band(engagement_score, scoring.engagement_bands)
    letter = scoring.grade_matrix[fit_band][engagement_band]
    reason = (
        f"fit {_BAND_NAMES[fit_band]} ({fit_score:g}), "
        f"engagement {_BAND_NAMES[engagement_band]} ({engagement_score:g})"
    )
    if letter in "DE":
        if fit_band == engagement_band:
            weaker = "raise interest and complete the profile"
        else:
            weaker = "complete the profile" if fit_band > engagement_band else "raise interest"
        reason += f"; next: {weaker}"
    return letter, reason


def qualifying(field_name: str, answer: str, scoring: ScoringModel) -> bool:
    """The answer is one the company hopes for."""
    hoped = scoring.qualifying.get(field_name, ())
    return bool(answer) and ("*" in hoped or answer in hoped)


def category(
    profile: Mapping[str, str], assets_engaged: int, scoring: ScoringModel
) -> tuple[Category, str]:
    """The highest rung of the ladder the lead stands on, and why."""
    bant = [f for f in BANT_FIELDS if qualifying(f, profile.get(f, ""), scoring)]
    if len(bant) == len(BANT_FIELDS):
        return Category.BANT, "qualifying answers to budget, authority, need and timeframe"
    qualified = sorted(
        name
        for name, answer in profile.items()
        if name in scoring.qualifying and qualifying(name, answer, scoring)
    )
    if qualified:
        return Category.QUALIFIED_QUESTION, f"qualifying answer: {', '.join(qualified)}"
    answered = sorted(set(profile) - IDENTITY_FIELDS)
    if answered:
        return Category.PROFILING_QUESTION, f"answered: {', '.join(answered)}"
    if assets_engaged >= 2:
        return Category.TWO_TOUCH, f"engaged with {assets_engaged} assets"
    return Category.KNOWN, "identified"


def milestones(
    state: JourneyState, reads_by_stage: Mapping[str, Mapping[float, int]], scoring: ScoringModel
) -> tuple[str, ...]:
    """The milestones reached: event counts from the state, reads from the per-asset depths.

    ``reads_by_stage[stage][depth]`` is how many assets of that stage the lead
    read to at least that depth.
    """
    reached = []
    for milestone in scoring.milestones:
        if milestone.event is not None:
            done = state.counts.get(milestone.event, 0) >= milestone.count
        else:
            stage = milestone.stage or ""
            done = reads_by_stage.get(stage, {}).get(milestone.depth, 0) >= milestone.count
        if done:
            reached.append(milestone.name)
    return tuple(reached)


def is_mql(
    fit_score: float, engagement_score: float, stage: str, scoring: ScoringModel
) -> tuple[bool, str]:
    """The model's MQL rule, with the reason it holds."""
    if fit_score >= scoring.mql_min_fit and engagement_score >= scoring.mql_min_engagement:
        return True, (
            f"fit {fit_score:g} ≥ {scoring.mql_min_fit:g} and "
            f"engagement {engagement_score:g} ≥ {scoring.mql_min_engagement:g}"
        )
    if stage == "decision" and fit_score >= scoring.mql_decision_min_fit:
        return True, f"decision stage with fit {fit_score:g} ≥ {scoring.mql_decision_min_fit:g}"
    return False, ""


AUTOMATIC_FROM = {
    Lifecycle.SUBSCRIBER: 0,
    Lifecycle.LEAD: 1,
    Lifecycle.RECYCLED: 1,
    Lifecycle.MQL: 2,
}
"""Stages of the lifecycle rules may move a lead out of; sales and the API own the rest."""


@dataclass(frozen=True, slots=True)
class LifecycleFacts:
    """What the lifecycle rules look at."""

    current: Lifecycle
    mql: bool
    mql_reason: str
    sales_fast_lane: bool
    fast_lane_reason: str
    changed_at: datetime | None
    now: datetime


def next_lifecycle(facts: LifecycleFacts, scoring: ScoringModel) -> tuple[Lifecycle, str] | None:
    """The automatic move (only ever forward), with its reason; None to stay.

    sql on the sales fast lane; mql when the MQL rule holds; a recycled lead
    only after the cool-off, so sales' "not yet" is respected.
    """
    current = facts.current
    if current not in AUTOMATIC_FROM:
        return None
    if facts.sales_fast_lane:
        return Lifecycle.SQL, f"sales fast lane: {facts.fast_lane_reason}"
    if not facts.mql or current == Lifecycle.MQL:
        return None
    if current == Lifecycle.RECYCLED:
        cooloff = timedelta(days=scoring.recycle_cooloff_days)
        if facts.changed_at is not None and facts.now - facts.changed_at < cooloff:
            return None
    return Lifecycle.MQL, facts.mql_reason


MANUAL_TARGETS = {
    Lifecycle.SQL: {Lifecycle.SUBSCRIBER, Lifecycle.LEAD, Lifecycle.MQL, Lifecycle.RECYCLED},
    Lifecycle.RECYCLED: {Lifecycle.MQL, Lifecycle.SQL, Lifecycle.OPPORTUNITY},
    Lifecycle.OPPORTUNITY: {Lifecycle.MQL, Lifecycle.SQL, Lifecycle.LEAD, Lifecycle.RECYCLED},
    Lifecycle.CUSTOMER: set(Lifecycle) - {Lifecycle.CUSTOMER},
}
"""Moves sales or the API may make: target → the lifecycles it may come from."""


def manual_lifecycle(current: Lifecycle, target: Lifecycle) -> str | None:
    """None when sales (or the API) may move a lead from ``current`` to ``target``, else why not."""
    allowed = MANUAL_TARGETS.get(target)
    if allowed is None:
        return f"{target.value} is set by the rules, not by hand"
    if current not in allowed:
        return f"{current.value} leads cannot become {target.value}"
    return None


RECYCLED_AFTER_LOST_FROM = frozenset({Lifecycle.MQL, Lifecycle.SQL, Lifecycle.OPPORTUNITY})
"""Lifecycles a lost deal sends back to nurturing; earlier ones are there already, and a
customer stays a customer."""


def deal_lifecycle(current: Lifecycle, stage: str) -> list[Lifecycle]:
    """The moves a deal makes when it is posted new, changes stage or names another lead.

    Any deal means its lead was an opportunity, so a lead not yet one (or a customer) becomes
    one first and the funnel records that milestone; a won deal then makes it a customer. A
    lost deal's way back to nurturing waits (``recycled_after_lost``)."""
    moves = []
    if current not in (Lifecycle.OPPORTUNITY, Lifecycle.CUSTOMER):
        moves.append(Lifecycle.OPPORTUNITY)
    if stage == "won" and current != Lifecycle.CUSTOMER:
        moves.append(Lifecycle.CUSTOMER)
    return moves


def recycled_after_lost(current: Lifecycle, other_deal_open_or_won: bool) -> bool:
    """Whether a lost deal's delay over sends its lead back to nurturing (``recycled``): not
    while another of its deals is open or won, nor a lead already nurtured or a customer."""
    return not other_deal_open_or_won and current in RECYCLED_AFTER_LOST_FROM
