"""The content-intelligence rules on hand-built data: stalls, gaps, experiment arms and
verdicts, fading assets, the buying process."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from nurture.intelligence.rules import (
    MIN_TRIALS,
    Arm,
    Cell,
    Journey,
    Period,
    Reader,
    Share,
    arm_for,
    arm_shown,
    buying_process,
    dated,
    fading,
    gap_score,
    is_stalled,
    median_period,
    ranked_gaps,
    stalls_by_cell,
    two_proportion_p,
    verdict,
    wilson,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def reader(
    lead_id: int = 1,
    stage: str = "consideration",
    since: float = 40,
    last_read: float | None = 3,
    cells: tuple[tuple[str, str], ...] = (("consideration", "energy"),),
    read: frozenset[int] = frozenset(),
) -> Reader:
    return Reader(
        lead_id=lead_id,
        stage=stage,
        stage_since=days_ago(since),
        last_read_at=None if last_read is None else days_ago(last_read),
        last_cells=cells,
        read=read,
    )


@pytest.mark.parametrize(
    ("since", "last_read", "stalled"),
    [
        (30, 1, True),  # exactly thirty days at its stage, reading
        (29.9, 1, False),  # not long enough
        (200, 30, True),  # read exactly thirty days ago
        (200, 30.1, False),  # stopped reading: gone quiet, not stalled
        (200, None, False),  # never read anything
    ],
)
def test_a_lead_stalls_when_its_stage_does_not_move_while_it_keeps_reading(
    since: float, last_read: float | None, stalled: bool
) -> None:
    assert is_stalled(reader(since=since, last_read=last_read), NOW) is stalled


def test_stalled_leads_are_counted_by_the_cell_they_read_last() -> None:
    cell = ("consideration", "energy")
    assets = {cell: frozenset({10, 11})}
    readers = [
        reader(1, read=frozenset({10, 11})),  # read all of it: nothing left for them
        reader(2, read=frozenset({10})),
        reader(3, stage="awareness", read=frozenset({10, 11})),  # stalled at another stage
        reader(4, since=5),  # moving: not stalled
        reader(5, cells=()),  # last read had no topic
        reader(6, cells=(("decision", "energy"),), stage="decision"),  # empty cell
        # an asset on two topics: the lead counts in both cells
        reader(7, cells=(cell, ("consideration", "scoring")), read=frozenset({10})),
    ]
    assert stalls_by_cell(readers, assets, NOW) == {
        cell: (4, 3, 1),
        ("decision", "energy"): (1, 1, 1),
        ("consideration", "scoring"): (1, 1, 1),
    }


def test_empty_and_thin_cells_with_stalled_leads_rank_first() -> None:
    empty = Cell("decision", "energy", assets=0, stalled=4, stalled_here=4, exhausted=4)
    thin = Cell("consideration", "energy", assets=1, stalled=5, stalled_here=5, exhausted=5)
    full = Cell("consideration", "scoring", assets=9, stalled=7, stalled_here=7, exhausted=0)
    quiet = Cell("awareness", "scoring", assets=0)
    assert gap_score(quiet) == 0
    assert gap_score(empty) == 4 * 2.0 * 2.0
    assert gap_score(thin) == 5 * 1.5 * 2.0
    assert gap_score(full) == 7.0
    assert ranked_gaps([full, quiet, thin, empty]) == [empty, thin, full]


def test_a_browser_keeps_its_arm_and_the_arms_split_as_asked() -> None:
    browsers = [f"browser-{n:04d}" for n in range(1000)]
    first = [arm_for(7, b, 0.5) for b in browsers]
    assert first == [arm_for(7, b, 0.5) for b in browsers]  # sticky
    assert abs(first.count(Arm.OPEN) - 500) <= 50  # balanced within ±5 %
    fifth = [arm_for(7, b, 0.2) for b in browsers]
    assert abs(fifth.count(Arm.OPEN) - 200) <= 50
    other = [arm_for(8, b, 0.5) for b in browsers]
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 350  # experiments differ
    assert all(arm_for(7, b, 1.0) is Arm.OPEN for b in browsers[:50])
    assert all(arm_for(7, b, 0.0) is Arm.GATED for b in browsers[:50])


def test_a_lead_that_passed_the_gate_is_never_gated_again_and_not_counted() -> None:
    gated_browser = next(
        b for b in (f"b{n}" for n in range(100)) if arm_for(3, b, 0.5) is Arm.GATED
    )
    assert arm_shown(3, gated_browser, 0.5, passed_gate=False) == (Arm.GATED, True)
    assert arm_shown(3, gated_browser, 0.5, passed_gate=True) == (Arm.OPEN, False)


def test_wilson_interval_and_the_two_proportion_test_match_worked_values() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)
    # 50/100 against 30/100: pooled 0.4, z = 0.2 / sqrt(0.24 * 0.02) = 2.887
    assert two_proportion_p(Share(50, 100), Share(30, 100)) == pytest.approx(
        math.erfc(2.886751 / math.sqrt(2)), rel=1e-5
    )
    assert two_proportion_p(Share(0, 0), Share(3, 10)) == 1.0
    assert two_proportion_p(Share(0, 10), Share(0, 10)) == 1.0


def test_a_verdict_is_given_only_when_the_difference_is_significant() -> None:
    few = verdict("new leads", Share(10, MIN_TRIALS - 1), Share(1, 100))
    assert (few.winner, few.reason) == (None, "too few visitors yet")
    close = verdict("new leads", Share(31, 100), Share(30, 100))
    assert (close.winner, close.reason) == (None, "no clear difference")
    assert close.p_value > 0.05
    clear = verdict("new leads", Share(12, 200), Share(40, 200))
    assert (clear.winner, clear.reason) == (Arm.GATED, "significant")
    assert verdict("readers", Share(150, 200), Share(60, 200)).winner is Arm.OPEN


def test_an_asset_fades_against_its_own_start_else_the_library_median() -> None:
    start = Period(readers=100, engaged_minutes=500, completions=60, conversions=10)
    recent = Period(readers=40, engaged_minutes=80, completions=22, conversions=4)
    fades = {f.figure: f for f in fading(recent, start, None)}
    assert set(fades) == {"minutes_per_reader"}  # 2.0 against 5.0; completion 55 % vs 60 %
    assert fades["minutes_per_reader"].against == "own first weeks"
    assert (fades["minutes_per_reader"].recent, fades["minutes_per_reader"].baseline) == (2.0, 5.0)
    # too few readers at its start: the median of its kind and stage is the baseline
    median = Period(readers=50, engaged_minutes=200, completions=48, conversions=8)
    by_median = fading(recent, Period(5, 50, 5, 1), median)
    assert {f.figure for f in by_median} == {"minutes_per_reader", "completion"}
    assert {f.against for f in by_median} == {"library median"}
    # too few readers lately: nothing is said
    assert fading(Period(5, 1, 0, 0), start, median) == []
    assert fading(recent, None, None) == []


def test_the_median_asset_is_taken_figure_by_figure() -> None:
    periods = [Period(10, 10, 5, 1), Period(30, 120, 9, 3), Period(50, 100, 40, 0)]
    found = median_period(periods)
    assert found is not None
    assert found.readers == 30
    assert found.minutes_per_reader == pytest.approx(2.0)  # medians of 1.0, 4.0, 2.0
    assert found.completion == pytest.approx(0.5, abs=0.02)
    assert median_period([]) is None


@pytest.mark.parametrize(
    ("title", "webinar_end", "reason"),
    [
        ("The 2025 benchmark report", None, "2025 in the title"),
        ("State of B2B 2026", None, None),
        ("From 2019 to 2027: ten years of nurturing", None, None),
        ("Lead scoring live", days_ago(1), "webinar date passed"),
        ("Lead scoring live", NOW + timedelta(days=3), None),
        ("Call us on 020155512", None, None),
    ],
)
def test_an_asset_reads_out_of_date_when_its_year_or_webinar_date_has_passed(
    title: str, webinar_end: datetime | None, reason: str | None
) -> None:
    assert dated(title, webinar_end, NOW) == reason


def test_the_buying_process_counts_assets_paths_and_stage_times() -> None:
    stages = ["awareness", "consideration", "decision"]
    journeys = [
        Journey(
            (1, 2, 3, 4, 1, 2, 3),  # the path 1-2-3 twice: counted once for this lead
            {"awareness": days_ago(60), "consideration": days_ago(40), "decision": days_ago(10)},
        ),
        Journey((1, 2, 3), {"awareness": days_ago(20), "consideration": days_ago(10)}),
        Journey((5, 2, 3, 4), {"consideration": days_ago(9), "decision": days_ago(1)}),
    ]
    found = buying_process(journeys, stages)
    assert found.leads == 3
    assert found.median_assets == 4
    assert found.most_read[:3] == [(2, 3), (3, 3), (1, 2)]
    assert found.paths[:2] == [((1, 2, 3), 2), ((2, 3, 4), 2)]
    assert found.stage_days == {"awareness": 15.0, "consideration": 19.0}
    empty = buying_process([], stages)
    assert (empty.leads, empty.median_assets, empty.paths) == (0, 0.0, [])
