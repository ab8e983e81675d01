"""Public pages prospects see, and the health check."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.response import File
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from portal.background import Runner
from portal.db import Database
from portal.resources import resource_path
from portal.routes.system import HealthCache

logger = logging.getLogger(__name__)


@get("/healthz", include_in_schema=False, sync_to_thread=True, cache_control=None)
def healthz(
    database: NamedDependency[Database],
    runner: NamedDependency[Runner],
    health: NamedDependency[HealthCache],
) -> Response[dict[str, Any]]:
    """200 while the database answers, with ``"status": "degraded"`` and the reasons when a
    background job keeps failing or falls behind; 503 only when the database does not answer
    (load balancers take the node out then, and only then)."""
    if not database.ping():
        return Response(
            {"status": "unavailable", "database": "not answering"},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    try:
        verdict = health.get(database, runner)
    except Exception:  # the verdict must not take a working node out of the balancer
        logger.exception("could not assess the background jobs")
        return Response(
            {"status": "degraded", "database": "ok", "reasons": ["job states unreadable"]},
            status_code=HTTP_200_OK,
        )
    return Response(verdict.document(), status_code=HTTP_200_OK)


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
