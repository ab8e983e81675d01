"""Every request's path and query string must be printable text (``content.printable``).

No slug, id or filter holds a control character or a lone surrogate, and PostgreSQL
cannot even compare a text with NUL in it: such a path names nothing (404), such a
query parameter is refused by name (400), before any handler queries the database.
A path segment longer than any file system allows a name (255 bytes) names nothing
either: a static file lookup would fail with an OS error instead of a 404.
The errors go through the app's error handlers (an HTML page, or JSON under /api).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from content.printable import unprintable

MAX_SEGMENT_BYTES = 255
"""No slug, id or file name is longer (NAME_MAX of the common file systems)."""


def url_refusal(path: str, query_string: bytes) -> HTTPException | None:
    """The error for a URL holding text that is not printable, or None for a good one."""
    if unprintable(path) or any(
        len(segment.encode("utf-8", "replace")) > MAX_SEGMENT_BYTES for segment in path.split("/")
    ):
        return NotFoundException()
    query = query_string.decode("utf-8", "replace")
    pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
    for name, value in pairs:
        problem = unprintable(name)
        if problem:
            return ValidationException(f"a query parameter name contains {problem}")
        # A tab or line break pasted into a search box is whitespace, as in any text area.
        problem = unprintable(value, multiline=True)
        if problem:
            return ValidationException(f"the query parameter {name!r} contains {problem}")
    return None


class PrintableUrlMiddleware(ASGIMiddleware):
    """Refuses a request whose path or query parameters are not printable (see module doc)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        refusal = url_refusal(scope["path"], scope.get("query_string", b""))
        if refusal is not None:
            raise refusal
        await next_app(scope, receive, send)
