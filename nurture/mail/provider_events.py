"""Bounces, complaints and unsubscribes a mail provider reports by webhook
(``POST /api/v1/email/events``): checked all at once (``check``: pure, every refused event named
by its index), then applied through the suppression list like the bounce receiver's reports.

A provider retries webhooks, so a repeat must do no harm: an event naming our message (its
Message-ID) or its time (``at``) is recorded once; an unsubscribe or a hard bounce on an
address already suppressed changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from content.printable import unprintable
from nurture.mail import subscriptions, suppression
from nurture.mail.bounces import mark_bounced, message_by_id
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source
from tracking.rules.profiling import InvalidAnswer, normalize_email

MAX_EVENTS = 1000
MAX_AGE = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=5)
MAX_DETAIL = 2000
TYPES = ("bounce", "complaint", "unsubscribe")
BOUNCE_TYPES = ("hard", "soft")
LEFT_AT_PROVIDER = ConsentText(
    "provider-unsubscribe", "Unsubscribed with the mail provider's own unsubscribe link."
)
"""The withdrawal record's text when a provider reports an unsubscribe."""


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One event as a provider sends it (after decoding, before checking)."""

    type: str
    email: str
    bounce_type: str | None = None
    message_id: str | None = None
    at: datetime | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedEvent:
    """An event that passed: the address normalized, the time known."""

    type: str
    address: str
    kind: str
    """``hard``, ``soft``, ``complaint`` or ``unsubscribe``."""
    message_id: str
    at: datetime
    detail: str


class EventsRefused(ValueError):
    """Some events were refused: ``errors`` maps each one's index to the reason."""

    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__(f"{len(errors)} event(s) refused")
        self.errors = errors


def check(events: Sequence[ProviderEvent], now: datetime) -> list[CheckedEvent]:
    """Every event checked; ``EventsRefused`` names each refused one (then none is applied)."""
    if not 1 <= len(events) <= MAX_EVENTS:
        raise EventsRefused({-1: f"send 1 to {MAX_EVENTS} events per request"})
    checked: list[CheckedEvent] = []
    errors: dict[int, str] = {}
    for index, event in enumerate(events):
        try:
            checked.append(_check(event, now))
        except ValueError as problem:
            errors[index] = str(problem)
    if errors:
        raise EventsRefused(errors)
    return checked


def _check(event: ProviderEvent, now: datetime) -> CheckedEvent:
    if event.type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    try:
        address = normalize_email(event.email)
    except InvalidAnswer:
        raise ValueError("email is not a valid address") from None
    if event.type == "bounce" and event.bounce_type not in BOUNCE_TYPES:
        raise ValueError("bounce_type must be hard or soft for a bounce")
    if event.type != "bounce" and event.bounce_type is not None:
        raise ValueError(f"bounce_type only applies to bounces, not to a {event.type}")
    kind = event.bounce_type if event.type == "bounce" and event.bounce_type else event.type
    return CheckedEvent(
        type=event.type,
        address=address,
        kind=kind,
        message_id=_message_id(event.message_id),
        at=_moment(event.at, now),
        detail=_detail(event.detail),
    )


def _message_id(value: str | None) -> str:
    if value is None:
        return ""
    value = value.strip()
    if not value or len(value) > 200 or unprintable(value) or any(c.isspace() for c in value):
        raise ValueError(
            "message_id must be the Message-ID header of our mail (at most 200 characters, "
            "no spaces)"
        )
    return value


def _moment(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValueError("at must be ISO-8601 with a time zone")
    if at > now + CLOCK_SKEW:
        raise ValueError("at is in the future")
    if at < now - MAX_AGE:
        raise ValueError("at is more than a year ago")
    return at


def _detail(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_DETAIL:
        raise ValueError(f"detail must be at most {MAX_DETAIL} characters")
    if problem := unprintable(text, multiline=True):
        raise ValueError(f"detail contains {problem}")
    return text


@dataclass(frozen=True, slots=True)
class Applied:
    accepted: int
    duplicates: int
    """Events that had been recorded before (a provider's retried webhook)."""


def apply(session: Session, events: Sequence[CheckedEvent]) -> Applied:
    """Record checked events in the caller's transaction (suppressing as the rules say)."""
    duplicates = 0
    for event in events:
        if not _apply_one(session, event):
            duplicates += 1
    return Applied(len(events), duplicates)


def _apply_one(session: Session, event: CheckedEvent) -> bool:
    """False: told before, nothing changed."""
    message = message_by_id(session, event.message_id) if event.message_id else None
    if message is not None and message.to_address != event.address:
        message = None  # another address's message: the provider mixed them up; keep the address
    message_pk = message.id if message is not None else None
    detail = event.detail or f"{event.kind} reported by the mail provider"
    if event.kind == "unsubscribe":
        left = subscriptions.unsubscribe(
            session,
            event.address,
            now=event.at,
            message_id=message_pk,
            source=Source("provider", "webhook"),
            detail=detail,
            wording=LEFT_AT_PROVIDER,
        )
        return not left.already
    if suppression.told_before(session, event.address, event.kind, "webhook", event.at, message_pk):
        return False
    suppression.record_bounce(
        session,
        event.address,
        event.kind,
        "webhook",
        event.at,
        detail=detail,
        message_id=message_pk,
    )
    if event.kind == "hard" and message is not None:
        mark_bounced(message, detail)
    return True
