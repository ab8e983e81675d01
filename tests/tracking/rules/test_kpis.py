"""KPIs, pure: the model file's [kpis], periods, and this period judged against its goal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracking.rules.config import ModelError
from tracking.rules.config_file import parse_model
from tracking.rules.kpis import DEFAULT_KPIS, KpiSpec, assess, period_start, shift


def test_the_model_file_sets_the_period_and_the_figures_with_goals() -> None:
    model = parse_model(
        {"kpis": {"period": "quarter", "figures": [
            {"figure": "mqls", "goal": 120},
            {"figure": "mql_to_sql", "goal": 0.25, "label": "MQL to SQL"},
        ]}}
    )  # fmt: skip
    assert model.kpis.period == "quarter"
    assert model.kpis.figures == (
        KpiSpec("mqls", 120.0),
        KpiSpec("mql_to_sql", 0.25, "MQL to SQL"),
    )
    assert parse_model({}).kpis.figures == DEFAULT_KPIS


@pytest.mark.parametrize(
    ("kpis", "message"),
    [
        ({"period": "week"}, "kpis.period: expected one of month, quarter, got 'week'"),
        ({"figures": [{"figure": "likes"}]}, "kpis.figures[0].figure: unknown figure 'likes'"),
        (
            {"figures": [{"figure": "mqls", "goal": -3}]},
            "kpis.figures[0].goal: must not be negative, got -3",
        ),
        ({"figures": [{"figure": "mql_to_sql", "goal": 25}]}, "a rate is a share from 0 to 1"),
        ({"figures": [{"figure": "mqls"}, {"figure": "mqls"}]}, "'mqls' is listed twice"),
        ({"figures": [{"figure": "mqls", "target": 3}]}, "kpis.figures[0].target: unknown key"),
        ({"figures": []}, "kpis.figures: expected a non-empty array"),
    ],
)
def test_a_wrong_kpi_entry_is_refused_by_its_key(kpis: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError) as refused:
        parse_model({"kpis": kpis})
    assert message in str(refused.value)


def test_periods_start_on_the_first_of_the_month_or_quarter() -> None:
    moment = datetime(2026, 11, 17, 9, tzinfo=UTC)
    assert period_start(moment, "month") == datetime(2026, 11, 1, tzinfo=UTC)
    assert period_start(moment, "quarter") == datetime(2026, 10, 1, tzinfo=UTC)
    assert shift(datetime(2026, 10, 1, tzinfo=UTC), "quarter", 1) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert shift(datetime(2026, 1, 1, tzinfo=UTC), "month", -1) == datetime(2025, 12, 1, tzinfo=UTC)


def test_counts_are_judged_on_their_pace_to_the_end_of_the_period() -> None:
    # 50 MQLs with 40 % of the month gone: 125 at this pace against a goal of 120
    ahead = assess(KpiSpec("mqls", 120), 50, 100, elapsed=0.4)
    assert ahead.projected == pytest.approx(125)
    assert ahead.change == -50
    assert ahead.progress == pytest.approx(50 / 120)
    assert ahead.verdict == "ahead"
    assert assess(KpiSpec("mqls", 120), 45, None, elapsed=0.4).verdict == "on track"  # 112.5
    assert assess(KpiSpec("mqls", 120), 30, None, elapsed=0.4).verdict == "behind"  # 75


def test_rates_and_days_are_judged_as_they_stand_and_fewer_days_are_better() -> None:
    assert assess(KpiSpec("mql_to_sql", 0.25), 0.30, 0.2, elapsed=0.1).verdict == "ahead"
    assert assess(KpiSpec("mql_to_sql", 0.25), 0.20, 0.2, elapsed=0.1).verdict == "behind"
    faster = assess(KpiSpec("days_to_sql", 30), 24.0, 35.0, elapsed=0.5)
    assert faster.verdict == "ahead"
    assert faster.projected is None
    assert assess(KpiSpec("days_to_sql", 30), 40.0, 35.0, elapsed=0.5).verdict == "behind"


def test_without_a_goal_or_data_the_verdict_says_so() -> None:
    assert assess(KpiSpec("mqls"), 10, 8, elapsed=0.5).verdict == "no goal"
    assert assess(KpiSpec("days_to_sql", 30), None, None, elapsed=0.5).verdict == "no data"
