"""``leadshelf worker`` as a real process: SIGKILLed mid-delivery it loses nothing, and SIGTERM
stops it cleanly after the delivery in hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from content.orm import utcnow
from nurture.delivery import LEASE
from nurture.worker import OutboxWorker
from portal.cli import main
from portal.db import Database
from tests.nurture.outbox import LOOPBACK, MODEL, add_endpoint, deliveries, identify
from tests.support import TEST_SECRET_KEYS
from tests.webhook_receiver import receiver

LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))


def start_worker(db: Database, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    return subprocess.Popen(
        [LEADSHELF, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_a_worker_killed_mid_delivery_loses_nothing(db: Database, tmp_path: Path) -> None:
    with receiver(block=True) as crm:
        add_endpoint(db, crm.url)
        for n in range(3):
            identify(db, f"lead{n}@example.com")
        process = start_worker(db, tmp_path)
        try:
            assert crm.started.wait(60), "the worker never sent anything"
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        # The hung request was never answered: its delivery is still claimed by the dead worker.
        assert "sending" in {d.status for d in deliveries(db)}
        crm.release.set()
        # The next worker takes the orphaned delivery over once its lease has run out.
        later = utcnow() + LEASE + timedelta(seconds=1)
        successor = OutboxWorker(db, MODEL, allowed_networks=LOOPBACK, clock=lambda: later)
        successor.run_once()
        successor.close()
    assert {d.status for d in deliveries(db)} == {"delivered"}
    assert len(set(crm.event_ids())) == 3


def test_sigterm_stops_the_worker_cleanly_after_it_delivered(db: Database, tmp_path: Path) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)
        identify(db)
        process = start_worker(db, tmp_path)
        try:
            assert crm.wait_for(1, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "Worker stopped." in stderr.decode()
    assert [d.status for d in deliveries(db)] == ["delivered"]


def test_worker_once_delivers_what_is_due_and_exits(db: Database, tmp_path: Path) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)
        identify(db)
        env = {
            "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
            "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
            "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
            "LEADSHELF_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "webhook-delivery: 1 queued, 1 delivered, 0 failed" in result.output
    assert len(crm.received) == 1


def test_a_bad_allow_list_stops_the_worker_with_its_key(tmp_path: Path) -> None:
    env = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_WEBHOOK_ALLOW_NETWORKS": "intranet",
    }
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 1
    assert "webhook_allow_networks: 'intranet' is not a network" in result.output
