"""JSON API under /api/v1 (bearer tokens); later issues add leads, events and assets here."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get
from litestar.middleware import DefineMiddleware

from portal import __version__
from portal.accounts.guards import ApiTokenMiddleware


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


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[api_root, openapi_document],
        middleware=[DefineMiddleware(ApiTokenMiddleware, exclude=[r"^/api/v1/openapi\.json$"])],
    )
