"""Webhooks carry the lead's original and latest source (the Lead document's ``source``), on
SQLite and PostgreSQL."""

from __future__ import annotations

from nurture.worker import OutboxWorker
from portal.db import Database
from tests.nurture.outbox import LOOPBACK, MODEL, add_endpoint
from tests.webhook_receiver import receiver
from tracking import events
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.pipeline.ingest import record
from tracking.sources.arrivals import arrival

CAMPAIGN = "/library?utm_source=xing&utm_medium=social&utm_campaign=expo&utm_content=Banner"


def test_a_lead_identified_after_a_campaign_visit_is_posted_with_its_source(
    db: Database,
) -> None:
    with receiver() as crm:
        add_endpoint(db, crm.url)
        with db.write() as session:
            record(
                session,
                [
                    events.PageView(
                        visitor_id="anon",
                        path="/library",
                        arrival=arrival(CAMPAIGN, "https://www.xing.com/"),
                    )
                ],
            )
            identify.identify(
                session,
                visitor_id="anon",
                email="ada@example.com",
                answers={},
                consent=None,
                source=Source("form", "pricing-guide"),
                model=MODEL,
            )
        OutboxWorker(db, MODEL, allowed_networks=LOOPBACK).run_once()
    (got,) = crm.received
    source = got.event["lead"]["source"]
    assert source["first"] == source["latest"]
    assert {k: v for k, v in source["first"].items() if k != "at"} == {
        "source": "xing",
        "medium": "social",
        "campaign": "expo",
        "term": "",
        "content": "Banner",
        "referrer": "www.xing.com",
        "click_id": "",
    }
