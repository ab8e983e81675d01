"""The send job against a real SMTP server: what a refusal, a temporary failure, a server that
is down or refuses the session, and a rate limit do to the outbox and to what arrives."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from nurture.mail import rules, suppression
from nurture.mail.attempts import LEASE, claim
from nurture.mail.models import (
    MailAddress,
    MailBounce,
    MailCategory,
    MailMessage,
    MailStatus,
    SuppressionReason,
)
from nurture.mail.sender import LEASE_MARGIN, SendRound
from nurture.mail.smtp import connect, parse_smtp_url
from portal.db import Database
from portal.settings import Settings
from tests.mailbox import SmtpSink
from tests.nurture.mail.sending import (
    Clock,
    make_sender,
    message,
    queue,
    queue_many,
    statuses,
    subscribed_lead,
)


def test_every_message_arrives_once_with_its_own_message_id(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    ids = queue_many(db, 12)
    done = make_sender(db, mail_settings, batch=5).run_once()
    assert done == SendRound(sent=12)
    received = smtp_sink.wait_for(12)
    message_ids = [str(mail.message["Message-ID"]) for mail in received]
    assert len(set(message_ids)) == 12
    assert sorted(message_ids) == sorted(message(db, i).message_id for i in ids)
    assert statuses(db) == {MailStatus.SENT.value: 12}


def test_a_550_at_data_bounces_suppresses_the_address_and_later_mail_to_it_is_skipped(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    bounced = queue(db, "gone@example.com", now=clock())
    smtp_sink.script("550 5.1.1 <gone@example.com>: no such user")
    sender = make_sender(db, mail_settings, clock=clock)
    assert sender.run_once() == SendRound(bounced=1)

    row = message(db, bounced)
    assert row.status == MailStatus.BOUNCED.value
    assert row.smtp_code == 550
    assert "no such user" in row.last_error
    with db.read() as session:
        entry = suppression.active(session, "gone@example.com")
        assert entry is not None
        assert entry.reason == SuppressionReason.HARD_BOUNCE.value
        (bounce,) = session.scalars(select(MailBounce)).all()
        assert (bounce.kind, bounce.source, bounce.status) == ("hard", "smtp", "550")

    later = queue(db, "gone@example.com", now=clock())
    assert sender.run_once() == SendRound(skipped=1)
    assert message(db, later).status == MailStatus.SKIPPED.value
    assert message(db, later).skip_reason == "suppressed: hard_bounce"
    assert smtp_sink.to("gone@example.com") == []


def test_after_a_hard_bounce_the_rest_of_the_batch_to_that_address_is_not_sent(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    first = queue(db, "gone@example.com")
    second = queue(db, "gone@example.com")
    other = queue(db, "ann@example.com")
    smtp_sink.script("550 5.1.1 no such user")
    done = make_sender(db, mail_settings).run_once()
    assert done == SendRound(sent=1, bounced=1, skipped=1)
    assert message(db, first).status == MailStatus.BOUNCED.value
    assert message(db, second).status == MailStatus.SKIPPED.value
    assert message(db, other).status == MailStatus.SENT.value
    assert [m.rcpt_to for m in smtp_sink.messages] == [("ann@example.com",)]


def test_a_recipient_refused_at_rcpt_bounces_and_the_connection_goes_on(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_recipient("nobody@example.com", "550 5.1.1 mailbox unavailable")
    refused = queue(db, "nobody@example.com")
    after = queue(db, "ann@example.com")
    done = make_sender(db, mail_settings).run_once()
    assert done == SendRound(sent=1, bounced=1)
    assert message(db, refused).status == MailStatus.BOUNCED.value
    assert message(db, refused).last_error == "RCPT 550 5.1.1 mailbox unavailable"
    assert message(db, after).status == MailStatus.SENT.value
    with db.read() as session:
        assert suppression.active(session, "nobody@example.com") is not None


def test_a_temporary_refusal_at_rcpt_is_retried_not_suppressed(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    smtp_sink.refuse_recipient("full@example.com", "452 4.2.2 mailbox full")
    waiting = queue(db, "full@example.com")
    assert make_sender(db, mail_settings).run_once() == SendRound(retried=1)
    assert message(db, waiting).status == MailStatus.PENDING.value
    with db.read() as session:
        assert suppression.active(session, "full@example.com") is None


def test_a_451_is_retried_with_backoff_and_then_delivered(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    waiting = queue(db, "ann@example.com", now=clock())
    smtp_sink.script("451 4.3.0 try again later", "451 4.3.0 try again later")
    sender = make_sender(db, mail_settings, clock=clock)

    assert sender.run_once() == SendRound(retried=1)
    row = message(db, waiting)
    assert (row.status, row.attempts, row.smtp_code) == (MailStatus.PENDING.value, 1, 451)
    assert row.next_attempt_at == clock() + rules.BACKOFF[0]
    assert sender.run_once() == SendRound()  # not due yet

    clock.advance(seconds=rules.BACKOFF[0].total_seconds())
    assert sender.run_once() == SendRound(retried=1)
    assert message(db, waiting).next_attempt_at == clock() + rules.BACKOFF[1]

    clock.advance(seconds=rules.BACKOFF[1].total_seconds())
    assert sender.run_once() == SendRound(sent=1)
    row = message(db, waiting)
    assert (row.status, row.attempts) == (MailStatus.SENT.value, 3)
    (received,) = smtp_sink.wait_for(1)
    assert received.message["Message-ID"] == row.message_id


def test_a_temporary_failure_past_three_days_gives_up(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    waiting = queue(db, "ann@example.com", now=clock())
    clock.advance(days=3, seconds=1)
    smtp_sink.script("451 4.3.0 try again later")
    assert make_sender(db, mail_settings, clock=clock).run_once() == SendRound(retried=1)
    row = message(db, waiting)
    assert row.status == MailStatus.FAILED.value
    with db.read() as session:
        (bounce,) = session.scalars(select(MailBounce)).all()
        assert bounce.kind == "soft"
        assert suppression.active(session, "ann@example.com") is None


def test_while_the_server_is_down_mail_waits_and_nothing_is_lost(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    ids = queue_many(db, 7, now=clock())
    smtp_sink.stop()
    sender = make_sender(db, mail_settings, clock=clock, batch=3)

    done = sender.run_once()
    # One connection attempt per pass: the first batch waits with backoff, the rest untried.
    assert done == SendRound(retried=3, unreachable=True)
    assert statuses(db) == {MailStatus.PENDING.value: 7}
    assert "cannot connect" in message(db, ids[0]).last_error

    smtp_sink.start()
    clock.advance(minutes=2)
    assert sender.run_once() == SendRound(sent=7)
    received = smtp_sink.wait_for(7)
    assert sorted(str(m.message["Message-ID"]) for m in received) == sorted(
        message(db, i).message_id for i in ids
    )


def test_starttls_and_auth(db: Database, mail_settings: Settings, tmp_path: Path) -> None:
    sink = SmtpSink.secured(tmp_path, "mailer", "s3cret:pass/word").start()
    try:
        waiting = queue(db, "ann@example.com")
        assert make_sender(db, mail_settings, url=sink.url).run_once() == SendRound(sent=1)
        assert message(db, waiting).status == MailStatus.SENT.value
        (received,) = sink.wait_for(1)
        assert received.rcpt_to == ("ann@example.com",)

        connection = connect(parse_smtp_url(sink.url))
        connection.close()
        steps = [line.split(":")[0] for line in connection.dialogue]
        assert steps == ["CONNECT", "EHLO", "STARTTLS", "AUTH"]
        assert connection.dialogue[-1].startswith("AUTH: 235")
    finally:
        sink.stop()


def test_implicit_tls(db: Database, mail_settings: Settings, tmp_path: Path) -> None:
    sink = SmtpSink.implicit_tls(tmp_path).start()
    try:
        assert sink.url.startswith("smtps://")
        queue(db, "ann@example.com")
        assert make_sender(db, mail_settings, url=sink.url).run_once() == SendRound(sent=1)
        assert len(sink.wait_for(1)) == 1
    finally:
        sink.stop()


def test_a_server_whose_certificate_does_not_verify_gets_no_mail(
    db: Database, mail_settings: Settings, tmp_path: Path
) -> None:
    sink = SmtpSink.implicit_tls(tmp_path).start()
    try:
        waiting = queue(db, "ann@example.com")
        checked = sink.url.removesuffix("?verify=false")  # a self-signed certificate
        done = make_sender(db, mail_settings, url=checked).run_once()
        assert done == SendRound(retried=1, unreachable=True)
        assert "CERTIFICATE_VERIFY_FAILED" in message(db, waiting).last_error
        assert sink.messages == []
    finally:
        sink.stop()


def test_a_refused_session_leaves_mail_waiting(
    db: Database, mail_settings: Settings, tmp_path: Path
) -> None:
    sink = SmtpSink.secured(tmp_path, "mailer", "right").start()
    try:
        clock = Clock()
        waiting = queue(db, "ann@example.com", now=clock())
        wrong = sink.url.replace("mailer:right@", "mailer:wrong@")
        done = make_sender(db, mail_settings, url=wrong, clock=clock).run_once()
        assert done == SendRound(retried=1, unreachable=True)
        row = message(db, waiting)
        assert row.status == MailStatus.PENDING.value
        assert "AUTH refused: 535" in row.last_error
        with db.read() as session:
            assert suppression.active(session, "ann@example.com") is None

        clock.advance(minutes=2)
        assert make_sender(db, mail_settings, url=sink.url, clock=clock).run_once() == (
            SendRound(sent=1)
        )
        assert len(sink.wait_for(1)) == 1
    finally:
        sink.stop()


def test_the_rate_limit_spaces_messages_evenly(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    queue_many(db, 5)
    elapsed = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        elapsed[0] += seconds

    sender = make_sender(db, mail_settings, per_second=4, sleep=sleep, monotonic=lambda: elapsed[0])
    assert sender.run_once() == SendRound(sent=5)
    assert waits == [0.25] * 4
    assert len(smtp_sink.wait_for(5)) == 5


def test_stopping_during_a_batch_gives_the_unsent_claims_back(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    queue_many(db, 4)
    elapsed = [0.0]

    sender = make_sender(db, mail_settings, per_second=1, monotonic=lambda: elapsed[0])

    def sleep(seconds: float) -> None:
        sender.stopping.set()  # the process is asked to stop while it waits for the rate

    sender.sleep = sleep
    assert sender.run_once() == SendRound(sent=1, cut_short=True)
    assert statuses(db) == {MailStatus.SENT.value: 1, MailStatus.PENDING.value: 3}
    assert len(smtp_sink.wait_for(1)) == 1

    again = make_sender(db, mail_settings)
    assert again.run_once() == SendRound(sent=3)
    with db.read() as session:
        attempts = session.scalars(select(MailMessage.attempts)).all()
    assert sorted(attempts) == [1, 1, 1, 1]


def test_a_message_that_cannot_be_rendered_waits_and_the_rest_go(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    broken = queue(db, "ann@example.com", kind="no_such_kind")
    fine = queue(db, "bob@example.com")
    assert make_sender(db, mail_settings).run_once() == SendRound(sent=1, retried=1)
    assert message(db, broken).status == MailStatus.PENDING.value
    assert "rendering failed" in message(db, broken).last_error
    assert message(db, fine).status == MailStatus.SENT.value


def test_marketing_mail_without_consent_or_postal_address_is_skipped(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    lead = subscribed_lead(db, "ann@example.com")
    consented = queue(
        db, "ann@example.com", category=MailCategory.MARKETING, lead_id=lead, now=clock()
    )
    stranger = queue(db, "bob@example.com", category=MailCategory.MARKETING, now=clock())
    assert make_sender(db, mail_settings, clock=clock).run_once() == SendRound(sent=1, skipped=1)
    assert message(db, consented).status == MailStatus.SENT.value
    assert message(db, stranger).skip_reason == "no consent: none"
    with db.read() as session:  # what the frequency cap reads
        sent_to = session.get(MailAddress, "ann@example.com")
        assert sent_to is not None
        assert sent_to.last_sent_at == clock()
        assert session.get(MailAddress, "bob@example.com") is None

    again = queue(db, "ann@example.com", category=MailCategory.MARKETING, lead_id=lead)
    no_address = mail_settings.with_overrides(postal_address="")
    assert make_sender(db, no_address).run_once() == SendRound(skipped=1)
    assert message(db, again).skip_reason == "no postal address"


def test_an_expired_lease_makes_a_message_due_again(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    waiting = queue(db, "ann@example.com", now=clock())
    with db.write() as session:
        (claimed,), _ = claim(session, clock(), 10, "a-sender-that-died", "")
    assert claimed.id == waiting
    sender = make_sender(db, mail_settings, clock=clock)
    assert sender.run_once() == SendRound()  # still leased
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert sender.run_once() == SendRound(sent=1)
    assert message(db, waiting).attempts == 2


def test_a_reader_who_chose_weekly_gets_at_most_one_marketing_mail_a_week(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    lead = subscribed_lead(db, "ann@example.com", frequency="weekly")

    def digest() -> int:
        return queue(
            db, "ann@example.com", category=MailCategory.MARKETING, lead_id=lead, now=clock()
        )

    sender = make_sender(db, mail_settings, clock=clock)
    first, same_batch = digest(), digest()
    assert sender.run_once() == SendRound(sent=1, skipped=1)
    assert message(db, first).status == MailStatus.SENT.value
    assert message(db, same_batch).skip_reason == "frequency: weekly"

    clock.advance(days=3)
    too_soon = digest()
    receipt = queue(db, "ann@example.com", lead_id=lead, now=clock())  # transactional
    assert sender.run_once() == SendRound(sent=1, skipped=1)
    assert message(db, too_soon).skip_reason == "frequency: weekly"
    assert message(db, receipt).status == MailStatus.SENT.value

    clock.advance(days=4)
    next_week = digest()
    assert sender.run_once() == SendRound(sent=1)
    assert message(db, next_week).status == MailStatus.SENT.value
    assert len(smtp_sink.wait_for(3)) == 3


def test_a_batch_stops_sending_before_its_lease_runs_out(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    clock = Clock()
    queue_many(db, 5, now=clock())
    smtp_sink.on_data = lambda _mail: clock.advance(minutes=2)  # a slow server
    sender = make_sender(db, mail_settings, clock=clock)

    # 10 minutes of lease, less the margin for one more message: 3 go, 2 are given back.
    assert (LEASE - LEASE_MARGIN) / timedelta(minutes=2) == 3
    assert sender.run_once() == SendRound(sent=3, cut_short=True)
    assert statuses(db) == {MailStatus.SENT.value: 3, MailStatus.PENDING.value: 2}
    assert sender.run_once() == SendRound(sent=2)
    assert len(set(smtp_sink.message_ids())) == len(smtp_sink.messages) == 5
