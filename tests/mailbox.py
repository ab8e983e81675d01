"""A real SMTP server for tests (aiosmtpd on a free port) that keeps every message it
accepted, parsed back with the standard ``email`` package, and answers as scripted."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers import free_port


@dataclass(frozen=True, slots=True)
class Received:
    """One accepted message: the envelope and the parsed mail."""

    mail_from: str
    rcpt_to: tuple[str, ...]
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The ``plain`` or ``html`` part's text."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content = body.get_content()
        assert isinstance(content, str)
        return content


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        reply = self.sink.next_reply()
        if not reply.startswith("2"):
            self.sink.refused.append(reply)
            return reply
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes):
            raw = envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(
                Received(
                    str(envelope.mail_from),
                    tuple(envelope.rcpt_tos),
                    raw,
                    message,
                )
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start with ``start()``; ``url`` is the ``LEADSHELF_SMTP_URL`` that reaches it.

    ``script(reply, …)`` makes the next messages' DATA answer those replies in turn
    (``"550 5.1.1 no such user"``, ``"451 4.3.0 try again later"``); afterwards it
    accepts again. ``stop()`` takes the server down (connections are refused).
    """

    def __init__(self, port: int | None = None, **controller_options: Any) -> None:
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        self._replies: deque[str] = deque()
        self._options = controller_options
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def script(self, *replies: str) -> None:
        self._replies.extend(replies)

    def next_reply(self) -> str:
        try:
            return self._replies.popleft()
        except IndexError:
            return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_to]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages once at least ``count`` have arrived (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")


def send_mail(client: Any) -> None:
    """Make the app's mail-sending job pass now (a ``TestClient``'s app)."""
    client.app.state.runner.run_all_once(["mail-sending"])
