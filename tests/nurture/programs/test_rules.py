"""The rules of programs with plain values: waits in the lead's zone, quiet hours, the weekly
cap, who enters and who leaves, branches, A/B assignment and the winner test."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.programs.definition import (
    AbMode,
    AbTest,
    Condition,
    ConditionKind,
    Goal,
    GoalKind,
    Trigger,
    TriggerKind,
    Wait,
    parse,
)
from nurture.programs.rules import (
    HOLD,
    MIN_SENDS,
    Change,
    LeadFacts,
    QuietHours,
    VariantStats,
    after_branch,
    cap_frees_at,
    enters,
    goal_met,
    goal_reached,
    holds,
    pick_winner,
    variant_for,
    wait_ends,
    wilson,
    zone_of,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
STAGES = ("awareness", "consideration", "decision", "customer")
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
ZONES = st.sampled_from(
    [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                 "Australia/Lord_Howe", "Pacific/Chatham")]
)  # fmt: skip


def lead(**facts: object) -> LeadFacts:
    values: dict[str, object] = {"stage": "awareness", "grade": "C", "lifecycle": "subscriber"}
    values.update(facts)
    return LeadFacts(**values)  # type: ignore[arg-type]


# ---- zones and waits -----------------------------------------------------------------------


def test_the_zone_is_the_leads_own_else_by_language_else_utc() -> None:
    assert zone_of("America/New_York", "de") == NEW_YORK
    assert zone_of("", "de") == BERLIN
    assert zone_of("Mars/Olympus", "de") == BERLIN
    assert zone_of("", "fr") == ZoneInfo("UTC")
    assert zone_of("../etc/passwd") == ZoneInfo("UTC")


def test_a_wait_of_days_ends_that_many_days_later() -> None:
    start = datetime(2026, 5, 4, 13, 30, tzinfo=UTC)
    assert wait_ends(Wait(days=3), start, BERLIN) == start + timedelta(days=3)
    assert wait_ends(Wait(days=0.5), start, BERLIN) == start + timedelta(hours=12)


def test_a_weekday_wait_ends_at_that_hour_in_the_leads_zone() -> None:
    monday = datetime(2026, 5, 4, 13, 30, tzinfo=UTC)  # Monday, 15:30 in Berlin
    ends = wait_ends(Wait(weekday=1, hour=10), monday, BERLIN)
    assert ends == datetime(2026, 5, 5, 8, 0, tzinfo=UTC)  # Tuesday 10:00 CEST
    assert ends.tzinfo == UTC
    in_new_york = wait_ends(Wait(weekday=1, hour=10), monday, NEW_YORK)
    assert in_new_york == datetime(2026, 5, 5, 14, 0, tzinfo=UTC)


def test_a_weekday_wait_is_never_the_moment_it_starts() -> None:
    tuesday_ten = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Berlin
    assert wait_ends(Wait(weekday=1, hour=10), tuesday_ten, BERLIN) == tuesday_ten + timedelta(
        days=7
    )
    earlier = tuesday_ten - timedelta(minutes=1)
    assert wait_ends(Wait(weekday=1, hour=10), earlier, BERLIN) == tuesday_ten


def test_days_then_a_weekday_counts_the_days_first() -> None:
    friday = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
    ends = wait_ends(Wait(days=7, weekday=1, hour=10), friday, BERLIN)
    assert ends == datetime(2026, 5, 19, 8, 0, tzinfo=UTC)  # the Tuesday after next Friday


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Friday before the spring change (29 March 2026): 10:00 CEST is 08:00 UTC.
        (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), datetime(2026, 3, 31, 8, 0, tzinfo=UTC)),
        # Friday before the autumn change (25 October 2026): 10:00 CET is 09:00 UTC.
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), datetime(2026, 10, 27, 9, 0, tzinfo=UTC)),
    ],
)
def test_across_a_dst_change_the_wall_clock_hour_holds(start: datetime, expected: datetime) -> None:
    ends = wait_ends(Wait(weekday=1, hour=10), start, BERLIN)
    assert ends == expected
    assert ends.astimezone(BERLIN).hour == 10


def _exists(day: datetime, hour: int, zone: ZoneInfo) -> bool:
    """Whether ``hour`` o'clock exists on that day in the zone (not skipped by a DST change)."""
    wall = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None)


@settings(max_examples=300)
@given(
    MOMENTS,
    ZONES,
    st.one_of(st.just(0.0), st.floats(1 / 1440, 30)),
    st.one_of(st.none(), st.integers(0, 6)),
    st.integers(0, 23),
)
def test_a_wait_ends_later_than_it_starts_and_on_its_weekday_and_hour(
    start: datetime, zone: ZoneInfo, days: float, weekday: int | None, hour: int
) -> None:
    if weekday is None and days == 0:
        days = 1.0
    wait = Wait(days, weekday, hour if weekday is not None else None)
    ends = wait_ends(wait, start, zone)
    assert ends > start
    assert ends >= start + timedelta(days=days)
    if weekday is not None:
        local = ends.astimezone(zone)
        assert local.weekday() == weekday
        assert (local.hour, local.minute) == (hour, 0) or not _exists(local, hour, zone)
        assert ends - (start + timedelta(days=days)) <= timedelta(days=7, hours=1)


# ---- quiet hours ---------------------------------------------------------------------------


def test_quiet_hours_cross_midnight_in_the_leads_zone() -> None:
    quiet = QuietHours(21, 8)
    evening = datetime(2026, 5, 4, 19, 30, tzinfo=UTC)  # 21:30 in Berlin, 15:30 in New York
    assert quiet.quiet(evening, BERLIN)
    assert not quiet.quiet(evening, NEW_YORK)
    assert quiet.ends(evening, BERLIN) == datetime(2026, 5, 5, 6, 0, tzinfo=UTC)
    assert quiet.ends(evening, NEW_YORK) == evening
    small_hours = datetime(2026, 5, 5, 1, 0, tzinfo=UTC)  # 03:00 in Berlin
    assert quiet.ends(small_hours, BERLIN) == datetime(2026, 5, 5, 6, 0, tzinfo=UTC)
    assert not quiet.quiet(datetime(2026, 5, 5, 6, 0, tzinfo=UTC), BERLIN)  # 08:00 sharp


def test_quiet_hours_within_a_day_and_none() -> None:
    siesta = QuietHours(13, 15)
    assert siesta.quiet(datetime(2026, 5, 4, 13, 0, tzinfo=UTC), ZoneInfo("UTC"))
    assert not siesta.quiet(datetime(2026, 5, 4, 15, 0, tzinfo=UTC), ZoneInfo("UTC"))
    assert siesta.ends(datetime(2026, 5, 4, 14, 10, tzinfo=UTC), ZoneInfo("UTC")) == datetime(
        2026, 5, 4, 15, 0, tzinfo=UTC
    )
    never = QuietHours(8, 8)
    assert not never.quiet(datetime(2026, 5, 4, 3, 0, tzinfo=UTC), BERLIN)


@settings(max_examples=300)
@given(MOMENTS, ZONES, st.integers(0, 23), st.integers(0, 23))
def test_quiet_hours_end_at_the_first_moment_outside_them(
    moment: datetime, zone: ZoneInfo, start: int, end: int
) -> None:
    quiet = QuietHours(start, end)
    ends = quiet.ends(moment, zone)
    assert not quiet.quiet(ends, zone)
    if not quiet.quiet(moment, zone):
        assert ends == moment
        return
    assert moment < ends <= moment + timedelta(hours=24)
    local = ends.astimezone(zone)
    assert (local.hour, local.minute) == (end, 0) or not _exists(local, end, zone)
    for part in range(4):
        assert quiet.quiet(moment + (ends - moment) * part / 4, zone)


# ---- the weekly cap ------------------------------------------------------------------------


def test_the_cap_frees_when_the_oldest_mail_of_the_week_leaves_it() -> None:
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    monday, thursday = now - timedelta(days=6), now - timedelta(days=3)
    assert cap_frees_at([], now, 2) is None
    assert cap_frees_at([thursday], now, 2) is None
    assert cap_frees_at([monday, thursday], now, 2) == monday + timedelta(days=7)
    assert cap_frees_at([thursday, monday, now], now, 2) == thursday + timedelta(days=7)
    last_week = now - timedelta(days=7)
    assert cap_frees_at([last_week, thursday], now, 2) is None
    assert cap_frees_at([monday, thursday, now], now, 0) is None


@given(st.lists(st.integers(0, 7 * 24 * 60 - 1), max_size=8), st.integers(1, 4))
def test_once_the_cap_frees_one_more_mail_fits(minutes_ago: list[int], cap: int) -> None:
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    recent = [now - timedelta(minutes=m) for m in minutes_ago]
    frees = cap_frees_at(recent, now, cap)
    if frees is None:
        assert len(recent) < cap
    else:
        assert frees > now
        assert cap_frees_at(recent, frees, cap) is None
        assert cap_frees_at(recent, frees - timedelta(seconds=1), cap) is not None


# ---- entering, goals, branches -------------------------------------------------------------

ENTERS = [
    (Trigger(TriggerKind.SUBSCRIBED), Change("subscribed", "confirmed"), True),
    (Trigger(TriggerKind.SUBSCRIBED), Change("identified", "form"), False),
    (Trigger(TriggerKind.STAGE, "decision"), Change("stage", "decision", "consideration"), True),
    (Trigger(TriggerKind.STAGE, "decision"), Change("stage", "consideration"), False),
    (Trigger(TriggerKind.STAGE, "decision"), Change("lifecycle", "decision"), False),
    (Trigger(TriggerKind.LIFECYCLE, "recycled"), Change("lifecycle", "recycled", "sql"), True),
    (Trigger(TriggerKind.LIFECYCLE, "recycled"), Change("lifecycle", "mql"), False),
    (Trigger(TriggerKind.UNLOCKED, "guide"), Change("unlocked", "7", None, "guide", "ebook"), True),
    (Trigger(TriggerKind.UNLOCKED, "guide"), Change("unlocked", "8", None, "other", "pdf"), False),
    (Trigger(TriggerKind.UNLOCKED, "kind:webinar"),
     Change("unlocked", "9", None, "q3-demo", "webinar"), True),
    (Trigger(TriggerKind.UNLOCKED, "kind:webinar"),
     Change("unlocked", "7", None, "guide", "ebook"), False),
    (Trigger(TriggerKind.GRADE, "B"), Change("grade", "B", "C"), True),
    (Trigger(TriggerKind.GRADE, "B"), Change("grade", "A", "D"), True),
    (Trigger(TriggerKind.GRADE, "B"), Change("grade", "A", "B"), False),
    (Trigger(TriggerKind.GRADE, "A"), Change("grade", "B", "C"), False),
    (Trigger(TriggerKind.GRADE, "B"), Change("grade", "B", None), True),
    (Trigger(TriggerKind.GRADE, "B"), Change("grade", "", "B"), False),
    (Trigger(TriggerKind.WEBINAR_ATTENDED), Change("unlocked", "9", None, "q3", "webinar"), False),
    (Trigger(TriggerKind.WEBINAR_MISSED), Change("unlocked", "9", None, "q3", "webinar"), False),
    (Trigger(TriggerKind.INACTIVE, days=60), Change("stage", "awareness"), False),
    (Trigger(TriggerKind.MANUAL), Change("subscribed", "confirmed"), False),
]  # fmt: skip


@pytest.mark.parametrize(("trigger", "change", "expected"), ENTERS)
def test_a_change_enters_a_lead_when_it_matches_the_trigger(
    trigger: Trigger, change: Change, expected: bool
) -> None:
    assert enters(trigger, change) is expected


GOALS_REACHED = [
    (Goal(GoalKind.STAGE, "decision"), Change("stage", "decision"), True),
    (Goal(GoalKind.STAGE, "decision"), Change("stage", "customer"), True),
    (Goal(GoalKind.STAGE, "decision"), Change("stage", "consideration"), False),
    (Goal(GoalKind.STAGE, "consideration"), Change("stage", "decision"), True),
    (Goal(GoalKind.STAGE, "decision"), Change("lifecycle", "decision"), False),
    (Goal(GoalKind.LIFECYCLE, "sql"), Change("lifecycle", "sql", "mql"), True),
    (Goal(GoalKind.LIFECYCLE, "sql"), Change("lifecycle", "opportunity", "mql"), True),
    (Goal(GoalKind.LIFECYCLE, "sql"), Change("lifecycle", "customer", "lead"), True),
    (Goal(GoalKind.LIFECYCLE, "sql"), Change("lifecycle", "mql", "lead"), False),
    (Goal(GoalKind.LIFECYCLE, "sql"), Change("lifecycle", "recycled", "sql"), False),
    (Goal(GoalKind.LIFECYCLE, "recycled"), Change("lifecycle", "recycled", "sql"), True),
    (Goal(GoalKind.DEMO), Change("demo", "requested"), True),
    (Goal(GoalKind.DEMO), Change("sales_notified", "Welcome"), False),
    (Goal(GoalKind.UNLOCKED, "guide"), Change("unlocked", "7", None, "guide", "ebook"), True),
    (Goal(GoalKind.UNLOCKED, "guide"), Change("unlocked", "8", None, "other", "ebook"), False),
    (Goal(GoalKind.UNLOCKED, "kind:ebook"), Change("unlocked", "8", None, "other", "ebook"), True),
    (Goal(GoalKind.UNSUBSCRIBED), Change("unsubscribed", "unsubscribed"), True),
    (Goal(GoalKind.UNSUBSCRIBED), Change("email_bounced", "hard_bounce"), False),
]


@pytest.mark.parametrize(("goal", "change", "expected"), GOALS_REACHED)
def test_a_change_reaches_a_goal(goal: Goal, change: Change, expected: bool) -> None:
    assert goal_reached(goal, change, STAGES) is expected


GOALS_MET = [
    (Goal(GoalKind.STAGE, "decision"), lead(stage="decision"), True),
    (Goal(GoalKind.STAGE, "decision"), lead(stage="customer"), True),
    (Goal(GoalKind.STAGE, "decision"), lead(stage="consideration"), False),
    (Goal(GoalKind.LIFECYCLE, "sql"), lead(lifecycle="sql"), True),
    (Goal(GoalKind.LIFECYCLE, "sql"), lead(lifecycle="customer"), True),
    (Goal(GoalKind.LIFECYCLE, "sql"), lead(lifecycle="recycled"), False),
    (Goal(GoalKind.LIFECYCLE, "sql"), lead(lifecycle="mql"), False),
    (Goal(GoalKind.DEMO), lead(demo_requested=True), True),
    (Goal(GoalKind.DEMO), lead(), False),
    (Goal(GoalKind.UNLOCKED, "guide"), lead(read=frozenset({"guide"})), True),
    (Goal(GoalKind.UNLOCKED, "guide"), lead(read=frozenset({"other"})), False),
    (Goal(GoalKind.UNLOCKED, "kind:ebook"), lead(read_kinds=frozenset({"ebook"})), True),
    (Goal(GoalKind.UNLOCKED, "kind:ebook"), lead(read_kinds=frozenset({"article"})), False),
    (Goal(GoalKind.UNSUBSCRIBED), lead(subscribed=False), True),
    (Goal(GoalKind.UNSUBSCRIBED), lead(), False),
]


@pytest.mark.parametrize(("goal", "facts", "expected"), GOALS_MET)
def test_a_lead_may_stand_at_a_goal_already(goal: Goal, facts: LeadFacts, expected: bool) -> None:
    assert goal_met(goal, facts, STAGES) is expected


HOLDS = [
    (Condition(ConditionKind.STAGE, "consideration"), lead(stage="consideration"), True),
    (Condition(ConditionKind.STAGE, "consideration"), lead(stage="decision"), False),
    (Condition(ConditionKind.GRADE, "A B"), lead(grade="b"), True),
    (Condition(ConditionKind.GRADE, "A B"), lead(grade="C"), False),
    (Condition(ConditionKind.GRADE, "A B"), lead(grade=""), False),
    (Condition(ConditionKind.LIFECYCLE, "mql"), lead(lifecycle="mql"), True),
    (Condition(ConditionKind.LIFECYCLE, "mql"), lead(lifecycle="sql"), False),
    (Condition(ConditionKind.TOPIC, "Pipeline"), lead(topics=frozenset({"pipeline"})), True),
    (Condition(ConditionKind.TOPIC, "pipeline"), lead(topics=frozenset({"pricing"})), False),
    (Condition(ConditionKind.OPENED, "yes"), lead(opened_previous=True), True),
    (Condition(ConditionKind.OPENED, "yes"), lead(), False),
    (Condition(ConditionKind.OPENED, "no"), lead(), True),
    (Condition(ConditionKind.CLICKED, "yes"), lead(clicked_previous=True), True),
    (Condition(ConditionKind.CLICKED, "yes"), lead(opened_previous=True), False),
    (Condition(ConditionKind.CLICKED, "no"), lead(clicked_previous=True), False),
    (Condition(ConditionKind.READ, "guide"), lead(read=frozenset({"guide"})), True),
    (Condition(ConditionKind.READ, "guide"), lead(), False),
]


@pytest.mark.parametrize(("condition", "facts", "expected"), HOLDS)
def test_a_branch_condition_holds(condition: Condition, facts: LeadFacts, expected: bool) -> None:
    assert holds(condition, facts) is expected


BRANCHY = parse(
    {
        "name": "Branches",
        "trigger": {"kind": "manual"},
        "steps": [
            {"id": "a", "branch": {"if": {"stage": "decision"}, "then": "c", "else": "next"}},
            {"id": "b", "branch": {"if": {"clicked": True}, "then": "exit", "else": "next"}},
            {"id": "c", "exit": {}},
            {"id": "d", "branch": {"if": {"opened": True}, "then": "next", "else": "exit"}},
        ],
    }
)


def test_a_branch_goes_to_its_step_the_next_one_or_out() -> None:
    assert after_branch(BRANCHY, 0, lead(stage="decision")) == 2
    assert after_branch(BRANCHY, 0, lead()) == 1
    assert after_branch(BRANCHY, 1, lead(clicked_previous=True)) is None
    assert after_branch(BRANCHY, 1, lead()) == 2
    assert after_branch(BRANCHY, 3, lead()) is None


def test_a_last_branch_to_next_ends_the_program_as_done_not_as_an_exit() -> None:
    assert after_branch(BRANCHY, 3, lead(opened_previous=True)) == len(BRANCHY.steps)


# ---- A/B: assignment -----------------------------------------------------------------------


def keys(program: int, step: str = "hello", leads: int = 1000) -> list[str]:
    """The scheduler's keys: program, version, step and lead."""
    return [f"{program}:1:{step}:{lead_id}" for lead_id in range(1, leads + 1)]


@pytest.mark.parametrize("variants", [2, 3, 4])
@pytest.mark.parametrize("program", [1, 2, 3, 17])
def test_a_split_over_1000_leads_is_within_5_points_of_each_share(
    variants: int, program: int
) -> None:
    counts = Counter(variant_for(key, variants, AbTest(AbMode.SPLIT)) for key in keys(program))
    assert set(counts) == set(range(variants))
    for count in counts.values():
        assert abs(count / 1000 - 1 / variants) <= 0.05, counts


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.integers(1, 10**6), st.sampled_from(["hello", "fork", "last-try"]), st.integers(2, 4))
def test_a_split_is_even_for_any_program_and_step(program: int, step: str, variants: int) -> None:
    counts = Counter(
        variant_for(key, variants, AbTest(AbMode.SPLIT)) for key in keys(program, step)
    )
    assert max(abs(count / 1000 - 1 / variants) for count in counts.values()) <= 0.05


def test_the_same_lead_always_gets_the_same_variant() -> None:
    ab = AbTest(AbMode.SPLIT)
    assert [variant_for("5:1:hello:42", 3, ab) for _ in range(5)] == [
        variant_for("5:1:hello:42", 3, ab)
    ] * 5
    assert variant_for("5:1:hello:42", 1, ab) == 0
    assert variant_for("5:1:hello:42", 3, None) == 0


@pytest.mark.parametrize(("share", "variants"), [(20, 2), (10, 3), (40, 4)])
def test_a_test_sends_its_share_and_holds_the_rest_until_decided(share: int, variants: int) -> None:
    ab = AbTest(AbMode.TEST, share=share)
    before = Counter(variant_for(key, variants, ab) for key in keys(4))
    tested = 1000 - before[HOLD]
    assert abs(tested / 1000 - share / 100) <= 0.05, before
    for variant in range(variants):
        assert abs(before[variant] / 1000 - share / 100 / variants) <= 0.05
    with_winner = [variant_for(key, variants, ab, winner=1, decided=True) for key in keys(4)]
    assert HOLD not in with_winner
    assert with_winner.count(1) >= 1000 - tested
    for key, was, now in zip(keys(4), [variant_for(k, variants, ab) for k in keys(4)],
                             with_winner, strict=True):  # fmt: skip
        assert now == (1 if was == HOLD else was), key
    even = Counter(variant_for(key, variants, ab, decided=True) for key in keys(4))
    assert HOLD not in even
    assert max(abs(count / 1000 - 1 / variants) for count in even.values()) <= 0.05


# ---- A/B: the winner test ------------------------------------------------------------------


def test_a_small_difference_in_clicks_names_no_winner() -> None:
    verdict = pick_winner([VariantStats(1000, 300, 50), VariantStats(1000, 310, 55)])
    assert verdict.winner is None
    assert verdict.metric == "clicks"
    assert verdict.p_value > 0.5
    assert verdict.explanation.startswith("no winner yet")


def test_a_large_difference_in_clicks_names_the_winner_with_its_test_and_confidence() -> None:
    verdict = pick_winner([VariantStats(1000, 300, 50), VariantStats(1000, 310, 120)])
    assert verdict.winner == 1
    assert verdict.metric == "clicks"
    assert verdict.p_value < 0.001
    assert "B wins on clicks" in verdict.explanation
    assert "two-proportion z-test" in verdict.explanation
    assert "95% confidence" in verdict.explanation
    assert len(verdict.intervals) == 2


def test_with_too_few_clicks_opens_decide() -> None:
    verdict = pick_winner([VariantStats(500, 100, 3), VariantStats(500, 180, 4)])
    assert verdict.metric == "opens"
    assert verdict.winner == 1
    few_opens = pick_winner([VariantStats(500, 100, 3), VariantStats(500, 108, 4)])
    assert few_opens.metric == "opens"
    assert few_opens.winner is None


def test_no_verdict_before_every_variant_has_its_sends() -> None:
    verdict = pick_winner([VariantStats(MIN_SENDS - 1, 29, 29), VariantStats(1000, 0, 0)])
    assert verdict.winner is None
    assert f"{MIN_SENDS} sends" in verdict.explanation
    assert pick_winner([VariantStats(1000, 400, 100)]).winner is None


def test_with_more_variants_the_bar_is_raised_for_each_comparison() -> None:
    # p ≈ 0.03 between A and B: a winner of two, not of three (Bonferroni: 0.05 / 2).
    two = [VariantStats(1000, 300, 50), VariantStats(1000, 300, 74)]
    three = [*two, VariantStats(1000, 300, 20)]
    four = [*three, VariantStats(1000, 300, 30)]
    assert 0.025 < pick_winner(two).p_value < 0.05
    assert pick_winner(two).winner == 1
    assert pick_winner(three).winner is None
    assert "needs < 0.0250" in pick_winner(three).explanation
    assert pick_winner(four).winner is None
    clear = [VariantStats(1000, 300, 50), VariantStats(1000, 300, 140), *four[2:]]
    verdict = pick_winner(clear)
    assert verdict.winner == 1
    assert "3 comparison(s)" in verdict.explanation


def test_the_winner_must_beat_every_other_variant() -> None:
    # B is far above A, but not above C.
    stats = [VariantStats(1000, 300, 20), VariantStats(1000, 300, 90), VariantStats(1000, 300, 85)]
    assert pick_winner(stats).winner is None


@given(st.integers(0, 2000), st.integers(0, 2000))
def test_the_wilson_interval_contains_the_rate(successes: int, trials: int) -> None:
    successes = min(successes, trials)
    interval = wilson(successes, trials)
    assert 0.0 <= interval.low <= interval.high <= 1.0
    if trials:
        rate = successes / trials
        assert interval.low - 1e-12 <= rate <= interval.high + 1e-12
        assert interval.high - interval.low < 1.0
    else:
        assert (interval.low, interval.high) == (0.0, 1.0)
