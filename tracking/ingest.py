"""Group-committed ingestion: many requests' events share one transaction, none is lost.

One writer thread drains a queue. A batch closes when it holds ``max_batch``
events or ``max_wait`` seconds after its first event arrived; it is written in
one transaction (events, per visitor-and-asset aggregates, and whatever the
``on_batch`` hooks add), and only then is every request of the batch answered.
So an acknowledged event is a committed event, and SQLite's single writer
never waits on itself. If a batch fails, its requests are retried one by one,
so one bad event fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from content.orm import dialect_insert, utcnow
from tracking.events import EventType, TrackedEvent, event_row
from tracking.models import AssetEngagement, Event, Visitor

logger = logging.getLogger("leadshelf.ingest")
EVENT_TABLE: Table = Event.__table__  # type: ignore[assignment]
ENGAGEMENT_TABLE: Table = AssetEngagement.__table__  # type: ignore[assignment]

BatchHook = Callable[[Session, Sequence[dict[str, Any]]], None]
"""Called inside the batch transaction with the stored event rows (e.g. lead scoring)."""


class WriteSessions(Protocol):
    """What ingestion needs of the database: a context manager of write transactions."""

    def write(self) -> Any: ...


@dataclass(slots=True)
class _Request:
    events: Sequence[TrackedEvent]
    future: Future[int] = field(default_factory=Future)


class Ingestor:
    """The group-commit writer. ``start()`` it once per process; ``record*`` from anywhere."""

    def __init__(
        self,
        database: WriteSessions,
        *,
        max_batch: int = 1000,
        max_wait: float = 0.0,
        on_batch: Iterable[BatchHook] = (),
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.on_batch = list(on_batch)
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self.batches = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._thread = threading.Thread(target=self._run, name="leadshelf-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def submit(self, events: Sequence[TrackedEvent]) -> Future[int]:
        """Queue events; the future resolves to how many were stored once they are committed."""
        request = _Request(events)
        if not events:
            request.future.set_result(0)
        elif not self.running:
            # No writer thread (a CLI command, a test without the app): write right here.
            self._write([request])
        else:
            self._queue.put(request)
        return request.future

    async def record(self, events: Sequence[TrackedEvent]) -> int:
        """Store events and return once they are committed (for async handlers)."""
        return await asyncio.wrap_future(self.submit(events))

    def record_sync(self, events: Sequence[TrackedEvent], timeout: float = 30.0) -> int:
        """Store events and return once they are committed (for sync handlers and tools)."""
        return self.submit(events).result(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._collect(first)
            self._write(batch)

    def _collect(self, first: _Request) -> tuple[list[_Request], bool]:
        """The batch starting with ``first``: closed by size or ``max_wait`` (or a stop)."""
        batch = [first]
        size = len(first.events)
        deadline = time.monotonic() + self.max_wait
        while size < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item.events)
        return batch, False

    def _write(self, batch: list[_Request]) -> None:
        try:
            counts = self._commit(batch)
        except Exception:
            if len(batch) == 1:
                logger.exception("could not store %d event(s)", len(batch[0].events))
                batch[0].future.set_exception(IngestError("the event could not be stored"))
                return
            for request in batch:
                self._write([request])
            return
        for request, count in zip(batch, counts, strict=True):
            request.future.set_result(count)

    def _commit(self, batch: list[_Request]) -> list[int]:
        with self.database.write() as session:
            counts = store(session, [r.events for r in batch], self.on_batch)
        self.batches += 1
        return counts


class IngestError(RuntimeError):
    """The events could not be stored (logged with the cause)."""


def store(
    session: Session,
    groups: Sequence[Sequence[TrackedEvent]],
    hooks: Iterable[BatchHook] = (),
    now: datetime | None = None,
) -> list[int]:
    """Store groups of events in the caller's transaction; returns how many of each were new.

    Resent events (an ``uid`` already stored, or twice in the batch) are skipped.
    Visitors are created on first sight and events take their visitor's lead.
    """
    now = now or utcnow()
    seen = _stored_uids(session, [e.uid for group in groups for e in group if e.uid])
    rows: list[dict[str, Any]] = []
    counts = []
    for group in groups:
        fresh = [event_row(e, now) for e in group if not (e.uid and e.uid in seen)]
        seen.update(row["uid"] for row in fresh if row["uid"])
        rows.extend(fresh)
        counts.append(len(fresh))
    if not rows:
        return counts
    _attach_leads(session, rows, now)
    # Core statements (not the ORM's bulk path): the hot path of every event.
    session.execute(EVENT_TABLE.insert(), rows)
    _update_engagement(session, rows)
    for hook in hooks:
        hook(session, rows)
    return counts


def record(session: Session, events: Sequence[TrackedEvent], now: datetime | None = None) -> int:
    """Store one group of events in the caller's transaction; returns how many were new."""
    return store(session, [events], now=now)[0]


def _stored_uids(session: Session, uids: list[str | None]) -> set[str]:
    wanted = {uid for uid in uids if uid}
    if not wanted:
        return set()
    return set(session.scalars(select(Event.uid).where(Event.uid.in_(wanted))))


def _attach_leads(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """Create unseen visitors and give anonymous rows their visitor's lead, if it has one."""
    visitor_ids = {row["visitor_id"] for row in rows if row["visitor_id"]}
    if not visitor_ids:
        return
    session.execute(
        dialect_insert(session)(Visitor)
        .values([{"id": v, "created_at": now} for v in sorted(visitor_ids)])
        .on_conflict_do_nothing(index_elements=[Visitor.id])
    )
    leads = dict(
        session.execute(
            select(Visitor.id, Visitor.lead_id).where(
                Visitor.id.in_(visitor_ids), Visitor.lead_id.is_not(None)
            )
        ).all()
    )
    for row in rows:
        if row["lead_id"] is None and row["visitor_id"] in leads:
            row["lead_id"] = leads[row["visitor_id"]]


@dataclass(slots=True)
class _Delta:
    lead_id: int | None
    first_at: datetime
    last_at: datetime
    seconds: float = 0.0
    depth: float = 0.0
    views: int = 0
    downloads: int = 0


def _engagement_deltas(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int], _Delta]:
    deltas: dict[tuple[str, int], _Delta] = {}
    for row in rows:
        if row["asset_id"] is None or not row["visitor_id"]:
            continue
        at = row["occurred_at"]
        delta = deltas.setdefault(
            (row["visitor_id"], row["asset_id"]), _Delta(row["lead_id"], at, at)
        )
        delta.first_at, delta.last_at = min(delta.first_at, at), max(delta.last_at, at)
        delta.lead_id = delta.lead_id or row["lead_id"]
        delta.seconds += row["seconds"] or 0.0
        delta.depth = max(delta.depth, row["depth"] or 0.0)
        delta.views += row["type"] == EventType.ASSET_VIEW.value
        delta.downloads += row["type"] == EventType.DOWNLOAD.value
    return deltas


def _update_engagement(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Fold the batch into the visitor-and-asset aggregates: one upsert per pair."""
    deltas = _engagement_deltas(rows)
    if not deltas:
        return
    greatest, least = (
        (func.max, func.min)
        if session.get_bind().dialect.name == "sqlite"
        else (func.greatest, func.least)
    )
    table = ENGAGEMENT_TABLE
    statement = dialect_insert(session)(table)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.visitor_id, table.c.asset_id],
        set_={
            "lead_id": func.coalesce(table.c.lead_id, excluded.lead_id),
            "engaged_seconds": table.c.engaged_seconds + excluded.engaged_seconds,
            "max_depth": greatest(table.c.max_depth, excluded.max_depth),
            "views": table.c.views + excluded.views,
            "downloads": table.c.downloads + excluded.downloads,
            "first_at": least(table.c.first_at, excluded.first_at),
            "last_at": greatest(table.c.last_at, excluded.last_at),
        },
    )
    session.execute(
        statement,
        [
            {
                "visitor_id": visitor_id,
                "asset_id": asset_id,
                "lead_id": d.lead_id,
                "engaged_seconds": d.seconds,
                "max_depth": d.depth,
                "views": d.views,
                "downloads": d.downloads,
                "first_at": d.first_at,
                "last_at": d.last_at,
            }
            for (visitor_id, asset_id), d in sorted(deltas.items())
        ],
    )
