"""SMTP: the server named by ``LEADSHELF_SMTP_URL``, one reused connection per batch.

The standard library's ``smtplib`` speaks the protocol; this module parses the
settings, opens a connection (TLS on connect for ``smtps://``, STARTTLS when
asked), and turns every answer into a ``Reply`` the pure rules classify.
"""

from __future__ import annotations

import contextlib
import functools
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT = 30.0
"""Seconds a connection or a single SMTP command may take before it counts as a failure."""


class MailSettingError(ValueError):
    """``LEADSHELF_SMTP_URL`` or ``LEADSHELF_MAIL_FROM`` is malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to connect."""

    host: str
    port: int
    tls: bool = False
    """TLS from the first byte (``smtps://``, usually port 465)."""
    starttls: bool = False
    """Upgrade the plain connection with STARTTLS before authenticating."""
    username: str = ""
    password: str = ""
    verify_tls: bool = True
    """Check the server's certificate (``?verify=false`` only for a local test server)."""

    def describe(self) -> str:
        scheme = "smtps" if self.tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        extra = " with STARTTLS" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{extra}"


@dataclass(frozen=True, slots=True)
class Sender:
    """The From of every mail: a display name and an address."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    def header(self) -> str:
        return str(Address(display_name=self.name, addr_spec=self.address))


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to one message (or the failure to get one)."""

    code: int | None
    """The SMTP reply code; None when the connection failed or dropped (no answer at all)."""
    text: str = ""
    step: str = ""
    """The command the reply answered: ``MAIL``, ``RCPT`` or ``DATA`` (empty: no command)."""

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    def describe(self) -> str:
        """``RCPT 550 5.1.1 no such user``: what the console shows as the message's last error."""
        return " ".join(str(part) for part in (self.step, self.code, self.text) if part)


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://…``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailSettingError(
            f"smtp_url: expected smtp://[user:pass@]host:port[?starttls=true] or smtps://…, "
            f"got {url.split('@')[-1]!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise MailSettingError("smtp_url: the port must be a number from 1 to 65535") from None
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"starttls", "verify"})
    if unknown:
        raise MailSettingError(f"smtp_url: unknown option {', '.join(unknown)} (starttls, verify)")
    for key, value in query.items():
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise MailSettingError(f"smtp_url: {key} must be true or false, got {value!r}")
    tls = parts.scheme == "smtps"
    starttls = query.get("starttls", "false") in ("true", "1", "yes")
    if tls and starttls:
        raise MailSettingError("smtp_url: smtps:// is TLS already; drop ?starttls=true")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        starttls=starttls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        verify_tls=query.get("verify", "true") in ("true", "1", "yes"),
    )


def parse_sender(value: str) -> Sender:
    """``Name <address@domain>`` (or a bare address)."""
    name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@") or " " in address:
        raise MailSettingError(f"mail_from: expected Name <address@domain.example>, got {value!r}")
    return Sender(name=name.strip(), address=address)


def _tls_context(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not server.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SessionFailed(Exception):
    """No session: the server is unreachable, TLS failed, or it refused us (e.g. 535 bad
    credentials). Says nothing about any recipient, so the mail waits and is tried again."""

    def __init__(self, reason: str, dialogue: list[str], code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.dialogue = dialogue
        self.code = code


class _Banner:
    """Keeps the greeting (``smtplib`` reads and drops it)."""

    banner: tuple[int, bytes] = (0, b"")

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None) -> Any:
        reply = super().connect(host, port, source_address)  # type: ignore[misc]
        self.banner = reply
        return reply


class _PlainClient(_Banner, smtplib.SMTP):
    pass


class _TlsClient(_Banner, smtplib.SMTP_SSL):
    pass


class Connection:
    """One SMTP session; ``send`` answers a ``Reply`` for every message and never raises for
    the server's refusals. After a dropped connection ``alive`` is False.

    ``dialogue`` keeps one line per step of the opening (greeting, EHLO, STARTTLS, AUTH), the
    lines ``leadshelf mail test`` prints. Opening raises ``SessionFailed`` (with the dialogue
    so far) and nothing else.
    """

    def __init__(self, server: SmtpServer, local_hostname: str | None = None) -> None:
        self.server = server
        self.dialogue: list[str] = []
        self.alive = False
        client: smtplib.SMTP
        try:
            if server.tls:
                client = _TlsClient(
                    server.host,
                    server.port,
                    local_hostname=local_hostname,
                    timeout=TIMEOUT,
                    context=_tls_context(server),
                )
            else:
                client = _PlainClient(
                    server.host, server.port, local_hostname=local_hostname, timeout=TIMEOUT
                )
        except smtplib.SMTPResponseException as exc:  # a greeting other than 220
            raise self._failed("greeting", exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SessionFailed(
                f"cannot connect to {server.host}:{server.port}: {_describe(exc)}", self.dialogue
            ) from None
        self.client = client
        self.alive = True
        code, text = getattr(client, "banner", (220, b""))
        self._note("CONNECT", code, text)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        step = "EHLO"
        try:
            code, text = self.client.ehlo()
            if not 200 <= code < 300:
                raise smtplib.SMTPHeloError(code, text)
            self._note(step, code, text)
            if self.server.starttls:
                step = "STARTTLS"
                code, text = self.client.starttls(context=_tls_context(self.server))
                self._note(step, code, text)
                step = "EHLO"
                self.client.ehlo()
            if self.server.username:
                step = "AUTH"
                code, text = self.client.login(self.server.username, self.server.password)
                self._note(step, code, text)
        except smtplib.SMTPResponseException as exc:
            raise self._failed(step, exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.dialogue.append(f"{step}: {_describe(exc)}")
            raise SessionFailed(f"{step} failed: {_describe(exc)}", self.dialogue) from None

    def _failed(self, step: str, exc: smtplib.SMTPResponseException) -> SessionFailed:
        reply = _reply(exc.smtp_code, exc.smtp_error)
        self._note(step, exc.smtp_code, reply.text)
        return SessionFailed(
            f"{step} refused: {exc.smtp_code} {reply.text}", self.dialogue, exc.smtp_code
        )

    def _note(self, command: str, code: int, text: bytes | str) -> None:
        shown = text.decode(errors="replace") if isinstance(text, bytes) else text
        first = shown.splitlines()[0] if shown else ""
        self.dialogue.append(f"{command}: {code} {first}".strip())

    def send(self, envelope_from: str, recipient: str, message: bytes) -> Reply:
        """MAIL, RCPT and DATA for one message; the reply to the step that decided it."""
        options = self._mail_options(envelope_from, recipient, message)
        if options is None:
            return Reply(
                None, "this server does not take non-ASCII addresses (no SMTPUTF8)", "MAIL"
            )
        step = "MAIL"
        text: bytes | str
        try:
            code, text = self.client.mail(envelope_from, options)
            if code == 250:
                step = "RCPT"
                code, text = self.client.rcpt(recipient)
            if code in (250, 251):
                step = "DATA"
                code, text = self.client.data(message)
        except smtplib.SMTPResponseException as exc:  # DATA answered other than 354
            code, text = exc.smtp_code, exc.smtp_error
        except (smtplib.SMTPException, OSError) as exc:
            self.alive = False
            return Reply(None, f"connection lost: {_describe(exc)}", step)
        reply = _reply(code, text, step)
        if not reply.accepted:
            self._reset(code)
        return reply

    def _mail_options(self, envelope_from: str, recipient: str, message: bytes) -> list[str] | None:
        options = []
        if self.client.has_extn("size"):
            options.append(f"SIZE={len(message)}")
        if not message.isascii() and self.client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if not (envelope_from + recipient).isascii():
            if not self.client.has_extn("smtputf8"):
                return None
            options.append("SMTPUTF8")
        return options

    def _reset(self, code: int) -> None:
        if code == 421:  # the server is closing the session
            self.close()
            return
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.alive = False

    def close(self) -> None:
        if not hasattr(self, "client"):
            return
        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            with contextlib.suppress(OSError):
                self.client.close()
        self.alive = False


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _reply(code: int, text: bytes | str, step: str = "") -> Reply:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return Reply(code, " ".join(shown.split())[:500], step)


@functools.cache
def local_hostname() -> str | None:
    """The name this host gives in EHLO (looked up once: ``getfqdn`` may ask DNS)."""
    return socket.getfqdn() or None


def connect(server: SmtpServer) -> Connection:
    """Open a session; raises ``SessionFailed`` when that fails."""
    return Connection(server, local_hostname=local_hostname())
