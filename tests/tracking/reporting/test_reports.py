"""Report rules with plain data: funnels, medians, daily series, the engagement curve and the
trail cut into days and visits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tracking.reporting.funnels import HISTORIES, LIFECYCLE, reach_of
from tracking.reporting.figures import (
    VISIT_GAP,
    FunnelStep,
    daily,
    day_points,
    engagement_curve,
    group_trail,
    median_days,
    path_funnel,
)
from tracking.rules.config import ScoringModel

DAY = 86_400
D0 = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Asset:
    slug: str
    title: str = ""
    kind: str = "article"
    stage: str = "awareness"


@dataclass(frozen=True)
class Item:
    """A trail item as the lead page passes it: time, type, asset, measures."""

    at: datetime
    type: str
    asset: Asset | None = None
    seconds: float | None = None
    depth: float | None = None


GUIDE = Asset("guide", "Scoring guide", "whitepaper", "consideration")
PRICING = Asset("pricing", "Pricing", "article", "decision")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def newest_first(*items: Item) -> list[Item]:
    return sorted(items, key=lambda i: i.at, reverse=True)


# path_funnel


def lifecycle_funnel(total: int, *histories: Sequence[str]) -> list[FunnelStep]:
    return path_funnel(("lead", total), LIFECYCLE, reach_of(LIFECYCLE, histories))


def test_path_funnel_follows_the_usual_path() -> None:
    steps = lifecycle_funnel(10, ["mql", "sql", "opportunity", "customer"], ["mql", "sql"], ["mql"])
    assert steps == [
        FunnelStep("lead", 10, None),
        FunnelStep("mql", 3, 0.3),
        FunnelStep("sql", 2, 2 / 3),
        FunnelStep("opportunity", 1, 0.5),
        FunnelStep("customer", 1, 1.0),
    ]


def test_a_fast_lane_sql_that_never_was_an_mql_does_not_convert_from_mql() -> None:
    # The defect: one MQL still waiting and one fast-lane SQL read "sql 100 % from mql".
    assert lifecycle_funnel(2, ["mql"], ["sql"])[2] == FunnelStep("sql", 1, 0.0, skipped=1)
    only_fast_lane = lifecycle_funnel(1, ["sql"])
    assert only_fast_lane[1] == FunnelStep("mql", 0, 0.0)
    assert only_fast_lane[2] == FunnelStep("sql", 1, None, skipped=1)  # nobody was an MQL


def test_reaching_a_step_only_before_the_step_before_is_skipping_it() -> None:
    # sql by the fast lane, sent back, then an MQL again (still waiting): no conversion
    steps = lifecycle_funnel(1, ["sql", "recycled", "mql"])
    assert (steps[2].count, steps[2].conversion, steps[2].skipped) == (1, 0.0, 1)


def test_reaching_a_step_again_after_the_step_before_converts() -> None:
    # fast lane to sql, recycled, an MQL later and accepted as SQL again
    steps = lifecycle_funnel(1, ["sql", "recycled", "mql", "sql"])
    assert (steps[2].count, steps[2].conversion, steps[2].skipped) == (1, 1.0, 0)


def test_a_customer_marked_by_hand_skips_opportunity() -> None:
    steps = lifecycle_funnel(3, ["mql", "sql", "customer"], ["mql", "sql", "customer"])
    assert steps[3] == FunnelStep("opportunity", 0, 0.0)
    assert steps[4] == FunnelStep("customer", 2, None, skipped=2)


def test_every_lead_starts_at_the_entry_step() -> None:
    stages = ("consideration", "decision", "customer")
    histories = [["decision"], ["consideration", "decision"], ["consideration"]]
    assert path_funnel(("awareness", 4), stages, reach_of(stages, histories)) == [
        FunnelStep("awareness", 4, None),
        FunnelStep("consideration", 2, 0.5),
        FunnelStep("decision", 2, 0.5, skipped=1),  # one jumped from awareness to decision
        FunnelStep("customer", 0, 0.0),
    ]


def test_a_path_funnel_of_nobody() -> None:
    assert lifecycle_funnel(0) == [
        FunnelStep("lead", 0, None),
        *(FunnelStep(step, 0, None) for step in LIFECYCLE),
    ]
    assert path_funnel(("lead", 5), (), {}) == [FunnelStep("lead", 5, None)]
    assert path_funnel(("lead", 5), LIFECYCLE, {})[1:] == [
        FunnelStep("mql", 0, 0.0),
        *(FunnelStep(step, 0, None) for step in LIFECYCLE[1:]),
    ]


@given(HISTORIES, st.integers(min_value=0, max_value=5))
def test_conversions_never_exceed_the_step_before_and_skips_make_up_the_rest(
    histories: list[list[str]], extra: int
) -> None:
    total = len(histories) + extra
    reach = reach_of(LIFECYCLE, histories)
    steps = lifecycle_funnel(total, *histories)
    assert [s.label for s in steps] == ["lead", *LIFECYCLE]
    previous = total
    for step, label in zip(steps[1:], LIFECYCLE, strict=True):
        reached, converted = reach[label]
        assert (step.count, step.count - step.skipped) == (reached, converted)
        if previous:
            assert step.conversion == converted / previous
            assert 0.0 <= step.conversion <= 1.0  # never more than the step before held
        else:
            assert step.conversion is None
            assert converted == 0
        previous = step.count


# median_days


def test_median_days_turns_seconds_into_days() -> None:
    assert median_days([DAY, 3 * DAY, 10 * DAY]) == 3.0
    assert median_days([DAY, 2 * DAY]) == 1.5
    assert median_days([43_200]) == 0.5


def test_median_days_of_nothing_is_none_and_missing_values_are_skipped() -> None:
    assert median_days([]) is None
    assert median_days(iter(())) is None
    assert median_days([None, None]) is None  # type: ignore[list-item]
    assert median_days([None, 2 * DAY]) == 2.0  # type: ignore[list-item]


# daily


def test_daily_fills_every_day_of_the_range_with_zero_where_nothing_happened() -> None:
    counts = {D0 + timedelta(1): 4.0, D0 + timedelta(3): 1.0, D0 + timedelta(9): 7.0}
    assert daily(counts, D0, D0 + timedelta(4)) == [
        (D0, 0),
        (D0 + timedelta(1), 4.0),
        (D0 + timedelta(2), 0),
        (D0 + timedelta(3), 1.0),
        (D0 + timedelta(4), 0),
    ]


def test_daily_of_one_day_and_of_an_empty_range() -> None:
    assert daily({D0: 2.0}, D0, D0) == [(D0, 2.0)]
    assert daily({D0: 2.0}, D0, D0 - timedelta(1)) == []


@given(
    st.integers(min_value=0, max_value=400), st.dictionaries(st.integers(0, 400), st.floats(0, 1e6))
)
def test_daily_has_one_value_per_day_in_order(span: int, raw: dict[int, float]) -> None:
    counts = {D0 + timedelta(k): v for k, v in raw.items()}
    series = daily(counts, D0, D0 + timedelta(span))
    assert [d for d, _ in series] == [D0 + timedelta(k) for k in range(span + 1)]
    assert all(v == counts.get(d, 0) for d, v in series)


# day_points


def test_day_points_add_event_points_and_seconds_points_per_day() -> None:
    scoring = ScoringModel(event_points={"asset_view": 1.0, "download": 5.0}, seconds_points=0.1)
    rows = [
        (D0, "asset_view", 3, 0.0),
        (D0, "read_progress", 4, 120.0),  # no points of its own: only its seconds count
        (D0, "download", 1, 0.0),
        (D0 + timedelta(2), "asset_view", 1, 30.0),
    ]
    assert day_points(rows, scoring) == pytest.approx({D0: 3 + 12 + 5, D0 + timedelta(2): 1 + 3})


def test_day_points_count_unknown_types_and_missing_seconds_as_nothing() -> None:
    scoring = ScoringModel(event_points={"asset_view": 2.0}, seconds_points=0.05)
    points = day_points([(D0, "made_up", 9, None), (D0, "asset_view", 1, None)], scoring)  # type: ignore[list-item]
    assert points == {D0: 2.0}
    assert day_points([], scoring) == {}


def test_day_points_use_the_default_model_points() -> None:
    scoring = ScoringModel()
    points = day_points([(D0, "download", 2, 60.0)], scoring)
    assert points[D0] == pytest.approx(2 * scoring.event_points["download"] + 60 * 0.05)


# engagement_curve


def test_engagement_curve_halves_after_each_half_life() -> None:
    curve = engagement_curve({D0: 8.0}, D0, D0 + timedelta(3), half_life_days=1)
    assert curve == [(D0, 8.0), (D0 + timedelta(1), 4.0), (D0 + timedelta(2), 2.0),
                     (D0 + timedelta(3), 1.0)]  # fmt: skip


def test_engagement_curve_adds_new_points_to_what_is_left() -> None:
    points = {D0: 10.0, D0 + timedelta(2): 5.0}
    curve = engagement_curve(points, D0, D0 + timedelta(4), half_life_days=2)
    factor = 2**-0.5
    expected = [10.0, 10 * factor, 10 * factor**2 + 5, (10 * factor**2 + 5) * factor]
    expected.append(expected[-1] * factor)
    assert [v for _, v in curve] == [round(v, 1) for v in expected]
    assert [d for d, _ in curve] == [D0 + timedelta(k) for k in range(5)]


def test_engagement_curve_starts_at_zero_and_ignores_points_before_the_range() -> None:
    curve = engagement_curve({D0 - timedelta(1): 50.0}, D0, D0 + timedelta(1), 21)
    assert curve == [(D0, 0.0), (D0 + timedelta(1), 0.0)]


def test_engagement_curve_a_longer_half_life_decays_slower() -> None:
    fast = engagement_curve({D0: 100.0}, D0, D0 + timedelta(10), 3)
    slow = engagement_curve({D0: 100.0}, D0, D0 + timedelta(10), 21)
    assert fast[-1][1] < slow[-1][1] < 100.0
    assert slow[-1][1] == round(100 * 2 ** (-10 / 21), 1)


# group_trail


def test_group_trail_cuts_days_and_visits_newest_first() -> None:
    items = newest_first(
        Item(minutes(0), "asset_view", GUIDE),
        Item(minutes(10), "read_progress", GUIDE, 30, 0.4),
        Item(minutes(70), "asset_view", PRICING),  # 60 minutes later: a new visit
        Item(minutes(24 * 60), "asset_view", GUIDE),  # the next day
    )
    days = group_trail(items)
    assert [d.day for d in days] == [D0 + timedelta(1), D0]
    assert [len(d.visits) for d in days] == [1, 2]
    later, earlier = days[1].visits
    assert (later.started, later.ended) == (minutes(70), minutes(70))
    assert (earlier.started, earlier.ended) == (minutes(0), minutes(10))
    assert [a.slug for a in later.assets] == ["pricing"]
    assert [a.slug for a in earlier.assets] == ["guide"]


def test_a_pause_of_exactly_thirty_minutes_stays_in_the_visit_and_more_starts_a_new_one() -> None:
    assert timedelta(minutes=30) == VISIT_GAP
    same = group_trail(newest_first(Item(minutes(0), "search"), Item(minutes(30), "search")))
    assert len(same[0].visits) == 1
    split = group_trail(newest_first(Item(minutes(0), "search"), Item(minutes(30.01), "search")))
    assert len(split[0].visits) == 2


def test_the_gap_is_measured_between_consecutive_items_not_from_the_visit_start() -> None:
    # Items every 20 minutes for 3 hours: one long visit.
    items = newest_first(*(Item(minutes(20 * k), "page_view") for k in range(10)))
    days = group_trail(items)
    assert len(days) == 1
    assert len(days[0].visits) == 1
    visit = days[0].visits[0]
    assert (visit.started, visit.ended) == (minutes(0), minutes(180))
    assert visit.minutes == 180


def test_a_visit_across_midnight_is_cut_at_the_day() -> None:
    midnight = datetime(2026, 3, 3, tzinfo=UTC)
    items = newest_first(
        Item(midnight - timedelta(minutes=5), "asset_view", GUIDE),
        Item(midnight + timedelta(minutes=5), "asset_view", GUIDE),
    )
    days = group_trail(items)
    assert [d.day for d in days] == [date(2026, 3, 3), date(2026, 3, 2)]
    assert [len(d.visits) for d in days] == [1, 1]


def test_a_visit_counts_each_asset_once_with_total_time_and_deepest_read() -> None:
    items = newest_first(
        Item(minutes(0), "asset_view", GUIDE),
        Item(minutes(1), "read_progress", GUIDE, 15, 0.3),
        Item(minutes(2), "read_progress", PRICING, 10, 0.5),
        Item(minutes(3), "read_progress", GUIDE, 15, 0.8),
        Item(minutes(4), "read_progress", GUIDE, 5, 0.6),  # scrolled back up
        Item(minutes(5), "download", GUIDE),
    )
    [day] = group_trail(items)
    [visit] = day.visits
    guide = next(a for a in visit.assets if a.slug == "guide")
    pricing = next(a for a in visit.assets if a.slug == "pricing")
    assert (guide.seconds, guide.depth) == (35.0, 0.8)
    assert (pricing.seconds, pricing.depth) == (10.0, 0.5)
    assert (guide.title, guide.kind, guide.stage) == (
        "Scoring guide",
        "whitepaper",
        "consideration",
    )
    # Newest first: the guide was touched last, so it is listed first.
    assert [a.slug for a in visit.assets] == ["guide", "pricing"]
    assert visit.other == []


def test_notable_acts_are_kept_once_and_quiet_ones_left_out() -> None:
    items = newest_first(
        Item(minutes(0), "gate_view", GUIDE),
        Item(minutes(1), "form_submit", GUIDE),
        Item(minutes(1.1), "unlock", GUIDE),
        Item(minutes(2), "asset_view", GUIDE),
        Item(minutes(3), "read_progress", GUIDE, 20, 0.5),
        Item(minutes(4), "download", GUIDE),
        Item(minutes(5), "download", GUIDE),
    )
    [day] = group_trail(items)
    [entry] = day.visits[0].assets
    assert entry.acts == ["download", "unlock", "form_submit", "gate_view"]


def test_events_without_an_asset_go_to_other_in_trail_order() -> None:
    search = Item(minutes(0), "search")
    page = Item(minutes(2), "page_view")
    click = Item(minutes(3), "cta_click")
    items = newest_first(search, Item(minutes(1), "asset_view", GUIDE), page, click)
    [day] = group_trail(items)
    [visit] = day.visits
    assert visit.other == [click, page, search]
    assert [a.slug for a in visit.assets] == ["guide"]


def test_missing_seconds_and_depth_count_as_zero() -> None:
    [day] = group_trail([Item(minutes(0), "asset_view", GUIDE, None, None)])
    [entry] = day.visits[0].assets
    assert (entry.seconds, entry.depth, entry.acts) == (0.0, 0.0, [])


def test_an_asset_in_two_visits_appears_in_each_with_its_own_totals() -> None:
    items = newest_first(
        Item(minutes(0), "read_progress", GUIDE, 10, 0.2),
        Item(minutes(120), "read_progress", GUIDE, 40, 0.9),
    )
    [day] = group_trail(items)
    assert [(a.seconds, a.depth) for v in day.visits for a in v.assets] == [
        (40.0, 0.9),
        (10.0, 0.2),
    ]


def test_visit_minutes_are_at_least_one() -> None:
    [day] = group_trail([Item(minutes(0), "search")])
    assert day.visits[0].minutes == 1
    assert group_trail([]) == []


def test_a_custom_gap_cuts_shorter_visits() -> None:
    items = newest_first(Item(minutes(0), "search"), Item(minutes(10), "search"))
    assert len(group_trail(items)[0].visits) == 1
    assert len(group_trail(items, gap=timedelta(minutes=5))[0].visits) == 2


ASSETS = [GUIDE, PRICING, Asset("intro")]
TYPES = ["asset_view", "read_progress", "download", "unlock", "search", "page_view"]


@st.composite
def trails(draw: st.DrawFn) -> list[Item]:
    offsets = draw(st.lists(st.integers(min_value=0, max_value=4 * 24 * 60), max_size=40))
    items = []
    for offset in offsets:
        kind = draw(st.sampled_from(TYPES))
        asset = None if kind in ("search", "page_view") else draw(st.sampled_from(ASSETS))
        seconds = draw(st.none() | st.integers(0, 60).map(float))
        depth = draw(st.none() | st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]))
        items.append(Item(T0 + timedelta(minutes=offset), kind, asset, seconds, depth))
    return newest_first(*items)


@given(trails())
def test_group_trail_keeps_every_item_exactly_once(items: list[Item]) -> None:
    days = group_trail(items)
    visits = [(d.day, v) for d in days for v in d.visits]
    for item in items:
        holders = [
            v for day, v in visits if day == item.at.date() and v.started <= item.at <= v.ended
        ]
        assert len(holders) == 1, item
    # Items without an asset are all in some ``other``, in trail order.
    assert [i for _, v in visits for i in v.other] == [i for i in items if i.asset is None]
    # Asset time adds up per asset; the deepest read survives in some visit.
    for asset in ASSETS:
        mine = [i for i in items if i.asset == asset]
        entries = [a for _, v in visits for a in v.assets if a.slug == asset.slug]
        assert sum(a.seconds for a in entries) == sum(i.seconds or 0.0 for i in mine)
        assert max((a.depth for a in entries), default=0.0) == max(
            (i.depth or 0.0 for i in mine), default=0.0
        )
    # Days and visits run newest first, and visits of one day are more than a gap apart.
    assert [d.day for d in days] == sorted({i.at.date() for i in items}, reverse=True)
    for day in days:
        for newer, older in zip(day.visits, day.visits[1:], strict=False):
            assert newer.started - older.ended > VISIT_GAP
        for visit in day.visits:
            assert len({a.slug for a in visit.assets}) == len(visit.assets)
