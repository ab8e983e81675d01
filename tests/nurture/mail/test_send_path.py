"""The outbox to the SMTP server: a message written in a transaction is sent by the job,
arrives with its own Message-ID and both parts, and is recorded as sent."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailCategory, MailMessage, MailStatus
from nurture.mail.outbox import Mail, enqueue
from portal.db import Database
from portal.settings import Settings
from tests.mailbox import SmtpSink, send_mail
from tests.support import app_for


def _queue(db: Database, to: str, kind: str = "test", **extra: object) -> int:
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to=to, kind=kind, category=MailCategory.TRANSACTIONAL, **extra),  # type: ignore[arg-type]
            domain="pipewise.example",
            now=utcnow(),
        )
    assert written is not None
    return written


def test_a_queued_message_arrives_with_both_parts_and_is_recorded(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    message_id = _queue(db, "ann@example.com")
    send_mail(mail_client)
    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_to == ("ann@example.com",)
    assert received.mail_from.startswith("bounces+")
    assert received.mail_from.endswith("@pipewise.example")
    assert received.subject == "Test message from Pipewise"
    assert "can send through this server" in received.part("plain")
    assert "can send through this server" in received.part("html")
    assert "Hafenstraße 1" in received.part("plain")
    with db.read() as session:
        row = session.get(MailMessage, message_id)
        assert row is not None
        assert row.status == MailStatus.SENT.value
        assert received.message["Message-ID"] == row.message_id
        assert row.subject == "Test message from Pipewise"


def test_without_smtp_settings_mail_waits_and_the_job_says_why(
    client: TestClient[Litestar], db: Database
) -> None:
    _queue(db, "ann@example.com")
    client.app.state.runner.run_all_once(["mail-sending"])
    with db.read() as session:
        statuses = list(session.scalars(select(MailMessage.status)))
    assert statuses == [MailStatus.PENDING.value]
    (job,) = [job for job in client.app.state.runner.jobs if job.name == "mail-sending"]
    assert job.backlog is not None
    assert job.backlog().summary == (
        "1 message(s) waiting (LEADSHELF_SMTP_URL is not set: mail waits until it is)"
    )


def test_a_dedupe_key_writes_a_mail_once(db: Database) -> None:
    first = _queue(db, "ann@example.com", dedupe_key="webinar-24h:1:2")
    with db.write() as session:
        again = enqueue(
            session,
            Mail(
                to="ann@example.com",
                kind="test",
                category=MailCategory.TRANSACTIONAL,
                dedupe_key="webinar-24h:1:2",
            ),
            domain="pipewise.example",
            now=utcnow(),
        )
    assert first
    assert again is None


def test_the_job_says_when_the_smtp_server_cannot_be_reached(
    mail_settings: Settings, smtp_sink: SmtpSink, db: Database
) -> None:
    # The job's own thread passes once a day here: the pass that meets the stopped server is
    # the test's (its thread, every second, could take the message first and leave the
    # test's pass "nothing to do").
    once_a_day = mail_settings.with_overrides(job_intervals="mail-sending=86400")
    with app_for(once_a_day) as app, TestClient(app) as client:
        runner = client.app.state.runner
        runner.run_all_once(["mail-sending"])  # the thread's next pass is a day from now
        _queue(db, "ann@example.com")
        smtp_sink.stop()
        states = runner.run_all_once(["mail-sending"])
    assert states["mail-sending"].last_outcome == "SMTP server unreachable, 0 sent, 1 to retry"
    with db.read() as session:
        assert list(session.scalars(select(MailMessage.status))) == [MailStatus.PENDING.value]
