"""A real SMTP server for tests (aiosmtpd on a free port) that keeps every message it
accepted, parsed back with the standard ``email`` package, and answers as scripted; and the
keys tests make for it (a DKIM key, a self-signed certificate for STARTTLS) with openssl."""

from __future__ import annotations

import asyncio
import base64
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

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

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.sink.rcpt_refusals.get(address)
        if refusal is not None:
            self.sink.refused.append(refusal)
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
        received = Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), raw, message)
        with self.sink.lock:
            self.sink.messages.append(received)
            count = len(self.sink.messages)
        if self.sink.on_data is not None:
            self.sink.on_data(received)
        if count == self.sink.hold_at:
            # Kept, but not answered yet: the sender is "in flight" with this message.
            self.sink.holding.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.01)
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
        self.rcpt_refusals: dict[str, str] = {}
        """Recipients refused at RCPT, with the reply (``refuse_recipient``)."""
        self.on_data: Callable[[Received], None] | None = None
        """Called (in the server's thread) with each accepted message before the 250."""
        self.hold_at: int | None = None
        """The n-th accepted message is kept but its 250 waits until ``released`` is set."""
        self.holding = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        self._replies: deque[str] = deque()
        self._options = controller_options
        self._controller: Controller | None = None
        self.scheme = "smtp"
        self.query = ""
        self.credentials = ""

    @classmethod
    def secured(cls, folder: Path, username: str, password: str) -> SmtpSink:
        """A sink that requires STARTTLS (a self-signed certificate made in ``folder``) and
        AUTH with these credentials before it takes mail."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self_signed_certificate(folder))

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                username.encode(),
                password.encode(),
            )
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

        sink = cls(
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            auth_required=True,
            authenticator=authenticator,
        )
        sink.query = "?starttls=true&verify=false"
        sink.credentials = f"{quote(username, safe='')}:{quote(password, safe='')}@"
        return sink

    @classmethod
    def implicit_tls(cls, folder: Path) -> SmtpSink:
        """A sink that speaks TLS from the first byte (``smtps://``, port 465 style)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self_signed_certificate(folder))
        sink = cls(ssl_context=context)
        sink.scheme = "smtps"
        sink.query = "?verify=false"
        return sink

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.credentials}127.0.0.1:{self.port}{self.query}"

    def refuse_recipient(self, address: str, reply: str) -> None:
        """Refuse ``address`` at RCPT with ``reply`` (``"550 5.1.1 no such user"``)."""
        self.rcpt_refusals[address] = reply

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m.message["Message-ID"]) for m in self.messages]

    def start(self) -> SmtpSink:
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        self.released.set()
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


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def dkim_key(folder: Path) -> tuple[Path, str]:
    """A fresh 2048-bit RSA key in ``folder``: the PEM private key file and the DKIM TXT record
    that publishes its public key (``v=DKIM1; k=rsa; p=…``)."""
    private, public = folder / "dkim.pem", folder / "dkim.pub.der"
    _openssl("genrsa", "-out", str(private), "2048")
    _openssl("rsa", "-in", str(private), "-pubout", "-outform", "DER", "-out", str(public))
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(public.read_bytes()).decode()}"
    return private, record


def self_signed_certificate(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key (PEM files), valid for a day."""
    certificate, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate),
    )  # fmt: skip
    return str(certificate), str(key)
