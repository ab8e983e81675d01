"""The account engagement score and stages: pure rules over plain data."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tracking.accounts.account_score import (
    AccountRules,
    Person,
    account_engagement,
    common_company,
    common_stage,
    decayed,
    figures,
    furthest_stage,
)

STAGES = ("awareness", "consideration", "decision", "customer")
RULES = AccountRules(half_life_days=21.0, stages=STAGES, person_cap=25.0)
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_one_busy_reader_counts_as_one_engaged_person() -> None:
    assert account_engagement([300.0], 25.0) == 25.0
    assert account_engagement([300.0], 25.0) == account_engagement([25.0], 25.0)


def test_each_extra_person_adds_less_than_the_one_before() -> None:
    # 25 · (1 + 1/2 + 1/3 + 1/4), worked out by hand: 52.083…
    assert account_engagement([25.0, 25.0, 25.0, 25.0], 25.0) == 52.08
    scores = [account_engagement([20.0] * n, 25.0) for n in range(1, 6)]
    gains = [later - earlier for earlier, later in itertools.pairwise(scores)]
    assert all(gain > 0 for gain in gains)
    assert gains == sorted(gains, reverse=True)


def test_a_committee_is_hotter_than_one_busy_reader_and_a_crowd_of_glancers_is_not() -> None:
    committee = account_engagement([20.0, 18.0, 15.0], 25.0)
    busy_reader = account_engagement([500.0], 25.0)
    glancers = account_engagement([1.0] * 30, 25.0)
    assert committee > busy_reader > glancers
    # the thirty glancers: the harmonic number H(30) ≈ 3.995
    assert glancers == pytest.approx(3.99, abs=0.01)


def test_the_order_people_come_in_does_not_matter() -> None:
    assert account_engagement([5.0, 25.0, 10.0], 25.0) == account_engagement(
        [25.0, 10.0, 5.0], 25.0
    )
    # sorted high to low: 25 + 10/2 + 5/3
    assert account_engagement([5.0, 25.0, 10.0], 25.0) == round(25 + 5 + 5 / 3, 2)


def test_nobody_and_negative_scores_give_nothing() -> None:
    assert account_engagement([], 25.0) == 0.0
    assert account_engagement([-3.0], 25.0) == 0.0


def test_engagement_halves_every_half_life() -> None:
    assert decayed(20.0, NOW - timedelta(days=21), NOW, 21.0) == pytest.approx(10.0)
    assert decayed(20.0, NOW - timedelta(days=42), NOW, 21.0) == pytest.approx(5.0)
    assert decayed(20.0, None, NOW, 21.0) == 20.0


@pytest.mark.parametrize(
    ("stages", "furthest", "common"),
    [
        (["awareness", "decision", "awareness"], "decision", "awareness"),
        (["consideration", "decision"], "decision", "decision"),  # a tie: the further
        (["awareness"], "awareness", "awareness"),
        ([], "", ""),
    ],
)
def test_the_furthest_and_the_most_common_stage(
    stages: list[str], furthest: str, common: str
) -> None:
    assert furthest_stage(stages, STAGES) == furthest
    assert common_stage(stages, STAGES) == common


def test_the_company_most_people_give_names_the_account() -> None:
    assert common_company(["Acme GmbH", "ACME gmbh", "Acme  GmbH", "Acme Robotics", ""]) == (
        "Acme GmbH"
    )
    assert common_company(["", "  "]) == ""


def test_figures_decay_each_person_before_weighting() -> None:
    people = [
        Person(40.0, NOW - timedelta(days=21), "decision", NOW - timedelta(days=21), "Acme"),
        Person(10.0, NOW, "awareness", NOW - timedelta(hours=1), "Acme"),
        Person(6.0, NOW, "awareness", None, ""),
    ]
    found = figures(people, NOW, RULES)
    # 40 halves to 20 (under the cap), then 20 + 10/2 + 6/3
    assert found.engagement == 27.0
    assert found.people == 3
    assert (found.furthest_stage, found.common_stage) == ("decision", "awareness")
    assert found.last_activity_at == NOW - timedelta(hours=1)
    assert found.company == "Acme"
