"""Recording what visitors do, from the web layer: server-side events and the beacon's helpers."""

from __future__ import annotations

import dataclasses
import logging
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from litestar.connection import ASGIConnection
from sqlalchemy import select

from content.catalog import live
from content.models import Asset
from portal.db import Database
from portal.settings import Settings
from portal.visitor import visitor_of
from tracking.events import AssetView, PageView, Search, TrackedEvent
from tracking.pipeline.group_commit import IngestError, Ingestor
from tracking.sources.arrivals import Arrival, arrival

logger = logging.getLogger("leadshelf")


def record_server_events(
    ingestor: Ingestor, connection: ASGIConnection[Any, Any, Any, Any], *events: TrackedEvent
) -> None:
    """Record events of this request's visitor, once committed; skipped when it is not tracked.

    A failure to record is logged, never shown: the reader still gets the page.
    """
    stamped = _stamped(connection, events)
    if not stamped:
        return
    try:
        ingestor.record_sync(stamped)
    except (IngestError, TimeoutError):
        logger.exception("could not record %s", ", ".join(e.type.value for e in events))


async def record_page_events(
    ingestor: Ingestor, connection: ASGIConnection[Any, Any, Any, Any], *events: TrackedEvent
) -> None:
    """``record_server_events`` for async handlers: the reply waits on the event loop for the
    commit of its events (no worker thread is held, so one commit serves many requests)."""
    stamped = _stamped(connection, events)
    if not stamped:
        return
    try:
        await ingestor.record(stamped)
    except IngestError:
        logger.exception("could not record %s", ", ".join(e.type.value for e in events))


def _stamped(
    connection: ASGIConnection[Any, Any, Any, Any], events: tuple[TrackedEvent, ...]
) -> list[TrackedEvent]:
    """The events with this request's visitor and, for pages, where it came from; none when
    the visitor is not tracked."""
    visitor = visitor_of(connection)
    if not visitor.tracking or not visitor.id:
        return []
    loaded = page_arrival(connection) if any(isinstance(e, PAGES) for e in events) else None
    return [
        dataclasses.replace(
            event, visitor_id=visitor.id, arrival=loaded if isinstance(event, PAGES) else None
        )
        for event in events
    ]


PAGES = (PageView, AssetView, Search)
"""The events of a page a browser loads: they carry where it came from (its visit's source)."""


def own_hosts(connection: ASGIConnection[Any, Any, Any, Any]) -> set[str]:
    """The portal's host names: this request's and the configured base URL's."""
    hosts = {connection.url.hostname or ""}
    settings = getattr(connection.app.state, "settings", None)
    if isinstance(settings, Settings):
        hosts.add(urlsplit(settings.base_url).hostname or "")
    return hosts - {""}


def page_arrival(connection: ASGIConnection[Any, Any, Any, Any]) -> Arrival | None:
    """Where the browser came from to this page: its address (UTM parameters, click ids) and
    ``Referer``. Only for pages loaded with GET (a form's POST is no arrival)."""
    if connection.scope.get("method") != "GET":
        return None
    url = connection.url
    page = f"{url.path}?{url.query}" if url.query else url.path
    hosts = frozenset(own_hosts(connection))
    return _arrival(page, connection.headers.get("referer"), hosts)


@lru_cache(maxsize=4096)
def _arrival(page: str, referer: str | None, hosts: frozenset[str]) -> Arrival:
    """``arrival`` remembered: many browsers open the same page from the same place."""
    return arrival(page, referer, hosts)


class AssetIds:
    """Live asset ids by slug, cached in memory for the beacon (misses ask the database)."""

    def __init__(self, database: Database, ttl: float = 60.0) -> None:
        self.database = database
        self.ttl = ttl
        self._ids: dict[str, tuple[int | None, float]] = {}

    def load(self, slug: str) -> int | None:
        with self.database.read() as session:
            asset_id = session.scalar(select(Asset.id).where(Asset.slug == slug, live()))
        if len(self._ids) > 50_000:
            self._ids.clear()
        self._ids[slug] = (asset_id, time.monotonic())
        return asset_id

    async def resolve(self, slug: str) -> int | None:
        """The id of the live asset with this slug, or None."""
        cached = self._ids.get(slug)
        if cached is not None and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        return await to_thread.run_sync(self.load, slug)
