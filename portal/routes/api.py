"""JSON API under /api/v1 (bearer tokens); later issues add leads, events and assets here."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath, FromQuery, QueryParameter

from content.orm import utcnow
from portal import __version__
from portal.accounts.guards import ApiTokenMiddleware
from portal.db import Database
from portal.routes import api_leads
from tracking import imports, ingest, trails
from tracking.models import Lead


class ApiInfo(msgspec.Struct):
    """Which Leadshelf answers and which token was used."""

    service: str
    version: str
    token: str


@get("/token", sync_to_thread=False, summary="Check a token")
def api_root(request: Request[str, Any, Any]) -> ApiInfo:
    """Answer with the calling token's name: a cheap way for integrators to test their setup."""
    return ApiInfo(service="leadshelf", version=__version__, token=request.user)


@get(
    "/openapi.json",
    sync_to_thread=False,
    include_in_schema=False,
    media_type="application/vnd.oai.openapi+json",
)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI document of /api/v1 (public: integrators read it before they hold a token)."""
    return request.app.openapi_schema.to_schema()


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


@get("/leads/{lead_id:int}/trail", sync_to_thread=True, summary="A lead's engagement trail")
def lead_trail(
    lead_id: FromPath[int],
    state: State,
    limit: Annotated[int, QueryParameter(ge=1, le=trails.MAX_PAGE)] = 50,
    cursor: FromQuery[str | None] = None,
) -> TrailRead:
    """Everything the lead did on all its devices, newest first, with cursor pagination."""
    database: Database = state.db
    with database.read() as session:
        if not trails.valid_id(lead_id) or session.get(Lead, lead_id) is None:
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


@post("/events", summary="Import events from another system", status_code=200)
async def import_events(request: Request[str, Any, Any], state: State) -> Response[Any]:
    """Up to 1,000 events; all or nothing (refused events are listed by index with the reason)."""
    now = utcnow()
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        return Response(
            {"error": "Bad Request", "detail": "the body must be JSON"}, status_code=400
        )
    database: Database = state.db

    def store_all() -> tuple[int, int]:
        # One transaction: new leads and their events are stored together or not at all.
        with database.write() as session:
            resolved = imports.resolve(session, imports.parse_events(body, now), now)
            return len(resolved), ingest.record(session, resolved, now, model=state.model)

    try:
        accepted, stored = await to_thread.run_sync(store_all)
    except imports.ImportRefused as refused:
        return Response(
            {"error": "Unprocessable Entity", "detail": {"events": refused.errors}},
            status_code=422,
        )
    return Response(EventsAccepted(accepted=accepted, duplicates=accepted - stored))


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[api_root, openapi_document, lead_trail, import_events, *api_leads.ROUTES],
        middleware=[DefineMiddleware(ApiTokenMiddleware, exclude=[r"^/api/v1/openapi\.json$"])],
    )
