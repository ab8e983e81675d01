"""Journey-stage inference: decayed accumulators, touch points, incremental state, verdicts."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.rules.config import DEFAULT_EVENT_POINTS, Model, ProfileHint, ScoringModel
from tracking.rules.journey import (
    ACTS,
    Accumulator,
    AssetTouch,
    JourneyState,
    Touch,
    apply,
    decay,
    infer_stage,
    merge,
    stage_evidence,
    stage_of,
    touch_points,
)

HALF_LIFE = 30.0
T0 = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
# The rules are tested on a reference model whose numbers the tables below were worked out
# with; the shipped defaults are covered by test_scoring_defaults_are_the_documented_ones.
SCORING = ScoringModel(
    half_life_days=HALF_LIFE,
    stage_thresholds={"awareness": 0.0, "consideration": 6.0, "decision": 12.0, "customer": 15.0},
    customer_stage="",
)
MODEL = Model(scoring=SCORING)

STAGE_OF = {
    1: "awareness",
    2: "awareness",
    3: "awareness",
    11: "consideration",
    12: "consideration",
    21: "decision",
    22: "decision",
    23: "decision",
    24: "decision",
    31: "customer",
}
"""Demo assets: the id says the stage (1x awareness, 1x consideration, 2x decision …)."""


def days(n: float) -> timedelta:
    return timedelta(days=n)


def touch(kind: str, asset: int | None = None, at: datetime = NOW, **reading: float) -> Touch:
    """One event; ``asset`` is looked up in STAGE_OF."""
    stage = STAGE_OF[asset] if asset is not None else None
    return Touch(kind, at, asset_id=asset, asset_stage=stage, **reading)


def read(asset: int, seconds: float, depth: float, at: datetime = NOW) -> Touch:
    """A read_progress event from the top of the asset to ``depth``."""
    return touch("read_progress", asset, at, seconds=seconds, depth_after=depth)


def full_read(asset: int, at: datetime = NOW) -> list[Touch]:
    """View plus five minutes of reading to the end: 1 + 15 + 2 + 2 = 20 points."""
    return [touch("asset_view", asset, at), read(asset, 300, 1.0, at)]


def state_of(touches: Sequence[Touch], start: JourneyState | None = None) -> JourneyState:
    return apply(start or JourneyState(), touches, SCORING)


# --- Accumulator: decay arithmetic -------------------------------------------------------------


def test_value_halves_after_one_half_life_and_quarters_after_two() -> None:
    acc = Accumulator(8.0, T0)
    assert acc.at(T0, HALF_LIFE) == 8.0
    assert acc.at(T0 + days(30), HALF_LIFE) == pytest.approx(4.0)
    assert acc.at(T0 + days(60), HALF_LIFE) == pytest.approx(2.0)
    assert acc.at(T0 + days(90), HALF_LIFE) == pytest.approx(1.0)
    assert acc.at(T0 + days(15), HALF_LIFE) == pytest.approx(8.0 / math.sqrt(2))


def test_half_life_is_the_models_parameter() -> None:
    acc = Accumulator(8.0, T0)
    assert acc.at(T0 + days(7), 7.0) == pytest.approx(4.0)
    assert acc.at(T0 + days(30), 60.0) == pytest.approx(8.0 / math.sqrt(2))


def test_a_moment_before_as_of_reads_the_value_unchanged() -> None:
    acc = Accumulator(8.0, T0)
    assert acc.at(T0 - days(1), HALF_LIFE) == 8.0
    assert acc.at(T0 - days(365), HALF_LIFE) == 8.0


def test_an_empty_accumulator_reads_zero() -> None:
    assert Accumulator().at(NOW, HALF_LIFE) == 0.0
    assert Accumulator().add(5.0, T0, HALF_LIFE) == Accumulator(5.0, T0)


def test_decay_factor() -> None:
    assert decay(timedelta(0), HALF_LIFE) == 1.0
    assert decay(days(30), HALF_LIFE) == 0.5
    assert decay(days(90), HALF_LIFE) == 0.125
    assert decay(timedelta(hours=36), 1.5) == 0.5


def test_adding_later_decays_then_adds() -> None:
    # 10 points 30 days ago + 4 now = 5 + 4
    assert Accumulator(10.0, T0).add(4.0, T0 + days(30), HALF_LIFE) == Accumulator(
        9.0, T0 + days(30)
    )
    # 16 points 60 days ago + 2 now = 4 + 2
    assert Accumulator(16.0, T0).add(2.0, T0 + days(60), HALF_LIFE) == Accumulator(
        6.0, T0 + days(60)
    )


def test_adding_at_as_of_just_adds() -> None:
    assert Accumulator(3.0, T0).add(4.5, T0, HALF_LIFE) == Accumulator(7.5, T0)


def test_adding_earlier_decays_the_new_points_to_as_of() -> None:
    # the same two events, arriving out of order: 4 now, then 10 from 30 days ago
    late = Accumulator(4.0, T0 + days(30)).add(10.0, T0, HALF_LIFE)
    assert late == Accumulator(9.0, T0 + days(30))
    assert late.at(T0 + days(60), HALF_LIFE) == pytest.approx(4.5)
    # 8 points 90 days before as_of are worth 1 at as_of
    assert Accumulator(0.5, T0).add(8.0, T0 - days(90), HALF_LIFE) == Accumulator(1.5, T0)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Accumulator(10.0, T0), Accumulator(4.0, T0 + days(30))),
        (Accumulator(3.7, T0), Accumulator(12.25, T0 - days(11.3))),
        (Accumulator(1.0, T0), Accumulator(1.0, T0)),
        (Accumulator(0.2, T0 + timedelta(seconds=1)), Accumulator(99.0, T0 - days(200))),
    ],
)
def test_merge_is_commutative_and_equals_adding_the_others_value(
    a: Accumulator, b: Accumulator
) -> None:
    ab = a.merge(b, HALF_LIFE)
    ba = b.merge(a, HALF_LIFE)
    assert ab.as_of == ba.as_of == max(a.as_of, b.as_of)
    assert ab.value == pytest.approx(ba.value, rel=1e-9)
    assert ab == a.add(b.value, b.as_of, HALF_LIFE)
    assert ba == b.add(a.value, a.as_of, HALF_LIFE)


def test_merge_example_and_empty_sides() -> None:
    a, b = Accumulator(10.0, T0), Accumulator(4.0, T0 + days(30))
    assert a.merge(b, HALF_LIFE) == Accumulator(9.0, T0 + days(30))
    assert a.merge(Accumulator(), HALF_LIFE) == a
    assert Accumulator().merge(a, HALF_LIFE) == a


# --- touch_points --------------------------------------------------------------------------------

EVENT_POINTS = {
    "page_view": 0.2,
    "search": 0.5,
    "asset_view": 1.0,
    "gate_view": 0.0,
    "read_progress": 0.0,
    "cta_click": 1.0,
    "form_submit": 3.0,
    "unlock": 2.0,
    "download": 4.0,
    "webinar_register": 6.0,
    "webinar_attend": 10.0,
    "email_click": 2.0,
    "demo_request": 12.0,
}


def test_the_points_table_covers_every_event_type() -> None:
    assert dict(DEFAULT_EVENT_POINTS) == EVENT_POINTS


@pytest.mark.parametrize(("kind", "points"), EVENT_POINTS.items())
def test_each_event_type_earns_its_points(kind: str, points: float) -> None:
    assert touch_points(touch(kind, 21), SCORING) == points
    assert touch_points(touch(kind), SCORING) == points


def test_an_unknown_event_type_earns_nothing() -> None:
    assert touch_points(touch("pricing_view", 21), SCORING) == 0.0


@pytest.mark.parametrize(
    ("seconds", "points"), [(0, 0.0), (1, 0.05), (10, 0.5), (60, 3.0), (300, 15.0)]
)
def test_engaged_seconds_earn_points(seconds: float, points: float) -> None:
    assert touch_points(touch("read_progress", 1, seconds=seconds), SCORING) == pytest.approx(
        points
    )


# fmt: off
DEPTH_TABLE = [
    pytest.param(0.0, 0.0, 0.0, id="no-depth"),
    pytest.param(0.0, 0.49, 0.0, id="just-short-of-half"),
    pytest.param(0.0, 0.5, 2.0, id="exactly-half-counts"),
    pytest.param(0.4, 0.5, 2.0, id="crossing-half"),
    pytest.param(0.5, 0.7, 0.0, id="half-already-reached-before"),
    pytest.param(0.6, 0.6, 0.0, id="no-progress"),
    pytest.param(0.5, 0.9, 2.0, id="crossing-ninety-only"),
    pytest.param(0.89, 0.9, 2.0, id="exactly-ninety-counts"),
    pytest.param(0.9, 1.0, 0.0, id="ninety-already-reached-before"),
    pytest.param(0.4, 0.95, 4.0, id="crossing-both"),
    pytest.param(0.0, 1.0, 4.0, id="whole-asset"),
]
# fmt: on


@pytest.mark.parametrize(("before", "after", "bonus"), DEPTH_TABLE)
def test_depth_bonus_once_per_milestone_crossed(before: float, after: float, bonus: float) -> None:
    t = touch("read_progress", 1, depth_before=before, depth_after=after)
    assert touch_points(t, SCORING) == bonus


def test_points_add_up_type_seconds_and_depth() -> None:
    t = touch("asset_view", 21, seconds=30, depth_before=0.4, depth_after=0.95)
    assert touch_points(t, SCORING) == pytest.approx(1.0 + 1.5 + 4.0)


def test_custom_points_seconds_and_depth_bonus() -> None:
    scoring = dataclasses.replace(
        SCORING,
        event_points={"asset_view": 3.0},
        seconds_points=0.1,
        depth_bonus=((0.25, 1.0), (0.75, 5.0)),
    )
    assert touch_points(touch("download", 1), scoring) == 0.0
    t = touch("asset_view", 1, seconds=20, depth_before=0.2, depth_after=0.5)
    assert touch_points(t, scoring) == pytest.approx(3.0 + 2.0 + 1.0)
    t = touch("read_progress", 1, depth_before=0.25, depth_after=0.75)
    assert touch_points(t, scoring) == 5.0


# --- apply ---------------------------------------------------------------------------------------


def test_apply_counts_events_per_type() -> None:
    state = state_of(
        [
            *(touch("page_view"), touch("page_view"), touch("search"), touch("asset_view", 1)),
            *(touch("download", 1), touch("download", 21)),
        ]
    )
    assert state.counts == {"page_view": 2, "search": 1, "asset_view": 1, "download": 2}


def test_apply_keeps_decayed_evidence_per_asset() -> None:
    state = state_of(
        [
            touch("asset_view", 21, T0),
            touch("download", 21, T0),
            read(21, 20, 0.6, T0 + days(30)),
            touch("asset_view", 1, T0 + days(30)),
        ]
    )
    assert set(state.assets) == {1, 21}
    decision = state.assets[21]
    assert decision.stage == "decision"
    # (1 + 4) halved, plus 1 for 20 seconds and 2 for reading half
    assert decision.evidence == Accumulator(5.5, T0 + days(30))
    assert decision.evidence.at(T0 + days(60), HALF_LIFE) == pytest.approx(2.75)
    assert decision.acts == {"download"}
    assert state.assets[1] == AssetTouch("awareness", Accumulator(1.0, T0 + days(30)))
    assert state.engagement == Accumulator(6.5, T0 + days(30))


def test_acts_are_recorded_per_asset() -> None:
    kinds = ["asset_view", "gate_view", "read_progress", "form_submit", "email_click"]
    acts = ["download", "unlock", "webinar_register", "webinar_attend", "cta_click", "demo_request"]
    assert frozenset(acts) == ACTS
    state = state_of([touch(kind, 22) for kind in kinds + acts] + [touch("cta_click", 22)])
    assert state.assets[22].acts == frozenset(acts)
    assert state_of([touch(kind, 22) for kind in kinds]).assets[22].acts == frozenset()


def test_events_without_an_asset_only_earn_engagement() -> None:
    state = state_of(
        [
            touch("page_view"),
            touch("search"),
            touch("email_click"),
            Touch("download", NOW, asset_id=21, asset_stage=None),  # stage unknown
        ]
    )
    assert state.assets == {}
    assert state.engagement.value == pytest.approx(6.7)
    assert state.engagement.as_of == NOW
    assert state.counts == {"page_view": 1, "search": 1, "email_click": 1, "download": 1}


def test_apply_leaves_the_given_state_alone() -> None:
    before = state_of(full_read(1, T0))
    snapshot = before.to_json()
    after = apply(before, [touch("download", 1)], SCORING)
    assert before.to_json() == snapshot
    assert after.counts["download"] == 1
    assert "download" not in before.counts


def test_to_json_and_back_is_the_same_state() -> None:
    state = state_of(
        [
            *full_read(1, T0),
            touch("download", 21, T0 + days(3)),
            touch("page_view", None, NOW),
            touch("webinar_attend", 31, T0 - days(10)),
            touch("cta_click", 21, NOW),
        ]
    )
    data = state.to_json()
    assert JourneyState.from_json(data) == state
    assert JourneyState.from_json(json.loads(json.dumps(data))) == state
    assert data["assets"]["21"] == [
        "decision",
        state.assets[21].evidence.value,
        NOW.isoformat(),
        ["cta_click", "download"],
    ]


def test_an_empty_state_round_trips() -> None:
    assert JourneyState.from_json(JourneyState().to_json()) == JourneyState()
    assert JourneyState.from_json(None) == JourneyState()
    assert JourneyState.from_json({}) == JourneyState()


# --- properties: incremental state equals recomputation -----------------------------------------

PROPERTY_ASSETS = (None, 1, 2, 11, 12, 21, 31)
MIDDLE = datetime(2027, 6, 1, tzinfo=UTC)
AFTER_ALL = MIDDLE + days(201)
SPAN_SECONDS = 200 * 86_400

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def touches(draw: st.DrawFn) -> Touch:
    asset = draw(st.sampled_from(PROPERTY_ASSETS))
    low, high = sorted((draw(unit), draw(unit)))
    return Touch(
        type=draw(st.sampled_from(sorted(DEFAULT_EVENT_POINTS))),
        at=MIDDLE + timedelta(seconds=draw(st.integers(-SPAN_SECONDS, SPAN_SECONDS))),
        asset_id=asset,
        asset_stage=STAGE_OF.get(asset) if asset is not None else None,
        seconds=draw(st.floats(min_value=0.0, max_value=60.0, allow_nan=False)),
        depth_before=low,
        depth_after=high,
    )


trails = st.lists(touches(), max_size=40)
cuts = st.lists(st.integers(min_value=0, max_value=40), max_size=6)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


def batches(trail: list[Touch], at: list[int]) -> list[list[Touch]]:
    bounds = [0, *sorted(i for i in set(at) if i <= len(trail)), len(trail)]
    return [trail[start:end] for start, end in itertools.pairwise(bounds)]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def assert_same_state(got: JourneyState, want: JourneyState, now: datetime) -> None:
    assert close(got.engagement.at(now, HALF_LIFE), want.engagement.at(now, HALF_LIFE))
    assert got.engagement.as_of == want.engagement.as_of
    assert dict(got.counts) == dict(want.counts)
    assert set(got.assets) == set(want.assets)
    for asset_id, mine in got.assets.items():
        theirs = want.assets[asset_id]
        assert (mine.stage, mine.acts) == (theirs.stage, theirs.acts)
        assert close(mine.evidence.at(now, HALF_LIFE), theirs.evidence.at(now, HALF_LIFE))


@PROPERTY_SETTINGS
@given(trail=trails, at=cuts)
def test_incremental_state_equals_recomputation(trail: list[Touch], at: list[int]) -> None:
    full = state_of(trail)
    running = JourneyState()
    stored = JourneyState()
    for batch in batches(trail, at):
        running = apply(running, batch, SCORING)
        stored = JourneyState.from_json(json.loads(json.dumps(stored.to_json())))
        stored = apply(stored, batch, SCORING)
    for now in (AFTER_ALL, MIDDLE):
        assert_same_state(running, full, now)
        assert_same_state(stored, full, now)


@PROPERTY_SETTINGS
@given(trail=trails)
def test_event_order_does_not_matter(trail: list[Touch]) -> None:
    in_time_order = state_of(sorted(trail, key=lambda t: t.at))
    assert_same_state(state_of(trail), in_time_order, AFTER_ALL)
    # and both are the closed form: every event's points decayed from its own time
    expected = sum(touch_points(t, SCORING) * decay(AFTER_ALL - t.at, HALF_LIFE) for t in trail)
    assert close(state_of(trail).engagement.at(AFTER_ALL, HALF_LIFE), expected)
    for asset_id, kept in state_of(trail).assets.items():
        own = [t for t in trail if t.asset_id == asset_id]
        expected = sum(touch_points(t, SCORING) * decay(AFTER_ALL - t.at, HALF_LIFE) for t in own)
        assert close(kept.evidence.at(AFTER_ALL, HALF_LIFE), expected)


@PROPERTY_SETTINGS
@given(start=trails, lead=trails, visitor=trails)
def test_a_visitor_merged_into_its_lead_equals_one_trail(
    start: list[Touch], lead: list[Touch], visitor: list[Touch]
) -> None:
    known = state_of(start)
    merged = merge(state_of(lead, known), state_of(visitor), SCORING)
    whole = state_of(start + lead + visitor)
    for now in (AFTER_ALL, MIDDLE):
        assert_same_state(merged, whole, now)


# --- stage_evidence and infer_stage --------------------------------------------------------------


def moved(trail: Sequence[Touch], ago: float) -> list[Touch]:
    """The same touches ``ago`` days before NOW."""
    return [dataclasses.replace(t, at=NOW - days(ago)) for t in trail]


# fmt: off
STAGE_TABLE = [
    pytest.param([], {}, "awareness", 0.0, id="no-events"),
    pytest.param(full_read(1), {}, "awareness", 1.0, id="awareness-read-to-the-end"),
    pytest.param(full_read(1) + full_read(2) + full_read(3), {}, "awareness", 1.0,
                 id="much-awareness-reading-stays-awareness"),
    pytest.param([touch("asset_view", 21)], {}, "awareness", 0.0,
                 id="decision-view-below-threshold"),
    pytest.param([touch("download", 21), touch("webinar_register", 22)], {}, "awareness", 0.0,
                 id="decision-10-below-12"),
    pytest.param([touch("webinar_attend", 21), touch("unlock", 22)], {}, "decision", 1.0,
                 id="decision-exactly-12"),
    pytest.param(full_read(21), {}, "decision", 1.0, id="decision-read-to-the-end"),
    pytest.param([touch("asset_view", 11), read(11, 60, 0.6)], {}, "consideration", 1.0,
                 id="consideration-exactly-6"),
    pytest.param([touch("download", 11), touch("asset_view", 11)], {}, "awareness", 0.0,
                 id="consideration-5-below-6"),
    pytest.param([touch("asset_view", 11), read(11, 60, 0.6), touch("webinar_attend", 21),
                  touch("asset_view", 21)], {}, "consideration", 0.35,
                 id="consideration-6-decision-11"),
    pytest.param([touch("download", 21), touch("webinar_attend", 22), touch("download", 11),
                  touch("form_submit", 11)], {}, "decision", 0.67,
                 id="decision-14-consideration-7"),
    pytest.param([*full_read(1), touch("webinar_attend", 21), touch("download", 21)], {},
                 "decision", 0.41, id="decision-14-awareness-20"),
    pytest.param([touch("asset_view", 21)], {"timeframe": "0-3m"}, "awareness", 0.0,
                 id="hint-10-plus-view-11"),
    pytest.param([touch("unlock", 21)], {"timeframe": "0-3m"}, "decision", 1.0,
                 id="hint-10-plus-unlock-12"),
    pytest.param([], {"timeframe": "3-6m"}, "consideration", 1.0, id="hint-alone-consideration"),
    pytest.param([], {"budget": "approved", "project": "yes"}, "awareness", 0.0,
                 id="decision-hints-10-below-12"),
    pytest.param(moved(full_read(21), 90), {}, "awareness", 0.0,
                 id="decision-decayed-3-half-lives"),
    pytest.param(moved([*full_read(21), touch("download", 21), touch("webinar_attend", 22)], 30),
                 {}, "decision", 1.0, id="decision-34-halved-is-17"),
    pytest.param(full_read(31) + full_read(21), {}, "customer", 0.5, id="most-advanced-stage-wins"),
    pytest.param([touch("webinar_attend", 31), touch("unlock", 31)], {}, "awareness", 0.0,
                 id="customer-12-below-15"),
]
# fmt: on


@pytest.mark.parametrize(("trail", "profile", "stage", "confidence"), STAGE_TABLE)
def test_infer_stage(
    trail: list[Touch], profile: dict[str, str], stage: str, confidence: float
) -> None:
    verdict = infer_stage(state_of(trail), profile, NOW, MODEL)
    assert (verdict.stage, verdict.confidence) == (stage, confidence)
    assert [e.stage for e in verdict.evidence] == list(MODEL.stages)


def scores(trail: list[Touch], profile: dict[str, str], now: datetime = NOW) -> dict[str, float]:
    return {e.stage: e.score for e in stage_evidence(state_of(trail), profile, now, MODEL)}


def test_no_events_no_evidence() -> None:
    assert scores([], {}) == dict.fromkeys(MODEL.stages, 0.0)


def test_evidence_is_the_decayed_sum_per_stage_plus_hints() -> None:
    trail = [
        *moved(full_read(21), 90),  # 20 → 2.5
        *moved([touch("download", 22)], 30),  # 4 → 2
        touch("download", 11),
        *full_read(2),
        touch("page_view"),
    ]
    profile = {"timeframe": "0-3m", "budget": "planned", "company": "Acme"}
    assert scores(trail, profile) == {
        "awareness": 20.0,
        "consideration": 8.0,
        "decision": 14.5,
        "customer": 0.0,
    }


def test_hints_are_listed_in_the_evidence() -> None:
    profile = {"timeframe": "0-3m", "budget": "approved", "project": "yes", "need": "x"}
    evidence = {e.stage: e for e in stage_evidence(JourneyState(), profile, NOW, MODEL)}
    assert evidence["decision"].hints == ("timeframe 0-3m", "budget approved", "project yes")
    assert evidence["decision"].score == 20.0
    assert evidence["decision"].top == ()
    assert evidence["consideration"].hints == ()
    profile = {"timeframe": "3-6m", "budget": "planned"}
    evidence = {e.stage: e for e in stage_evidence(JourneyState(), profile, NOW, MODEL)}
    assert evidence["consideration"].hints == ("timeframe 3-6m", "budget planned")
    assert evidence["consideration"].score == 10.0


def test_hints_do_not_decay_but_touches_do() -> None:
    trail = [touch("webinar_attend", 21, T0), touch("download", 21, T0)]
    profile = {"timeframe": "0-3m"}
    assert scores(trail, profile, T0)["decision"] == 24.0
    assert scores(trail, profile, T0 + days(30))["decision"] == 17.0
    assert scores(trail, profile, T0 + days(60))["decision"] == 13.5
    verdict = infer_stage(state_of(trail), profile, T0 + days(90), MODEL)
    assert (verdict.stage, verdict.evidence[2].score) == ("awareness", 11.75)


def test_top_assets_heaviest_first_at_most_three() -> None:
    trail = [
        touch("webinar_attend", 23),  # 10
        touch("download", 21),  # 4
        touch("webinar_register", 24),  # 6
        touch("unlock", 22),
        touch("unlock", 22),  # 4, ties with 21: lower id first
        *full_read(1),
    ]
    evidence = {e.stage: e for e in stage_evidence(state_of(trail), {}, NOW, MODEL)}
    assert evidence["decision"].top == (
        (23, 10.0, frozenset({"webinar_attend"})),
        (24, 6.0, frozenset({"webinar_register"})),
        (21, 4.0, frozenset({"download"})),
    )
    assert evidence["decision"].score == 24.0
    assert evidence["awareness"].top == ((1, 20.0, frozenset()),)
    assert evidence["customer"].top == ()


def test_top_assets_weigh_decayed_evidence() -> None:
    trail = [touch("webinar_attend", 21, NOW - days(60)), touch("download", 22)]
    evidence = stage_evidence(state_of(trail), {}, NOW, MODEL)[2]
    assert evidence.top == (
        (22, 4.0, frozenset({"download"})),
        (21, 2.5, frozenset({"webinar_attend"})),
    )


def test_assets_of_stages_outside_the_model_are_ignored() -> None:
    state = apply(
        JourneyState(),
        [Touch("webinar_attend", NOW, asset_id=99, asset_stage="retired")],
        SCORING,
    )
    assert scores([], {}) == {e.stage: e.score for e in stage_evidence(state, {}, NOW, MODEL)}


AIDA = dataclasses.replace(
    Model(),
    stages=("attention", "interest", "desire", "action"),
    scoring=dataclasses.replace(
        ScoringModel(),
        half_life_days=10.0,
        stage_thresholds={"attention": 0.0, "interest": 3.0, "desire": 8.0},
        profile_hints=(ProfileHint("timeframe", "0-3m", "action", 5.0),),
    ),
)
AIDA_STAGE_OF = {1: "attention", 2: "interest", 3: "desire", 4: "action"}


def aida(kind: str, asset: int, ago: float = 0) -> Touch:
    return Touch(kind, NOW - days(ago), asset_id=asset, asset_stage=AIDA_STAGE_OF[asset])


# fmt: off
AIDA_TABLE = [
    pytest.param([], {}, "attention", 0.0, id="nothing"),
    pytest.param([aida("asset_view", 2)], {}, "attention", 0.0, id="interest-1-below-3"),
    pytest.param([aida("form_submit", 2)], {}, "interest", 1.0, id="interest-exactly-3"),
    pytest.param([aida("download", 2), aida("download", 3)], {}, "interest", 0.5,
                 id="desire-4-below-8"),
    pytest.param([aida("download", 3), aida("download", 3)], {}, "desire", 1.0,
                 id="desire-exactly-8"),
    pytest.param([aida("download", 3, ago=10), aida("download", 3, ago=10),
                  aida("form_submit", 2)], {}, "interest", 0.43, id="desire-halved-after-10-days"),
    pytest.param([aida("asset_view", 4)], {}, "action", 1.0, id="no-threshold-any-evidence"),
    pytest.param([], {"timeframe": "0-3m"}, "action", 1.0, id="custom-hint"),
    pytest.param([], {"budget": "approved"}, "attention", 0.0, id="default-hints-replaced"),
]
# fmt: on


@pytest.mark.parametrize(("trail", "profile", "stage", "confidence"), AIDA_TABLE)
def test_infer_stage_with_a_custom_model(
    trail: list[Touch], profile: dict[str, str], stage: str, confidence: float
) -> None:
    state = apply(JourneyState(), trail, AIDA.scoring)
    verdict = infer_stage(state, profile, NOW, AIDA)
    assert (verdict.stage, verdict.confidence) == (stage, confidence)
    assert [e.stage for e in verdict.evidence] == list(AIDA.stages)


def test_default_hints_for_stages_the_model_lacks_are_ignored() -> None:
    three = dataclasses.replace(Model(), stages=("awareness", "consideration", "customer"))
    verdict = infer_stage(JourneyState(), {"timeframe": "0-3m"}, NOW, three)
    assert (verdict.stage, verdict.confidence) == ("awareness", 0.0)
    assert [e.score for e in verdict.evidence] == [0.0, 0.0, 0.0]


def test_scoring_defaults_are_the_documented_ones() -> None:
    defaults = ScoringModel()
    assert defaults.half_life_days == 21.0
    assert dict(defaults.stage_thresholds) == {
        "awareness": 0.0, "consideration": 8.0, "decision": 12.0, "customer": 15.0,
    }  # fmt: skip
    assert defaults.customer_stage == "customer"


def test_customer_is_a_lifecycle_not_something_read() -> None:
    model = Model()
    reader = apply(
        JourneyState(),
        [Touch("webinar_attend", NOW, asset_id=9, asset_stage="customer", seconds=2400)],
        model.scoring,
    )
    assert infer_stage(reader, {}, NOW, model).stage == "awareness"
    verdict = infer_stage(JourneyState(), {}, NOW, model, lifecycle="customer")
    assert (verdict.stage, verdict.confidence) == ("customer", 1.0)


@PROPERTY_SETTINGS
@given(trail=trails, when=st.sampled_from([MIDDLE, AFTER_ALL, T0]))
def test_the_stage_alone_is_the_verdicts_stage(trail: list[Touch], when: datetime) -> None:
    """Ingestion keeps an anonymous browser's stage with ``stage_of``: always the stage its
    full verdict (no profile, no lifecycle) names, in the reference, the shipped and a
    custom model (a customer stage never read into)."""
    for model in (MODEL, Model(), AIDA):
        state = apply(JourneyState(), trail, model.scoring)
        assert stage_of(state, when, model) == infer_stage(state, {}, when, model).stage
