"""The outbox worker: relay new lead changes into deliveries, then send what is due.

Its ``run_once`` is the webhook delivery job of the background runner (in
``leadshelf serve`` by default, or in ``leadshelf worker``); ``prune_settled``
is the job that forgets old settled deliveries. Several processes are safe: on
PostgreSQL they share the work (SKIP LOCKED claims, one relay cursor); on
SQLite the runner lets one process at a time deliver (a lock file).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx

from content.orm import SessionSource, utcnow
from nurture import delivery, relay, targets
from tracking.rules.config import Model

logger = logging.getLogger(__name__)

BATCH = 8
"""Deliveries claimed, and sent side by side, at a time."""


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


class OutboxWorker:
    """Relays and delivers in rounds; ``clock`` and ``resolve`` are injectable for tests."""

    def __init__(
        self,
        database: SessionSource,
        model: Model,
        *,
        allowed_networks: Sequence[targets.IPNetwork] = (),
        clock: Callable[[], datetime] = utcnow,
        resolve: targets.Resolver = targets.system_resolver,
        client: httpx.Client | None = None,
        batch: int = BATCH,
        stopping: threading.Event | None = None,
        default_language: str = "en",
    ) -> None:
        self.database = database
        self.model = model
        self.allowed = tuple(allowed_networks)
        self.clock = clock
        self.resolve = resolve
        self.client = client or delivery.http_client()
        self.batch = batch
        self.default_language = default_language
        """The Lead document's ``language`` for a lead that chose none (the site default)."""
        self.stopping = stopping or threading.Event()
        """Set when the process stops: a round finishes the batch in hand and returns."""

    def relay_all(self) -> int:
        """Relay every change waiting; returns the deliveries written."""
        written = 0
        while not self.stopping.is_set():
            with self.database.read() as session:
                if not relay.has_work(session):
                    return written
            with self.database.write() as session:
                read, made = relay.relay(
                    session, self.model, self.clock(), default_language=self.default_language
                )
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
        """One round: relay, then deliver what is due."""
        relayed = self.relay_all()
        return Round(relayed=relayed) + self.deliver_due()

    def prune_settled(self) -> int:
        """Delete settled deliveries past their keeping time (a job of its own)."""
        with self.database.write() as session:
            return delivery.prune(session, self.clock())

    def close(self) -> None:
        """Close the HTTP client (the process is stopping)."""
        self.client.close()
