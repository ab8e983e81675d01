"""Webhooks end to end through the database: lead changes become signed POSTs to a real receiver.

Time is driven by the worker's injected clock, never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from content.orm import utcnow
from nurture import delivery, endpoints, relay
from nurture.delivery import LEASE
from nurture.webhooks import RETRY_FOR
from nurture.worker import OutboxWorker
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.outbox import LOOPBACK, MODEL, add_endpoint, deliveries, identify
from tests.webhook_receiver import receiver
from tracking.identity.unlocks import unlock
from tracking.models import Lead
from tracking.pipeline import leadstate
from tracking.rules.scoring import Lifecycle


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def worker(db: Database, clock: Callable[[], datetime] = utcnow) -> OutboxWorker:
    return OutboxWorker(db, MODEL, allowed_networks=LOOPBACK, clock=clock)


def test_an_identified_lead_is_posted_signed_to_a_real_receiver(db: Database) -> None:
    with receiver() as crm:
        endpoint = add_endpoint(db, crm.url)
        lead_id = identify(db)
        done = worker(db).run_once()
        assert (done.relayed, done.delivered, done.failed) == (1, 1, 0)
    (got,) = crm.received
    assert got.signed_by(endpoint.secret)
    assert not got.signed_by("whsec_someone_else")
    event = got.event
    assert event["type"] == "lead.identified"
    assert got.headers["Leadshelf-Event-Id"] == event["id"]
    assert got.headers["Content-Type"] == "application/json"
    assert event["data"] == {"source": "form on pricing-guide"}
    assert event["lead"]["id"] == str(lead_id)
    assert event["lead"]["email"] == "ada@example.com"
    assert event["lead"]["profile"] == {"company": "Analytical Engines"}
    assert set(event["lead"]) >= {"journey_stage", "grade", "category", "lifecycle", "consent"}
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
    (row,) = deliveries(db)
    assert (row.status, row.response_code, row.attempts) == ("delivered", 204, 1)


def test_lifecycle_moves_make_mql_and_fast_lane_events(db: Database) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url, ("lead.lifecycle_changed", "lead.sales_fast_lane"))
        lead_id = identify(db)
        with db.write() as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            leadstate.set_lifecycle(session, lead, Lifecycle.SQL, "sales fast lane: demo request")
        worker(db).run_once()
    types = [r.event["type"] for r in crm.received]
    assert types == ["lead.lifecycle_changed", "lead.sales_fast_lane"]
    moved = crm.received[0].event
    assert moved["data"] == {"from": "lead", "to": "sql", "reason": "sales fast lane: demo request"}
    assert moved["lead"]["lifecycle"] == "sql"


def test_a_first_unlock_is_an_asset_unlocked_event_and_a_repeat_is_not(db: Database) -> None:
    asset = make_asset(db, title="Pricing guide", kind="whitepaper", stage="decision", gate="gated")
    with receiver() as crm:
        add_endpoint(db, crm.url, ("asset.unlocked",))
        lead_id = identify(db)
        for _ in range(2):
            with db.write() as session:
                unlock(session, lead_id, asset.id)
        worker(db).run_once()
    (got,) = crm.received
    assert got.event["type"] == "asset.unlocked"
    assert got.event["data"] == {
        "asset": {
            "slug": asset.slug,
            "title": "Pricing guide",
            "kind": "whitepaper",
            "stage": "decision",
        }
    }


def test_only_subscribed_and_enabled_endpoints_get_deliveries(db: Database) -> None:
    with receiver() as mql_only, receiver() as everything, receiver() as disabled:
        add_endpoint(db, mql_only.url, ("lead.mql",))
        add_endpoint(db, everything.url)
        off = add_endpoint(db, disabled.url)
        with db.write() as session:
            endpoints.set_enabled(session, off.id, False)
        identify(db)
        worker(db).run_once()
        assert len(everything.received) == 1
        assert mql_only.received == disabled.received == []


def test_the_relay_never_queues_a_change_twice(db: Database) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)
        identify(db)
        with db.write() as session:
            assert relay.relay(session, MODEL) == (1, 1)
        with db.write() as session:
            assert relay.relay(session, MODEL) == (0, 0)
        identify(db, "grace@example.com")
        outbox = worker(db)
        outbox.run_once()
        outbox.run_once()
    assert len(crm.received) == 2
    assert len(set(crm.event_ids())) == 2


def test_an_endpoint_hears_what_happens_from_when_it_is_enabled_not_history(
    db: Database,
) -> None:
    identify(db, "before@example.com")
    with db.write() as session:  # nobody listens: the backlog is passed over at once
        assert relay.relay(session, MODEL) == (0, 0)
    assert not deliveries(db)
    with receiver() as crm:
        add_endpoint(db, crm.url, ("lead.identified",))
        identify(db, "after@example.com")
        assert worker(db).run_once().delivered == 1
    assert [r.event["lead"]["email"] for r in crm.received] == ["after@example.com"]


def test_with_the_receiver_down_it_is_retried_then_delivered_once_up(db: Database) -> None:
    clock = Clock()
    with receiver(listening=False) as crm:
        add_endpoint(db, crm.url)
        identify(db)
        outbox = worker(db, clock)
        assert outbox.run_once().failed == 1
        (row,) = deliveries(db)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "ConnectError" in row.last_error
        assert row.next_attempt_at > clock.now
        assert outbox.run_once().failed == 0  # not due yet: nothing is sent
        clock.advance(timedelta(seconds=31))
        assert outbox.run_once().failed == 1
        crm.listen()
        clock.advance(timedelta(minutes=2))
        assert outbox.run_once().delivered == 1
    (row,) = deliveries(db)
    assert (row.status, row.attempts, row.response_code) == ("delivered", 3, 204)
    assert len(crm.received) == 1


def test_a_failed_event_holds_back_the_leads_later_events_so_they_arrive_in_order(
    db: Database,
) -> None:
    clock = Clock()
    with receiver(listening=False) as crm:
        add_endpoint(db, crm.url, ("lead.identified", "lead.lifecycle_changed"))
        for email in ("ada@example.com", "grace@example.com"):
            lead_id = identify(db, email)
            with db.write() as session:
                lead = session.get(Lead, lead_id)
                assert lead is not None
                leadstate.set_lifecycle(session, lead, Lifecycle.SQL, "accepted by sales")
        outbox = worker(db, clock)
        assert outbox.run_once().failed == 4
        errors = [row.last_error for row in deliveries(db)]
        assert ["ConnectError" in error for error in errors] == [True, False, True, False]
        assert errors[1] == errors[3] == delivery.HELD_BACK
        crm.listen()
        clock.advance(timedelta(minutes=2))
        assert outbox.run_once().delivered == 4
    by_lead: dict[str, list[str]] = {}
    for got in crm.received:
        by_lead.setdefault(got.event["lead"]["email"], []).append(got.event["type"])
    assert by_lead == {
        "ada@example.com": ["lead.identified", "lead.lifecycle_changed"],
        "grace@example.com": ["lead.identified", "lead.lifecycle_changed"],
    }


def test_a_receiver_failing_for_24_hours_sends_the_delivery_to_the_dead_letters(
    db: Database,
) -> None:
    clock = Clock()
    with receiver(status=500) as crm:
        add_endpoint(db, crm.url)
        identify(db)
        outbox = worker(db, clock)
        start = clock.now
        while clock.now <= start + RETRY_FOR + timedelta(hours=1):
            outbox.run_once()
            clock.advance(timedelta(minutes=30))
        (row,) = deliveries(db)
        assert row.status == "dead"
        assert (row.response_code, row.last_error) == (500, "HTTP 500")
        assert 20 <= row.attempts <= 60
        attempts = len(crm.received)
        assert attempts == row.attempts
        # A replay sends the same event again, under the same id.
        crm.status = 200
        with db.write() as session:
            endpoints.replay(session, row.endpoint_id, row.id, clock.now)
        assert outbox.run_once().delivered == 1
    assert crm.received[-1].body == crm.received[0].body
    assert (deliveries(db)[0].status, len(set(crm.event_ids()))) == ("delivered", 1)


def test_redirects_are_not_followed(db: Database) -> None:
    with receiver(status=302) as crm:
        add_endpoint(db, crm.url)
        identify(db)
        assert worker(db).run_once().failed == 1
    (row,) = deliveries(db)
    assert row.last_error == "HTTP 302 (redirects are not followed)"


def test_a_target_refused_at_delivery_time_is_not_contacted(db: Database) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)  # allowed when saved...
        identify(db)
        strict = OutboxWorker(db, MODEL, allowed_networks=())  # ...but not any more
        assert strict.run_once().failed == 1
    assert crm.received == []
    (row,) = deliveries(db)
    assert row.last_error == "refused: 127.0.0.1 is a loopback address"


def test_a_delivery_whose_worker_died_is_sent_again_after_its_lease(db: Database) -> None:
    clock = Clock()
    with receiver() as crm:
        add_endpoint(db, crm.url)
        identify(db)
        outbox = worker(db, clock)
        outbox.relay_all()
        with db.write() as session:  # a worker claims it, then dies before sending
            (claimed,) = delivery.claim(session, clock.now, 10, "dead-worker")
        assert outbox.run_once().delivered == 0  # its lease still holds
        clock.advance(LEASE + timedelta(seconds=1))
        assert outbox.run_once().delivered == 1
        with db.write() as session:  # the dead worker's late word is ignored
            assert (
                delivery.record(
                    session, claimed.id, "dead-worker", delivery.Outcome(False), clock.now
                )
                is None
            )
    (row,) = deliveries(db)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert len(crm.received) == 1


def test_two_workers_side_by_side_send_each_event_exactly_once(db: Database) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)
        for n in range(24):
            identify(db, f"lead{n}@example.com")
        workers = [OutboxWorker(db, MODEL, allowed_networks=LOOPBACK, batch=3) for _ in range(2)]
        rounds = []
        threads = [
            threading.Thread(target=lambda w=w: rounds.append(w.run_once())) for w in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for outbox in workers:
            rounds.append(outbox.run_once())
    assert sum(r.delivered for r in rounds) == 24
    assert sorted(crm.event_ids()) == sorted(set(crm.event_ids()))
    assert len(crm.received) == 24
    assert {row.status for row in deliveries(db)} == {"delivered"}


def test_a_test_ping_is_sent_now_and_recorded_without_retries(db: Database) -> None:
    with receiver(listening=False) as crm:
        endpoint = add_endpoint(db, crm.url)
        failed = endpoints.send_test(db, endpoint.id, LOOPBACK)
        assert (failed.status, failed.attempts) == ("dead", 1)
        crm.listen()
        sent = endpoints.send_test(db, endpoint.id, LOOPBACK)
    assert (sent.status, sent.response_code) == ("delivered", 204)
    assert [d.status for d in deliveries(db)] == ["dead", "delivered"]
    (got,) = crm.received
    assert got.signed_by(endpoint.secret)
    assert got.event["type"] == "ping"
    assert got.event["lead"] is None


def test_rotating_the_secret_signs_retries_with_the_new_one(db: Database) -> None:
    clock = Clock()
    with receiver(listening=False) as crm:
        endpoint = add_endpoint(db, crm.url)
        identify(db)
        outbox = worker(db, clock)
        outbox.run_once()
        with db.write() as session:
            new_secret = endpoints.rotate_secret(session, endpoint.id).secret
        assert new_secret != endpoint.secret
        crm.listen()
        clock.advance(timedelta(minutes=5))
        outbox.run_once()
    (got,) = crm.received
    assert got.signed_by(new_secret)
    assert not got.signed_by(endpoint.secret)


@pytest.mark.parametrize("types", [(), ("lead.nonsense",)])
def test_an_endpoint_needs_known_event_types(types: tuple[str, ...]) -> None:
    with pytest.raises(endpoints.EndpointError) as refused:
        endpoints.validate("http://127.0.0.1:9/x", types, "", LOOPBACK)
    assert refused.value.field == "event_types"


def test_settled_deliveries_are_deleted_30_days_after_their_last_attempt(db: Database) -> None:
    clock = Clock()
    with receiver() as crm, receiver(listening=False) as down:
        add_endpoint(db, crm.url)
        add_endpoint(db, down.url)
        identify(db)
        worker(db, clock).run_once()
    assert sorted(d.status for d in deliveries(db)) == ["delivered", "pending"]
    clock.advance(timedelta(days=31))
    outbox = worker(db, clock)
    outbox.run_once()
    assert outbox.prune_settled() == 1
    # The delivered one is gone; the waiting one was tried once more, died, and stays visible.
    assert [d.status for d in deliveries(db)] == ["dead"]
