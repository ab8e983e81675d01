"""The send job shares: two senders on one queue never send a message twice (SKIP LOCKED on
PostgreSQL), and while a message is on the wire the sender holds no lock, so the rest of
Leadshelf (event ingestion, forms) writes to the database as usual."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import create_engine, update

from nurture.mail.models import MailMessage, MailStatus
from nurture.mail.sender import SendRound
from portal.db import Database
from portal.settings import Settings
from tests.mailbox import Received, SmtpSink
from tests.nurture.mail.sending import make_sender, queue_many, statuses

LOCK_WAIT = 2.0
"""How long the sink's write may wait for a lock; a sender holding one would make it fail."""


def test_two_senders_share_the_queue_and_send_each_message_once(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    ids = queue_many(db, 120)
    senders = [make_sender(db, mail_settings, batch=10) for _ in range(2)]
    rounds: list[SendRound] = []
    start = threading.Barrier(2)

    def run(index: int) -> None:
        start.wait()
        rounds.append(senders[index].run_once())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r.sent for r in rounds) == len(ids)
    assert all(r.sent > 0 for r in rounds), rounds  # both took part
    assert statuses(db) == {MailStatus.SENT.value: len(ids)}
    received = Counter(smtp_sink.message_ids())
    assert len(received) == len(ids)
    assert set(received.values()) == {1}


def test_while_a_message_is_on_the_wire_the_database_takes_other_writes(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink
) -> None:
    queue_many(db, 5)
    # A connection of its own with a short lock wait: SQLite's busy timeout, PostgreSQL's
    # lock_timeout. It updates the very row of the message being received.
    if db.is_sqlite:
        other = create_engine(db.url, connect_args={"timeout": LOCK_WAIT})
    else:
        other = create_engine(
            db.url, connect_args={"options": f"-c lock_timeout={int(LOCK_WAIT * 1000)}"}
        )
    writes: list[float] = []
    failures: list[BaseException] = []

    def write_while_receiving(mail: Received) -> None:
        started = time.monotonic()
        try:
            with other.begin() as connection:
                connection.execute(
                    update(MailMessage)
                    .where(MailMessage.message_id == str(mail.message["Message-ID"]))
                    .values(subject=MailMessage.subject)
                )
        except Exception as exc:
            failures.append(exc)
        writes.append(time.monotonic() - started)

    smtp_sink.on_data = write_while_receiving
    try:
        assert make_sender(db, mail_settings).run_once() == SendRound(sent=5)
    finally:
        other.dispose()
    assert failures == []
    assert len(writes) == 5
    assert statuses(db) == {MailStatus.SENT.value: 5}
