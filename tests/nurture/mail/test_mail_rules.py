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
    assert rules.refusal(category, Recipient(suppressed, consent), postal, NOW) == expected


def test_every_refusal_fits_the_skip_reason_column() -> None:
    reasons = [
        rules.refusal(MailCategory.MARKETING, Recipient(reason, "withdrawn"), "", NOW)
        for reason in SuppressionReason
    ] + [
        rules.refusal(MailCategory.MARKETING, Recipient(None, "withdrawn"), "", NOW),
        rules.refusal(
            MailCategory.MARKETING,
            Recipient(None, "confirmed", frequency="monthly", last_marketing_at=NOW),
            ADDRESS,
            NOW,
        ),
    ]
    assert all(reason is not None and len(reason) <= 40 for reason in reasons)


def test_every_refusal_has_a_text_for_the_marketer() -> None:
    """Whatever stops a mail, the console can say it in the reader's words (the stored reason
    stays the same in every language)."""
    found = {
        rules.refusal(category, Recipient(suppressed, consent, frequency, NOW), postal, NOW)
        for category in MailCategory
        for suppressed in (None, *SuppressionReason)
        for consent in ("none", "pending", "confirmed", "withdrawn")
        for frequency in ("all", "weekly", "monthly")
        for postal in ("", ADDRESS)
    } - {None}
    assert found == set(rules.SKIP_REASON_TEXTS)
    assert rules.skip_reason_text("frequency: weekly") == "Held back: at most one email a week"
    assert rules.skip_reason_text("quiet hours held too long") == "quiet hours held too long"


@pytest.mark.parametrize(
    ("frequency", "since_last", "expected"),
    [
        ("all", timedelta(minutes=1), None),
        ("weekly", None, None),  # never sent before
        ("weekly", timedelta(days=1), "frequency: weekly"),
        ("weekly", timedelta(days=5, hours=23), "frequency: weekly"),
        # The same time next week, a few hours late or early, still goes.
        ("weekly", timedelta(days=6, hours=21), None),
        ("weekly", timedelta(days=7), None),
        ("monthly", timedelta(days=14), "frequency: monthly"),
        ("monthly", timedelta(days=26, hours=23), "frequency: monthly"),
        # The 1st of March after the 1st of February: 28 days.
        ("monthly", timedelta(days=28), None),
        ("monthly", timedelta(days=31), None),
    ],
)
def test_marketing_mail_keeps_to_the_frequency_the_reader_chose(
    frequency: str, since_last: timedelta | None, expected: str | None
) -> None:
    last = NOW - since_last if since_last is not None else None
    recipient = Recipient(None, "confirmed", frequency=frequency, last_marketing_at=last)
    assert rules.refusal(MARKETING, recipient, ADDRESS, NOW) == expected


def test_the_frequency_never_holds_back_transactional_mail() -> None:
    recipient = Recipient(None, "confirmed", frequency="monthly", last_marketing_at=NOW)
    assert rules.refusal(TRANSACTIONAL, recipient, ADDRESS, NOW) is None


@pytest.mark.parametrize(
    ("in_a_row", "suppresses"), [(0, False), (1, False), (2, False), (3, True), (4, True)]
)
def test_soft_bounces_suppress_after_three_in_a_row(in_a_row: int, suppresses: bool) -> None:
    assert rules.soft_bounce_suppresses(in_a_row) is suppresses
