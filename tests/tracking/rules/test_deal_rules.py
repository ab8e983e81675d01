"""What a posted deal must be, and the lifecycle moves deals make, with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tracking.rules import deals
from tracking.rules.deals import DealRefused
from tracking.rules.scoring import Lifecycle, deal_lifecycle, recycled_after_lost

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount", "minor"),
    [
        ("12000.50", 1_200_050),
        ("12000.5", 1_200_050),
        ("19.99", 1999),
        ("0.1", 10),
        ("0", 0),
        ("-0.00", 0),
        ("1.230", 123),  # a zero third decimal is still two decimals
        ("1E+3", 100_000),
        ("999999999999.99", 99_999_999_999_999),
    ],
)
def test_amounts_are_kept_exactly_in_hundredths(amount: str, minor: int) -> None:
    assert deals.amount_minor(Decimal(amount)) == minor


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("1.234", "has more than two decimals"),
        ("0.001", "has more than two decimals"),
        ("0.1000000000000000055511151231257827", "has more than two decimals"),
        ("-5", "must not be negative"),
        ("NaN", "must be a number"),
        ("Infinity", "must be a number"),
        ("1000000000000", "is a trillion or more"),
        ("1E+400", "is a trillion or more"),
    ],
)
def test_amounts_that_cannot_be_kept_exactly_are_refused(amount: str, why: str) -> None:
    with pytest.raises(DealRefused) as refused:
        deals.amount_minor(Decimal(amount))
    assert (refused.value.field, refused.value.why) == ("amount", why)


def test_amounts_are_written_with_two_decimals_for_the_api_and_grouped_for_people() -> None:
    assert deals.amount_text(1_200_050) == "12000.50"
    assert deals.amount_text(7) == "0.07"
    assert deals.amount_label(1_200_050, "EUR") == "EUR 12,000.50"


def test_currencies_are_three_letters_upper_cased() -> None:
    assert deals.currency("eur") == "EUR"
    for wrong in ("EURO", "€", "E1R", "ÄUR", ""):
        with pytest.raises(DealRefused, match="ISO 4217"):
            deals.currency(wrong)


def test_external_ids_are_kept_exactly_and_must_be_printable() -> None:
    assert deals.external_id(" D-123 ") == " D-123 "
    assert deals.external_id("x" * 200) == "x" * 200
    for wrong, why in [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("x" * 201, "is longer than 200 characters"),
        ("D\x00", "contains the control character U+0000 at position 2"),
        ("D\n1", "contains the line break U+000A at position 2"),
    ]:
        with pytest.raises(DealRefused) as refused:
            deals.external_id(wrong)
        assert refused.value.why == why


def test_names_are_trimmed_single_lines() -> None:
    assert deals.name("  Acme renewal ") == "Acme renewal"
    for wrong in ("", " ", "a\tb", "x" * 301):
        with pytest.raises(DealRefused):
            deals.name(wrong)


def test_times_need_a_zone_and_come_back_in_utc() -> None:
    assert deals.moment("closed_at", "2026-11-24T11:00:00+01:00", NOW) == NOW
    assert deals.moment("closed_at", "2026-11-24T10:00:00Z", NOW) == NOW
    for wrong, why in [
        ("2026-11-24T10:00:00", "needs a time zone (Z or an offset such as +01:00)"),
        ("yesterday", "must be an ISO 8601 time, like 2026-11-24T10:00:00Z"),
        ("0001-01-01T00:00:00+01:00", "is out of range"),
        ((NOW + timedelta(hours=1)).isoformat(), "is in the future"),
    ]:
        with pytest.raises(DealRefused) as refused:
            deals.moment("closed_at", wrong, NOW)
        assert (refused.value.field, refused.value.why) == ("closed_at", why)
    assert deals.moment("created_at", (NOW + timedelta(minutes=4)).isoformat(), NOW)


@pytest.mark.parametrize(
    ("current", "stage", "moves"),
    [
        (Lifecycle.LEAD, "open", [Lifecycle.OPPORTUNITY]),
        (Lifecycle.SUBSCRIBER, "open", [Lifecycle.OPPORTUNITY]),
        (Lifecycle.SQL, "open", [Lifecycle.OPPORTUNITY]),
        (Lifecycle.RECYCLED, "open", [Lifecycle.OPPORTUNITY]),
        (Lifecycle.OPPORTUNITY, "open", []),
        (Lifecycle.CUSTOMER, "open", []),  # an upsell: a customer stays a customer
        (Lifecycle.SQL, "won", [Lifecycle.OPPORTUNITY, Lifecycle.CUSTOMER]),
        (Lifecycle.OPPORTUNITY, "won", [Lifecycle.CUSTOMER]),
        (Lifecycle.CUSTOMER, "won", []),
        (Lifecycle.MQL, "lost", [Lifecycle.OPPORTUNITY]),  # it was one; recycled later
        (Lifecycle.OPPORTUNITY, "lost", []),
        (Lifecycle.CUSTOMER, "lost", []),
    ],
)
def test_every_deal_means_an_opportunity_and_a_won_one_a_customer(
    current: Lifecycle, stage: str, moves: list[Lifecycle]
) -> None:
    assert deal_lifecycle(current, stage) == moves


@pytest.mark.parametrize(
    ("current", "other_deal", "recycled"),
    [
        (Lifecycle.OPPORTUNITY, False, True),
        (Lifecycle.SQL, False, True),
        (Lifecycle.MQL, False, True),
        (Lifecycle.OPPORTUNITY, True, False),  # another deal is open or won
        (Lifecycle.CUSTOMER, False, False),
        (Lifecycle.RECYCLED, False, False),  # nurtured already
        (Lifecycle.LEAD, False, False),
    ],
)
def test_a_lost_deal_recycles_its_lead_unless_another_deal_holds_it(
    current: Lifecycle, other_deal: bool, recycled: bool
) -> None:
    assert recycled_after_lost(current, other_deal) is recycled
