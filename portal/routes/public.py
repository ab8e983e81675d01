"""Public pages prospects see, and the health check."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import CacheControlHeader, State
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from portal.db import Database
from portal.resources import resource_path


@get("/healthz", include_in_schema=False, sync_to_thread=True, cache_control=None)
def healthz(state: State) -> Response[dict[str, Any]]:
    """200 when the database answers, 503 otherwise (for load balancers and monitors)."""
    database: Database = state.db
    if database.ping():
        return Response({"status": "ok", "database": "ok"}, status_code=HTTP_200_OK)
    return Response(
        {"status": "unavailable", "database": "not answering"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
    )


@get(
    "/favicon.ico",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(public=True, max_age=24 * 3600),
)
def favicon() -> File:
    """The site icon where browsers and tools look for it without a link (pages link the SVG)."""
    return File(
        resource_path("static") / "favicon.ico",
        media_type="image/vnd.microsoft.icon",
        content_disposition_type="inline",
    )
