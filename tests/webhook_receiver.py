"""A real webhook receiver for tests: http.server on 127.0.0.1 in a thread, recording requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nurture.webhooks import verify


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def signed_by(self, secret: str) -> bool:
        """What a receiver does: check the signature against the raw body at the header's time."""
        header = self.headers["Leadshelf-Signature"]
        timestamp = int(header.split(",")[0].removeprefix("t="))
        return verify(secret, header, self.body, now=timestamp)


@dataclass
class Receiver:
    """Answers ``status`` to every POST; with ``block`` set, the first request waits for
    ``release`` (a receiver that hangs while a worker is killed)."""

    server: ThreadingHTTPServer
    status: int = 204
    block: bool = False
    received: list[Received] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def listen(self) -> None:
        """Start accepting connections (until then the port refuses them: receiver down)."""
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def event_ids(self) -> list[str]:
        return [r.headers["Leadshelf-Event-Id"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 20.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            first = not receiver.started.is_set()
            receiver.started.set()
            if receiver.block and first:
                receiver.release.wait(30)
                return  # the worker that sent it is gone; answer nobody
            with receiver.arrived:
                receiver.received.append(Received(dict(self.headers.items()), body))
                receiver.arrived.notify_all()
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiver(
    *, listening: bool = True, status: int = 204, block: bool = False
) -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1; ``listening=False`` starts it down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler, bind_and_activate=False)
    server.daemon_threads = True
    server.request_queue_size = 128  # several workers connect side by side
    server.server_bind()
    found = Receiver(server, status=status, block=block)
    server.RequestHandlerClass = _handler(found)
    if listening:
        found.listen()
    try:
        yield found
    finally:
        found.release.set()
        if found.thread is not None:
            server.shutdown()
        server.server_close()
