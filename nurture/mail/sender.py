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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from content.orm import SessionSource, dialect_insert, utcnow
from nurture.mail import rules, suppression
from nurture.mail.models import (
    MailAddress,
    MailCategory,
    MailMessage,
    MailStatus,
    SuppressionReason,
)
from nurture.mail.smtp import (
    TIMEOUT,
    Connection,
    Reply,
    Sender,
    SessionFailed,
    SmtpServer,
    connect,
)
from tracking.models import Lead

logger = logging.getLogger(__name__)

BATCH = 50
"""Messages claimed, rendered and sent over one connection at a time."""
LEASE = timedelta(minutes=10)
"""How long a claim lasts: after that another sender may take the message."""
LEASE_MARGIN = timedelta(seconds=8 * TIMEOUT)
"""A batch stops sending this long before its lease runs out (and gives the rest back): a
reconnect (connect, EHLO, STARTTLS, AUTH) and one more message (MAIL, RCPT, DATA), each at the
SMTP timeout, still end inside the lease, so no other sender can have claimed that message."""


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
    recipients = _recipients(session, rows)
    claimed, skipped = [], 0
    for row in rows:
        category = MailCategory(row.category)
        recipient = recipients[row.to_address, row.lead_id]
        refused = rules.refusal(category, recipient, postal_address, now)
        if refused is not None:
            row.status = MailStatus.SKIPPED.value
            row.skip_reason = refused
            row.claim = None
            row.lease_until = None
            skipped += 1
            continue
        if category is MailCategory.MARKETING:
            # A second marketing mail in this batch counts the first as sent for the cap.
            recipients[row.to_address, row.lead_id] = replace(recipient, last_marketing_at=now)
        row.status = MailStatus.SENDING.value
        row.claim = token
        row.lease_until = now + LEASE
        row.attempts += 1
        claimed.append(_outgoing(row, token))
    session.flush()
    return claimed, skipped


def _recipients(
    session: Session, rows: Sequence[MailMessage]
) -> dict[tuple[str, int | None], rules.Recipient]:
    """What the rules need to know of each (address, lead) of these messages, in three
    queries for the whole batch."""
    addresses = sorted({row.to_address for row in rows})
    suppressed = suppression.active_reasons(session, addresses)
    last_marketing = dict(
        session.execute(
            select(MailAddress.address, MailAddress.last_sent_at).where(
                MailAddress.address.in_(addresses)
            )
        ).all()
    )
    lead_ids = {row.lead_id for row in rows if row.lead_id is not None}
    leads: dict[int | None, tuple[str, str]] = {
        lead_id: (consent, frequency)
        for lead_id, consent, frequency in session.execute(
            select(Lead.id, Lead.consent_status, Lead.mail_frequency).where(Lead.id.in_(lead_ids))
        ).all()
    }
    found = {}
    for row in rows:
        consent, frequency = leads.get(row.lead_id, ("none", "all"))
        found[row.to_address, row.lead_id] = rules.Recipient(
            suppressed.get(row.to_address),
            consent,
            frequency=frequency or "all",
            last_marketing_at=last_marketing.get(row.to_address),
        )
    return found


def _outgoing(row: MailMessage, token: str) -> Outgoing:
    return Outgoing(
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


def record(
    session: Session,
    item: Outgoing,
    reply: Reply,
    now: datetime,
    *,
    subject: str = "",
) -> rules.Verdict | None:
    """Store how one attempt went (only by the claim holder); None: the claim was lost."""
    if reply.accepted:
        return _record_accepted(session, item, reply, now, subject)
    message = session.get(MailMessage, item.id, with_for_update=True, populate_existing=True)
    if message is None or message.claim != item.claim:
        return None
    outcome = rules.verdict(reply.code)
    message.smtp_code = reply.code
    message.claim = None
    message.lease_until = None
    if subject:
        message.subject = subject[:300]
    message.last_error = reply.describe()[:2000]
    if outcome is rules.Verdict.PERMANENT:
        message.status = MailStatus.BOUNCED.value
        suppression.record_bounce(
            session,
            item.to,
            "hard",
            "smtp",
            now,
            status=str(reply.code),
            detail=reply.describe(),
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
            detail=f"gave up after {message.attempts} attempts: {reply.describe()}",
            message_id=item.id,
        )
    else:
        message.status = MailStatus.PENDING.value
        message.next_attempt_at = retry_at
    return outcome


def _record_accepted(
    session: Session, item: Outgoing, reply: Reply, now: datetime, subject: str
) -> rules.Verdict | None:
    """The common case, kept to one UPDATE (and one upsert for marketing mail): it is written
    and committed after every single message, before the next one goes."""
    values: dict[str, Any] = {
        "status": MailStatus.SENT.value,
        "sent_at": now,
        "smtp_code": reply.code,
        "claim": None,
        "lease_until": None,
        "last_error": "",
    }
    if subject:
        values["subject"] = subject[:300]
    done = session.connection().execute(  # Core: none of the ORM's bookkeeping per message
        update(MailMessage)
        .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
        .values(**values)
    )
    if not done.rowcount:
        return None
    if item.category is MailCategory.MARKETING:
        _note_marketing_sent(session, item.to, now)
    return rules.Verdict.ACCEPTED


def skip(session: Session, item: Outgoing, reason: str) -> bool:
    """Mark a claimed message ``skipped`` (by the claim holder); False: the claim was lost."""
    done = session.execute(
        update(MailMessage)
        .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
        .values(
            status=MailStatus.SKIPPED.value, skip_reason=reason[:40], claim=None, lease_until=None
        )
    )
    return bool(getattr(done, "rowcount", 0))


def release(session: Session, items: Sequence[Outgoing]) -> None:
    """Give claimed messages back unsent (the process is stopping): due again at once, and the
    attempt they were claimed for does not count."""
    for item in items:
        session.execute(
            update(MailMessage)
            .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
            .values(
                status=MailStatus.PENDING.value,
                claim=None,
                lease_until=None,
                attempts=MailMessage.attempts - 1,
            )
        )


def _note_marketing_sent(session: Session, address: str, now: datetime) -> None:
    """When marketing mail last went to the address (the frequency cap reads it)."""
    insert = dialect_insert(session)
    session.execute(
        insert(MailAddress)
        .values(address=address, soft_bounces=0, last_sent_at=now)
        .on_conflict_do_update(index_elements=[MailAddress.address], set_={"last_sent_at": now})
    )


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
                claimed, skipped = claim(session, now, self.batch, token, self.postal_address)
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
                if record(session, item, reply, now, subject=subject) is not None:
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
            outcome = record(session, item, reply, self.clock(), subject=subject)
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
            skipped = skip(session, item, reason)
        return SendRound(skipped=1 if skipped else 0)

    def _release(self, rest: Sequence[Outgoing]) -> None:
        with self.database.write() as session:
            release(session, rest)
