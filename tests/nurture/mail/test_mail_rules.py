"""The pure rules of sending: what an SMTP answer means, when a failure is tried again, who
may get which mail, and when soft bounces suppress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nurture.mail import rules
from nurture.mail.models import MailCategory, SuppressionReason
from nurture.mail.rules import Recipient, Verdict

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ADDRESS = "Pipewise GmbH, Hafenstraße 1, 20457 Hamburg"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (250, Verdict.ACCEPTED),
        (251, Verdict.ACCEPTED),
        (421, Verdict.TEMPORARY),
        (450, Verdict.TEMPORARY),
        (451, Verdict.TEMPORARY),
        (452, Verdict.TEMPORARY),
        (500, Verdict.PERMANENT),
        (550, Verdict.PERMANENT),
        (552, Verdict.PERMANENT),
        (553, Verdict.PERMANENT),
        (554, Verdict.PERMANENT),
        (None, Verdict.TEMPORARY),  # no answer: connection lost, server down
        (354, Verdict.TEMPORARY),  # no final answer
        (999, Verdict.TEMPORARY),
    ],
)
def test_verdict_of_an_answer(code: int | None, expected: Verdict) -> None:
    assert rules.verdict(code) is expected


def test_backoff_grows_then_repeats_its_last_step() -> None:
    until = NOW + rules.RETRY_FOR
    waits = [rules.next_attempt(n, NOW, until) for n in range(1, 10)]
    assert [w - NOW for w in waits if w is not None] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=6),
        timedelta(hours=6),
        timedelta(hours=6),
        timedelta(hours=6),
    ]


def test_a_count_of_zero_waits_like_the_first_failure() -> None:
    assert rules.next_attempt(0, NOW, NOW + rules.RETRY_FOR) == NOW + timedelta(minutes=1)


def test_backoff_never_passes_the_give_up_time() -> None:
    until = NOW + timedelta(minutes=3)
    assert rules.next_attempt(2, NOW, until) == until


def test_at_or_past_the_give_up_time_there_is_no_next_attempt() -> None:
    assert rules.next_attempt(1, NOW, NOW) is None
    assert rules.next_attempt(1, NOW, NOW - timedelta(seconds=1)) is None


TRANSACTIONAL, MARKETING = MailCategory.TRANSACTIONAL, MailCategory.MARKETING
HARD, COMPLAINT = SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT
UNSUBSCRIBED, ERASED = SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED


@pytest.mark.parametrize(
    ("category", "suppressed", "consent", "postal", "expected"),
    [
        # Transactional mail needs no consent and no postal address.
        (TRANSACTIONAL, None, "none", "", None),
        (TRANSACTIONAL, None, "withdrawn", "", None),
        # An unsubscribe stops marketing mail only: the reader asked for this mail.
        (TRANSACTIONAL, UNSUBSCRIBED, "withdrawn", ADDRESS, None),
        (TRANSACTIONAL, HARD, "confirmed", ADDRESS, "suppressed: hard_bounce"),
        (TRANSACTIONAL, COMPLAINT, "confirmed", ADDRESS, "suppressed: complaint"),
        (TRANSACTIONAL, ERASED, "none", ADDRESS, "suppressed: erased"),
        (MARKETING, None, "confirmed", ADDRESS, None),
        (MARKETING, None, "none", ADDRESS, "no consent: none"),
        (MARKETING, None, "pending", ADDRESS, "no consent: pending"),
        (MARKETING, None, "withdrawn", ADDRESS, "no consent: withdrawn"),
        (MARKETING, None, "confirmed", "", "no postal address"),
        (MARKETING, None, "confirmed", "   ", "no postal address"),
        (MARKETING, UNSUBSCRIBED, "confirmed", ADDRESS, "suppressed: unsubscribed"),
        (MARKETING, HARD, "confirmed", ADDRESS, "suppressed: hard_bounce"),
        (MARKETING, COMPLAINT, "confirmed", ADDRESS, "suppressed: complaint"),
        (MARKETING, ERASED, "confirmed", ADDRESS, "suppressed: erased"),
        # A suppression is the first reason given, before consent and address.
        (MARKETING, HARD, "none", "", "suppressed: hard_bounce"),
    ],
)  # fmt: skip
def test_refusal(
    category: MailCategory,
    suppressed: SuppressionReason | None,
    consent: str,
    postal: str,
    expected: str | None,
) -> None:
    assert rules.refusal(category, Recipient(suppressed, consent), postal) == expected


def test_every_refusal_fits_the_skip_reason_column() -> None:
    reasons = [
        rules.refusal(MailCategory.MARKETING, Recipient(reason, "withdrawn"), "")
        for reason in SuppressionReason
    ] + [rules.refusal(MailCategory.MARKETING, Recipient(None, "withdrawn"), "")]
    assert all(reason is not None and len(reason) <= 40 for reason in reasons)


@pytest.mark.parametrize(
    ("in_a_row", "suppresses"), [(0, False), (1, False), (2, False), (3, True), (4, True)]
)
def test_soft_bounces_suppress_after_three_in_a_row(in_a_row: int, suppresses: bool) -> None:
    assert rules.soft_bounce_suppresses(in_a_row) is suppresses
