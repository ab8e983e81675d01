"""The welcome template end to end on a real SMTP server: a subscriber gets its mails over
simulated days, with content blocks naming assets it has not read."""

from __future__ import annotations

from datetime import timedelta

from litestar.testing import TestClient

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.templates import template
from portal import program_jobs
from portal.db import Database
from portal.mail import jobs as mail_jobs
from portal.settings import Settings
from tests.factories import make_asset
from tests.mailbox import SmtpSink
from tests.nurture.mail.subscribers import subscribed
from tracking.rules.config import Model


def test_a_subscriber_gets_the_welcome_mails_over_two_weeks(
    mail_client: TestClient, mail_settings: Settings, db: Database, smtp_sink: SmtpSink
) -> None:
    for number in range(5):
        make_asset(db, title=f"Guide {number}")
    with db.write() as session:
        store.save(session, template("welcome")[0], by="test",
                   now=utcnow() - timedelta(minutes=1), status="active")  # fmt: skip
    subscribed(db, "ada@example.com", at=utcnow())
    start = utcnow().replace(hour=13)
    mailer = mail_jobs.mail_sender(mail_settings, db, mail_client.app.state.signer)
    for day in range(16):
        moment = start + timedelta(days=day)
        program_jobs.tick(db, mail_settings, Model(), moment)
        mailer.clock = lambda moment=moment: moment
        mailer.run_once()
    subjects = [received.subject for received in smtp_sink.messages]
    assert 3 <= len(subjects) <= 5, subjects
    assert len(set(subjects)) == len(subjects)
    assert "Guide" in smtp_sink.messages[0].part("html")
    assert smtp_sink.messages[0].message["List-Unsubscribe"]
