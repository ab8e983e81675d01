"""The visitor cookie: a random id, signed, set on the first public page a browser opens.

Crawlers get no visitor. The cookie is HttpOnly, SameSite=Lax, Secure under
https and lasts a year. Handlers read ``request.state.visitor`` and call
``rotate``/``forget`` on it; this middleware writes the cookie, so exactly one
place decides what the browser receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal import i18n
from portal.settings import Settings
from portal.signing import InvalidToken, Purpose, Signer
from tracking.identity.identify import browser_time_zone
from tracking.identity.visitors import is_crawler, new_visitor_id

VISITOR_COOKIE = "ls_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600


TIME_ZONE_COOKIE = "leadshelf_tz"
"""The browser's IANA time zone, written by ``static/js/timezone.js`` for the session: times
(a webinar's) are then shown in the reader's zone by the server, in the page's language."""

CONSENT_COOKIE = "ls_consent"
CONSENT_GRANTED = "granted"
CONSENT_DENIED = "denied"


@dataclass(slots=True)
class VisitorContext:
    """This request's browser: its visitor id, whether it may be tracked, and its cookie."""

    id: str | None
    is_new: bool = False
    crawler: bool = False
    tracking: bool = True
    """Behavioural events may be recorded (consent given or not needed, no DNT/GPC)."""
    ask_consent: bool = False
    """Opt-in mode and the visitor has not chosen yet: show the consent banner."""
    time_zone: str = ""
    """The browser's IANA zone (``TIME_ZONE_COOKIE``); "" while unknown (then times are UTC)."""
    _send_cookie: bool = False

    @property
    def zone(self) -> str:
        """The zone times are shown in for this browser."""
        return self.time_zone or "UTC"

    def moment_here(self, moment: datetime) -> str:
        """A moment as this reader writes it, in their zone with its name
        ("08.10.2026, 10:00 MESZ" on a German page in Berlin)."""
        return i18n.format_datetime(_aware(moment), self.zone)

    def day_here(self, moment: datetime) -> str:
        """The day of a moment in this reader's zone, as they write it ("08.10.2026")."""
        return i18n.format_date(_aware(moment).astimezone(ZoneInfo(self.zone)))

    def rotate(self, visitor_id: str) -> None:
        """The browser gets a new id (identification, "Not you?")."""
        self.id = visitor_id
        self._send_cookie = True

    def discard(self) -> None:
        """Do not hand a new id to this browser after all (e.g. a beacon without a page)."""
        if self.is_new:
            self.id = None
            self._send_cookie = False


def _aware(moment: datetime) -> datetime:
    # Stored moments are UTC; one read back naive (SQLite) is UTC too, never server-local time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def visitor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> VisitorContext:
    """The request's visitor (set by ``VisitorMiddleware``)."""
    context = connection.scope.get("state", {}).get("visitor")
    if isinstance(context, VisitorContext):
        return context
    return VisitorContext(id=None, crawler=True, tracking=False)


def privacy_signal(settings: Settings, headers: Mapping[str, str]) -> bool:
    """The browser sends Do-Not-Track or Global Privacy Control, and the operator respects it."""
    sent = headers.get("dnt") == "1" or headers.get("sec-gpc") == "1"
    return sent and settings.privacy_signals == "respect"


def may_track(settings: Settings, headers: Mapping[str, str], consent: str | None) -> bool:
    """Whether this browser's reading may be recorded, by the operator's privacy settings.

    A visitor who declined is never tracked, in either mode; in ``opt-in`` mode
    only one who accepted is.
    """
    if privacy_signal(settings, headers) or consent == CONSENT_DENIED:
        return False
    return settings.consent_mode == "notice" or consent == CONSENT_GRANTED


def read_visitor(
    signer: Signer, cookie: str | None, user_agent: str, *, tracking: bool = True
) -> VisitorContext:
    """Who this browser is: the id in its signed cookie, a new id, or none.

    Crawlers get none; so does a browser that may not be tracked and has no id
    yet (it gets one when it identifies itself on a gate form).
    """
    if is_crawler(user_agent):
        return VisitorContext(id=None, crawler=True, tracking=False)
    if cookie:
        visitor_id = _signed_visitor_id(signer, cookie)
        if visitor_id:
            return VisitorContext(id=visitor_id, tracking=tracking)
    if not tracking:
        return VisitorContext(id=None, tracking=False)
    return VisitorContext(id=new_visitor_id(), is_new=True, _send_cookie=True)


@lru_cache(maxsize=8192)
def _signed_visitor_id(signer: Signer, cookie: str) -> str | None:
    """The visitor id a cookie carries when its signature holds (it never expires, so the
    answer for one cookie never changes: a returning browser is checked once, not per page)."""
    try:
        visitor_id = signer.unsign(Purpose.VISITOR, cookie)
    except InvalidToken:
        return None
    return visitor_id if isinstance(visitor_id, str) and visitor_id else None


class VisitorMiddleware(ASGIMiddleware):
    """Attach the ``VisitorContext`` to public requests and send the cookie when it changes."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope["app"].state
        signer: Signer = state.signer
        settings: Settings = state.settings
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        consent = connection.cookies.get(CONSENT_COOKIE)
        context = read_visitor(
            signer,
            connection.cookies.get(VISITOR_COOKIE),
            connection.headers.get("user-agent", ""),
            tracking=may_track(settings, connection.headers, consent),
        )
        context.ask_consent = (
            settings.consent_mode == "opt-in"
            and consent not in (CONSENT_GRANTED, CONSENT_DENIED)
            and not context.crawler
            and not privacy_signal(settings, connection.headers)  # the answer is known already
        )
        context.time_zone = browser_time_zone(
            unquote(connection.cookies.get(TIME_ZONE_COOKIE) or "")
        )
        scope.setdefault("state", {})["visitor"] = context
        secure = settings.secure_cookies

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and context._send_cookie and context.id:
                cookie = Cookie(
                    key=VISITOR_COOKIE,
                    value=signer.sign(Purpose.VISITOR, context.id),
                    max_age=VISITOR_MAX_AGE,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=secure,
                )
                headers = MutableScopeHeaders.from_message(message)
                headers.add(*(part.decode("latin-1") for part in cookie.to_encoded_header()))
            await send(message)

        await next_app(scope, receive, send_with_cookie)
