"""The staff console: sign-in, sign-out, the role-aware shell, the staff page and each staff
member's own profile (the console's language)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from content.printable import unprintable
from portal import i18n
from portal.accounts import service
from portal.accounts.guards import STAFF_COOKIE, requires_role, staff_only
from portal.accounts.models import StaffUser, TokenScope
from portal.accounts.service import AccountError, StaffPrincipal, Throttled
from portal.console_nav import ALL_ROLES, STAFF, nav_for
from portal.db import Database
from portal.settings import Settings
from portal.web import client_ip, safe_next

CSRF_COOKIE = "csrftoken"
PUBLIC = {"exclude_from_auth": True}
FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)
"""A console form's body: ``data: Annotated[SomeForm, FormBody]`` parses it into the Struct.

Form Structs type every field as text with a default: a missing field is empty, and what the
user typed is checked by the handler, which shows the form again with a message."""


class TokenForm(msgspec.Struct, kw_only=True):
    """The staff page's form for a new API token."""

    name: str = ""
    scope: str = TokenScope.READ.value


class LanguageForm(msgspec.Struct, kw_only=True):
    """The console's language of a staff member: ``en``, ``de``, or "" for the site default."""

    language: str = ""


class LoginForm(msgspec.Struct, kw_only=True):
    """The console sign-in form."""

    email: str = ""
    password: str = ""
    next: str = ""
    """Where to go once signed in (only a path on this site is followed)."""


def console_page(
    request: Request[StaffPrincipal, Any, Any], template: str, **context: Any
) -> Template:
    """Render a console page inside the shell with the menu the signed-in role may use.

    Always HTML, whatever the handler's annotation would make Litestar assume (JSON).
    """
    staff = request.user
    return Template(
        template,
        context={"staff": staff, "nav": nav_for(staff.role, request.url.path), **context},
        media_type=MediaType.HTML,
    )


class ConsoleController(Controller):
    """Routes under /console. Every route needs a signed-in staff member unless marked PUBLIC."""

    path = "/console"
    guards = [staff_only]
    include_in_schema = False

    @get("/login", opt=PUBLIC, sync_to_thread=True)
    def login_page(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        next: FromQuery[str] = "",
    ) -> Response[Any]:
        token = request.cookies.get(STAFF_COOKIE)
        if token:
            with database.read() as session:
                if service.principal_for_session(session, token) is not None:
                    return Redirect(safe_next(next), status_code=303)
        notice = (
            i18n.gettext("You have signed out.") if request.query_params.get("signed_out") else None
        )
        return Template(
            "console/login.html",
            context={"error": None, "notice": notice, "email": "", "next": safe_next(next)},
        )

    @post("/login", opt=PUBLIC, sync_to_thread=True)
    def login(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        data: Annotated[LoginForm, FormBody],
    ) -> Response[Any]:
        target = safe_next(data.next)
        if problem := unprintable(data.email):  # no such address, and PostgreSQL cannot hold it
            return _login_failed(
                data, i18n.gettext("The email contains %(problem)s.", problem=problem), 400
            )
        # The attempt is counted and recorded under the sign-in lock, which its commit
        # releases; the password is checked after it (see service.authenticate).
        with database.write() as session:
            attempt = service.record_attempt(session, data.email, client_ip(request))
        if isinstance(attempt, Throttled):
            minutes = -(-attempt.retry_after // 60)
            return _login_failed(
                data,
                i18n.ngettext(
                    "Too many sign-in attempts. Try again in %(num)s minute.",
                    "Too many sign-in attempts. Try again in %(num)s minutes.",
                    minutes,
                ),
                429,
                headers={"Retry-After": str(attempt.retry_after)},
            )
        incorrect = i18n.gettext("Email or password is incorrect.")
        if not service.password_matches(attempt, data.password):
            return _login_failed(data, incorrect, 401)
        with database.write() as session:
            user = service.mark_succeeded(session, attempt, data.password)
            if user is None:
                return _login_failed(data, incorrect, 401)
            token = service.start_session(
                session,
                user,
                replaces=request.cookies.get(STAFF_COOKIE),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        response: Response[Any] = Redirect(target, status_code=303)
        response.set_cookie(
            STAFF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=int(service.SESSION_LIFETIME.total_seconds()),
            path="/",
        )
        # A fresh CSRF token for the new session (the middleware issues one on the next page).
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @post("/logout", sync_to_thread=True)
    def logout(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Response[Any]:
        with database.write() as session:
            service.end_session(session, request.auth)
        response: Response[Any] = Redirect("/console/login?signed_out=1", status_code=303)
        response.delete_cookie(STAFF_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @get("/", sync_to_thread=False)
    def overview(self, request: Request[StaffPrincipal, Any, Any]) -> Template:
        return console_page(request, "console/overview.html")

    @get("/profile", guards=[requires_role(*ALL_ROLES)], sync_to_thread=False)
    def profile(self, request: Request[StaffPrincipal, Any, Any]) -> Template:
        """The signed-in staff member's own settings: the console's language."""
        saved = i18n.gettext("Saved.") if request.query_params.get("saved") else None
        return _profile_page(request, request.user.language, notice=saved)

    @post("/profile", guards=[requires_role(*ALL_ROLES)], sync_to_thread=True, status_code=200)
    def save_profile(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        data: Annotated[LanguageForm, FormBody],
    ) -> Response[Any]:
        """Set one's own console language; the next page (this one again) speaks it."""
        try:
            with database.write() as session:
                service.set_language(session, request.user.id, data.language)
        except AccountError as refused:
            page = _profile_page(request, data.language, problem=i18n.say(refused.said))
            page.status_code = 422
            return page
        return Redirect("/console/profile?saved=1", status_code=303)

    @get("/staff", guards=[requires_role(*STAFF.roles)], sync_to_thread=True)
    def staff(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Template:
        changed = request.query_params.get("language_set", "")
        return _staff_page(request, database, language_set=changed)

    @post(
        "/staff/{user_id:int}/language",
        guards=[requires_role(*STAFF.roles)],
        sync_to_thread=True,
        status_code=200,
    )
    def set_staff_language(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        user_id: FromPath[int],
        data: Annotated[LanguageForm, FormBody],
    ) -> Response[Any]:
        """An admin sets the console language of a staff member (a new colleague, say)."""
        try:
            with database.write() as session:
                user = session.get(StaffUser, user_id) if 0 < user_id < 2**31 else None
                if user is None:
                    raise NotFoundException(f"no staff user {user_id}")
                service.set_language(session, user.id, data.language)
                email = user.email
        except AccountError as refused:
            page = _staff_page(request, database, language_error=(user_id, i18n.say(refused.said)))
            page.status_code = 422
            return page
        return Redirect(f"/console/staff?{urlencode({'language_set': email})}", status_code=303)

    @post(
        "/staff/tokens", guards=[requires_role(*STAFF.roles)], sync_to_thread=True, status_code=200
    )
    def add_token(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        data: Annotated[TokenForm, FormBody],
    ) -> Template:
        """Create an API token with a scope; the page shows it once (it is stored hashed)."""
        try:
            with database.write() as session:
                created = service.create_token(session, data.name, data.scope)
        except AccountError as refused:
            page = _staff_page(request, database, form=data, token_error=i18n.say(refused.said))
            page.status_code = 422
            return page
        return _staff_page(request, database, created=(data.name.strip(), data.scope, created))


def _staff_page(
    request: Request[StaffPrincipal, Any, Any], database: Database, **context: Any
) -> Template:
    with database.read() as session:
        users = service.list_users(session)
        tokens = service.list_tokens(session)
    context.setdefault("form", TokenForm())
    return console_page(
        request,
        "console/staff.html",
        users=users,
        tokens=tokens,
        scopes=[scope.value for scope in TokenScope],
        languages=i18n.LANGUAGES,
        site_language=request.app.state.settings.default_language,
        **context,
    )


def _profile_page(
    request: Request[StaffPrincipal, Any, Any], chosen: str, **context: Any
) -> Template:
    return console_page(
        request,
        "console/profile.html",
        chosen=chosen,
        languages=i18n.LANGUAGES,
        site_language=request.app.state.settings.default_language,
        **{"notice": None, "problem": None, **context},
    )


def _login_failed(
    data: LoginForm, error: str, status_code: int, headers: dict[str, str] | None = None
) -> Template:
    return Template(
        "console/login.html",
        context={"error": error, "notice": None, "email": data.email, "next": safe_next(data.next)},
        status_code=status_code,
        headers=headers or {},
    )
