"""Erasing a lead also removes the webhook bodies that carry its Lead document and the mail
records of its address, which stays on the suppression list as ``erased``."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from nurture import privacy, relay
from nurture.mail import suppression
from nurture.mail.models import MailAddress, MailBounce, MailCategory
from nurture.models import WebhookDelivery
from portal.db import Database
from tests.mailbox import SmtpSink, send_mail
from tests.nurture.mail.subscribers import T0, entries, mail_to, messages, subscribed
from tests.nurture.outbox import MODEL, add_endpoint, identify
from tracking.models import Lead


def test_erasing_a_lead_deletes_its_webhook_deliveries_and_keeps_others(db: Database) -> None:
    add_endpoint(db, "http://127.0.0.1:9/hook")
    ada = identify(db, "ada@example.com")
    bob = identify(db, "bob@example.com")
    with db.write() as session:
        relay.relay(session, MODEL)
    with db.read() as session:
        bodies = list(session.scalars(select(WebhookDelivery.body)))
    assert any("ada@example.com" in body for body in bodies)

    with db.write() as session:
        assert privacy.erase_lead(session, ada) is True

    with db.read() as session:
        bodies = list(session.scalars(select(WebhookDelivery.body)))
        assert session.get(Lead, ada) is None
        assert session.get(Lead, bob) is not None
    assert bodies, "the other lead's deliveries stay"
    assert not any("ada@example.com" in body for body in bodies)
    assert all("bob@example.com" in body for body in bodies)


def test_erasing_an_unknown_lead_changes_nothing(db: Database) -> None:
    with db.write() as session:
        assert privacy.erase_lead(session, 999_999) is False


def test_erasing_keeps_the_address_suppressed_and_nothing_else_of_its_mail(
    db: Database,
) -> None:
    """Its messages (one still queued), bounces and suppression history go; the address
    stays on the list as ``erased``, with no detail, so no mail ever goes there again."""
    ada = subscribed(db, "ada@example.com")
    bob = subscribed(db, "bob@example.com")
    sent = mail_to(db, ada, "ada@example.com")
    mail_to(db, ada, "ada@example.com")  # still queued
    mail_to(db, bob, "bob@example.com")
    with db.write() as session:
        suppression.record_bounce(
            session, "ada@example.com", "hard", "dsn", T0, detail="550 mailbox full of secrets",
            message_id=sent,
        )  # fmt: skip
        suppression.record_bounce(session, "bob@example.com", "soft", "dsn", T0, detail="452")

    with db.write() as session:
        assert privacy.erase_lead(session, ada, now=T0 + timedelta(days=1)) is True

    assert [(m.to_address, m.lead_id) for m in messages(db)] == [("bob@example.com", bob)]
    (kept,) = entries(db, "ada@example.com")
    assert (kept.reason, kept.detail, kept.message_id, kept.lifted_at) == ("erased", "", None, None)
    assert kept.created_at == T0 + timedelta(days=1)
    with db.read() as session:
        assert [b.address for b in session.scalars(select(MailBounce))] == ["bob@example.com"]
        assert session.get(MailAddress, "ada@example.com") is None
        assert session.get(MailAddress, "bob@example.com") is not None
        assert suppression.active(session, "ada@example.com") is not None
        assert suppression.active(session, "bob@example.com") is None


def test_an_erased_address_is_never_mailed_again(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    ada = subscribed(db, "ada@example.com")
    with db.write() as session:
        privacy.erase_lead(session, ada, now=T0)
    # Someone types the address into a form again: not even a transactional mail goes.
    again = mail_to(db, None, "ada@example.com", category=MailCategory.TRANSACTIONAL)
    send_mail(mail_client)
    assert smtp_sink.messages == []
    (message,) = [m for m in messages(db) if m.id == again]
    assert (message.status, message.skip_reason) == ("skipped", "suppressed: erased")
