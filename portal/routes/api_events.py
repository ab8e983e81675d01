"""Tracking in the JSON API: a lead's engagement trail and the events import."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import QueryParameter

from content.orm import utcnow
from portal.db import Database
from portal.routes.api_common import Cursor, LeadId, error_responses, in_row_range
from tracking.events import EventType
from tracking.identity import event_import
from tracking.models import Lead
from tracking.pipeline import ingest
from tracking.reporting import trails
from tracking.rules.config import Model


class TrailAssetRead(msgspec.Struct):
    slug: str
    title: str
    kind: str
    stage: str


class TrailItemRead(msgspec.Struct):
    """One event of a lead's trail."""

    at: datetime
    type: str
    asset: TrailAssetRead | None
    seconds: float | None
    depth: float | None
    properties: dict[str, Any]


class TrailRead(msgspec.Struct):
    """A page of a lead's trail, newest first; pass ``next_cursor`` back for the next page."""

    items: list[TrailItemRead]
    next_cursor: str | None


class EventsAccepted(msgspec.Struct):
    """How many events were accepted, and how many of them had been stored before (resent)."""

    accepted: int
    duplicates: int


@get(
    "/leads/{lead_id:int}/trail",
    sync_to_thread=True,
    summary="A lead's engagement trail",
    responses=error_responses(404),
)
def lead_trail(
    lead_id: LeadId,
    database: NamedDependency[Database],
    limit: Annotated[
        int,
        QueryParameter(ge=1, le=trails.MAX_PAGE, description="Events per page."),
    ] = 50,
    cursor: Cursor = None,
) -> TrailRead:
    """Everything the lead did on all its devices, newest first, with cursor pagination."""
    with database.read() as session:
        if not in_row_range(lead_id) or session.get(Lead, lead_id) is None:
            raise NotFoundException(f"no lead {lead_id}")
        try:
            page = trails.trail(session, lead_id, limit=limit, cursor=cursor)
        except trails.BadCursor as exc:
            raise ValidationException(str(exc)) from None
    return TrailRead(
        items=[
            TrailItemRead(
                at=item.at,
                type=item.type,
                asset=TrailAssetRead(**asdict(item.asset)) if item.asset else None,
                seconds=item.seconds,
                depth=item.depth,
                properties=item.properties,
            )
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )


def _events_body() -> RequestBody:
    """The import body as documented; the handler checks it itself to name every refused event."""
    number, null = Schema(type=OpenAPIType.NUMBER), Schema(type=OpenAPIType.NULL)
    nullable_number = Schema(one_of=[number, null])
    event = Schema(
        type=OpenAPIType.OBJECT,
        required=["type"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, enum=[t.value for t in EventType]),
            "visitor": Schema(type=OpenAPIType.STRING, pattern="^[A-Za-z0-9_-]{1,32}$"),
            "email": Schema(type=OpenAPIType.STRING, format="email"),  # type: ignore[arg-type]
            "asset": Schema(type=OpenAPIType.STRING, min_length=1, max_length=120),
            "occurred_at": Schema(type=OpenAPIType.STRING, format="date-time"),  # type: ignore[arg-type]
            "seconds": nullable_number,
            "depth": nullable_number,
            "properties": Schema(type=OpenAPIType.OBJECT),
            "id": Schema(type=OpenAPIType.STRING, pattern="^[A-Za-z0-9_.:-]{8,64}$"),
        },
        additional_properties=False,
        any_of=[Schema(required=["visitor"]), Schema(required=["email"])],
        description="Give a visitor, an email or both; `id` makes a resend harmless.",
    )
    body = Schema(
        type=OpenAPIType.OBJECT,
        required=["events"],
        properties={
            "events": Schema(
                type=OpenAPIType.ARRAY, items=event, min_items=1, max_items=event_import.MAX_EVENTS
            )
        },
    )
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=body)}, required=True)


@dataclass
class EventsImportOperation(Operation):
    """The OpenAPI operation of the import, with its request body spelled out."""

    def __post_init__(self) -> None:
        self.request_body = _events_body()


@post(
    "/events",
    summary="Import events from another system",
    status_code=200,
    operation_class=EventsImportOperation,
    responses=error_responses(422),
)
async def import_events(
    request: Request[Any, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
) -> EventsAccepted:
    """Up to 1,000 events; all or nothing (refused events are listed by index with the reason)."""
    now = utcnow()
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise ValidationException("the body must be JSON") from None

    def store_all() -> tuple[int, int]:
        # One transaction: new leads and their events are stored together or not at all.
        with database.write() as session:
            resolved = event_import.resolve(session, event_import.parse_events(body, now), now)
            return len(resolved), ingest.record(session, resolved, now, model=model)

    try:
        accepted, stored = await to_thread.run_sync(store_all)
    except event_import.ImportRefused as refused:
        raise HTTPException(status_code=422, extra={"events": refused.errors}) from None
    return EventsAccepted(accepted=accepted, duplicates=accepted - stored)


ROUTES = [lead_trail, import_events]
