"""A sending process killed mid-batch (SIGKILL: no clean-up of any kind) loses no message and
sends none twice, except at most the one that was in flight when it died."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

from content.orm import utcnow
from nurture.mail.attempts import LEASE
from nurture.mail.models import MailStatus
from nurture.mail.sender import SendRound
from portal.db import Database
from portal.settings import Settings
from tests.mailbox import SmtpSink
from tests.nurture.mail.sending import Clock, make_sender, message, queue_many, statuses
from tests.servers import LEADSHELF
from tests.support import TEST_SECRET_KEYS

MESSAGES = 20
IN_FLIGHT = 6
"""The sink keeps the 6th message but never answers it: the sender dies waiting for the 250."""


def worker_environment(settings: Settings, folder: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("LEADSHELF_")}
    env.update(
        LEADSHELF_DATA_DIR=str(folder / "data"),
        LEADSHELF_DATABASE_URL=settings.database_url,
        LEADSHELF_SECRET_KEYS=TEST_SECRET_KEYS[0],
        LEADSHELF_SMTP_URL=settings.smtp_url,
        LEADSHELF_MAIL_FROM=settings.mail_from,
        LEADSHELF_POSTAL_ADDRESS=settings.postal_address,
    )
    return env


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_the_one_in_flight(
    db: Database, mail_settings: Settings, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    ids = queue_many(db, MESSAGES)
    smtp_sink.hold_at = IN_FLIGHT
    worker = subprocess.Popen(  # the real job, in `leadshelf worker --once`
        [LEADSHELF, "worker", "--once"],
        env=worker_environment(mail_settings, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        held = smtp_sink.holding.wait(timeout=30)
        worker.send_signal(signal.SIGKILL)
        _, errors = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert held, f"the worker never reached message {IN_FLIGHT}: {errors.decode()}"
    assert worker.returncode == -signal.SIGKILL
    smtp_sink.released.set()

    # Every acceptance before the kill was recorded; the rest of the batch is still claimed.
    assert statuses(db) == {
        MailStatus.SENT.value: IN_FLIGHT - 1,
        MailStatus.SENDING.value: MESSAGES - IN_FLIGHT + 1,
    }
    in_flight = str(smtp_sink.messages[IN_FLIGHT - 1].message["Message-ID"])

    # Once the dead sender's lease has run out, another sender takes the rest.
    later = Clock(utcnow() + LEASE + timedelta(seconds=1))
    done = make_sender(db, mail_settings, clock=later).run_once()
    assert done == SendRound(sent=MESSAGES - IN_FLIGHT + 1)
    assert statuses(db) == {MailStatus.SENT.value: MESSAGES}

    received = Counter(smtp_sink.message_ids())
    assert set(received) == {message(db, i).message_id for i in ids}
    assert {mid for mid, times in received.items() if times > 1} == {in_flight}
    assert received[in_flight] == 2
