"""The outbox worker: relay new lead changes into deliveries, then send what is due.

``leadshelf worker`` runs one in the foreground; the app runs one in a
background thread by default, so ``leadshelf serve`` alone delivers webhooks.
Several workers are safe: on PostgreSQL they share the work (SKIP LOCKED);
on SQLite a lock file beside the database lets one worker process deliver at
a time, and another takes over as soon as it stops or dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture import delivery, relay, targets
from tracking.rules.config import Model

logger = logging.getLogger(__name__)

PRUNE_EVERY = 600.0
"""Seconds between deletions of old settled deliveries."""
BATCH = 8
"""Deliveries claimed, and sent side by side, at a time."""


class SessionSource(Protocol):
    """What the worker needs of the app's database (``portal.db.Database`` fits)."""

    def read(self) -> AbstractContextManager[Session]: ...

    def write(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True, slots=True)
class Round:
    """What one round did."""

    relayed: int = 0
    delivered: int = 0
    failed: int = 0

    def __add__(self, other: Round) -> Round:
        return Round(
            self.relayed + other.relayed,
            self.delivered + other.delivered,
            self.failed + other.failed,
        )


class SingleWorkerLock:
    """An exclusive lock file (SQLite): held by one process, released when it stops or dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; True if this process holds it (now or already)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class OutboxWorker:
    """Relays and delivers in rounds; ``clock`` and ``resolve`` are injectable for tests."""

    def __init__(
        self,
        database: SessionSource,
        model: Model,
        *,
        allowed_networks: Sequence[targets.IPNetwork] = (),
        lock_path: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        resolve: targets.Resolver = targets.system_resolver,
        client: httpx.Client | None = None,
        interval: float = 1.0,
        batch: int = BATCH,
    ) -> None:
        self.database = database
        self.model = model
        self.allowed = tuple(allowed_networks)
        self.lock = SingleWorkerLock(lock_path) if lock_path is not None else None
        self.clock = clock
        self.resolve = resolve
        self.client = client or delivery.http_client()
        self.interval = interval
        self.batch = batch
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = float("-inf")

    def relay_all(self) -> int:
        """Relay every change waiting; returns the deliveries written."""
        written = 0
        while not self.stopping.is_set():
            with self.database.read() as session:
                if not relay.has_work(session):
                    return written
            with self.database.write() as session:
                read, made = relay.relay(session, self.model, self.clock())
            written += made
            if read == 0:  # another worker holds the cursor
                return written
        return written

    def deliver_due(self) -> Round:
        """Claim and send due deliveries, batch after batch, until none is due.

        A batch is sent in parallel lanes (``delivery.lanes``): one lead's
        events to one endpoint go in order, one after another, and a lane
        stops at its first failure so the rest are retried after it rather
        than overtaking it. Every claim is thus answered (or times out) well
        within its lease even when one receiver is slow; the outcomes of a
        batch are stored in one transaction.
        """
        done = Round()
        with ThreadPoolExecutor(self.batch, thread_name_prefix="leadshelf-webhook") as pool:
            while not self.stopping.is_set():
                token = delivery.new_claim()
                with self.database.write() as session:
                    claimed = delivery.claim(session, self.clock(), self.batch, token)
                if not claimed:
                    return done
                sent = dict(
                    pair
                    for lane in pool.map(self.send_lane, delivery.lanes(claimed))
                    for pair in lane
                )
                outcomes = [sent[item.id] for item in claimed]
                with self.database.write() as session:
                    for item, outcome in zip(claimed, outcomes, strict=True):
                        delivery.record(session, item.id, item.claim, outcome, self.clock())
                for item, outcome in zip(claimed, outcomes, strict=True):
                    if not outcome.delivered:
                        logger.info("webhook delivery %d failed: %s", item.id, outcome.error)
                    done += Round(
                        delivered=int(outcome.delivered), failed=int(not outcome.delivered)
                    )
        return done

    def send_lane(self, lane: list[delivery.Claimed]) -> list[tuple[int, delivery.Outcome]]:
        """Send a lane in order; after a failure the rest are held back (and retried later)."""
        outcomes = []
        failed = False
        for item in lane:
            outcome = (
                delivery.Outcome(False, error=delivery.HELD_BACK) if failed else self.send(item)
            )
            failed = failed or not outcome.delivered
            outcomes.append((item.id, outcome))
        return outcomes

    def send(self, item: delivery.Claimed) -> delivery.Outcome:
        return delivery.send(
            self.client, item, self.allowed, self.resolve, clock=lambda: self.clock().timestamp()
        )

    def run_once(self) -> Round:
        """One round: relay, then deliver what is due (SQLite: only while holding the lock)."""
        if self.lock is not None and not self.lock.acquire():
            return Round()
        relayed = self.relay_all()
        done = Round(relayed=relayed) + self.deliver_due()
        if time.monotonic() - self._last_prune > PRUNE_EVERY:
            self._last_prune = time.monotonic()
            with self.database.write() as session:
                delivery.prune(session, self.clock())
        return done

    def run(self) -> None:
        """Rounds until ``stop``: a failing round is logged and the next one tries again."""
        try:
            while not self.stopping.is_set():
                try:
                    self.run_once()
                except Exception:
                    logger.exception("outbox round failed; retrying in %.1f s", self.interval)
                self.stopping.wait(self.interval)
        finally:
            if self.lock is not None:
                self.lock.release()

    def start(self) -> None:
        """Run in a daemon thread (the app's in-process delivery)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self.run, name="leadshelf-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the delivery in hand, then stop (the rest stays due for the next worker)."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.client.close()
