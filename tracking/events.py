"""Typed events: each event type is a small frozen class with a docstring.

Everything that is recorded, by the server, the beacon or the API import,
goes through ``tracking.pipeline.ingest.store`` (directly inside a transaction, or
batched by ``tracking.pipeline.group_commit.Ingestor``). The class decides which of its attributes
become the stored ``properties``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from tracking.sources.arrivals import Arrival


class EventType(StrEnum):
    """The event names of DESIGN.md."""

    PAGE_VIEW = "page_view"
    ASSET_VIEW = "asset_view"
    READ_PROGRESS = "read_progress"
    DOWNLOAD = "download"
    SEARCH = "search"
    GATE_VIEW = "gate_view"
    FORM_SUBMIT = "form_submit"
    UNLOCK = "unlock"
    WEBINAR_REGISTER = "webinar_register"
    WEBINAR_ATTEND = "webinar_attend"
    CTA_CLICK = "cta_click"
    EMAIL_CLICK = "email_click"
    EMAIL_OPEN = "email_open"
    DEMO_REQUEST = "demo_request"


_COMMON = frozenset({"visitor_id", "lead_id", "asset_id", "occurred_at", "uid", "arrival"})


@dataclass(frozen=True, kw_only=True, slots=True)
class TrackedEvent:
    """What every event carries: who (visitor and/or lead), on which asset, when."""

    type: ClassVar[EventType]
    visitor_id: str | None = None
    lead_id: int | None = None
    asset_id: int | None = None
    occurred_at: datetime | None = None
    uid: str | None = None
    arrival: Arrival | None = None
    """Where the browser came from, on a page it loaded (its address and referrer): ingestion
    starts or continues the browser's visit with it (``tracking.sources.visits``)."""

    def name(self) -> EventType:
        """The stored event type (the class's, except for imported events)."""
        return self.type

    def measures(self) -> tuple[float | None, float | None]:
        """(engaged seconds, depth 0 to 1) where the event type has them."""
        return None, None

    def properties(self) -> dict[str, Any] | None:
        """The type-specific attributes, stored as JSON."""
        extra = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _COMMON}
        extra.pop("seconds", None)
        extra.pop("depth", None)
        return extra or None


@dataclass(frozen=True, kw_only=True, slots=True)
class PageView(TrackedEvent):
    """A public page other than an asset page was shown (home, library)."""

    type = EventType.PAGE_VIEW
    path: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AssetView(TrackedEvent):
    """An asset page was shown (teaser only when ``locked``)."""

    type = EventType.ASSET_VIEW
    locked: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadProgress(TrackedEvent):
    """Engaged reading time and scroll depth, sent by the browser (heartbeat or final beacon)."""

    type = EventType.READ_PROGRESS
    seconds: float = 0.0
    depth: float = 0.0

    def measures(self) -> tuple[float | None, float | None]:
        return self.seconds, self.depth


@dataclass(frozen=True, kw_only=True, slots=True)
class Download(TrackedEvent):
    """An asset's file was downloaded."""

    type = EventType.DOWNLOAD


@dataclass(frozen=True, kw_only=True, slots=True)
class Search(TrackedEvent):
    """A library search: the query and how many assets it found."""

    type = EventType.SEARCH
    query: str
    results: int


@dataclass(frozen=True, kw_only=True, slots=True)
class GateView(TrackedEvent):
    """A gate form was shown, with the fields it asked."""

    type = EventType.GATE_VIEW
    asked: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class FormSubmit(TrackedEvent):
    """A gate form was accepted, with the fields it answered."""

    type = EventType.FORM_SUBMIT
    answered: tuple[str, ...] = ()
    form: str = "gate"


@dataclass(frozen=True, kw_only=True, slots=True)
class UnlockEvent(TrackedEvent):
    """A gated asset was unlocked for a lead."""

    type = EventType.UNLOCK


@dataclass(frozen=True, kw_only=True, slots=True)
class WebinarRegister(TrackedEvent):
    """A lead registered for a webinar (its gate)."""

    type = EventType.WEBINAR_REGISTER


@dataclass(frozen=True, kw_only=True, slots=True)
class WebinarAttend(TrackedEvent):
    """A lead attended a webinar (imported from the webinar platform)."""

    type = EventType.WEBINAR_ATTEND
    seconds: float | None = None

    def measures(self) -> tuple[float | None, float | None]:
        return self.seconds, None


@dataclass(frozen=True, kw_only=True, slots=True)
class CtaClick(TrackedEvent):
    """A call to action was clicked (the browser sends which one)."""

    type = EventType.CTA_CLICK
    target: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailClick(TrackedEvent):
    """A link in one of our emails was followed (``/email/click``). On a link to an asset page
    ``asset_id`` is that asset, so the click is a touch on it (stage evidence) like its view."""

    type = EventType.EMAIL_CLICK
    message: int | None = None
    """The mail message (``mail_message.id``) the link was in."""
    kind: str = ""
    """The message's kind of mail (``opt_in``, ``asset_copy`` …)."""
    target: str = ""
    """Where the link led."""
    campaign: str = ""
    machine: bool | None = None
    """True for a link scanner's click (kept for the record only; never a touch or points)."""
    reason: str = ""
    """Why the click counts as a machine's."""

    def properties(self) -> dict[str, Any] | None:
        return _given(TrackedEvent.properties(self))


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailOpen(TrackedEvent):
    """One of our emails loaded its open pixel (``/email/open``). ``machine`` opens (a privacy
    proxy or scanner fetching the image, not a person reading) are kept for the record only.
    Opens never earn points (``tracking.rules.scoring_file.UNSCORED_EVENTS``)."""

    type = EventType.EMAIL_OPEN
    message: int | None = None
    kind: str = ""
    machine: bool = False
    reason: str = ""
    """Why the open counts as a machine's."""

    def properties(self) -> dict[str, Any] | None:
        return _given(TrackedEvent.properties(self))


def _given(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Properties without the empty text and missing values (``machine: false`` stays)."""
    kept = {k: v for k, v in (values or {}).items() if v is not None and v != ""}
    return kept or None


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoRequest(TrackedEvent):
    """A lead asked to talk to sales (the "Talk to sales" form): the strongest sign of intent,
    which puts the lead on the sales fast lane. ``asset`` is where it came from, if anywhere."""

    type = EventType.DEMO_REQUEST
    message: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Imported(TrackedEvent):
    """An event of any type sent by another system through ``POST /api/v1/events``."""

    type = EventType.PAGE_VIEW  # placeholder: ``kind`` is the stored type
    kind: EventType
    seconds: float | None = None
    depth: float | None = None
    extra: dict[str, Any] | None = None

    def name(self) -> EventType:
        return self.kind

    def measures(self) -> tuple[float | None, float | None]:
        return self.seconds, self.depth

    def properties(self) -> dict[str, Any] | None:
        return self.extra or None


def event_row(event: TrackedEvent, now: datetime) -> dict[str, Any]:
    """The ``event`` table row of an event (``occurred_at`` defaults to ``now``)."""
    seconds, depth = event.measures()
    return {
        "uid": event.uid,
        "visitor_id": event.visitor_id,
        "lead_id": event.lead_id,
        "type": event.name().value,
        "asset_id": event.asset_id,
        "occurred_at": event.occurred_at or now,
        "seconds": seconds,
        "depth": depth,
        "properties": event.properties(),
    }
