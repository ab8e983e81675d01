"""The bounce receiver (``leadshelf bounces serve``'s SMTP server): real DSNs, ARF complaints and
List-Unsubscribe mails sent to it over SMTP put addresses on the suppression list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture import relay
from nurture.mail import suppression
from nurture.mail.models import MailAddress, MailBounce, MailCategory, MailMessage, MailStatus
from nurture.mail.outbox import Mail, enqueue
from portal.cli_bounces import BounceHandler, receiver
from portal.db import Database
from tests.mailbox import SmtpSink, send_mail
from tests.nurture.mail.reports import arf, deliver, dsn, original_headers
from tests.nurture.outbox import MODEL, add_endpoint, deliveries
from tests.servers import free_port
from tracking.identity.identify import get_or_create_lead
from tracking.models import Consent, Lead, LeadChange


@pytest.fixture
def port(db: Database) -> Iterator[int]:
    """A bounce receiver on a free port, writing to the test database."""
    controller = receiver(db, "127.0.0.1", free_port())
    controller.start()
    yield controller.port
    controller.stop()


def lead_with_message(db: Database, email: str = "ann@example.com") -> tuple[int, MailMessage]:
    """A lead and one transactional message to it (as if sent)."""
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, utcnow())
        message_id = enqueue(
            session,
            Mail(to=email, kind="test", category=MailCategory.TRANSACTIONAL, lead_id=lead.id),
            domain="pipewise.example",
            now=utcnow(),
        )
        message = session.get(MailMessage, message_id)
        assert message is not None
        message.status = MailStatus.SENT.value
        session.flush()
        session.expunge(message)
        return lead.id, message


def changes(db: Database, lead_id: int) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(LeadChange.kind, LeadChange.new)
            .where(LeadChange.lead_id == lead_id, LeadChange.kind != "identified")
            .order_by(LeadChange.seq)
        )
        return [(kind, new) for kind, new in rows]


def suppressed(db: Database, address: str) -> str | None:
    with db.read() as session:
        entry = suppression.active(session, address)
        return entry.reason if entry is not None else None


def bounces(db: Database) -> list[tuple[str, str, str, str, int | None]]:
    with db.read() as session:
        rows = session.scalars(select(MailBounce).order_by(MailBounce.id))
        return [(b.address, b.kind, b.source, b.status, b.message_id) for b in rows]


def test_a_dsn_to_the_return_path_of_a_sent_mail_suppresses_the_address(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database, port: int
) -> None:
    lead_id, message = lead_with_message(db)
    with db.write() as session:
        session.get_one(MailMessage, message.id).status = MailStatus.PENDING.value
    send_mail(mail_client)
    (sent,) = smtp_sink.wait_for(1)
    headers = sent.raw.split(b"\r\n\r\n", 1)[0].decode() + "\r\n"
    code, _ = deliver(port, sent.mail_from, dsn("ann@example.com", original=headers))
    assert code == 250
    assert suppressed(db, "ann@example.com") == "hard_bounce"
    assert bounces(db) == [("ann@example.com", "hard", "dsn", "5.1.1", message.id)]
    assert changes(db, lead_id) == [("email_bounced", "hard_bounce")]
    with db.read() as session:
        bounced = session.get_one(MailMessage, message.id)
        assert bounced.status == MailStatus.BOUNCED.value
        assert "User unknown" in bounced.last_error


def test_a_soft_dsn_counts_towards_three_soft_bounces_in_a_row(db: Database, port: int) -> None:
    lead_id, first = lead_with_message(db)
    _, second = lead_with_message(db)
    _, third = lead_with_message(db)
    delayed = {"action": "delayed", "status": "4.4.1", "diagnostic": "timed out"}
    deliver(port, f"bounces+{first.verp}@pipewise.example", dsn("ann@example.com", **delayed))
    # A second delay warning for the same message is the same bounce, not another in a row.
    deliver(port, f"bounces+{first.verp}@pipewise.example", dsn("ann@example.com", **delayed))
    deliver(port, f"bounces+{second.verp}@pipewise.example", dsn("ann@example.com", **delayed))
    assert suppressed(db, "ann@example.com") is None
    with db.read() as session:
        assert session.get_one(MailAddress, "ann@example.com").soft_bounces == 2
    deliver(port, f"bounces+{third.verp}@pipewise.example", dsn("ann@example.com", **delayed))
    assert suppressed(db, "ann@example.com") == "hard_bounce"
    assert [kind for _, kind, *_ in bounces(db)] == ["soft", "soft", "soft"]
    assert changes(db, lead_id) == [("email_bounced", "hard_bounce")]
    with db.read() as session:  # a soft bounce leaves the message as sent
        assert session.get_one(MailMessage, first.id).status == MailStatus.SENT.value


def test_a_complaint_to_the_feedback_address_finds_the_message_by_its_message_id(
    db: Database, port: int
) -> None:
    lead_id, message = lead_with_message(db)
    original = original_headers("ann@example.com", message_id=message.message_id)
    code, _ = deliver(port, "fbl@pipewise.example", arf("ann@example.com", original=original))
    assert code == 250
    assert suppressed(db, "ann@example.com") == "complaint"
    assert bounces(db) == [("ann@example.com", "complaint", "arf", "abuse", message.id)]
    assert changes(db, lead_id) == [("email_bounced", "complaint")]


def test_a_mail_to_the_list_unsubscribe_address_unsubscribes_its_reader(
    db: Database, port: int
) -> None:
    lead_id, message = lead_with_message(db)
    with db.write() as session:
        session.get_one(Lead, lead_id).consent_status = "confirmed"
    mail = b"From: ann@example.com\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n"
    code, _ = deliver(port, f"unsubscribe+{message.verp}@pipewise.example", mail)
    assert code == 250
    assert suppressed(db, "ann@example.com") == "unsubscribed"
    assert changes(db, lead_id) == [("unsubscribed", "unsubscribed")]
    with db.read() as session:  # as the unsubscribe link does: the consent is withdrawn
        assert session.get_one(Lead, lead_id).consent_status == "withdrawn"
        (record,) = session.scalars(select(Consent).where(Consent.lead_id == lead_id))
        assert (record.status, record.source) == ("withdrawn", "mailto")


def test_unknown_tokens_and_strangers_are_accepted_and_ignored(db: Database, port: int) -> None:
    lead_with_message(db)
    unknown = "ab" * 12
    answers = [
        deliver(port, f"bounces+{unknown}@pipewise.example", dsn("ann@example.com"))[0],
        deliver(port, f"unsubscribe+{unknown}@pipewise.example", b"Subject: x\r\n\r\nx\r\n")[0],
        deliver(port, "fbl@pipewise.example", arf("stranger@example.org"))[0],
        deliver(port, "bounces@pipewise.example", b"Subject: Out of office\r\n\r\nAway.\r\n")[0],
    ]
    assert answers == [250, 250, 250, 250]
    assert bounces(db) == []
    assert suppressed(db, "ann@example.com") is None
    assert suppressed(db, "stranger@example.org") is None


def test_a_report_whose_token_was_lost_falls_back_to_an_address_we_mailed(
    db: Database, port: int
) -> None:
    lead_with_message(db)
    deliver(port, "postmaster@pipewise.example", dsn("Ann@Example.com"))
    assert suppressed(db, "ann@example.com") == "hard_bounce"
    assert bounces(db) == [("ann@example.com", "hard", "dsn", "5.1.1", None)]


def test_the_webhook_relay_tells_crms_of_the_bounce(db: Database, port: int) -> None:
    add_endpoint(db, "http://127.0.0.1:9/hook", ("email.bounced",))
    _, message = lead_with_message(db)
    deliver(port, f"bounces+{message.verp}@pipewise.example", dsn("ann@example.com"))
    with db.write() as session:
        relay.relay(session, MODEL, default_language="de")
    (delivery,) = deliveries(db)
    body = json.loads(delivery.body)
    assert body["type"] == "email.bounced"
    assert body["lead"]["email"] == "ann@example.com"
    # The lead document says what the CRM must know: the address is suppressed now.
    assert body["lead"]["suppressed"]["reason"] == "hard_bounce"
    assert body["lead"]["language"] == "de"
    assert body["data"]["reason"] == "hard_bounce"
    assert "User unknown" in body["data"]["detail"]


class _Broken:
    """A database that is down."""

    def read(self) -> AbstractContextManager[Session]:
        raise ConnectionError("database down")

    def write(self) -> AbstractContextManager[Session]:
        raise ConnectionError("database down")


def test_while_the_database_is_down_the_reporting_server_is_told_to_try_again() -> None:
    controller: Any = Controller(BounceHandler(_Broken()), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        code, text = deliver(controller.port, "bounces+0@pipewise.example", dsn("a@example.com"))
    finally:
        controller.stop()
    assert code == 451
    assert b"try again later" in text
