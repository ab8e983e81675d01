"""The language of each request (``portal.i18n`` holds the words and formats): the public
portal's switch and cookie, the asset's language, ``Accept-Language``, the site default."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal import i18n


def asked_for(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The language a ``?lang=`` switch asks for, when it names one of ours."""
    asked = (connection.query_params.get("lang") or "").strip().lower()
    return asked if asked in i18n.LANGUAGES else None


def choose_language(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Make the request speak its reader's language (see ``LanguageMiddleware``); returns
    what a ``?lang=`` switch asked for. Also for requests no route answers (their 404 page),
    which no route's middleware sees."""
    asked = asked_for(connection)
    kept = connection.cookies.get(i18n.LANGUAGE_COOKIE)
    if asked or kept in i18n.LANGUAGES:
        i18n.choose(asked or kept or "", explicit=True)
    else:
        settings = connection.scope["app"].state.settings
        accepted = i18n.from_accept_language(connection.headers.get("accept-language", ""))
        i18n.choose(accepted or settings.default_language)
    return asked


class LanguageMiddleware(ASGIMiddleware):
    """Set the request's language before anything renders: ``?lang=de|en`` (then kept in the
    ``leadshelf_lang`` cookie for a year), else that cookie, else ``Accept-Language``, else
    ``LEADSHELF_DEFAULT_LANGUAGE``. Only the first two are the reader's explicit choice; the
    others give way to the language of the asset a page shows (``i18n.prefer``). The console
    then speaks the staff member's language (``portal.accounts.guards``)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        asked = choose_language(connection)
        kept = connection.cookies.get(i18n.LANGUAGE_COOKIE)
        if asked is None or asked == kept:
            await next_app(scope, receive, send)
            return
        secure = scope["app"].state.settings.secure_cookies
        cookie = Cookie(
            key=i18n.LANGUAGE_COOKIE,
            value=asked,
            max_age=i18n.LANGUAGE_COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add(*(part.decode("latin-1") for part in cookie.to_encoded_header()))
            await send(message)

        await next_app(scope, receive, send_with_cookie)
