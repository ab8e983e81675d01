"""Webhooks: relayed changes per second and delivered webhooks per second to a local receiver.

For each backend (SQLite; PostgreSQL when LEADSHELF_TEST_POSTGRES_URL is set)
this creates BENCH_WEBHOOKS leads, each with an ``identified`` change in the
lead change log, and one endpoint on a local http.server receiver (answers
204). It times the relay (change log -> deliveries, including each lead's
Lead document) and then the delivery of every webhook, signed, with one
worker and, on PostgreSQL, with two workers side by side (SKIP LOCKED).

Run: make bench   (or .venv/bin/python bench/webhooks.py)
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update

from bench._common import fresh_postgres
from content.orm import utcnow
from nurture import endpoints
from nurture.models import WebhookDelivery
from nurture.targets import parse_networks
from nurture.worker import OutboxWorker, Round
from portal.db import Database
from portal.migrate import upgrade_to_head
from tests.webhook_receiver import receiver
from tracking.models import Lead, LeadChange
from tracking.rules.config_file import load_model

COUNT = int(os.environ.get("BENCH_WEBHOOKS", "1000"))
LOOPBACK = parse_networks("127.0.0.0/8")
MODEL = load_model(None)


def seed(database: Database, url: str) -> None:
    now = utcnow()
    draft = endpoints.validate(url, ["lead.identified"], "bench", LOOPBACK)
    with database.write() as session:
        endpoints.create(session, draft)
        session.execute(
            insert(Lead),
            [
                {"email": f"lead{n}@example.com", "created_at": now, "last_activity_at": now}
                for n in range(COUNT)
            ],
        )
        ids = session.scalars(select(Lead.id).order_by(Lead.id)).all()
        session.execute(
            insert(LeadChange),
            [
                {"lead_id": i, "at": now, "kind": "identified", "new": "lead", "reason": "bench"}
                for i in ids
            ],
        )


def deliver(database: Database, workers: int) -> tuple[float, int]:
    """Send every due delivery with ``workers`` workers in threads; seconds and deliveries."""
    outboxes = [OutboxWorker(database, MODEL, allowed_networks=LOOPBACK) for _ in range(workers)]
    rounds: list[Round] = []
    threads = [
        threading.Thread(target=lambda o=o: rounds.append(o.deliver_due())) for o in outboxes
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for outbox in outboxes:
        outbox.close()
    failed = sum(r.failed for r in rounds)
    if failed:
        with database.read() as session:
            errors = session.scalars(
                select(WebhookDelivery.last_error).where(WebhookDelivery.status == "pending")
            ).all()
        print(f"  {failed} attempts failed (retried later): {sorted(set(errors))[:3]}")
    return elapsed, sum(r.delivered for r in rounds)


def run(name: str, url: str) -> None:
    database = Database(url)
    upgrade_to_head(database)
    with receiver() as crm:
        seed(database, crm.url)
        relayer = OutboxWorker(database, MODEL, allowed_networks=LOOPBACK)
        started = time.perf_counter()
        queued = relayer.relay_all()
        relay_s = time.perf_counter() - started
        relayer.close()
        print(
            f"{name}: relay {queued} changes -> deliveries in {relay_s:.2f} s "
            f"({queued / relay_s:,.0f} changes/s, Lead document included)"
        )
        worker_counts = [1, 2] if not database.is_sqlite else [1]
        for workers in worker_counts:
            with database.write() as session:
                session.execute(
                    update(WebhookDelivery).values(status="pending", next_attempt_at=utcnow())
                )
            before = len(crm.received)
            elapsed, delivered = deliver(database, workers)
            received = len(crm.received) - before
            print(
                f"{name}: {workers} worker(s) delivered {delivered} webhooks in {elapsed:.2f} s "
                f"({delivered / elapsed:,.0f} deliveries/s); receiver got {received}"
            )
        with database.read() as session:
            dead = session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status != "delivered")
            )
        print(f"{name}: not delivered at the end: {dead}")
    database.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/bench.db")
    pg = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
    if pg:
        run("PostgreSQL", fresh_postgres(pg, "webhooks"))


if __name__ == "__main__":
    main()
