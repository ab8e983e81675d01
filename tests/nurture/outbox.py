"""What the webhook tests share: the loopback network receivers live on, the default model,
an endpoint that subscribes to every event, a lead identified by a form (which puts a
``lead.identified`` event in the outbox), and the deliveries made so far."""

from __future__ import annotations

from sqlalchemy import select

from nurture import endpoints
from nurture.models import WebhookDelivery, WebhookEndpoint
from nurture.targets import parse_networks
from nurture.webhooks import EVENT_TYPES
from portal.db import Database
from tracking.identity import identify as identification
from tracking.identity.facts import Source
from tracking.rules.config_file import load_model

LOOPBACK = parse_networks("127.0.0.0/8")
MODEL = load_model(None)


def add_endpoint(db: Database, url: str, types: tuple[str, ...] = EVENT_TYPES) -> WebhookEndpoint:
    draft = endpoints.validate(url, types, "CRM", LOOPBACK)
    with db.write() as session:
        endpoint = endpoints.create(session, draft)
        session.expunge(endpoint)
    return endpoint


def identify(db: Database, email: str = "ada@example.com") -> int:
    with db.write() as session:
        found = identification.identify(
            session,
            visitor_id=None,
            email=email,
            answers={"company": "Analytical Engines"},
            consent=None,
            source=Source("form", "pricing-guide"),
            model=MODEL,
        )
    return found.lead_id


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.read() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
