"""Public pages prospects see, and the health check."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from portal.db import Database


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
