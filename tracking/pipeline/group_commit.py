"""Group commit: many requests' events share one transaction, none is lost.

One writer job (``Ingestor.write_pending``, run back to back by the background
runner) drains a queue. A batch takes every request that queued while
the previous batch was committing (up to ``max_batch`` events; ``max_wait``
can hold a batch open longer), so batches grow with load and an idle server
adds no wait. Under load (the last batch held several requests) a batch also stays open
``gather`` seconds (2 ms) for the requests still arriving: a commit's fixed cost is
shared by more of them. The batch is written in one transaction by
``tracking.pipeline.ingest.store``, and only then is every request of the batch answered.
So an acknowledged event is a committed event, and SQLite's single writer never waits on
itself. If a batch fails, its requests are retried one by one, so one bad event fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Protocol

from content.orm import SessionSource
from tracking.events import TrackedEvent
from tracking.pipeline.ingest import store
from tracking.rules.config import Model

logger = logging.getLogger("leadshelf.ingest")


class Handoff(Protocol):
    """Where coroutines' events go instead of the writer thread while the job runs: the writer
    process (``tracking.pipeline.writer_process.WriterProcess``)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def restart_if_dead(self) -> None: ...
    def take_stored(self) -> int: ...
    def send(self, events: Sequence[TrackedEvent]) -> asyncio.Future[int] | None:
        """A future of how many events were new once committed; None: not reachable now."""


@dataclass(slots=True)
class _Request:
    """Events to store and who waits for them: a thread (``future``) or a coroutine on an event
    loop (``waiter``, answered on its loop together with the batch's other waiters there)."""

    events: Sequence[TrackedEvent]
    future: Future[int] | None = None
    waiter: asyncio.Future[int] | None = None


class Ingestor:
    """The group-commit writer. Its ``write_pending`` is the event writer job of every web
    process (``open`` when the job starts, ``close`` when it stops); ``record*`` from anywhere.
    """

    def __init__(
        self,
        database: SessionSource,
        *,
        max_batch: int = 1000,
        max_wait: float = 0.0,
        gather: float = 0.002,
        model: Model | None = None,
        poll: float = 0.05,
        process: Handoff | None = None,
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.gather = gather
        """Under load (the last batch held more than one request), how long a batch stays open
        for the requests still arriving: the event loop parses them while the writer waits,
        so the next commit carries more of them (a commit costs about as much as a dozen
        events). An idle server writes at once, as with ``max_wait``."""
        self._crowded = False
        self.model = model
        self.poll = poll
        """Seconds a pass waits for a first request before it looks at the stop event again."""
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._open = False
        self._guard = threading.Lock()  # opening/closing versus queueing: nothing is stranded
        self.batches = 0
        self.process = process
        """The writer process that stores coroutines' events while the job runs
        (``tracking.pipeline.writer_process``); None: this process's writer thread does."""

    @property
    def running(self) -> bool:
        """Whether a writer job drains the queue (else ``submit`` writes in the caller)."""
        return self._open

    def open(self) -> None:
        """From now on requests are queued for ``write_pending`` (the job is starting), and the
        writer process, if any, starts."""
        with self._guard:
            self._open = True
        if self.process is not None:
            self.process.start()

    def close(self) -> None:
        """Requests are written by their callers again; what is still queued is written now,
        and the writer process stores and answers what reached it, then stops."""
        with self._guard:
            self._open = False
            leftovers = self._drain()
        if self.process is not None:
            self.process.stop()
        if leftovers:
            self._write(leftovers)

    def wake(self) -> None:
        """End a pass of ``write_pending`` that is waiting for a first request (the job is
        stopping: its thread ends at once rather than after up to ``poll`` seconds)."""
        self._queue.put(_Request(()))

    def submit(self, events: Sequence[TrackedEvent]) -> Future[int]:
        """Queue events; the future resolves to how many were stored once they are committed."""
        future: Future[int] = Future()
        if not events:
            future.set_result(0)
            return future
        self._enqueue(_Request(events, future=future))
        return future

    async def record(self, events: Sequence[TrackedEvent]) -> int:
        """Store events and return once they are committed (for async handlers).

        A caller that gives up (its request is cancelled) only stops waiting: the
        events are still written, and the writer carries on. The writer answers every
        request of a batch waiting on this loop in one call (one wake-up of the loop per
        batch, not one per request). While the job runs with a writer process that this loop
        is connected to, the events go there instead (``tracking.pipeline.writer_process``).
        """
        if not events:
            return 0
        if self.process is not None and self._open:
            sent = self.process.send(events)
            if sent is not None:
                return await sent
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._enqueue(_Request(events, waiter=waiter))
        return await waiter

    def _enqueue(self, request: _Request) -> None:
        with self._guard:
            queued = self._open
            if queued:
                self._queue.put(request)
        if not queued:
            # No writer job (a CLI command, a test without the app): write right here.
            self._write([request])

    def record_sync(self, events: Sequence[TrackedEvent], timeout: float = 30.0) -> int:
        """Store events and return once they are committed (for sync handlers and tools)."""
        return self.submit(events).result(timeout)

    def write_pending(self, stopping: threading.Event) -> int:
        """One pass of the writer job: wait (up to ``poll`` seconds, not at all once
        ``stopping`` is set) for a request, then write it with everything queued behind it
        as one batch. Returns how many events were stored (with those the writer process stored
        since the last pass). A writer process that died is started again first."""
        handed = 0
        if self.process is not None and not stopping.is_set():
            self.process.restart_if_dead()
            handed = self.process.take_stored()
        try:
            first = (
                self._queue.get_nowait()
                if stopping.is_set()
                else self._queue.get(timeout=self.poll)
            )
        except queue.Empty:
            return handed
        while not first.events:  # woken by ``wake``: what queued behind it is written now
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return handed
        batch = self._collect(first, stopping)
        try:
            self._write(batch)
        except Exception:  # the writer must outlive any one batch
            logger.exception("ingestion batch failed")
            _answer([(request, IngestError("the event could not be stored")) for request in batch])
            return handed
        return handed + sum(len(request.events) for request in batch)

    def _drain(self) -> list[_Request]:
        leftovers: list[_Request] = []
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return leftovers
            if request.events:
                leftovers.append(request)

    def _collect(self, first: _Request, stopping: threading.Event) -> list[_Request]:
        """The batch starting with ``first``: closed by size, by ``max_wait``, or by a stop."""
        batch = [first]
        size = len(first.events)
        deadline = time.monotonic() + max(self.max_wait, self.gather if self._crowded else 0.0)
        while size < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0 and not stopping.is_set():
                    item = self._queue.get(timeout=min(remaining, self.poll))
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                if remaining > 0 and not stopping.is_set():
                    continue  # still within max_wait: look at the stop event, then wait on
                break
            if item.events:  # not a ``wake``
                batch.append(item)
                size += len(item.events)
        self._crowded = len(batch) > 1
        return batch

    def _write(self, batch: list[_Request]) -> None:
        _answer(self._outcomes(batch))

    def outcomes(self, groups: Sequence[Sequence[TrackedEvent]]) -> list[int | Exception]:
        """Store groups of events as one batch now: how many of each were new, or why a group
        could not be stored (a failing batch is retried group by group; the writer process's
        batches go this way)."""
        return [outcome for _, outcome in self._outcomes([_Request(events) for events in groups])]

    def _outcomes(self, batch: list[_Request]) -> list[tuple[_Request, int | Exception]]:
        """Each request with how many of its events were stored, or why they could not be."""
        try:
            counts = self._commit(batch)
        except Exception:
            if len(batch) == 1:
                logger.exception("could not store %d event(s)", len(batch[0].events))
                return [(batch[0], IngestError("the event could not be stored"))]
            return [outcome for request in batch for outcome in self._outcomes([request])]
        return list(zip(batch, counts, strict=True))

    def _commit(self, batch: list[_Request]) -> list[int]:
        with self.database.write() as session:
            counts = store(session, [r.events for r in batch], model=self.model)
        self.batches += 1
        return counts


_Waiting = Future[int] | asyncio.Future[int]


def _answer(outcomes: list[tuple[_Request, int | Exception]]) -> None:
    """Answer the requests of a batch: threads each, coroutines in one call per event loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[tuple[_Waiting, int | Exception]]] = {}
    for request, outcome in outcomes:
        if request.future is not None:
            _settle(request.future, outcome)
        elif request.waiter is not None:
            waiting.setdefault(request.waiter.get_loop(), []).append((request.waiter, outcome))
    for loop, answers in waiting.items():
        with contextlib.suppress(RuntimeError):  # a stopped loop: nobody waits there any more
            loop.call_soon_threadsafe(_settle_all, answers)


def _settle_all(answers: list[tuple[_Waiting, int | Exception]]) -> None:
    for future, outcome in answers:
        _settle(future, outcome)


def _settle(future: _Waiting, outcome: int | Exception) -> None:
    """Answer a request, unless its caller gave up waiting (a cancelled future)."""
    if future.done():
        return
    # A thread's caller may cancel its future between that check and the answer.
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class IngestError(RuntimeError):
    """The events could not be stored (logged with the cause)."""
