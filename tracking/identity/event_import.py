"""Events sent by other systems (``POST /api/v1/events``): checked all at once, then resolved.

A request is all or nothing: every refused event is reported with its index
and reason and none is stored. Accepted events name a visitor (the
integrator's own id), an email (the lead is created when new), or both; an
optional ``id`` makes a resend harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset
from content.printable import unprintable_json
from tracking.events import EventType, Imported
from tracking.identity.identify import get_or_create_lead
from tracking.models import LeadChange
from tracking.pipeline import changelog
from tracking.pipeline.beacon import finite_number
from tracking.rules.profiling import InvalidAnswer, normalize_email

MAX_EVENTS = 1000
MAX_AGE = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=5)
MAX_SECONDS = 86_400.0
MAX_PROPERTIES_BYTES = 2048
_KEYS = {"id", "visitor", "email", "type", "asset", "occurred_at", "seconds", "depth", "properties"}
_VISITOR = re.compile(r"[A-Za-z0-9_-]{1,32}")
_UID = re.compile(r"[A-Za-z0-9_.:-]{8,64}")


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """An imported event, checked, before its lead and asset are looked up."""

    kind: EventType
    visitor: str | None
    email: str | None
    asset: str | None
    occurred_at: datetime | None
    seconds: float | None
    depth: float | None
    properties: dict[str, Any] | None
    uid: str | None


class ImportRefused(ValueError):
    """Some events were refused: ``errors`` maps their index to the reason."""

    def __init__(self, errors: Mapping[int, str]) -> None:
        super().__init__(f"{len(errors)} event(s) refused")
        self.errors = dict(errors)


def parse_events(body: Any, now: datetime) -> list[ParsedEvent]:
    """Check the body ``{"events": [...]}``; raise ``ImportRefused`` with every reason."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise ImportRefused({-1: 'expected {"events": [...]}'})
    items = body["events"]
    if not 1 <= len(items) <= MAX_EVENTS:
        raise ImportRefused({-1: f"send 1 to {MAX_EVENTS} events per request"})
    parsed: list[ParsedEvent] = []
    errors: dict[int, str] = {}
    for index, item in enumerate(items):
        try:
            parsed.append(_parse(item, now))
        except ValueError as exc:
            errors[index] = str(exc)
    if errors:
        raise ImportRefused(errors)
    return parsed


def _parse(item: Any, now: datetime) -> ParsedEvent:
    if not isinstance(item, dict):
        raise ValueError("expected an object")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    for key, value in item.items():  # nothing unprintable reaches a text or JSON column
        problem = unprintable_json(value, key)
        if problem:
            raise ValueError(problem)
    try:
        kind = EventType(str(item.get("type")))
    except ValueError:
        raise ValueError(f"type must be one of {', '.join(t.value for t in EventType)}") from None
    visitor, email = item.get("visitor"), item.get("email")
    if visitor is None and email is None:
        raise ValueError("give a visitor, an email or both")
    if visitor is not None and not (isinstance(visitor, str) and _VISITOR.fullmatch(visitor)):
        raise ValueError("visitor must be 1 to 32 letters, digits, '-' or '_'")
    if email is not None:
        try:
            email = normalize_email(email if isinstance(email, str) else "")
        except InvalidAnswer:
            raise ValueError("email is not a valid address") from None
    uid = item.get("id")
    if uid is not None and not (isinstance(uid, str) and _UID.fullmatch(uid)):
        raise ValueError("id must be 8 to 64 letters, digits or '-_.:'")
    asset = item.get("asset")
    if asset is not None and not (isinstance(asset, str) and 0 < len(asset) <= 120):
        raise ValueError("asset must be an asset slug")
    return ParsedEvent(
        kind=kind,
        visitor=visitor,
        email=email,
        asset=asset,
        occurred_at=_moment(item.get("occurred_at"), now),
        seconds=_bounded(item.get("seconds"), "seconds", MAX_SECONDS),
        depth=_bounded(item.get("depth"), "depth", 1.0),
        properties=_properties(item.get("properties")),
        uid=uid,
    )


def _moment(value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("occurred_at must be ISO-8601 with a time zone")
    if moment > now + CLOCK_SKEW:
        raise ValueError("occurred_at is in the future")
    if moment < now - MAX_AGE:
        raise ValueError("occurred_at is more than a year ago")
    return moment


def _bounded(value: Any, name: str, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not finite_number(value):
        raise ValueError(f"{name} must be a number")
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be between 0 and {high:g}")
    return float(value)


def _properties(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("properties must be an object")
    if len(json.dumps(value)) > MAX_PROPERTIES_BYTES:
        raise ValueError(f"properties must stay under {MAX_PROPERTIES_BYTES} bytes of JSON")
    return value


def _import_lead(session: Session, email: str, now: datetime) -> int:
    """The lead of an imported email; a new one starts as a subscriber (no form was filled)."""
    lead, created = get_or_create_lead(session, email, now)
    if created:
        lead.lifecycle = "subscriber"
        changelog.append(
            session,
            LeadChange(lead_id=lead.id, at=now, kind="identified", new="subscriber", reason="api"),
        )
    return lead.id


def import_visitor_id(lead_id: int) -> str:
    """The visitor id of events imported by email only (one per lead; never a browser id)."""
    return f"lead-{lead_id}"


def resolve(session: Session, parsed: Sequence[ParsedEvent], now: datetime) -> list[Imported]:
    """Look up assets (unknown slugs are refused) and leads (created when new)."""
    slugs = {p.asset for p in parsed if p.asset}
    asset_ids = dict(
        session.execute(select(Asset.slug, Asset.id).where(Asset.slug.in_(slugs))).all()
    )
    missing = {
        i: f"unknown asset {p.asset!r}"
        for i, p in enumerate(parsed)
        if p.asset and p.asset not in asset_ids
    }
    if missing:
        raise ImportRefused(missing)
    leads = {
        email: _import_lead(session, email, now)
        for email in sorted({p.email for p in parsed if p.email})
    }
    events = []
    for p in parsed:
        lead_id = leads.get(p.email) if p.email else None
        events.append(
            Imported(
                kind=p.kind,
                visitor_id=p.visitor or (import_visitor_id(lead_id) if lead_id else None),
                lead_id=lead_id,
                asset_id=asset_ids.get(p.asset) if p.asset else None,
                occurred_at=p.occurred_at,
                uid=p.uid,
                seconds=p.seconds,
                depth=p.depth,
                extra=p.properties,
            )
        )
    return events
