"""The event writer process itself (``python -m tracking.pipeline.writer_child``): stores what
arrives on its Unix socket in group-committed batches and answers each request. The web
process's side, which starts it and sends it events, is ``tracking.pipeline.writer_process``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from content.orm import SessionSource
from tracking.events import TrackedEvent
from tracking.pipeline.group_commit import Ingestor
from tracking.rules.config import Model

HEADER = struct.Struct(">I")
"""A message's length, before its pickle (both ways)."""
SEND_TIMEOUT = 5.0
"""Seconds the child waits for a connection to take its answers before it drops it."""


def run_writer(
    path: str,
    open_database: Callable[[], SessionSource],
    open_model: Callable[[], Model | None],
    parent: int,
) -> None:
    """The child: store what arrives on ``path`` in group-committed batches until SIGTERM or
    until the parent is gone."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s - %(name)s - %(message)s")
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    writer = _ChildWriter(Ingestor(open_database(), model=open_model()))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(128)
    listener.setblocking(False)
    writer.selector.register(listener, selectors.EVENT_READ, None)
    # A stop wakes the wait at once (not at its next timeout): the signal's byte lands here.
    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    writer.selector.register(woken, selectors.EVENT_READ, "stop")
    while not stopping and os.getppid() == parent:
        writer.read(timeout=0.5)
        writer.write_batch()
    writer.read(timeout=0)  # what reached us before the stop is stored and answered
    writer.write_batch()
    listener.close()
    with contextlib.suppress(OSError):
        Path(path).unlink()
        Path(path).parent.rmdir()  # gone with its parent: the parent cannot clean it up


class _ChildWriter:
    """The child's connections and the requests read from them."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.selector = selectors.DefaultSelector()
        self._buffers: dict[socket.socket, bytearray] = {}
        self._requests: list[tuple[socket.socket, int, list[TrackedEvent]]] = []
        self._events = 0  # in the requests read so far (a batch closes at ``max_batch``)

    def read(self, timeout: float) -> None:
        """Accept and read whatever is ready (waiting up to ``timeout`` for a first request),
        then whatever arrives meanwhile: a batch is everything that queued while the last one
        was being committed; it closes at ``Ingestor.max_batch`` events, the rest waits for the
        next one.

        Unlike the thread writer's (``Ingestor.gather``), a batch does not stay open for
        requests still arriving: the web process sends each event-loop pass's events in one
        message, so they arrive together, and a wait only left the child idle while the web
        process waited for its answers (at 100 clients on PostgreSQL, stored/ceiling rose from
        a median of 68 % to 72 % without it, and at 1,000 beacons/s p50 fell by 2 ms;
        bench/README.md, §6)."""
        ready = self.selector.select(timeout)
        while ready and self._events < self.ingestor.max_batch:
            for key, _ in ready:
                if key.data is None:
                    self._accept(key.fileobj)  # type: ignore[arg-type]
                elif key.data == "stop":
                    os.read(key.fd, 64)  # the stop itself is the flag the handler set
                else:
                    self._receive(key.fileobj)  # type: ignore[arg-type]
            ready = self.selector.select(0)

    def _accept(self, listener: socket.socket) -> None:
        with contextlib.suppress(BlockingIOError):
            connection, _ = listener.accept()
            if not _same_user(connection):  # the folder is private; this makes sure of it
                connection.close()
                return
            connection.setblocking(False)
            self._buffers[connection] = bytearray()
            self.selector.register(connection, selectors.EVENT_READ, "connection")

    def _receive(self, connection: socket.socket) -> None:
        try:
            chunk = connection.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._forget(connection)
            return
        buffer = self._buffers[connection]
        buffer += chunk
        while len(buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer)
            if len(buffer) < HEADER.size + size:
                break
            payload = bytes(buffer[HEADER.size : HEADER.size + size])
            del buffer[: HEADER.size + size]
            for request, events in pickle.loads(payload):  # noqa: S301 (a peer of our own user)
                self._requests.append((connection, request, events))
                self._events += len(events)

    def _forget(self, connection: socket.socket) -> None:
        """A connection that closed: what it sent is still stored, just not answered."""
        if self._buffers.pop(connection, None) is not None:
            self.selector.unregister(connection)
            connection.close()

    def write_batch(self) -> None:
        """Store the requests read so far in one transaction and answer each."""
        requests, self._requests = self._requests, []
        self._events = 0
        if not requests:
            return
        outcomes = self.ingestor.outcomes([events for _, _, events in requests])
        answers: dict[socket.socket, list[tuple[int, int | str]]] = {}
        for (connection, request, _), outcome in zip(requests, outcomes, strict=True):
            answer = str(outcome) if isinstance(outcome, Exception) else outcome
            answers.setdefault(connection, []).append((request, answer))
        for connection, answered in answers.items():
            if connection not in self._buffers:  # that loop is gone; its events are stored
                continue
            payload = pickle.dumps(answered, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                connection.settimeout(SEND_TIMEOUT)
                connection.sendall(HEADER.pack(len(payload)) + payload)
                connection.setblocking(False)
            except OSError:  # gone, or a loop that stopped reading: the others go on
                self._forget(connection)


def _same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (Linux SO_PEERCRED)."""
    credentials = struct.Struct("3i")
    try:
        raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, credentials.size)
    except (AttributeError, OSError):  # no peer credentials here: the folder's mode decides
        return True
    _, uid, _ = credentials.unpack(raw)
    return bool(uid == os.getuid())


if __name__ == "__main__":
    run_writer(*pickle.load(sys.stdin.buffer))  # noqa: S301 (written by our parent)
