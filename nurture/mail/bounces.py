"""Bounces and complaints that come back by mail: DSNs (RFC 3464) and ARF feedback reports
(RFC 5965) sent to the VERP return path ``bounces+TOKEN@…``, and mail to the List-Unsubscribe
mailbox ``unsubscribe+TOKEN@…``.

Reading a report is pure (``read_report``: bytes in, ``Report`` values out; the verdicts
``dsn_kind`` and ``arf_kind`` are the rules). ``receive`` applies what one received mail says
through the suppression list. Anything that is not a report (an out-of-office reply to the
return path, spam) is read and ignored: only a report's own fields make a bounce.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.mail import subscriptions, suppression
from nurture.mail.models import MailMessage, MailStatus
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source

logger = logging.getLogger(__name__)

BOUNCES = "bounces"
UNSUBSCRIBE = "unsubscribe"
_TOKEN = re.compile(r"^(bounces|unsubscribe)\+([0-9a-f]{8,32})@", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_SMTP_CODE = re.compile(r"\b([245])\d\d\b")
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})
"""ARF feedback types that mean "the reader did not want this mail" (``not-spam`` and
``auth-failure`` say nothing about the reader's wish; ``opt-out`` is an unsubscribe)."""


LEFT_BY_MAIL = ConsentText(
    "unsubscribe-mail",
    "Unsubscribed by mailing the unsubscribe address of an email (List-Unsubscribe mailto).",
)
LEFT_BY_REPORT = ConsentText(
    "opt-out-report", "Unsubscribed through the mailbox provider (an ARF opt-out report)."
)
"""The withdrawal records' texts: how the reader left."""


@dataclass(frozen=True, slots=True)
class Report:
    """What a DSN or ARF report says about one recipient of one message of ours."""

    kind: str
    """``hard``, ``soft`` or ``complaint`` (as ``suppression.record_bounce`` takes them), or
    ``unsubscribe`` (an ARF ``opt-out``)."""
    source: str
    """``dsn`` or ``arf``."""
    recipient: str
    """The address the report names (lower case; empty when it names none, as some feedback
    loops redact it)."""
    status: str = ""
    """The enhanced status code (``5.1.1``) or the feedback type (``abuse``)."""
    detail: str = ""
    """The diagnostic code or the reporter's words, for the console."""
    message_id: str = ""
    """The Message-ID of our original message, when the report encloses its headers."""
    token: str = ""
    """The VERP token of the original's Return-Path, when the report encloses it."""


def token_of(address: str) -> tuple[str, str] | None:
    """``("bounces", TOKEN)`` or ``("unsubscribe", TOKEN)`` for our VERP addresses, else None."""
    found = _TOKEN.match(address.strip().strip("<>"))
    if found is None:
        return None
    return found.group(1).lower(), found.group(2).lower()


def dsn_kind(action: str, status: str, diagnostic: str = "") -> str | None:
    """The verdict on one recipient of a DSN: ``hard`` (failed, 5.x.x), ``soft`` (failed with a
    4.x.x status, or delayed), or None (delivered, relayed, expanded: no bounce).

    A failure without a status falls back to the SMTP code of the diagnostic, then to hard
    (RFC 3464 makes Status mandatory; "failed" is the reporter's final word).
    """
    action = action.strip().lower()
    if action == "delayed":
        return "soft"
    if action != "failed":
        return None
    klass = _status_class(status) or _status_class(diagnostic, _SMTP_CODE)
    return "soft" if klass == "4" else "hard"


def arf_kind(feedback_type: str) -> str | None:
    """The verdict of a feedback report: ``complaint``, ``unsubscribe`` (opt-out) or None."""
    kind = feedback_type.strip().lower()
    if kind in COMPLAINT_TYPES:
        return "complaint"
    if kind == "opt-out":
        return "unsubscribe"
    return None


def _status_class(text: str, pattern: re.Pattern[str] = _STATUS) -> str | None:
    found = pattern.search(text or "")
    return found.group(1) if found else None


def read_report(raw: bytes) -> list[Report]:
    """The reports a received mail holds: one per failed or delayed recipient of a DSN, one for
    an ARF report; none for anything else (or for mail that cannot be parsed)."""
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        if message.get_content_type() != "multipart/report":
            return []
        report_type = str(message.get_param("report-type") or "").lower()
        parts = list(message.walk())
        original = _original_headers(parts)
        if report_type == "delivery-status":
            return list(_dsn_reports(parts, original))
        if report_type == "feedback-report":
            return list(_arf_reports(parts, original))
    except Exception:  # a malformed mail is no report; never fail the SMTP session for it
        logger.warning("could not read a report", exc_info=True)
    return []


def _original_headers(parts: Iterable[Message]) -> Message | None:
    """The headers of our original message, enclosed as message/rfc822 or text/rfc822-headers."""
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                return HeaderParser().parsestr(text.decode("utf-8", errors="replace"))
    return None


def _enclosed(original: Message | None) -> tuple[str, str]:
    """The original's Message-ID and the VERP token of its Return-Path ("" when unknown)."""
    if original is None:
        return "", ""
    message_id = " ".join(str(original.get("Message-ID", "")).split())
    found = token_of(str(original.get("Return-Path", "")))
    token = found[1] if found is not None and found[0] == BOUNCES else ""
    return message_id, token


def _address(field: str) -> str:
    """``rfc822; Ann@Example.com`` → ``ann@example.com``."""
    value = field.split(";", 1)[1] if ";" in field else field
    return value.strip().strip("<>").strip().lower()


def _enhanced(status: str) -> str:
    """``5.1.1 (bad destination mailbox)`` → ``5.1.1``."""
    found = _STATUS.search(status)
    return (found.group(0) if found else status)[:20]


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _dsn_reports(parts: Sequence[Message], original: Message | None) -> Iterable[Report]:
    message_id, token = _enclosed(original)
    for part in parts:
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is about the message, the rest per recipient
            if not isinstance(block, Message):
                continue
            status, diagnostic = _text(block.get("Status")), _text(block.get("Diagnostic-Code"))
            kind = dsn_kind(_text(block.get("Action")), status, diagnostic)
            if kind is None:
                continue
            recipient = _address(
                _text(block.get("Original-Recipient") or block.get("Final-Recipient"))
            )
            yield Report(
                kind=kind,
                source="dsn",
                recipient=recipient,
                status=_enhanced(status),
                detail=diagnostic or f"{_text(block.get('Action'))} {status}".strip(),
                message_id=message_id,
                token=token,
            )


def _arf_reports(parts: Sequence[Message], original: Message | None) -> Iterable[Report]:
    message_id, token = _enclosed(original)
    for part in parts:
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = part.get_payload()
        if isinstance(fields, list):
            fields = fields[0] if fields else None
        elif isinstance(fields, str):
            fields = HeaderParser().parsestr(fields)
        if not isinstance(fields, Message):
            continue
        feedback_type = _text(fields.get("Feedback-Type"))
        kind = arf_kind(feedback_type)
        if kind is None:
            return
        recipient = _address(_text(fields.get("Original-Rcpt-To")))
        if not recipient and original is not None:
            addresses = getaddresses([str(original.get("To", ""))])
            recipient = addresses[0][1].lower() if addresses else ""
        reporter = _text(fields.get("User-Agent") or fields.get("Reporting-MTA"))
        yield Report(
            kind=kind,
            source="arf",
            recipient=recipient,
            status=feedback_type.lower()[:20],
            detail=f"feedback report: {feedback_type}" + (f" from {reporter}" if reporter else ""),
            message_id=message_id,
            token=token,
        )
        return


@dataclass(frozen=True, slots=True)
class Received:
    """What one received mail did, for the receiver's log and the tests."""

    unsubscribed: tuple[str, ...] = ()
    bounced: tuple[tuple[str, str], ...] = ()
    """(address, kind) of every report recorded."""
    ignored: int = 0
    """Reports and tokens that named no message or address of ours."""


def receive(session: Session, recipients: Sequence[str], raw: bytes, now: datetime) -> Received:
    """Apply one mail that reached the receiver, in the caller's transaction.

    ``unsubscribe+TOKEN``: the message's address is unsubscribed (the token is a secret only
    that message carried). ``bounces+TOKEN`` (or any other recipient): each report in the mail
    is recorded against the message its token names, else the message whose Message-ID or
    Return-Path the report encloses; a report sent to no token at all (a feedback loop's
    address, postmaster) falls back to the address it names if we ever mailed it. Unknown
    tokens (forged, or from before a database was restored) and reports about strangers are
    ignored: the mail is still accepted, since refusing it would only make the reporting
    server try again.
    """
    unsubscribed: list[str] = []
    ignored = 0
    bounce_tokens: list[str] = []
    for recipient in recipients:
        found = token_of(recipient)
        if found is None:
            continue
        mailbox, token = found
        if mailbox == BOUNCES:
            bounce_tokens.append(token)
            continue
        message = _by_token(session, token)
        if message is None:
            ignored += 1
            continue
        _unsubscribe(
            session, message.to_address, now, "List-Unsubscribe mail", message.id, LEFT_BY_MAIL
        )
        unsubscribed.append(message.to_address)
    bounced: list[tuple[str, str]] = []
    for report in read_report(raw):
        applied = _apply(session, report, bounce_tokens, now)
        if applied is None:
            ignored += 1
        else:
            bounced.append(applied)
    return Received(tuple(unsubscribed), tuple(bounced), ignored)


def _apply(
    session: Session, report: Report, tokens: Sequence[str], now: datetime
) -> tuple[str, str] | None:
    message = _message_for(session, report, tokens)
    address = message.to_address if message is not None else report.recipient
    if message is None and (tokens or not (address and _ever_mailed(session, address))):
        logger.info("report about %r matches no message of ours; ignored", report.recipient)
        return None
    message_pk = message.id if message is not None else None
    if report.kind == "unsubscribe":
        _unsubscribe(session, address, now, report.detail, message_pk, LEFT_BY_REPORT)
        return address, report.kind
    suppression.record_bounce(
        session,
        address,
        report.kind,
        report.source,
        now,
        status=report.status,
        detail=report.detail,
        message_id=message_pk,
    )
    if report.kind == "hard" and message is not None:
        mark_bounced(message, report.detail)
    return address, report.kind


def _unsubscribe(
    session: Session,
    address: str,
    now: datetime,
    detail: str,
    message_id: int | None,
    wording: ConsentText,
) -> None:
    """As the unsubscribe link does: the consent is withdrawn and the address suppressed."""
    subscriptions.unsubscribe(
        session,
        address,
        now=now,
        message_id=message_id,
        source=Source("mailto", f"message {message_id}" if message_id else ""),
        detail=detail,
        wording=wording,
    )


def mark_bounced(message: MailMessage, detail: str) -> None:
    """A message the server had accepted came back for good: the console shows it bounced."""
    if message.status in (MailStatus.SENT.value, MailStatus.SENDING.value):
        message.status = MailStatus.BOUNCED.value
        message.last_error = detail[:2000]


def _message_for(session: Session, report: Report, tokens: Sequence[str]) -> MailMessage | None:
    for token in [*tokens, report.token]:
        if token and (message := _by_token(session, token)) is not None:
            return message
    if report.message_id:
        return message_by_id(session, report.message_id)
    return None


def message_by_id(session: Session, message_id: str) -> MailMessage | None:
    """Our message with this Message-ID header (with or without its angle brackets)."""
    value = message_id.strip()
    if not value:
        return None
    if not value.startswith("<"):
        value = f"<{value}>"
    return session.scalar(select(MailMessage).where(MailMessage.message_id == value[:200]))


def _by_token(session: Session, token: str) -> MailMessage | None:
    return session.scalar(select(MailMessage).where(MailMessage.verp == token[:32]))


def _ever_mailed(session: Session, address: str) -> bool:
    """Whether any message of ours went to the address (a report about another is forged or
    misrouted and must not put a stranger on the list)."""
    return (
        session.scalar(select(MailMessage.id).where(MailMessage.to_address == address).limit(1))
        is not None
    )
