"""The rules of programs, pure: who enters, which step follows, when a wait ends, quiet hours,
the frequency cap, A/B assignment and the winner test. The scheduler (``scheduler``) reads the
facts and writes the outcome; every decision is here, tested with plain values.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.words import N_, Said
from nurture.programs.definition import (
    EXIT,
    NEXT,
    AbMode,
    AbTest,
    Branch,
    Condition,
    ConditionKind,
    Definition,
    Goal,
    GoalKind,
    Trigger,
    TriggerKind,
    Wait,
)

CAP_WINDOW = timedelta(days=7)
LONGEST_POSTPONE = timedelta(days=3)
"""A mail held back by the frequency cap or quiet hours waits at most this long; beyond it the
step is skipped (logged ``capped``) and the lead goes on, rather than the sequence stalling."""
LANGUAGE_ZONES = {"de": "Europe/Berlin"}
"""The zone of a lead whose own is not known, by language (else UTC)."""


# ---- time ----------------------------------------------------------------------------------


def zone_of(time_zone: str, language: str = "") -> ZoneInfo:
    """The lead's zone: its own (IANA name, from the browser), else by language, else UTC."""
    for name in (time_zone, LANGUAGE_ZONES.get(language, ""), "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def wait_ends(wait: Wait, now: datetime, zone: ZoneInfo) -> datetime:
    """When a wait that starts ``now`` ends: after ``days``, then (if set) at the next
    ``weekday`` and ``hour`` in the lead's zone (never the moment the wait starts)."""
    end = now + timedelta(days=wait.days)
    if wait.weekday is None:
        return end
    local = end.astimezone(zone)
    hour = wait.hour if wait.hour is not None else 9
    days_ahead = (wait.weekday - local.weekday()) % 7
    start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    target = start + timedelta(days=days_ahead)
    if target <= local:
        target += timedelta(days=7)
    # Rebuild through the wall clock so a DST change between now and then keeps the hour.
    wall = datetime(target.year, target.month, target.day, hour, tzinfo=zone)
    return wall.astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No program mail goes out between ``start`` and ``end`` o'clock, the lead's local time
    (``start == end``: no quiet hours). Crossing midnight (21 → 8) is the usual case."""

    start: int = 21
    end: int = 8

    def quiet(self, moment: datetime, zone: ZoneInfo) -> bool:
        if self.start == self.end:
            return False
        hour = moment.astimezone(zone).hour
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def ends(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first moment at or after ``moment`` outside the quiet hours."""
        if not self.quiet(moment, zone):
            return moment
        local = moment.astimezone(zone)
        day = local.date() if local.hour < self.end else local.date() + timedelta(days=1)
        wall = datetime(day.year, day.month, day.day, self.end, tzinfo=zone)
        return wall.astimezone(moment.tzinfo)


def cap_frees_at(
    recent: Sequence[datetime], now: datetime, cap: int, window: timedelta = CAP_WINDOW
) -> datetime | None:
    """None when one more marketing mail keeps the lead within ``cap`` mails per ``window``;
    else when it would (the oldest mail of the window leaves it). ``cap`` 0: no cap."""
    if cap <= 0:
        return None
    inside = sorted(moment for moment in recent if now - moment < window)
    if len(inside) < cap:
        return None
    return inside[len(inside) - cap] + window


# ---- entering, branching, leaving ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A lead change as programs see it (the change log row, its asset resolved)."""

    kind: str
    new: str
    old: str | None = None
    asset_slug: str = ""
    asset_kind: str = ""


def _stage_at_least(stage: str, wanted: str, stages: Sequence[str]) -> bool:
    if stage not in stages or wanted not in stages:
        return stage == wanted
    return stages.index(stage) >= stages.index(wanted)


LIFECYCLE_ORDER = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
"""The funnel's lifecycles in order: a goal ``sql`` is reached by opportunity and customer too
(sales may move a lead past sql at once). ``recycled`` stands outside it: only itself."""


def _lifecycle_at_least(lifecycle: str, wanted: str) -> bool:
    if lifecycle not in LIFECYCLE_ORDER or wanted not in LIFECYCLE_ORDER:
        return lifecycle == wanted
    return LIFECYCLE_ORDER.index(lifecycle) >= LIFECYCLE_ORDER.index(wanted)


def _grade_at_least(grade: str, wanted: str) -> bool:
    return bool(grade) and grade.upper() <= wanted.upper()


def _asset_matches(value: str, slug: str, kind: str) -> bool:
    if value.startswith("kind:"):
        return kind == value.removeprefix("kind:")
    return slug == value


def enters(trigger: Trigger, change: Change) -> bool:
    """Whether this change enters a lead into a program with this trigger (the time-driven
    triggers, inactive and webinar attended or missed, and manual entry are not changes: the
    scheduler finds those leads itself)."""
    on = trigger.on
    if on is TriggerKind.SUBSCRIBED:
        return change.kind == "subscribed"
    if on is TriggerKind.STAGE:
        return change.kind == "stage" and change.new == trigger.value
    if on is TriggerKind.LIFECYCLE:
        return change.kind == "lifecycle" and change.new == trigger.value
    if on is TriggerKind.UNLOCKED:
        return change.kind == "unlocked" and _asset_matches(
            trigger.value, change.asset_slug, change.asset_kind
        )
    if on is TriggerKind.GRADE:
        return (
            change.kind == "grade"
            and _grade_at_least(change.new, trigger.value)
            and not _grade_at_least(change.old or "E", trigger.value)
        )
    return False


def goal_reached(goal: Goal, change: Change, stages: Sequence[str]) -> bool:
    """Whether this change reaches the goal."""
    on = goal.on
    if on is GoalKind.STAGE:
        return change.kind == "stage" and _stage_at_least(change.new, goal.value, stages)
    if on is GoalKind.LIFECYCLE:
        return change.kind == "lifecycle" and _lifecycle_at_least(change.new, goal.value)
    if on is GoalKind.DEMO:
        return change.kind == "demo"
    if on is GoalKind.UNLOCKED:
        return change.kind == "unlocked" and _asset_matches(
            goal.value, change.asset_slug, change.asset_kind
        )
    return change.kind == "unsubscribed"


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What branches and goals read of a lead at the moment a step runs."""

    stage: str
    grade: str
    lifecycle: str
    topics: frozenset[str] = frozenset()
    """Topics the lead chose in the preference center or reads most in (labels and slugs)."""
    read: frozenset[str] = frozenset()
    """Slugs of assets the lead has read or unlocked."""
    read_kinds: frozenset[str] = frozenset()
    """Kinds of those assets (a goal ``unlocked kind:ebook``)."""
    opened_previous: bool = False
    clicked_previous: bool = False
    subscribed: bool = True
    demo_requested: bool = False


def goal_met(goal: Goal, lead: LeadFacts, stages: Sequence[str]) -> bool:
    """Whether the lead stands at the goal already (it then does not enter)."""
    on = goal.on
    if on is GoalKind.STAGE:
        return _stage_at_least(lead.stage, goal.value, stages)
    if on is GoalKind.LIFECYCLE:
        return _lifecycle_at_least(lead.lifecycle, goal.value)
    if on is GoalKind.DEMO:
        return lead.demo_requested
    if on is GoalKind.UNLOCKED:
        if goal.value.startswith("kind:"):
            return goal.value.removeprefix("kind:") in lead.read_kinds
        return goal.value in lead.read
    return not lead.subscribed


def holds(condition: Condition, lead: LeadFacts) -> bool:
    on, value = condition.on, condition.value
    if on is ConditionKind.STAGE:
        return lead.stage == value
    if on is ConditionKind.GRADE:
        return lead.grade.upper() in value.split()
    if on is ConditionKind.LIFECYCLE:
        return lead.lifecycle == value
    if on is ConditionKind.TOPIC:
        return value.lower() in {topic.lower() for topic in lead.topics}
    if on is ConditionKind.OPENED:
        return lead.opened_previous == (value == "yes")
    if on is ConditionKind.CLICKED:
        return lead.clicked_previous == (value == "yes")
    return value in lead.read


def after_branch(definition: Definition, index: int, lead: LeadFacts) -> int | None:
    """The index of the step a branch leads to (None: ``exit``, leave the program; ``next``
    from the last step: the number of steps, the program is done)."""
    branch = definition.steps[index].action
    assert isinstance(branch, Branch)
    target = branch.then if holds(branch.condition, lead) else branch.otherwise
    if target == EXIT:
        return None
    if target == NEXT:
        return index + 1
    return definition.index(target)


# ---- A/B subject lines ---------------------------------------------------------------------


def _unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (the same lead and step always land the same)."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


HOLD = -1
"""The lead is in the rest of a test's audience: it waits for the test's verdict."""


def variant_for(
    key: str,
    variants: int,
    ab: AbTest | None,
    *,
    winner: int | None = None,
    decided: bool = False,
) -> int:
    """Which subject line (0-based) a lead gets, or ``HOLD``.

    SPLIT: even shares. TEST: ``share`` % of the audience is split evenly; the rest waits
    for the verdict (``decided``), then gets the ``winner``, or an even split when the test
    found none.
    """
    if variants <= 1 or ab is None:
        return 0
    unit = _unit(key)
    if ab.mode is AbMode.SPLIT:
        return min(int(unit * variants), variants - 1)
    share = ab.share / 100
    if unit < share:
        return min(int(unit / share * variants), variants - 1)
    if not decided:
        return HOLD
    if winner is not None:
        return winner
    return min(int(_unit(key + ":rest") * variants), variants - 1)


@dataclass(frozen=True, slots=True)
class VariantStats:
    sends: int
    opens: int
    clicks: int


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = 1.959964) -> Interval:
    """The 95 % Wilson score interval of a rate (sound for small counts and rates near 0)."""
    if trials <= 0:
        return Interval(0.0, 1.0)
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(a: int, n_a: int, b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when it cannot be told)."""
    if n_a <= 0 or n_b <= 0:
        return 1.0
    pooled = (a + b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return 1.0
    z = abs(a / n_a - b / n_b) / spread
    return math.erfc(z / math.sqrt(2))


MIN_EVENTS = 10
"""Clicks (summed over the variants) a click-rate verdict needs; with fewer, human opens."""
MIN_SENDS = 30
"""Sends per variant before any verdict."""


def _four_places(number: float) -> str:
    return f"{number:.4f}"


def _whole_percent(share: float) -> str:
    return f"{share:.0%}"


@dataclass(frozen=True, slots=True)
class VerdictFacts:
    """What a verdict rests on, enough to say it again in any language (``said``)."""

    winner: int | None
    metric: str
    p_value: float
    confidence: float
    comparisons: int
    waiting: bool = False
    """No verdict yet: a variant has fewer than ``MIN_SENDS`` sends."""

    def said(
        self,
        number: Callable[[float], str] = _four_places,
        percent: Callable[[float], str] = _whole_percent,
    ) -> Said:
        """The verdict as a sentence, its numbers written by ``number`` and ``percent`` (the
        defaults write the English: "p = 0.0123 < 0.0250 (95% confidence …")."""
        if self.waiting:
            return Said(N_("no winner yet: every variant needs %(sends)s sends"), sends=MIN_SENDS)
        alpha = (1 - self.confidence) / max(self.comparisons, 1)
        values = {
            "p": number(self.p_value),
            "alpha": number(alpha),
            "confidence": percent(self.confidence),
            "comparisons": self.comparisons,
        }
        if self.winner is not None:
            label = chr(ord("A") + self.winner)
            text = (
                N_(
                    "%(label)s wins on clicks: two-proportion z-test, p = %(p)s < %(alpha)s "
                    "(%(confidence)s confidence, Bonferroni for %(comparisons)s comparison(s))"
                )
                if self.metric == "clicks"
                else N_(
                    "%(label)s wins on opens: two-proportion z-test, p = %(p)s < %(alpha)s "
                    "(%(confidence)s confidence, Bonferroni for %(comparisons)s comparison(s))"
                )
            )
            return Said(text, label=label, **values)
        text = (
            N_(
                "no winner yet: the difference in clicks is not significant "
                "(p = %(p)s, needs < %(alpha)s for %(confidence)s confidence)"
            )
            if self.metric == "clicks"
            else N_(
                "no winner yet: the difference in opens is not significant "
                "(p = %(p)s, needs < %(alpha)s for %(confidence)s confidence)"
            )
        )
        return Said(text, **{k: v for k, v in values.items() if k != "comparisons"})


@dataclass(frozen=True, slots=True)
class Verdict:
    winner: int | None
    metric: str
    """``clicks`` or ``opens``: the rate the verdict is on."""
    p_value: float
    confidence: float
    explanation: str
    intervals: tuple[Interval, ...] = field(default=())
    facts: VerdictFacts | None = None
    """What the explanation says, to say it in the reader's language."""


def pick_winner(stats: Sequence[VariantStats], confidence: float = 0.95) -> Verdict:
    """The variant with the best click rate (human opens when clicks are too few to tell),
    named only when it beats every other variant by a two-proportion z-test at ``confidence``
    (Bonferroni-corrected for the comparisons); else "no winner yet"."""
    clicks = sum(item.clicks for item in stats)
    metric = "clicks" if clicks >= MIN_EVENTS else "opens"

    def rate_of(item: VariantStats) -> int:
        return item.clicks if metric == "clicks" else item.opens

    intervals = tuple(wilson(rate_of(item), item.sends) for item in stats)
    comparisons = max(len(stats) - 1, 1)
    if len(stats) < 2 or min(item.sends for item in stats) < MIN_SENDS:
        facts = VerdictFacts(None, metric, 1.0, confidence, comparisons, waiting=True)
        return Verdict(None, metric, 1.0, confidence, str(facts.said()), intervals, facts)
    rates = [rate_of(item) / item.sends for item in stats]
    best = max(range(len(stats)), key=lambda number: rates[number])
    alpha = (1 - confidence) / comparisons
    worst_p = max(
        two_proportion_p(rate_of(stats[best]), stats[best].sends, rate_of(other), other.sends)
        for number, other in enumerate(stats)
        if number != best
    )
    winner = best if worst_p < alpha else None
    facts = VerdictFacts(winner, metric, worst_p, confidence, comparisons)
    return Verdict(winner, metric, worst_p, confidence, str(facts.said()), intervals, facts)
