"""Engagement trails: everything a lead did across its devices, newest first, page by page,
and what it did with each asset.

Pages are cut by a cursor (the last row's time and id), so every page is one
index range scan on ``(lead_id, occurred_at, id)`` however long the trail is.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from content.models import Asset
from content.printable import printable_copy
from tracking.models import AssetEngagement, Event

MAX_PAGE = 500
COMPLETED_DEPTH = 0.9


class BadCursor(ValueError):
    """The cursor was not issued by ``trail`` (or was altered)."""


@dataclass(frozen=True, slots=True)
class TrailAsset:
    slug: str
    title: str
    kind: str
    stage: str


@dataclass(frozen=True, slots=True)
class TrailItem:
    at: datetime
    type: str
    asset: TrailAsset | None
    seconds: float | None
    depth: float | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrailPage:
    items: list[TrailItem]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AssetSummary:
    """One asset as a lead engaged with it, summed over its devices."""

    asset: TrailAsset
    engaged_seconds: float
    max_depth: float
    views: int
    downloads: int
    first_at: datetime
    last_at: datetime

    @property
    def completed(self) -> bool:
        return self.max_depth >= COMPLETED_DEPTH


MAX_ID = 2**63 - 1


def valid_id(value: object) -> bool:
    """A positive id the database can hold (a bool is not an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def encode_cursor(at: datetime, event_id: int) -> str:
    raw = json.dumps([at.isoformat(), event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, event_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
        if not valid_id(event_id) or moment.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadCursor("cursor is not valid; start again without one") from None
    return moment, event_id


def trail(session: Session, lead_id: int, limit: int = 50, cursor: str | None = None) -> TrailPage:
    """One page of the lead's trail, newest first, and the cursor of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    query = (
        select(Event, Asset.slug, Asset.title, Asset.kind, Asset.stage)
        .outerjoin(Asset, Asset.id == Event.asset_id)
        .where(Event.lead_id == lead_id)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        at, event_id = decode_cursor(cursor)
        # The plain bound on the time as well: PostgreSQL prunes the months after the cursor
        # by it (not by the row comparison), so an older page reads only the older months.
        query = query.where(
            Event.occurred_at <= at, tuple_(Event.occurred_at, Event.id) < tuple_(at, event_id)
        )
    rows = session.execute(query).all()
    items = [
        TrailItem(
            at=event.occurred_at,
            type=event.type,
            asset=TrailAsset(slug, title, kind, stage) if slug is not None else None,
            seconds=event.seconds,
            depth=event.depth,
            properties=printable_copy(event.properties or {}),  # older rows went unchecked
        )
        for event, slug, title, kind, stage in rows[:limit]
    ]
    last = rows[limit - 1][0] if len(rows) > limit else None
    return TrailPage(items, encode_cursor(last.occurred_at, last.id) if last else None)


def asset_summaries(session: Session, lead_id: int) -> list[AssetSummary]:
    """Per asset: engaged time, deepest read, views, downloads; most recent first."""
    rows = session.execute(
        select(
            Asset.slug,
            Asset.title,
            Asset.kind,
            Asset.stage,
            func.sum(AssetEngagement.engaged_seconds),
            func.max(AssetEngagement.max_depth),
            func.sum(AssetEngagement.views),
            func.sum(AssetEngagement.downloads),
            func.min(AssetEngagement.first_at),
            func.max(AssetEngagement.last_at),
        )
        .join(Asset, Asset.id == AssetEngagement.asset_id)
        .where(AssetEngagement.lead_id == lead_id)
        .group_by(Asset.id, Asset.slug, Asset.title, Asset.kind, Asset.stage)
        .order_by(func.max(AssetEngagement.last_at).desc())
    ).all()
    return [
        AssetSummary(
            asset=TrailAsset(slug, title, kind, stage),
            engaged_seconds=float(seconds or 0),
            max_depth=float(depth or 0),
            views=int(views or 0),
            downloads=int(downloads or 0),
            first_at=first_at,
            last_at=last_at,
        )
        for slug, title, kind, stage, seconds, depth, views, downloads, first_at, last_at in rows
    ]
