"""The tracking beacon (``POST /t``) and the visitor's privacy choice (``/consent``)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from portal.dependencies import PublicSite
from portal.routes.library import SHARED
from portal.visitor import (
    CONSENT_COOKIE,
    CONSENT_DENIED,
    CONSENT_GRANTED,
    VISITOR_MAX_AGE,
    visitor_of,
)
from portal.web import safe_next
from tracking import events
from tracking.events import EventType
from tracking.identity.visitors import new_visitor_id
from tracking.pipeline.beacon import MAX_BODY_BYTES, Beacon, BeaconError, parse_beacon
from tracking.pipeline.group_commit import IngestError

NO_CONTENT = 204


def _refuse(status_code: int, reason: str) -> Response[dict[str, str]]:
    """The API's error shape: ``{"error": phrase, "detail": reason}``."""
    return Response(
        {"error": HTTPStatus(status_code).phrase, "detail": reason}, status_code=status_code
    )


def _event(beacon: Beacon, visitor_id: str, asset_id: int | None) -> events.TrackedEvent:
    common: dict[str, Any] = {"visitor_id": visitor_id, "asset_id": asset_id, "uid": beacon.uid}
    if beacon.type is EventType.CTA_CLICK:
        return events.CtaClick(target=beacon.target, **common)
    return events.ReadProgress(seconds=beacon.seconds, depth=beacon.depth, **common)


@post(
    "/t",
    include_in_schema=False,
    request_max_body_size=MAX_BODY_BYTES,
    status_code=200,
)
async def beacon(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite]
) -> Response[Any]:
    """Engaged time, depth and CTA clicks from ``static/track.js``; 204 once committed."""
    visitor = visitor_of(request)
    if not visitor.tracking or visitor.crawler:
        visitor.discard()
        return Response(None, status_code=NO_CONTENT)  # not tracked: accepted and dropped
    if visitor.is_new or not visitor.id:
        visitor.discard()
        return _refuse(400, "no visitor cookie: the beacon is sent from a library page")
    try:
        parsed = parse_beacon(json.loads(await request.body()))
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, BeaconError) else "the body must be JSON"
        return _refuse(400, reason)
    if not site.beacon_buckets.allow(visitor.id):
        return _refuse(429, "too many beacons from this browser; slow down")
    asset_id = await site.asset_ids.resolve(parsed.asset) if parsed.asset else None
    if parsed.asset and asset_id is None:
        return _refuse(400, f"unknown asset {parsed.asset!r}")
    try:
        await site.ingestor.record([_event(parsed, visitor.id, asset_id)])
    except IngestError:
        return _refuse(503, "the event could not be stored; send it again")
    return Response(None, status_code=NO_CONTENT)


ConsentForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/consent", include_in_schema=False, sync_to_thread=False)
def consent_page(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], next: FromQuery[str] = "/"
) -> Template:
    """Privacy choices: what is tracked, and the visitor's current choice (to change it)."""
    return Template(
        "public/consent.html",
        context={
            "choice": request.cookies.get(CONSENT_COOKIE),
            "next": safe_next(next, default="/"),
            "mode": site.settings.consent_mode,
        },
        headers=SHARED,
    )


@post("/consent", include_in_schema=False, sync_to_thread=False, request_max_body_size=16 * 1024)
def consent(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], data: ConsentForm
) -> Response[Any]:
    """Store the visitor's choice (a strictly necessary cookie) and go back where they were."""
    choice = CONSENT_GRANTED if data.get("choice") == CONSENT_GRANTED else CONSENT_DENIED
    visitor = visitor_of(request)
    if choice == CONSENT_GRANTED and not visitor.id:
        visitor.rotate(new_visitor_id())
    response: Response[Any] = Redirect(
        safe_next(str(data.get("next") or "/"), "/"), status_code=303
    )
    response.cookies.append(
        Cookie(
            key=CONSENT_COOKIE,
            value=choice,
            max_age=VISITOR_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=site.settings.secure_cookies,
        )
    )
    return response


ROUTES = [beacon, consent_page, consent]
