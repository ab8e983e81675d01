"""The tracking beacon's body: what a browser may send to ``POST /t``, checked strictly.

Browsers only report what the server cannot see: engaged reading time and
scroll depth (``read_progress``) and calls to action (``cta_click``). Views,
downloads, searches and form submissions are recorded by the server itself.
Every refusal says why, so a broken client is easy to fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from content.printable import unprintable
from tracking.events import EventType

MAX_BODY_BYTES = 4096
MAX_SECONDS = 60.0
BROWSER_TYPES = (EventType.READ_PROGRESS, EventType.CTA_CLICK)
_KEYS = {
    EventType.READ_PROGRESS: {"type", "asset", "seconds", "depth", "id"},
    EventType.CTA_CLICK: {"type", "asset", "target", "id"},
}
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_UID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class BeaconError(ValueError):
    """The body is refused; the message is the reason sent back with the 400."""


@dataclass(frozen=True, slots=True)
class Beacon:
    """A checked beacon, before its asset slug is resolved."""

    type: EventType
    asset: str | None
    seconds: float = 0.0
    depth: float = 0.0
    target: str = ""
    uid: str | None = None


def parse_beacon(data: Any) -> Beacon:
    """Check a decoded JSON body; raise ``BeaconError`` with the reason."""
    if not isinstance(data, dict):
        raise BeaconError("the body must be a JSON object")
    kind = _type(data.get("type"))
    unknown = sorted(set(data) - _KEYS[kind])
    if unknown:
        raise BeaconError(f"unknown key {unknown[0]!r} for {kind.value}")
    asset = _asset(data.get("asset"), required=kind is EventType.READ_PROGRESS)
    uid = data.get("id")
    if uid is not None and not (isinstance(uid, str) and _UID.fullmatch(uid)):
        raise BeaconError("id must be 8 to 64 letters, digits, '-' or '_'")
    if kind is EventType.CTA_CLICK:
        target = data.get("target", "")
        if not isinstance(target, str) or len(target) > 200:
            raise BeaconError("target must be a string of at most 200 characters")
        problem = unprintable(target)
        if problem:
            raise BeaconError(f"target contains {problem}")
        return Beacon(kind, asset, target=target, uid=uid)
    seconds = _number(data.get("seconds", 0), "seconds", MAX_SECONDS)
    depth = _number(data.get("depth", 0), "depth", 1.0)
    return Beacon(kind, asset, seconds=seconds, depth=depth, uid=uid)


def _type(value: Any) -> EventType:
    allowed = ", ".join(t.value for t in BROWSER_TYPES)
    if not isinstance(value, str):
        raise BeaconError(f"type is required: one of {allowed}")
    try:
        kind = EventType(value)
    except ValueError:
        kind = None
    if kind not in BROWSER_TYPES:
        raise BeaconError(f"type {value[:40]!r} cannot be sent by a browser (one of {allowed})")
    assert kind is not None
    return kind


def _asset(value: Any, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BeaconError("asset is required: the asset's slug")
    if len(value) > 120 or not _SLUG.fullmatch(value):
        raise BeaconError("asset must be an asset slug (lower-case letters, digits, dashes)")
    return value


def _number(value: Any, name: str, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not finite_number(value):
        raise BeaconError(f"{name} must be a number")
    if not 0 <= value <= high:
        raise BeaconError(f"{name} must be between 0 and {high:g}, got {value:g}")
    return float(value)


def finite_number(value: float) -> bool:
    """A finite number that fits a float (JSON integers may have thousands of digits)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
