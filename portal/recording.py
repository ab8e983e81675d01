"""Recording what visitors do, from the web layer: server-side events and the beacon's helpers."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from anyio import to_thread
from litestar.connection import ASGIConnection
from sqlalchemy import select

from content.catalog import live
from content.models import Asset
from portal.db import Database
from portal.visitor import visitor_of
from tracking.events import TrackedEvent
from tracking.pipeline.ingest import IngestError, Ingestor

logger = logging.getLogger("leadshelf")


def record_server_events(
    ingestor: Ingestor, connection: ASGIConnection[Any, Any, Any, Any], *events: TrackedEvent
) -> None:
    """Record events of this request's visitor, once committed; skipped when it is not tracked.

    A failure to record is logged, never shown: the reader still gets the page.
    """
    visitor = visitor_of(connection)
    if not visitor.tracking or not visitor.id:
        return
    stamped = [dataclasses.replace(event, visitor_id=visitor.id) for event in events]
    try:
        ingestor.record_sync(stamped)
    except (IngestError, TimeoutError):
        logger.exception("could not record %s", ", ".join(e.type.value for e in events))


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
