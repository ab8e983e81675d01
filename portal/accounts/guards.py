"""Who is calling: staff sessions for /console, bearer tokens for /api/v1; and role guards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from portal import i18n, ratelimit
from portal.accounts import service
from portal.accounts.models import Role, TokenScope
from portal.accounts.service import StaffPrincipal, TokenPrincipal
from portal.console_words import role_label
from portal.db import Database

STAFF_COOKIE = "ls_staff"
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def _database(connection: ASGIConnection[Any, Any, Any, Any]) -> Database:
    database: Database = connection.app.state.db
    return database


class StaffSessionMiddleware(AbstractAuthenticationMiddleware):
    """Resolve the console session cookie to a ``StaffPrincipal`` (``request.user``), and make
    the console speak the staff member's language (else the site default), whatever the
    public portal's switch or the browser say."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = connection.cookies.get(STAFF_COOKIE)
        if not token:
            raise NotAuthorizedException("sign in to use the console")
        database = _database(connection)

        def lookup() -> StaffPrincipal | None:
            with database.read() as session:
                return service.principal_for_session(session, token)

        principal = await to_thread.run_sync(lookup)
        if principal is None:
            raise NotAuthorizedException("your session has ended; sign in again")
        # Set here, on the request's own context (not in the lookup's thread), so the guards,
        # the handler and its template all read it.
        settings = connection.app.state.settings
        i18n.choose(principal.language or settings.default_language, explicit=True)
        return AuthenticationResult(user=principal, auth=token)


class ApiTokenMiddleware(AbstractAuthenticationMiddleware):
    """Resolve ``Authorization: Bearer TOKEN`` to a ``TokenPrincipal`` (``request.user``) and
    count the call against the token's per-minute limit.

    The limit is a fixed window in the database (``portal.ratelimit``): the
    lookup already writes (``last_used_at``), the count costs one upsert more in
    the same transaction, and every worker process shares it.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("send Authorization: Bearer TOKEN")
        database = _database(connection)
        per_minute: int = connection.app.state.settings.api_per_minute

        def lookup() -> tuple[TokenPrincipal | None, ratelimit.Verdict | None]:
            with database.write() as session:
                principal = service.token_for(session, token.strip())
                if principal is None:
                    return None, None
                service.touch_token(session, principal.name)
                limit = ratelimit.Limit(per_minute, 60)
                return principal, ratelimit.hit(session, f"api:{principal.name}", limit)

        principal, verdict = await to_thread.run_sync(lookup)
        if principal is None or verdict is None:
            raise NotAuthorizedException("unknown or revoked API token")
        if not verdict.allowed:
            raise TooManyRequestsException(
                f"this token may make {per_minute} calls per minute; "
                f"try again in {verdict.retry_after} s",
                headers={"Retry-After": str(verdict.retry_after)},
            )
        return AuthenticationResult(user=principal, auth=token)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_scope(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Reading calls need a ``read`` token, anything else a ``write`` token (it implies read).

    Decided by the handler's HTTP methods, so a new POST route is protected without
    anyone remembering to mark it; public routes (the OpenAPI document) opt out.
    """
    if handler.opt.get("public_api"):
        return
    methods = set(getattr(handler, "http_methods", ())) or {"POST"}
    needed = TokenScope.READ if methods <= SAFE_METHODS else TokenScope.WRITE
    principal = connection.user
    if not isinstance(principal, TokenPrincipal) or not principal.scope.allows(needed):
        held = principal.scope.value if isinstance(principal, TokenPrincipal) else "none"
        raise PermissionDeniedException(
            f"this call needs a token with the {needed.value} scope; this token has {held}"
        )


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Let through signed-in staff, and anyone on routes marked ``exclude_from_auth`` (login)."""
    if handler.opt.get("exclude_from_auth"):
        return
    if not isinstance(connection.scope.get("user"), StaffPrincipal):
        raise NotAuthorizedException("sign in to use the console")


def _and(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c" in the current language."""
    if len(words) < 2:
        return "".join(words)
    return i18n.gettext("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def requires_role(*roles: Role) -> Guard:
    """A guard letting through the given roles; admins may use everything."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        staff_only(connection, handler)
        if connection.user.role not in allowed:
            names = [role_label(role) for role in sorted(allowed)]
            raise PermissionDeniedException(
                i18n.ngettext(
                    "This part of the console is for the %(roles)s role; "
                    "you are signed in as %(role)s.",
                    "This part of the console is for the %(roles)s roles; "
                    "you are signed in as %(role)s.",
                    len(names),
                    roles=_and(names),
                    role=role_label(connection.user.role),
                )
            )

    return guard
