"""The event writer in a process of its own: storing tracked events does not take the CPU (and
the interpreter lock) that the web process answers pages with.

A web process's ``Ingestor`` starts a ``WriterProcess`` when its writer job starts. The child
(``tracking.pipeline.writer_child``, this module being the web process's side) listens on a Unix
socket in a private temporary folder (mode 0700) and stores, in one transaction, every request
that reached it while it was storing the last batch (group commit, as the thread writer does:
``Ingestor.outcomes``), then answers each request with how many of its events were new. An
acknowledged event is still a committed one.

Each event loop of the web process keeps one connection (``_Channel``): a coroutine's events
are sent with those of every other coroutine of the same loop iteration in one message, and a
batch's answers arrive in one message, so no thread and no extra wake-up stands between a
request and its commit. Until the child answers (it starts in about 0.6 s), after it died,
and for callers in threads, events go the thread writer's way: nothing waits for the child.

Messages are a 4-byte big-endian length and a pickle: to the child a list of
``(request id, events)``, back a list of ``(request id, count or error message)``. Only this
user can reach the socket; the child exits when its parent does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from content.orm import SessionSource
from tracking.events import TrackedEvent
from tracking.pipeline import writer_child
from tracking.pipeline.group_commit import IngestError
from tracking.pipeline.writer_child import HEADER
from tracking.rules.config import Model

logger = logging.getLogger("leadshelf.ingest")

RETRY_AFTER = 1.0
"""Seconds a loop writes through the thread writer after the child could not be reached."""
MAX_BACKOFF = 60.0
"""The longest wait before a child that keeps dying young is started again, in seconds."""


class WriterProcess:
    """The parent's side: starts and stops the child, and sends it each loop's events."""

    def __init__(
        self, open_database: Callable[[], SessionSource], open_model: Callable[[], Model | None]
    ) -> None:
        self.open_database = open_database
        """Called in the child to reach the same database; picklable (a module-level class or
        function with plain arguments), like ``open_model``, which loads the same model."""
        self.open_model = open_model
        self._process: Any = None
        self._folder: str | None = None
        self.path: str | None = None
        self._channels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Channel] = (
            weakref.WeakKeyDictionary()
        )
        self._failed: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = (
            weakref.WeakKeyDictionary()
        )
        self._connecting: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stored = 0  # new events the child has answered for, since ``take_stored``
        self._counting = threading.Lock()  # loops add, the job's thread takes
        self._wanted = False  # between start and stop: a dead child is started again
        self._started_at = 0.0
        self._backoff = 0.0
        self._next_start = 0.0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the child; returns at once (events take the thread writer until it answers).

        The child is ``python -m tracking.pipeline.writer_child`` with this process's module
        path, told what to open through its standard input: it imports what storing needs, not
        the web process's main module (0.6 s to start, not 1.6 s)."""
        self._wanted = True
        if not self.alive:
            self._launch()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child once it has stored and answered what reached it."""
        self._wanted = False
        self._backoff = self._next_start = 0.0
        self._reap(timeout)

    def _launch(self) -> None:
        self._reap()
        self._started_at = time.monotonic()  # a start that fails counts as a death, too
        try:
            self._folder = tempfile.mkdtemp(prefix="leadshelf-writer-")  # mode 0700
            path = os.path.join(self._folder, "events.sock")
            told = pickle.dumps((path, self.open_database, self.open_model, os.getpid()))
            environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
                [sys.executable, "-m", writer_child.__name__],
                stdin=subprocess.PIPE,
                env=environment,
            )
        except OSError:  # the web process still stores its events, through its thread
            logger.exception("could not start the event writer process")
            self._reap()
            return
        self.path, self._process = path, process
        with contextlib.suppress(OSError), process.stdin as told_to:  # type: ignore[union-attr]
            told_to.write(told)

    def _reap(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()  # SIGTERM: the child finishes what it has read, then exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = self.path = None

    def take_stored(self) -> int:
        """How many new events the child has stored since the last call (for the job's record)."""
        with self._counting:
            stored, self._stored = self._stored, 0
        return stored

    def _count(self, stored: int) -> None:
        with self._counting:
            self._stored += stored

    def restart_if_dead(self) -> None:
        """Start the child again if it died (the writer job calls this on each pass): at once
        if it had lived a minute, else after 1, 2, 4 … 60 s (a child that cannot start does not
        cost a start every pass)."""
        if not self._wanted or self.alive:
            return
        now = time.monotonic()
        if not self._next_start:  # found dead just now
            lived = now - self._started_at
            young = lived < MAX_BACKOFF
            self._backoff = min(MAX_BACKOFF, 2 * self._backoff or 1.0) if young else 0.0
            self._next_start = now + self._backoff
            logger.error(
                "the event writer process stopped (exit status %s) after %.0f s; "
                "starting it again in %.0f s",
                self._process.returncode if self._process is not None else None,
                lived,
                self._backoff,
            )
        if now >= self._next_start:
            self._next_start = 0.0
            self._launch()

    def send(self, events: Sequence[TrackedEvent]) -> asyncio.Future[int] | None:
        """Hand events to the child: a future of how many were new once committed, or None when
        this loop is not connected (yet): the caller writes them another way, and the loop
        connects in the background."""
        loop = asyncio.get_running_loop()
        channel = self._channels.get(loop)
        if channel is not None and not channel.closed:
            return channel.send(events)
        waited = time.monotonic() - self._failed.get(loop, -RETRY_AFTER)
        path = self.path  # the job's thread may stop the child meanwhile
        if path and self.alive and loop not in self._connecting and waited >= RETRY_AFTER:
            self._connecting.add(loop)
            task = loop.create_task(self._connect(loop, path))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return None

    @property
    def connections(self) -> int:
        """How many event loops are connected to the child now."""
        return sum(not channel.closed for channel in list(self._channels.values()))

    async def ready(self, timeout: float = 30.0) -> bool:
        """Wait until this loop is connected to the child (False if it is not within
        ``timeout`` seconds); ``send`` never waits for this."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            channel = self._channels.get(loop)
            if channel is not None and not channel.closed:
                return True
            path = self.path
            if path and self.alive and loop not in self._connecting:
                self._connecting.add(loop)
                await self._connect(loop, path)
            if loop not in self._channels or self._channels[loop].closed:
                await asyncio.sleep(0.05)  # starting: not listening yet
        return False

    async def _connect(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except OSError:  # not listening yet (starting), or gone
            self._failed[loop] = time.monotonic()
            return
        finally:
            self._connecting.discard(loop)
        channel = _Channel(reader, writer, self._count)
        self._channels[loop] = channel

        def closed() -> None:  # a closed channel does not keep its loop
            if self._channels.get(loop) is channel:
                del self._channels[loop]

        channel.on_close = closed


class _Channel:
    """One event loop's connection to the child."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: Callable[[int], None],
    ) -> None:
        self._writer = writer
        self._count = count
        self.on_close: Callable[[], None] = lambda: None
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._outgoing: list[tuple[int, Sequence[TrackedEvent]]] = []
        self.closed = False
        self._reading = self._loop.create_task(self._read(reader))

    def send(self, events: Sequence[TrackedEvent]) -> asyncio.Future[int]:
        """The events go out with every other request of this loop iteration, in one message."""
        request = next(self._ids)
        waiter = self._waiting[request] = self._loop.create_future()
        self._outgoing.append((request, list(events)))
        if len(self._outgoing) == 1:
            self._loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self.closed:
            return  # their waiters were answered when it closed
        try:
            payload = pickle.dumps(outgoing, protocol=pickle.HIGHEST_PROTOCOL)
            self._writer.write(HEADER.pack(len(payload)) + payload)
        except Exception:  # an event that cannot be sent fails its requests, not the loop
            logger.exception("could not hand %d request(s) to the event writer", len(outgoing))
            for request, _ in outgoing:
                waiter = self._waiting.pop(request, None)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(IngestError("the event could not be stored"))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                answers = await reader.readexactly(size)
                for request, outcome in pickle.loads(answers):  # noqa: S301 (our own child)
                    waiter = self._waiting.pop(request, None)
                    if not isinstance(outcome, str):
                        self._count(outcome)
                    if waiter is None or waiter.done():  # its caller gave up waiting
                        continue
                    if isinstance(outcome, str):
                        waiter.set_exception(IngestError(outcome))
                    else:
                        waiter.set_result(outcome)
        except (asyncio.IncompleteReadError, OSError, pickle.UnpicklingError, struct.error):
            pass
        finally:
            self.closed = True
            self.on_close()
            self._writer.close()
            waiting, self._waiting = self._waiting, {}
            for waiter in waiting.values():  # sent, but the child went away before answering
                if not waiter.done():
                    waiter.set_exception(IngestError("the event writer stopped; send it again"))
