"""What an account adds up to: its engagement score and stages, as pure rules over its people.

**Engagement.** Each person's engagement is decayed to now with the model's half-life (as
the lead's own score is), then capped at the model's "high" engagement band (25 by
default): above that one reader is simply an engaged person, however much more they read.
The capped scores are sorted high to low and weighted 1, 1/2, 1/3, 1/4 … (harmonic
weights), so every extra engaged person still adds, but less than the one before:

- one busy reader (engagement 300) gives 25, the same as one engaged reader;
- four people at 25 give 25 · (1 + 1/2 + 1/3 + 1/4) ≈ 52: a buying committee is hotter
  than any single person can make it;
- thirty people who each glanced once (engagement 1) give about 4: a crowd of idle
  newsletter readers does not add up to an engaged account.

Harmonic rather than geometric weights (1, 1/2, 1/4 …): a geometric series stops at
twice the top person, so the fourth and fifth engaged people would barely count, while
buying committees of five to ten people are usual in B2B; the harmonic series keeps
rewarding breadth, slowly (ten engaged people ≈ 2.9 times one).

**Stages.** The furthest stage any person reached (the model's order), and the most common
one (a tie goes to the further stage).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountRules:
    """The parts of the journey and scoring model an account's figures need."""

    half_life_days: float
    stages: tuple[str, ...]
    """Journey stages, earliest first."""
    person_cap: float
    """The most one person adds before weighting: the model's high engagement band."""


@dataclass(frozen=True, slots=True)
class Person:
    """One lead of the account, as its row stands."""

    engagement: float
    engagement_as_of: datetime | None
    stage: str
    last_activity_at: datetime | None = None
    company: str = ""


@dataclass(frozen=True, slots=True)
class AccountFigures:
    people: int
    engagement: float
    furthest_stage: str
    common_stage: str
    last_activity_at: datetime | None
    company: str
    """The company name most of its people gave ("" when none did)."""


def decayed(value: float, as_of: datetime | None, now: datetime, half_life_days: float) -> float:
    """A score stored at ``as_of`` as it stands at ``now`` (it halves every half-life)."""
    if as_of is None or value <= 0:
        return max(value, 0.0)
    days = max((now - as_of).total_seconds(), 0.0) / 86400
    return float(value * 2 ** (-days / half_life_days))


def person_weight(rank: int) -> float:
    """The weight of the person at ``rank`` (0: the most engaged) in the account's score."""
    return 1.0 / (rank + 1)


def account_engagement(engagements: Iterable[float], person_cap: float) -> float:
    """The account's score from its people's (decayed) engagement: each capped, sorted high to
    low and weighted by ``person_weight`` (module docstring)."""
    capped = sorted((min(max(value, 0.0), person_cap) for value in engagements), reverse=True)
    return round(sum(value * person_weight(rank) for rank, value in enumerate(capped)), 2)


def _index(stage: str, stages: Sequence[str]) -> int:
    return stages.index(stage) if stage in stages else 0


def furthest_stage(people_stages: Iterable[str], stages: Sequence[str]) -> str:
    """The most advanced stage among the people ("" for nobody)."""
    found = list(people_stages)
    return max(found, key=lambda stage: _index(stage, stages)) if found else ""


def common_stage(people_stages: Iterable[str], stages: Sequence[str]) -> str:
    """The stage most people are in; a tie goes to the further stage ("" for nobody)."""
    counts = Counter(people_stages)
    if not counts:
        return ""
    return max(counts, key=lambda stage: (counts[stage], _index(stage, stages)))


def common_company(companies: Iterable[str]) -> str:
    """The company name most people gave (case and spacing aside), in its most used spelling;
    a tie goes to the alphabetically first ("" when nobody gave one)."""
    spellings: dict[str, Counter[str]] = {}
    for company in companies:
        written = " ".join(company.split())
        if written:
            spellings.setdefault(written.casefold(), Counter())[written] += 1
    if not spellings:
        return ""
    key = min(spellings, key=lambda k: (-sum(spellings[k].values()), k))
    return min(spellings[key], key=lambda s: (-spellings[key][s], s))


def figures(people: Sequence[Person], now: datetime, rules: AccountRules) -> AccountFigures:
    """Everything the account row keeps, from its people."""
    stages = [person.stage for person in people]
    activity = [p.last_activity_at for p in people if p.last_activity_at is not None]
    return AccountFigures(
        people=len(people),
        engagement=account_engagement(
            (decayed(p.engagement, p.engagement_as_of, now, rules.half_life_days) for p in people),
            rules.person_cap,
        ),
        furthest_stage=furthest_stage(stages, rules.stages),
        common_stage=common_stage(stages, rules.stages),
        last_activity_at=max(activity) if activity else None,
        company=common_company(person.company for person in people),
    )
