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
    """Answer with the name of the calling token: a cheap way for integrators to test their setup."""
    return ApiInfo(service="leadshelf", version=__version__, token=request.user)


def api_router() -> Router:
    # The OpenAPI document stays public so integrators can read it before they hold a token.
    return Router(
        path="/api/v1",
        route_handlers=[api_root],
        middleware=[DefineMiddleware(ApiTokenMiddleware, exclude=[r"^/api/v1/openapi"])],
    )
