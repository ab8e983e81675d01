"""JSON API under /api/v1: bearer tokens with a scope, a per-token rate limit, JSON errors.

Routes live by subject (``api_leads``, ``api_events``, ``api_assets``); this
module adds the token check, the OpenAPI document and the router that ties
them together.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get
from litestar.middleware import DefineMiddleware
from litestar.openapi.spec import Components, SecurityScheme

from portal import __version__
from portal.accounts.guards import ApiTokenMiddleware, api_scope
from portal.accounts.service import TokenPrincipal
from portal.routes import (
    api_accounts,
    api_assets,
    api_deals,
    api_email,
    api_events,
    api_leads,
    api_programs,
)
from portal.routes.api_common import error_responses, known_query_only

BEARER_SCHEME = "bearerAuth"


class ApiInfo(msgspec.Struct):
    """Which Leadshelf answers, and which token (with its scope) was used."""

    service: str
    version: str
    token: str
    scope: str


@get("/token", sync_to_thread=False, summary="Check a token", responses=error_responses())
def api_root(request: Request[TokenPrincipal, Any, Any]) -> ApiInfo:
    """Answer with the calling token's name and scope: a cheap way to test a setup."""
    principal = request.user
    return ApiInfo(
        service="leadshelf", version=__version__, token=principal.name, scope=principal.scope
    )


@get(
    "/openapi.json",
    sync_to_thread=False,
    include_in_schema=False,
    media_type="application/vnd.oai.openapi+json",
    opt={"public_api": True},
)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI document of /api/v1 (public: integrators read it before they hold a token)."""
    return request.app.openapi_schema.to_schema()


def openapi_components() -> Components:
    """The bearer scheme every operation refers to."""
    return Components(
        security_schemes={
            BEARER_SCHEME: SecurityScheme(
                type="http",
                scheme="bearer",
                description="An API token from `leadshelf token add NAME [--scope read|write]` "
                "or Console → Staff & API tokens.",
            )
        }
    )


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[
            api_root,
            openapi_document,
            *api_leads.ROUTES,
            *api_events.ROUTES,
            *api_assets.ROUTES,
            *api_accounts.ROUTES,
            *api_email.ROUTES,
            *api_programs.ROUTES,
            *api_deals.ROUTES,
        ],
        middleware=[DefineMiddleware(ApiTokenMiddleware, exclude=[r"^/api/v1/openapi\.json$"])],
        guards=[api_scope, known_query_only],
        security=[{BEARER_SCHEME: []}],
    )
