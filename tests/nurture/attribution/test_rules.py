"""The attribution models on hand-built touches, each figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nurture.attribution.rules import AttributionModel, Touch, credits, in_window, month_of

M = datetime(2026, 6, 30, 12, tzinfo=UTC)
"""The credited milestone."""


def day(n: int) -> datetime:
    """``n`` days before the milestone."""
    return M - timedelta(days=n)


FIVE = [
    Touch(day(80), "guide"),  # first touch
    Touch(day(60), "checklist"),  # the lead was created just after it
    Touch(day(40), "webinar"),
    Touch(day(20), "case-study"),  # MQL just after it
    Touch(day(5), "pricing"),  # last touch
]
REACHED = {"created": day(59), "mql": day(19)}


def test_first_touch_gives_everything_to_the_earliest_touch_in_the_window() -> None:
    assert credits(AttributionModel.FIRST_TOUCH, FIVE, M, window=90) == {"guide": 1.0}
    # 30 days back the guide is out of the window: the case study came first
    assert credits(AttributionModel.FIRST_TOUCH, FIVE, M, window=30) == {"case-study": 1.0}


def test_last_touch_gives_everything_to_the_latest_touch() -> None:
    assert credits(AttributionModel.LAST_TOUCH, FIVE, M, window=90) == {"pricing": 1.0}


def test_linear_shares_equally_and_adds_up_a_key_touched_twice() -> None:
    touches = [*FIVE, Touch(day(2), "guide")]
    got = credits(AttributionModel.LINEAR, touches, M, window=90)
    assert got == pytest.approx(
        {"guide": 2 / 6, "checklist": 1 / 6, "webinar": 1 / 6, "case-study": 1 / 6,
         "pricing": 1 / 6}
    )  # fmt: skip


def test_w_shaped_gives_the_first_creation_and_mql_touches_thirty_percent_each() -> None:
    # Crediting the MQL (at M): anchors = first touch (guide), the creating touch (checklist,
    # the latest at or before creation), the MQL's own touch (pricing, the latest at or before
    # M) — 0.9 / 3 each; webinar and case study share the other 0.1.
    got = credits(AttributionModel.W_SHAPED, FIVE, M, {"created": day(59)}, window=90)
    assert got == pytest.approx(
        {"guide": 0.3, "checklist": 0.3, "pricing": 0.3, "webinar": 0.05, "case-study": 0.05}
    )


def test_w_shaped_for_an_opportunity_adds_the_mql_touch_as_a_fourth_anchor() -> None:
    # anchors: guide (first), checklist (creation), case study (MQL), pricing (this one):
    # 0.9 / 4 = 0.225 each; the webinar alone gets 0.1
    got = credits(AttributionModel.W_SHAPED, FIVE, M, REACHED, window=90)
    assert got == pytest.approx(
        {"guide": 0.225, "checklist": 0.225, "case-study": 0.225, "pricing": 0.225,
         "webinar": 0.1}
    )  # fmt: skip


def test_w_shaped_with_only_anchors_gives_them_everything() -> None:
    two = [Touch(day(10), "guide"), Touch(day(1), "pricing")]
    got = credits(AttributionModel.W_SHAPED, two, M, window=90)
    assert got == pytest.approx({"guide": 0.5, "pricing": 0.5})


def test_one_touch_that_is_every_anchor_gets_all_of_it() -> None:
    one = [Touch(day(3), "guide")]
    for model in AttributionModel:
        assert credits(model, one, M, REACHED, window=90) == pytest.approx({"guide": 1.0})


@pytest.mark.parametrize("model", list(AttributionModel))
@pytest.mark.parametrize("window", [30, 90, 180, 365])
def test_every_model_shares_exactly_the_amount(model: AttributionModel, window: int) -> None:
    got = credits(model, FIVE, M, REACHED, window=window, amount=12_500.0)
    assert sum(got.values()) == pytest.approx(12_500.0)


@pytest.mark.parametrize("model", list(AttributionModel))
def test_a_lead_without_touches_in_the_window_gets_no_credit(model: AttributionModel) -> None:
    assert credits(model, [], M, window=90) == {}
    assert credits(model, [Touch(day(200), "guide")], M, window=90) == {}
    # a touch after the milestone did not lead to it
    assert credits(model, [Touch(M + timedelta(hours=1), "guide")], M, window=90) == {}


def test_milestones_reached_after_the_credited_one_are_no_anchor() -> None:
    later = {"created": day(59), "mql": M + timedelta(days=3)}
    assert credits(AttributionModel.W_SHAPED, FIVE, M, later, window=90) == credits(
        AttributionModel.W_SHAPED, FIVE, M, {"created": day(59)}, window=90
    )


def test_the_window_is_the_days_before_the_milestone_and_includes_its_moment() -> None:
    touches = [Touch(day(90), "edge"), Touch(day(89), "inside"), Touch(M, "at")]
    assert [t.key for t in in_window(touches, M, 90)] == ["inside", "at"]


def test_a_month_starts_at_midnight_on_the_first() -> None:
    assert month_of(datetime(2026, 2, 17, 13, 5, tzinfo=UTC)) == datetime(2026, 2, 1, tzinfo=UTC)
