"""Who is calling: staff sessions for /console, bearer tokens for /api/v1; and role guards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from portal.accounts import service
from portal.accounts.models import Role
from portal.accounts.service import StaffPrincipal
from portal.db import Database

STAFF_COOKIE = "ls_staff"
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def _database(connection: ASGIConnection[Any, Any, Any, Any]) -> Database:
    database: Database = connection.app.state.db
    return database


class StaffSessionMiddleware(AbstractAuthenticationMiddleware):
    """Resolve the console session cookie to a ``StaffPrincipal`` (``request.user``)."""

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
        return AuthenticationResult(user=principal, auth=token)


class ApiTokenMiddleware(AbstractAuthenticationMiddleware):
    """Resolve ``Authorization: Bearer TOKEN`` to the token's name (``request.user``)."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("send Authorization: Bearer TOKEN")
        database = _database(connection)

        def lookup() -> str | None:
            with database.write() as session:
                name = service.token_name_for(session, token.strip())
                if name is not None:
                    service.touch_token(session, name)
                return name

        name = await to_thread.run_sync(lookup)
        if name is None:
            raise NotAuthorizedException("unknown or revoked API token")
        return AuthenticationResult(user=name, auth=token)


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Let through signed-in staff, and anyone on routes marked ``exclude_from_auth`` (login)."""
    if handler.opt.get("exclude_from_auth"):
        return
    if not isinstance(connection.scope.get("user"), StaffPrincipal):
        raise NotAuthorizedException("sign in to use the console")


def requires_role(*roles: Role) -> Guard:
    """A guard letting through the given roles; admins may use everything."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        staff_only(connection, handler)
        if connection.user.role not in allowed:
            raise PermissionDeniedException(
                f"this part of the console is for {', '.join(sorted(r.value for r in allowed))}"
            )

    return guard
