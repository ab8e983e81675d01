"""Friendly error pages for people, JSON errors for the API, and the login redirect."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

logger = logging.getLogger("leadshelf")

API_PREFIX = "/api/"

_MESSAGES = {
    400: (
        "Something in that request was off",
        "Please go back, check what you entered and try again.",
    ),
    403: (
        "You can't open this page",
        "Your account does not have access to it. Ask an admin if you need it.",
    ),
    404: (
        "We couldn't find that page",
        "It may have moved or been retired. Try the library or a search.",
    ),
    405: ("That didn't work", "This page can't be used that way."),
    429: ("Slow down a little", "Too many requests from your side in a short time."),
    500: ("Something went wrong on our side", "We've logged it. Please try again in a moment."),
}


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """The API and the tracking beacon answer errors in JSON."""
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/t"


def error_page(
    request: Request[Any, Any, Any],
    status_code: int,
    *,
    title: str | None = None,
    message: Any = None,
    retry_after: int | None = None,
) -> Response[Any]:
    """The error page (HTML) or ``{"error", "detail"}`` (API) for a status code."""
    default_title, default_message = _MESSAGES.get(
        status_code, (HTTPStatus(status_code).phrase, "Please go back and try again.")
    )
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if wants_json(request):
        return Response(
            {"error": title or HTTPStatus(status_code).phrase, "detail": message},
            status_code=status_code,
            headers=headers,
        )
    return Template(
        "public/error.html",
        context={
            "status_code": status_code,
            "title": title or default_title,
            "message": message or default_message,
            "retry_after": retry_after,
        },
        status_code=status_code,
        headers=headers,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotAuthorizedException) and not wants_json(request):
        return login_redirect(request)
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else None
    retry = exc.headers.get("Retry-After") if exc.headers else None
    retry_after = int(retry) if retry else None
    if wants_json(request):
        # The refused parts (``extra``) say more than a generic "Validation failed for …".
        message = exc.extra or detail or None
        return error_page(request, exc.status_code, message=message, retry_after=retry_after)
    message = detail if exc.status_code in (400, 403, 429) and detail else None
    return error_page(request, exc.status_code, message=message, retry_after=retry_after)


def handle_server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def login_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send a signed-out visitor of the console to the login page, remembering where they were."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/console/login?next={quote(target, safe='/')}"
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=204, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)
