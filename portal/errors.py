"""Friendly error pages for people, JSON errors for the API, and the login redirect."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from content.words import N_
from portal import i18n
from portal.accounts.service import StaffPrincipal
from portal.console_nav import nav_for
from portal.language import choose_language

logger = logging.getLogger("leadshelf")

API_PREFIX = "/api/"
CONSOLE_PREFIX = "/console"

_MESSAGES = {
    400: (
        N_("Something in that request was off"),
        N_("Please go back, check what you entered and try again."),
    ),
    403: (
        N_("You can't open this page"),
        N_("Your account does not have access to it. Ask an admin if you need it."),
    ),
    404: (
        N_("We couldn't find that page"),
        N_("It may have moved or been retired. Try the library or a search."),
    ),
    405: (N_("That didn't work"), N_("This page can't be used that way.")),
    429: (N_("Slow down a little"), N_("Too many requests from your side in a short time.")),
    500: (
        N_("Something went wrong on our side"),
        N_("We've logged it. Please try again in a moment."),
    ),
}
"""Each status's title and message (marked; said in the reader's language when shown)."""

OTHER_ERROR = N_("Please go back and try again.")


_CONSOLE_MESSAGES = {
    404: (
        N_("We couldn't find that page"),
        N_("What you were looking for may have been deleted, merged into another lead or erased."),
    ),
}
"""Where the console's own words differ from the public pages' ("try the library")."""


def _words(status_code: int, own: dict[int, tuple[str, str]] | None = None) -> tuple[str, str]:
    """The title and message for a status, in the reader's language (a status without words
    of its own: its HTTP phrase, which stays English)."""
    title, message = (own or {}).get(status_code) or _MESSAGES.get(
        status_code, (HTTPStatus(status_code).phrase, OTHER_ERROR)
    )
    return i18n.gettext(title), i18n.gettext(message)


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """The API and the tracking beacon answer errors in JSON."""
    return request.url.path.startswith(API_PREFIX) or request.url.path == "/t"


def _as_sentence(message: Any) -> Any:
    """A detail written for the API ("the query parameter 'topic' contains …") begun as a
    sentence on a page."""
    if not isinstance(message, str) or not message:
        return message
    return message[0].upper() + message[1:]


def error_page(
    request: Request[Any, Any, Any],
    status_code: int,
    *,
    title: str | None = None,
    message: Any = None,
    retry_after: int | None = None,
) -> Response[Any]:
    """The error page (HTML) or ``{"error", "detail"}`` (API) for a status code."""
    default_title, default_message = _words(status_code)
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
            "message": _as_sentence(message) or default_message,
            "retry_after": retry_after,
        },
        status_code=status_code,
        headers=headers,
    )


def console_error_page(
    request: Request[Any, Any, Any], staff: StaffPrincipal, status_code: int, message: Any
) -> Response[Any]:
    """An error met inside the console, shown inside it: the menu the role may use and
    links to those sections, so nobody lands on a public-looking page with no way back."""
    title, default_message = _words(status_code, _CONSOLE_MESSAGES)
    return Template(
        "console/error.html",
        context={
            "staff": staff,
            # A refused section is not in the role's menu: mark none rather than Overview.
            "nav": nav_for(staff.role, "" if status_code == 403 else request.url.path),
            "status_code": status_code,
            "title": title,
            "message": _as_sentence(message) or default_message,
        },
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def _console_staff(request: Request[Any, Any, Any]) -> StaffPrincipal | None:
    """The signed-in staff member when the request is a console page, else None."""
    if not request.url.path.startswith(CONSOLE_PREFIX):
        return None
    user = request.scope.get("user")
    return user if isinstance(user, StaffPrincipal) else None


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if "route_handler" not in request.scope:
        choose_language(request)  # no route answered: no route's middleware chose it
    if exc.status_code == 500:
        # The framework's own 500s (a handler it cannot call, a template it cannot find) are
        # ours to fix: logged like any unhandled error, never silent.
        logger.error("%s on %s %s: %s", exc.status_code, request.method, request.url.path, exc,
                     exc_info=exc)  # fmt: skip
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
    staff = _console_staff(request)
    if staff is not None and exc.status_code < 500 and not retry_after:
        return console_error_page(request, staff, exc.status_code, message)
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
