"""The demo mailbox: a local SMTP catcher for ``serve --demo`` and the reader behind
``/console/mailbox``, so a person trying Leadshelf can open every mail it sends and click
its links while nothing leaves the machine.

The catcher (aiosmtpd, in a thread of the ``serve`` process) stores each message as one
``.eml`` file under ``<data_dir>/mailbox/`` and keeps the newest ``KEEP``. While it runs, a
marker file there names its address; the web processes (uvicorn workers included) show the
mailbox only when that address is the ``LEADSHELF_SMTP_URL`` they send to, so a configured
SMTP server, or a marker left behind by a killed demo, never shows a stale mailbox.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

MAILBOX_DIR = "mailbox"
MARKER = "catcher.url"
"""The file in the mailbox folder naming the running catcher's ``smtp://`` address."""
KEEP = 500
"""How many caught mails are kept; older ones are deleted as new ones arrive."""

_NAME = re.compile(r"\A\d{8}T\d{12}Z-[0-9a-f]{8}\Z")
"""A caught mail's id: its arrival time (UTC, microseconds) and a random tail, so names are
unique, sort by arrival, and cannot name anything outside the mailbox folder."""


def mailbox_folder(data_dir: Path) -> Path:
    return data_dir / MAILBOX_DIR


def catcher_url(data_dir: Path) -> str:
    """The address of the catcher running for this data dir ('' when none says it runs)."""
    try:
        return (mailbox_folder(data_dir) / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def mailbox_for(data_dir: Path, smtp_url: str) -> Mailbox | None:
    """The demo mailbox when this process's mail goes to the catcher of its data dir."""
    running = catcher_url(data_dir)
    if not running or running != smtp_url:
        return None
    return Mailbox(mailbox_folder(data_dir))


@dataclass(frozen=True, slots=True)
class CaughtMail:
    """One caught mail as the list shows it."""

    id: str
    received_at: datetime
    to: str
    sender: str
    subject: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class OpenedMail:
    """One caught mail, opened: its headers, both parts, its links and attachments."""

    summary: CaughtMail
    headers: tuple[tuple[str, str], ...]
    text: str | None
    html: str | None
    links: tuple[str, ...]
    """The web links of the HTML part (of the text part when there is none), in order, once."""
    attachments: tuple[Attachment, ...]


class Mailbox:
    """The caught mails in one folder, one ``.eml`` file each, newest first."""

    def __init__(self, folder: Path, *, keep: int = KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def store(self, raw: bytes, *, mail_from: str, rcpt_to: list[str], now: datetime) -> str:
        """Keep one message as delivered to these recipients; returns its id.

        Written under a temporary name and renamed, so a reader never sees half a mail.
        ``Return-Path`` and ``Delivered-To`` record the envelope, as a receiving server does.
        """
        mail_id = f"{now.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"
        envelope = [f"Return-Path: <{mail_from}>"] + [f"Delivered-To: {to}" for to in rcpt_to]
        data = "".join(f"{line}\r\n" for line in envelope).encode() + raw
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{mail_id}.part"
        partial.write_bytes(data)
        partial.replace(self.folder / f"{mail_id}.eml")
        self._prune()
        return mail_id

    def ids(self) -> list[str]:
        """Every caught mail's id, newest first."""
        try:
            names = [path.stem for path in self.folder.glob("*.eml")]
        except OSError:
            return []
        return sorted((name for name in names if _NAME.match(name)), reverse=True)

    def latest(self, limit: int = KEEP) -> list[CaughtMail]:
        """The newest ``limit`` mails, newest first."""
        found = []
        for mail_id in self.ids()[:limit]:
            summary = _summary_at(self.folder / f"{mail_id}.eml")
            if summary is not None:  # None: deleted meanwhile by the cap
                found.append(summary)
        return found

    def open(self, mail_id: str) -> OpenedMail | None:
        message = self._read(mail_id)
        if message is None:
            return None
        html = _part(message, "html")
        text = _part(message, "plain")
        return OpenedMail(
            summary=_summary(mail_id, message),
            headers=tuple((name, str(value)) for name, value in message.items()),
            text=text,
            html=html,
            links=_links(html) if html is not None else _text_links(text or ""),
            attachments=tuple(_attachments(message)),
        )

    def _read(self, mail_id: str) -> EmailMessage | None:
        if not _NAME.match(mail_id):
            return None
        return _parse(self.folder / f"{mail_id}.eml")

    def _prune(self) -> None:
        for mail_id in self.ids()[self.keep :]:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{mail_id}.eml").unlink()


def _parse(path: Path, *, headers_only: bool = False) -> EmailMessage | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    parsed = BytesParser(policy=policy.default).parsebytes(data, headersonly=headers_only)
    assert isinstance(parsed, EmailMessage)  # policy.default builds EmailMessage
    return parsed


@functools.lru_cache(maxsize=4 * KEEP)
def _summary_at(path: Path) -> CaughtMail | None:
    """A caught mail's list entry. Cached: a file is never changed once written, and its
    name is never reused (parsing the headers of 500 mails would take half a second)."""
    message = _parse(path, headers_only=True)
    return _summary(path.stem, message) if message is not None else None


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a malformed header the parser cannot model
        value = message.get_all(name, failobj=[""])[0]
    return " ".join(str(value or "").split())


def _summary(mail_id: str, message: EmailMessage) -> CaughtMail:
    received = datetime.strptime(mail_id.split("Z-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    to = _header(message, "To") or ", ".join(
        str(value) for value in message.get_all("Delivered-To", [])
    )
    return CaughtMail(
        id=mail_id,
        received_at=received,
        to=to,
        sender=_header(message, "From"),
        subject=_header(message, "Subject"),
        message_id=_header(message, "Message-ID"),
    )


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    if body is None:
        return None
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = body.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    # Mail travels with CRLF line ends; the page shows plain lines.
    return content.replace("\r\n", "\n") if isinstance(content, str) else None


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in message.iter_attachments():
        if not isinstance(part, EmailMessage):
            continue
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return found


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href") or ""
        if href.startswith(("http://", "https://")) and href not in self.links:
            self.links.append(href)


def _links(html: str) -> tuple[str, ...]:
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    return tuple(collector.links)


_TEXT_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def _text_links(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_TEXT_LINK.findall(text)))


_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
BASE = '<base target="_blank">'


def framed_html(html: str) -> str:
    """The mail's HTML for the sandboxed frame: ``<base target="_blank">`` first in its head,
    so every link opens in a new tab (the sandbox keeps the frame from navigating itself)."""
    for opening in (_HEAD, _HTML):
        found = opening.search(html)
        if found is not None:
            return f"{html[: found.end()]}{BASE}{html[found.end() :]}"
    return BASE + html


class _Catch:
    """aiosmtpd handler: every message is accepted and kept."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
        self.mailbox.store(
            raw,
            mail_from=str(envelope.mail_from or ""),
            rcpt_to=list(envelope.rcpt_tos),
            now=datetime.now(UTC),
        )
        return "250 Caught by the Leadshelf demo mailbox"


class _SocketController(Controller):
    """aiosmtpd's threaded controller serving on a socket bound beforehand (port 0: a free
    port chosen by the system, known before the server starts, with no race for it)."""

    def __init__(self, handler: Any, sock: socket.socket, **options: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **options)
        self.sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self.sock)


class DemoCatcher:
    """The local SMTP server of ``serve --demo``: ``start()``, then send to ``url``."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", *, keep: int = KEEP) -> None:
        self.folder = mailbox_folder(data_dir)
        self.mailbox = Mailbox(self.folder, keep=keep)
        self.host = host
        self.url = ""
        self._controller: _SocketController | None = None

    def start(self) -> DemoCatcher:
        """Listen on a free port and say so in the marker file; raises ``OSError`` on failure."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # aiosmtpd logs every SMTP command at INFO: keep the demo's output readable.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self.host, 0))
            controller = _SocketController(
                _Catch(self.mailbox), sock, server_hostname="localhost", ready_timeout=10
            )
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller
        self.url = f"smtp://{self.host}:{controller.port}"
        marker = self.folder / MARKER
        partial = self.folder / f".{MARKER}.{os.getpid()}"
        partial.write_text(self.url + "\n", encoding="utf-8")
        partial.replace(marker)
        return self

    def stop(self) -> None:
        """Stop listening; the marker goes unless another catcher has replaced it."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None
        if catcher_url(self.folder.parent) == self.url:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / MARKER).unlink()

    def __enter__(self) -> DemoCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
