"""SMTP: the server named by ``LEADSHELF_SMTP_URL``, one reused connection per batch.

The standard library's ``smtplib`` speaks the protocol; this module parses the
settings, opens a connection (TLS on connect for ``smtps://``, STARTTLS when
asked), and turns every answer into a ``Reply`` the pure rules classify.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
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

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


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


class Connection:
    """One SMTP session; ``send`` answers a ``Reply`` for every message and never raises for
    the server's refusals. After a dropped connection ``alive`` is False."""

    def __init__(self, server: SmtpServer, local_hostname: str | None = None) -> None:
        self.server = server
        self.dialogue: list[str] = []
        client: smtplib.SMTP
        if server.tls:
            client = smtplib.SMTP_SSL(
                server.host,
                server.port,
                local_hostname=local_hostname,
                timeout=TIMEOUT,
                context=_tls_context(server),
            )
        else:
            client = smtplib.SMTP(
                server.host, server.port, local_hostname=local_hostname, timeout=TIMEOUT
            )
        self.client = client
        self.alive = True
        try:
            code, text = client.ehlo()
            self._note("EHLO", code, text)
            if server.starttls:
                code, text = client.starttls(context=_tls_context(server))
                self._note("STARTTLS", code, text)
                client.ehlo()
            if server.username:
                code, text = client.login(server.username, server.password)
                self._note("AUTH", code, text)
        except BaseException:
            self.close()
            raise

    def _note(self, command: str, code: int, text: bytes | str) -> None:
        shown = text.decode(errors="replace") if isinstance(text, bytes) else text
        self.dialogue.append(f"{command}: {code} {shown.splitlines()[0] if shown else ''}".strip())

    def send(self, envelope_from: str, recipient: str, message: bytes) -> Reply:
        try:
            refused = self.client.sendmail(envelope_from, [recipient], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (550, b"recipient refused"))
            return _reply(code, text)
        except smtplib.SMTPResponseException as exc:
            self._reset()
            return _reply(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.alive = False
            return Reply(None, f"connection lost: {exc}")
        if refused:
            code, text = refused[recipient]
            return _reply(code, text)
        return Reply(250, "accepted")

    def _reset(self) -> None:
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.alive = False

    def close(self) -> None:
        try:
            self.client.quit()
        except (smtplib.SMTPException, OSError):
            with contextlib.suppress(OSError):
                self.client.close()
        self.alive = False


def _reply(code: int, text: bytes | str) -> Reply:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return Reply(code, " ".join(shown.split())[:500])


def connect(server: SmtpServer) -> Connection:
    """Open a session; raises ``OSError`` or ``smtplib.SMTPException`` when that fails."""
    return Connection(server, local_hostname=socket.getfqdn() or None)
