"""Batched reads: small per-request reads that concurrent requests share one worker-thread hop for.

A handler on the event loop that reads the database hands the read to a worker thread and
waits. Under load, each such hop is most of the request's cost: a worker thread wakes up,
waits for the GIL, checks out a connection and opens a transaction, for a statement that
takes a few dozen microseconds (the gated asset page's unlock state, ``bench/http_pages.py``).
``BatchedReads`` runs the reads queued meanwhile in one hop and one read transaction (the
read takes them all at once: for the unlock states three statements however many), so every
request still sees what was committed before it asked. An idle server reads at once: the
first request starts the hop, and only requests that arrive while a hop runs wait for the
next one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session

from content.orm import SessionSource

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchedReads(Generic[K, V]):
    """``await reads.get(key)``: the value ``read(session, keys)`` gives for it (one value per
    key, in order) in a worker thread, together with the other keys asked for while the
    previous hop ran (the same key once)."""

    def __init__(
        self,
        database: SessionSource,
        read: Callable[[Session, Sequence[K]], Sequence[V]],
        *,
        most: int = 200,
    ) -> None:
        self.database = database
        self.read = read
        self.most = most
        """The most keys one hop reads (the rest wait for the next hop)."""
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[K, V]] = (
            weakref.WeakKeyDictionary()
        )
        """Per event loop (a web process has one; tests may run several): its waiting keys."""
        self.hops = 0
        """How many worker-thread hops have run (a measure of the batching)."""

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[V] = loop.create_future()
        queue.waiting.setdefault(key, []).append(future)
        if queue.reading is None or queue.reading.done():
            queue.reading = loop.create_task(self._read_waiting(queue))
        return await future

    async def _read_waiting(self, queue: _Queue[K, V]) -> None:
        waiting = queue.waiting
        while waiting:
            keys = list(waiting)[: self.most]
            futures = [waiting.pop(key) for key in keys]
            try:
                outcomes = await to_thread.run_sync(self._read_all, keys)
            except BaseException:  # cancelled (the loop stops): nobody is left waiting
                for future in [f for fs in futures for f in fs] + [
                    f for fs in waiting.values() for f in fs
                ]:
                    future.cancel()
                waiting.clear()
                raise
            for waited, outcome in zip(futures, outcomes, strict=True):
                for future in waited:
                    if future.done():
                        continue  # its request gave up
                    if isinstance(outcome, _Failed):
                        future.set_exception(outcome.error)
                    else:
                        future.set_result(outcome)

    def _read_all(self, keys: Sequence[K]) -> list[V | _Failed]:
        """Every key's value in one read transaction; if that fails, each key in its own, so
        one failing read fails its own request alone."""
        self.hops += 1
        try:
            with self.database.read() as session:
                values: list[V | _Failed] = list(self.read(session, keys))
        except Exception as error:
            if len(keys) == 1:
                return [_Failed(error)]
            return [self._read_alone(key) for key in keys]
        if len(values) != len(keys):  # a read that broke its promise fails every request
            broken = RuntimeError(f"{len(keys)} keys read as {len(values)} values")
            return [_Failed(broken)] * len(keys)
        return values

    def _read_alone(self, key: K) -> V | _Failed:
        try:
            with self.database.read() as session:
                return self.read(session, [key])[0]
        except Exception as error:
            return _Failed(error)


class _Queue(Generic[K, V]):
    """The keys one event loop waits for, and the task reading them."""

    __slots__ = ("reading", "waiting")

    def __init__(self) -> None:
        self.waiting: dict[K, list[asyncio.Future[V]]] = {}
        self.reading: asyncio.Task[None] | None = None


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error
