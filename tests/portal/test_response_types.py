"""Pages answer as HTML: no page handler labels what it renders as JSON.

A handler annotated ``-> Any`` gets Litestar's default media type, JSON, and a
``Template`` it returns is then sent as ``application/json``: the browser prints
the page source (the webhook secret page did).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler

JSON_PREFIXES = ("/api/", "/static/")
"""The API answers JSON; static files set their own type."""


def page_handlers(app: Litestar) -> list[tuple[str, HTTPRouteHandler]]:
    return [
        (route.path, handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler) and not route.path.startswith(JSON_PREFIXES)
    ]


def test_no_console_or_public_handler_is_labelled_json(app: Litestar) -> None:
    handlers = page_handlers(app)
    assert {"/console/webhooks/new", "/console/staff/tokens", "/library"} <= {
        p for p, _ in handlers
    }
    labelled_json = [
        f"{sorted(handler.http_methods)} {path} ({handler.handler_name})"
        for path, handler in handlers
        if handler.media_type in (MediaType.JSON, MediaType.JSON.value)
    ]
    assert labelled_json == []
