"""The send job: claim due messages, check the rules again, render, send over one SMTP
connection per batch, and record each outcome the moment the server answers.

Crash safety: a claim is a short write transaction that marks messages ``sending`` with a
lease; SMTP runs outside any transaction (on SQLite the write lock is never held while
talking to the server). Each acceptance is committed before the next message is sent, so a
process killed mid-batch leaves at most the one message in flight to be sent again when its
lease runs out (at least once, for that one only); the rest are either recorded as sent or
still claimable. Several senders share the queue on PostgreSQL (``FOR UPDATE SKIP LOCKED``).
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
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from content.orm import SessionSource, utcnow
from nurture.mail import rules, suppression
from nurture.mail.models import MailAddress, MailCategory, MailMessage, MailStatus
from nurture.mail.smtp import Connection, Reply, Sender, SmtpServer, connect
from tracking.models import Lead

logger = logging.getLogger(__name__)

BATCH = 50
"""Messages claimed, rendered and sent over one connection at a time."""
LEASE = timedelta(minutes=10)
"""How long a claim lasts; a batch of ``BATCH`` at the SMTP timeout each still fits."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed message, with what rendering it needs."""

    id: int
    claim: str
    message_id: str
    verp: str
    lead_id: int | None
    to: str
    kind: str
    category: MailCategory
    language: str
    params: dict[str, Any]
    attempts: int
    created_at: datetime


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

    def __add__(self, other: SendRound) -> SendRound:
        return SendRound(
            self.sent + other.sent,
            self.retried + other.retried,
            self.bounced + other.bounced,
            self.failed + other.failed,
            self.skipped + other.skipped,
        )

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.bounced + self.failed + self.skipped


def return_path(verp: str, sender: Sender) -> str:
    """The envelope sender: bounces come back to ``bounces+TOKEN@domain`` (VERP)."""
    return f"bounces+{verp}@{sender.domain}"


def _due(now: datetime) -> Any:
    return or_(
        and_(MailMessage.status == MailStatus.PENDING.value, MailMessage.next_attempt_at <= now),
        and_(MailMessage.status == MailStatus.SENDING.value, MailMessage.lease_until <= now),
    )


def claim(
    session: Session, now: datetime, limit: int, token: str, postal_address: str
) -> tuple[list[Outgoing], int]:
    """Claim up to ``limit`` due messages; those the rules refuse now are marked ``skipped``
    at once. Returns the messages to send and the number skipped."""
    rows = list(
        session.scalars(
            select(MailMessage)
            .where(_due(now))
            .order_by(MailMessage.next_attempt_at, MailMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return [], 0
    addresses = sorted({row.to_address for row in rows})
    suppressed = suppression.active_reasons(session, addresses)
    lead_ids = {row.lead_id for row in rows if row.lead_id is not None}
    consent: dict[int | None, str] = dict(
        session.execute(select(Lead.id, Lead.consent_status).where(Lead.id.in_(lead_ids))).all()
    )
    claimed, skipped = [], 0
    for row in rows:
        recipient = rules.Recipient(
            suppressed.get(row.to_address), consent.get(row.lead_id, "none")
        )
        refused = rules.refusal(MailCategory(row.category), recipient, postal_address)
        if refused is not None:
            row.status = MailStatus.SKIPPED.value
            row.skip_reason = refused
            row.claim = None
            row.lease_until = None
            skipped += 1
            continue
        row.status = MailStatus.SENDING.value
        row.claim = token
        row.lease_until = now + LEASE
        row.attempts += 1
        claimed.append(
            Outgoing(
                id=row.id,
                claim=token,
                message_id=row.message_id,
                verp=row.verp,
                lead_id=row.lead_id,
                to=row.to_address,
                kind=row.kind,
                category=MailCategory(row.category),
                language=row.language,
                params=dict(row.params or {}),
                attempts=row.attempts,
                created_at=row.created_at,
            )
        )
    session.flush()
    return claimed, skipped


def record(
    session: Session,
    item: Outgoing,
    reply: Reply,
    now: datetime,
    *,
    subject: str = "",
) -> rules.Verdict | None:
    """Store how one attempt went (only by the claim holder); None: the claim was lost."""
    message = session.get(MailMessage, item.id, with_for_update=True, populate_existing=True)
    if message is None or message.claim != item.claim:
        return None
    outcome = rules.verdict(reply.code)
    message.smtp_code = reply.code
    message.claim = None
    message.lease_until = None
    if subject:
        message.subject = subject[:300]
    if outcome is rules.Verdict.ACCEPTED:
        message.status = MailStatus.SENT.value
        message.sent_at = now
        message.last_error = ""
        if item.category is MailCategory.MARKETING:
            _note_marketing_sent(session, item.to, now)
        return outcome
    message.last_error = reply.text[:2000]
    if outcome is rules.Verdict.PERMANENT:
        message.status = MailStatus.BOUNCED.value
        suppression.record_bounce(
            session,
            item.to,
            "hard",
            "smtp",
            now,
            status=str(reply.code),
            detail=reply.text,
            message_id=item.id,
        )
        return outcome
    retry_at = rules.next_attempt(message.attempts, now, message.retry_until)
    if retry_at is None:
        message.status = MailStatus.FAILED.value
        suppression.record_bounce(
            session,
            item.to,
            "soft",
            "smtp",
            now,
            status=str(reply.code or ""),
            detail=f"gave up after {message.attempts} attempts: {reply.text}",
            message_id=item.id,
        )
    else:
        message.status = MailStatus.PENDING.value
        message.next_attempt_at = retry_at
    return outcome


def _note_marketing_sent(session: Session, address: str, now: datetime) -> None:
    state = session.get(MailAddress, address)
    if state is None:
        session.add(MailAddress(address=address, soft_bounces=0, last_sent_at=now))
    else:
        state.last_sent_at = now


@dataclass(frozen=True, slots=True)
class Backlog:
    waiting: int
    oldest_due: datetime | None


def backlog(session: Session, now: datetime) -> Backlog:
    """Messages waiting to be sent, and since when the oldest of them is due."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(MailMessage.next_attempt_at)).where(
            MailMessage.status.in_([MailStatus.PENDING.value, MailStatus.SENDING.value])
        )
    ).one()
    due_since = oldest if oldest is not None and oldest <= now else None
    return Backlog(int(waiting), due_since)


class MailSender:
    """Sends due mail in batches; ``server`` None means SMTP is not configured (nothing is
    claimed: the mail waits). ``clock``, ``connect`` and ``sleep`` are injectable for tests."""

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
        sleep: Callable[[float], None] = time.sleep,
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
        self.sleep = sleep
        self.stopping = stopping or threading.Event()
        self._last_send = 0.0

    def run_once(self) -> SendRound:
        """Claim and send batch after batch until nothing is due (or the process stops)."""
        done = SendRound()
        if self.server is None:
            return done
        while not self.stopping.is_set():
            token = secrets.token_hex(16)
            with self.database.write() as session:
                claimed, skipped = claim(
                    session, self.clock(), self.batch, token, self.postal_address
                )
            done += SendRound(skipped=skipped)
            if not claimed:
                return done
            done += self.send_batch(claimed)
        return done

    def send_batch(self, claimed: Sequence[Outgoing]) -> SendRound:
        rendered: dict[int, Rendered | Exception] = {}
        with self.database.read() as session:
            for item in claimed:
                try:
                    rendered[item.id] = self.render(session, item)
                except Exception as exc:  # a template or data fault: retried, logged
                    logger.exception("mail %d (%s) could not be rendered", item.id, item.kind)
                    rendered[item.id] = exc
        done = SendRound()
        connection: Connection | None = None
        down: Reply | None = None
        try:
            for item in claimed:
                outcome = rendered[item.id]
                if isinstance(outcome, Exception):
                    done += self._record(item, Reply(None, f"rendering failed: {outcome}"))
                    continue
                if down is None and (connection is None or not connection.alive):
                    connection, refused = self._open()
                    down = refused if connection is None else None
                if down is not None or connection is None:
                    # The server cannot be reached: the rest of the batch waits for a retry.
                    done += self._record(
                        item, down or Reply(None, "no connection"), outcome.subject
                    )
                    continue
                self._pace()
                reply = connection.send(return_path(item.verp, self.sender), item.to, outcome.data)
                done += self._record(item, reply, outcome.subject)
        finally:
            if connection is not None:
                connection.close()
        return done

    def _open(self) -> tuple[Connection | None, Reply]:
        assert self.server is not None
        try:
            return self.connect(self.server), Reply(250)
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            logger.warning(
                "SMTP %s refused the session: %s %s", self.server.describe(), exc.smtp_code, text
            )
            # A refused session (e.g. 535 bad credentials) is no verdict on the recipient.
            return None, Reply(None, f"session refused: {exc.smtp_code} {text}")
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("SMTP %s unreachable: %s", self.server.describe(), exc)
            return None, Reply(None, f"cannot connect to {self.server.describe()}: {exc}")

    def _pace(self) -> None:
        if self.per_second <= 0:
            return
        wait = self._last_send + 1.0 / self.per_second - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_send = time.monotonic()

    def _record(self, item: Outgoing, reply: Reply, subject: str = "") -> SendRound:
        with self.database.write() as session:
            outcome = record(session, item, reply, self.clock(), subject=subject)
        if outcome is rules.Verdict.ACCEPTED:
            return SendRound(sent=1)
        if outcome is rules.Verdict.PERMANENT:
            return SendRound(bounced=1)
        if outcome is rules.Verdict.TEMPORARY:
            logger.info("mail %d to be retried: %s", item.id, reply.text)
            return SendRound(retried=1)
        return SendRound()
