"""What every /api/v1 route shares: the error shape, its documented responses, cursors."""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter

MAX_PAGE = 200
MAX_ROW_ID = 2**31 - 1
"""Leads and assets have 32-bit ids (PostgreSQL ``integer``); anything larger names nothing."""

LeadId = Annotated[int, Parameter(description="A lead's `id` (no lead: 404).")]


def in_row_range(row_id: int) -> bool:
    """Whether an id could name a lead or an asset (outside the range: a 404, not a crash)."""
    return 0 < row_id <= MAX_ROW_ID


Cursor = Annotated[
    str | None,
    QueryParameter(
        description="`next_cursor` of the previous page; leave out for the first page. "
        "Cursors are opaque and stay valid while items are added."
    ),
]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_PAGE, description=f"Items per page (1 to {MAX_PAGE}).")
]


class ErrorRead(msgspec.Struct):
    """Every error of the API: a short title (the HTTP reason) and what went wrong."""

    error: str
    detail: Any
    """A sentence, or for refused input an object naming each bad part."""


_WHY = {
    400: "A parameter or the body is malformed or invalid; `detail` says which and why.",
    401: "No bearer token, or an unknown or revoked one.",
    403: "The token's scope does not allow this call.",
    404: "There is no such object.",
    409: "The change is not allowed from the object's current state.",
    422: "Well-formed but refused content; `detail` names each refused part and why.",
    429: "Over the token's per-minute limit; retry after `Retry-After` seconds.",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The documented error answers of a route (400, 401, 403 and 429 apply to every call)."""
    every = {400, 401, 403, 429, *codes}
    return {
        code: ResponseSpec(
            data_container=ErrorRead,
            description=f"{HTTPStatus(code).phrase}: {_WHY[code]}",
            generate_examples=False,
        )
        for code in sorted(every)
    }


_NOT_QUERY = frozenset({"state", "request", "data", "headers", "cookies", "scope"})
"""Handler parameters Litestar fills from the connection, never from the query string."""


def known_query_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Refuse query parameters a call does not take, or given twice (a guard on the API router).

    A misspelt filter (``?lifecyle=sql``) would otherwise be ignored silently and
    answer with every lead; a 400 naming it is kinder to the integrator.
    """
    injected = handler.resolve_dependencies()  # the database, the model…: not query parameters
    taken = set(handler.parsed_fn_signature.parameters) - _NOT_QUERY - injected.keys()
    given = [key for key, _ in connection.query_params.multi_items()]
    repeated = sorted({key for key in given if given.count(key) > 1})
    if repeated:
        raise ValidationException(f"give the query parameter {repeated[0]!r} once")
    unknown = sorted(set(given) - taken)
    if unknown:
        accepted = ", ".join(sorted(taken)) or "none"
        raise ValidationException(
            f"unknown query parameter {unknown[0]!r}; this call takes: {accepted}"
        )


def encode_cursor(last_id: int) -> str:
    """An opaque cursor: the id of the last item of the page (items are ordered by id)."""
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def decode_cursor(value: str | None) -> int:
    """The id after which the next page starts (0: from the beginning); 422 when forged."""
    if not value:
        return 0
    try:
        last_id = int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        last_id = 0
    if not in_row_range(last_id):
        raise ValidationException("cursor is not valid; start again without one")
    return last_id
