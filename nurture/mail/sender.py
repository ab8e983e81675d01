"""The send job: claim due messages, check the rules again, render, send over one SMTP
connection per batch, and record each outcome the moment the server answers.

Crash safety: a claim is a short write transaction that marks messages ``sending`` with a
lease; rendering reads in its own read session and SMTP runs outside any transaction (on
SQLite the write lock is never held while talking to the server). Each answer is committed
before the next message is sent, so a process killed mid-batch leaves at most the one message
in flight to be sent again when its lease runs out (at least once, for that one only); the
rest are either recorded or still claimable. Several senders share the queue on PostgreSQL
(``FOR UPDATE SKIP LOCKED``); a sender that is stopped gives its unsent claims back.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from content.orm import SessionSource, utcnow
from nurture.mail import attempts, rules
from nurture.mail.attempts import LEASE, Outgoing, backlog
from nurture.mail.models import SuppressionReason
from nurture.mail.smtp import (
    TIMEOUT,
    Connection,
    Reply,
    Sender,
    SessionFailed,
    SmtpServer,
    connect,
)

__all__ = [
    "BATCH",
    "LEASE_MARGIN",
    "MailSender",
    "Outgoing",
    "Render",
    "Rendered",
    "SendRound",
    "backlog",
    "return_path",
]
"""``Outgoing`` and ``backlog`` live in ``nurture.mail.attempts`` and are named here too."""

logger = logging.getLogger(__name__)

BATCH = 50
"""Messages claimed, rendered and sent over one connection at a time."""
LEASE_MARGIN = timedelta(seconds=8 * TIMEOUT)
"""A batch stops sending this long before its lease runs out (and gives the rest back): a
reconnect (connect, EHLO, STARTTLS, AUTH) and one more message (MAIL, RCPT, DATA), each at the
SMTP timeout, still end inside the lease, so no other sender can have claimed that message."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for the wire: the whole RFC 5322 text (signed when DKIM is set)."""

    subject: str
    data: bytes


Render = Callable[[Session, Outgoing], Rendered]
"""Builds one message (the composition root's Jinja templates); reads what it needs."""
Connect = Callable[[SmtpServer], Connection]


@dataclass(frozen=True, slots=True)
class SendRound:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    bounced: int = 0
    failed: int = 0
    skipped: int = 0
    unreachable: bool = False
    """No SMTP session could be opened (the pass ended there)."""
    cut_short: bool = False
    """The batch gave its unsent messages back (a stop, or its lease nearly over)."""

    def __add__(self, other: SendRound) -> SendRound:
        return SendRound(
            self.sent + other.sent,
            self.retried + other.retried,
            self.bounced + other.bounced,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.unreachable or other.unreachable,
            self.cut_short or other.cut_short,
        )

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.bounced + self.failed + self.skipped


def return_path(verp: str, sender: Sender) -> str:
    """The envelope sender: bounces come back to ``bounces+TOKEN@domain`` (VERP)."""
    return f"bounces+{verp}@{sender.domain}"


class MailSender:
    """Sends due mail in batches; ``server`` None means SMTP is not configured (nothing is
    claimed: the mail waits). ``clock``, ``connect``, ``sleep`` and ``monotonic`` are
    injectable for tests; by default a wait for the rate ends at once when ``stopping`` is set.
    """

    def __init__(
        self,
        database: SessionSource,
        render: Render,
        server: SmtpServer | None,
        sender: Sender,
        *,
        postal_address: str = "",
        per_second: float = 0.0,
        batch: int = BATCH,
        clock: Callable[[], datetime] = utcnow,
        connect: Connect = connect,
        sleep: Callable[[float], object] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        stopping: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.render = render
        self.server = server
        self.sender = sender
        self.postal_address = postal_address
        self.per_second = per_second
        self.batch = batch
        self.clock = clock
        self.connect = connect
        self.stopping = stopping or threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.monotonic = monotonic
        self._next_send: float | None = None

    def run_once(self) -> SendRound:
        """Claim and send batch after batch until nothing is due, the server cannot be reached
        (the next pass tries again) or the process stops."""
        done = SendRound()
        if self.server is None:
            return done
        while not self.stopping.is_set():
            token = secrets.token_hex(16)
            now = self.clock()
            with self.database.write() as session:
                claimed, skipped = attempts.claim(
                    session, now, self.batch, token, self.postal_address
                )
            done += SendRound(skipped=skipped)
            if not claimed:
                return done
            batch = self.send_batch(claimed, deadline=now + LEASE - LEASE_MARGIN)
            done += batch
            if batch.unreachable or batch.cut_short:
                return done
        return done

    def send_batch(
        self, claimed: Sequence[Outgoing], deadline: datetime | None = None
    ) -> SendRound:
        """Send claimed messages over one connection (a new one only if it drops), recording
        each answer before the next message goes; none is sent after ``deadline``."""
        assert self.server is not None
        rendered = self._render_all(claimed)
        done = SendRound()
        hard_bounced: set[str] = set()
        connection: Connection | None = None
        try:
            for index, item in enumerate(claimed):
                outcome = rendered[item.id]
                if isinstance(outcome, Exception):
                    done += self._record(item, Reply(None, f"rendering failed: {outcome}"))
                    continue
                if item.to in hard_bounced:
                    # Refused for good a moment ago: suppressed now, so the rest is not sent.
                    done += self._skip(item, f"suppressed: {SuppressionReason.HARD_BOUNCE.value}")
                    continue
                if connection is None or not connection.alive:
                    connection, failed = self._open(connection)
                    if connection is None:
                        return done + self._unreachable(claimed[index:], failed, rendered)
                self._pace()
                if self.stopping.is_set() or (deadline is not None and self.clock() >= deadline):
                    self._release(claimed[index:])
                    return done + SendRound(cut_short=True)
                reply = connection.send(return_path(item.verp, self.sender), item.to, outcome.data)
                done += self._record(item, reply, outcome.subject)
                if rules.verdict(reply.code) is rules.Verdict.PERMANENT:
                    hard_bounced.add(item.to)
        finally:
            if connection is not None:
                connection.close()
        return done

    def _render_all(self, claimed: Sequence[Outgoing]) -> dict[int, Rendered | Exception]:
        """Every message of the batch, rendered in one read session before SMTP starts."""
        rendered: dict[int, Rendered | Exception] = {}
        with self.database.read() as session:
            for item in claimed:
                try:
                    rendered[item.id] = self.render(session, item)
                except Exception as exc:  # a template or data fault: retried, logged
                    logger.exception("mail %d (%s) could not be rendered", item.id, item.kind)
                    rendered[item.id] = exc
        return rendered

    def _open(self, previous: Connection | None) -> tuple[Connection | None, str]:
        assert self.server is not None
        if previous is not None:
            previous.close()
        try:
            return self.connect(self.server), ""
        except SessionFailed as exc:
            reason = exc.reason
        except (smtplib.SMTPException, OSError) as exc:  # a connect function of a test
            reason = f"cannot connect to {self.server.describe()}: {exc}"
        logger.warning("SMTP %s: %s", self.server.describe(), reason)
        return None, reason

    def _unreachable(
        self,
        rest: Sequence[Outgoing],
        reason: str,
        rendered: dict[int, Rendered | Exception],
    ) -> SendRound:
        """No session (down, TLS, 535 …) is no verdict on a recipient: the rest of the batch
        is tried again with backoff, in one transaction."""
        reply = Reply(None, f"no session: {reason}")
        retried = 0
        with self.database.write() as session:
            now = self.clock()
            for item in rest:
                outcome = rendered.get(item.id)
                subject = outcome.subject if isinstance(outcome, Rendered) else ""
                if attempts.record(session, item, reply, now, subject=subject) is not None:
                    retried += 1
        return SendRound(retried=retried, unreachable=True)

    def _pace(self) -> None:
        """At most ``per_second`` messages a second from this sender, evenly spaced."""
        if self.per_second <= 0:
            return
        now = self.monotonic()
        if self._next_send is not None and now < self._next_send:
            self.sleep(self._next_send - now)
            now = self.monotonic()
        start = now if self._next_send is None else max(now, self._next_send)
        self._next_send = start + 1.0 / self.per_second

    def _record(self, item: Outgoing, reply: Reply, subject: str = "") -> SendRound:
        with self.database.write() as session:
            outcome = attempts.record(session, item, reply, self.clock(), subject=subject)
        if outcome is rules.Verdict.ACCEPTED:
            return SendRound(sent=1)
        if outcome is rules.Verdict.PERMANENT:
            return SendRound(bounced=1)
        if outcome is rules.Verdict.TEMPORARY:
            logger.info("mail %d to be retried: %s", item.id, reply.describe())
            return SendRound(retried=1)
        return SendRound()

    def _skip(self, item: Outgoing, reason: str) -> SendRound:
        with self.database.write() as session:
            skipped = attempts.skip(session, item, reason)
        return SendRound(skipped=1 if skipped else 0)

    def _release(self, rest: Sequence[Outgoing]) -> None:
        with self.database.write() as session:
            attempts.release(session, rest)
