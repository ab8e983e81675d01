"""Public pages rendered once per content version and served as bytes (issue 19 §2).

Home, the library and asset pages are the same for every browser of one
language, time zone and tracking choice: what is personal ("Recommended for
you", "Read next", the gate form, an unlock) is a fragment the page loads
after itself with htmx, or, for an unlocked asset or a notice, a page of its
own that is never shared. So the shared bytes are rendered once per content
version and reused until the content changes (or ``ttl`` passes: signed open
download links and "is this webinar past" age), and a cached page costs no
database work, only the commit of its view.

The content version lives in memory: a change committed in this process marks
it stale at once (every session's commit that appended to the content change
log, ``watch_content_changes``); one made by another process (a second worker,
``leadshelf import``, another node) is seen within ``max_age`` seconds, as the
search index of each node follows the change log on its job's tick.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from html import escape
from typing import Any, TypeVar, cast

from anyio import to_thread
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.utils.scope.state import ScopeState
from sqlalchemy import event
from sqlalchemy.orm import Session

from content.catalog import content_version
from content.models import ContentChange
from portal import i18n
from portal.db import Database
from portal.visitor import visitor_of

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SharedPage:
    """A page's bytes and the facts its view is recorded with (asset id, search total …)."""

    body: bytes
    facts: dict[str, Any] = field(default_factory=dict)


class PageCache:
    """Shared page bytes by key, valid for one content version and at most ``ttl`` seconds."""

    def __init__(
        self, database: Database, size: int = 1024, ttl: float = 300.0, max_age: float = 1.0
    ) -> None:
        self.database = database
        self.size = size
        self.ttl = ttl
        self.max_age = max_age
        self._entries: OrderedDict[Hashable, tuple[int, float, SharedPage]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = -1
        self._checked = float("-inf")
        self._stale = True
        self._flights: dict[tuple[Hashable, int], asyncio.Future[SharedPage | None]] = {}
        self._values: dict[Hashable, tuple[int, Any]] = {}
        watch_content_changes(self)

    def mark_stale(self) -> None:
        """The content changed (in this process): read the version again before the next page."""
        self._stale = True

    def _read_version(self) -> int:
        with self.database.read() as session:
            return content_version(session)

    async def version(self) -> int:
        """The content version, read again when marked stale or older than ``max_age``."""
        now = time.monotonic()
        if self._stale or now - self._checked > self.max_age:
            self._stale = False
            self._checked = now
            self._version = await to_thread.run_sync(self._read_version)
        return self._version

    async def shared(
        self, key: Hashable, version: int, build: Callable[[], SharedPage | Response[Any]]
    ) -> SharedPage | Response[Any]:
        """The page for ``key`` at ``version``: cached, else built once (in a worker thread)
        however many requests ask for it meanwhile (the moment after a content change), and
        kept. What is no shared page (a redirect, a 404) is built by each request itself."""
        page = self.get(key, version)
        if page is not None:
            return page
        flight = self._flights.get((key, version))
        if flight is not None:
            built = await asyncio.shield(flight)
            if built is not None:
                return built
            return await to_thread.run_sync(build)
        flight = asyncio.get_running_loop().create_future()
        self._flights[(key, version)] = flight
        outcome: SharedPage | Response[Any] | None = None
        try:
            outcome = await to_thread.run_sync(build)
            if isinstance(outcome, SharedPage):
                self.put(key, version, outcome)
        finally:
            del self._flights[(key, version)]
            # The waiters build their own when this one failed or is no page to share.
            flight.set_result(outcome if isinstance(outcome, SharedPage) else None)
        return outcome

    def remembered(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s value for ``key`` while the content version (as last read) holds:
        what a personal fragment shares with every browser (its asset, its related list).
        Called in a worker thread (it may read the version, as ``version`` does)."""
        now = time.monotonic()
        if self._stale or now - self._checked > self.max_age:
            self._stale = False
            self._checked = now
            self._version = self._read_version()
        version = self._version
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] == version:
            return cast("T", found[1])
        value = compute()
        with self._lock:
            self._values[key] = (version, value)
            while len(self._values) > self.size:
                self._values.pop(next(iter(self._values)))
        return value

    def get(self, key: Hashable, version: int) -> SharedPage | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version or time.monotonic() - entry[1] > self.ttl:
                return None
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, key: Hashable, version: int, page: SharedPage) -> None:
        with self._lock:
            self._entries[key] = (version, time.monotonic(), page)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._values.clear()


_WATCHERS: weakref.WeakSet[PageCache] = weakref.WeakSet()
_WATCHING = threading.Lock()


def watch_content_changes(cache: PageCache) -> None:
    """Mark ``cache`` stale whenever a session of this process commits a content change."""
    with _WATCHING:
        if not _WATCHERS and not event.contains(Session, "after_flush", _noted_changes):
            event.listen(Session, "after_flush", _noted_changes)
            event.listen(Session, "after_commit", _committed)
            event.listen(Session, "after_rollback", _rolled_back)
        _WATCHERS.add(cache)


def _noted_changes(session: Session, _context: object) -> None:
    if any(isinstance(added, ContentChange) for added in session.new):
        session.info["content_changed"] = True


def _committed(session: Session) -> None:
    if session.info.pop("content_changed", False):
        for cache in list(_WATCHERS):
            cache.mark_stale()


def _rolled_back(session: Session) -> None:
    session.info.pop("content_changed", None)


async def shared_page(
    request: Request[Any, Any, Any],
    cache: PageCache,
    name: str,
    build: Callable[[bool], SharedPage | Response[Any]],
) -> SharedPage | Response[Any]:
    """The page's shared bytes: cached for this content version, else built once (in a worker
    thread, ``build(shared=True)``) and kept; built for this browser alone when it must not
    be shared. A page that is not there (a redirect, a 404) comes back as its response."""
    key = shared_key(request, name)
    if key is None:
        return await to_thread.run_sync(build, False)
    version = await cache.version()
    return await cache.shared(key, version, partial(build, True))


def shared_key(request: Request[Any, Any, Any], name: str) -> Hashable | None:
    """The key of this request's shared page, or None when the page must be rendered for this
    browser alone (the consent banner carries its own CSRF token).

    Everything the shared page's bytes depend on besides the content: the address (the
    language switch and the footer link back to it), the reader's language and whether they
    chose it (an asset's language gives way to a choice), their time zone (webinar times),
    whether they are tracked (the beacon script) and whether they have an id at all (then the
    personal parts load as fragments; without one the non-personal lists are in the page).
    """
    visitor = visitor_of(request)
    if visitor.ask_consent:
        return None
    url = request.url
    return (
        name,
        url.path,
        url.query,
        i18n.current(),
        i18n.is_explicit(),
        visitor.zone,
        visitor.tracking,
        visitor.id is None,
    )


def render(
    request: Request[Any, Any, Any], template_name: str, context: dict[str, Any], *, shared: bool
) -> bytes:
    """A page's bytes as Litestar's ``Template`` response renders them; a ``shared`` page gets
    no CSRF token (it is never this browser's to hand to another)."""
    engine = request.app.template_engine
    assert engine is not None
    token = ScopeState.from_scope(request.scope).csrf_token
    value = escape(token) if isinstance(token, str) and not shared else ""
    csrf_input = "" if shared else f'<input type="hidden" name="_csrf_token" value="{value}" />'
    text: str = engine.get_template(template_name).render(
        **context, request=request, csrf_input=csrf_input
    )
    return text.encode()


def html(body: bytes, headers: dict[str, str], status_code: int = 200) -> Response[bytes]:
    return Response(body, media_type=MediaType.HTML, headers=headers, status_code=status_code)
