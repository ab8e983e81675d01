"""The rules of sending, as pure functions: who may get which mail, what an SMTP answer means,
when a temporary failure is tried again, and when bounces suppress an address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from content.words import N_
from nurture.mail.models import MailCategory, SuppressionReason

RETRY_FOR = timedelta(days=3)
"""A temporary failure (4xx, server down) is retried this long, then the message is given up."""
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
"""Waits after the 1st, 2nd … failed attempt; the last one repeats."""
SOFT_BOUNCES_SUPPRESS = 3
"""Soft bounces in a row (with no click or human open between) that suppress an address."""
FREQUENCY_GAPS = {"weekly": timedelta(days=6), "monthly": timedelta(days=27)}
"""The least time between two marketing mails to a reader who chose "at most one email a week"
or "a month" in the preference center (``all``: no gap). A little under a week and under the
shortest month, so a mail sent at the same time every week or on the same day every month
(February too) is never held back by a few hours of delay, while a second one within the
week or month is."""


class Verdict(StrEnum):
    """What an attempt's answer means."""

    ACCEPTED = "accepted"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


def verdict(code: int | None) -> Verdict:
    """2xx accepted; 5xx refused for good; 4xx, no answer or anything else: try again."""
    if code is not None and 200 <= code < 300:
        return Verdict.ACCEPTED
    if code is not None and 500 <= code < 600:
        return Verdict.PERMANENT
    return Verdict.TEMPORARY


def next_attempt(attempts: int, now: datetime, retry_until: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None: give up."""
    wait = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    due = now + wait
    return None if now >= retry_until else min(due, retry_until)


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the sender knows of the recipient when it is about to send."""

    suppression: SuppressionReason | None
    consent_status: str
    """The lead's ``consent_status`` (``none`` when the mail goes to no lead)."""
    frequency: str = "all"
    """The lead's ``mail_frequency``: ``all``, ``weekly`` or ``monthly``."""
    last_marketing_at: datetime | None = None
    """When marketing mail last went to the address."""


def refusal(
    category: MailCategory, recipient: Recipient, postal_address: str, now: datetime
) -> str | None:
    """Why this mail must not go (a short reason kept on the message), or None: send it.

    Any suppression stops marketing mail; hard bounces, complaints and erasure stop
    transactional mail too (an unsubscribe does not: the reader asked for that mail).
    Marketing mail needs confirmed consent, a postal address for the footer, and keeps to the
    frequency the reader chose (the mail is skipped, not postponed: "at most one a week").
    """
    if recipient.suppression is not None and (
        category is MailCategory.MARKETING
        or recipient.suppression is not SuppressionReason.UNSUBSCRIBED
    ):
        return f"suppressed: {recipient.suppression.value}"
    if category is MailCategory.MARKETING:
        if recipient.consent_status != "confirmed":
            return f"no consent: {recipient.consent_status}"
        if not postal_address.strip():
            return "no postal address"
        if too_soon(recipient.frequency, recipient.last_marketing_at, now):
            return f"frequency: {recipient.frequency}"
    return None


SKIP_REASON_TEXTS = {
    "suppressed: hard_bounce": N_("Suppressed: hard bounce"),
    "suppressed: complaint": N_("Suppressed: complaint"),
    "suppressed: unsubscribed": N_("Suppressed: unsubscribed"),
    "suppressed: erased": N_("Suppressed: data erased"),
    "no consent: none": N_("No consent to marketing email"),
    "no consent: pending": N_("Consent not confirmed yet"),
    "no consent: withdrawn": N_("Consent withdrawn"),
    "no postal address": N_("No postal address for the footer"),
    "frequency: weekly": N_("Held back: at most one email a week"),
    "frequency: monthly": N_("Held back: at most one email a month"),
}
"""What each ``refusal`` (kept on the message as ``skip_reason``) says to a marketer, marked
for translation; the stored reason itself stays the same in every language."""


def skip_reason_text(reason: str) -> str:
    """The marked English text of a stored skip reason (translate it where shown); a reason
    this list does not know is said as stored."""
    return SKIP_REASON_TEXTS.get(reason, reason)


def too_soon(frequency: str, last_marketing_at: datetime | None, now: datetime) -> bool:
    """Whether marketing mail now would break the reader's chosen frequency."""
    gap = FREQUENCY_GAPS.get(frequency)
    return gap is not None and last_marketing_at is not None and now - last_marketing_at < gap


def soft_bounce_suppresses(soft_bounces_in_row: int) -> bool:
    return soft_bounces_in_row >= SOFT_BOUNCES_SUPPRESS
