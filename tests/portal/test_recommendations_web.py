"""Recommendations on the portal and through the service, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from content.orm import utcnow
from nurture.ranking import MAX_PER_KIND
from nurture.recommendations import AudienceCache, recommend_for_lead, recommend_for_visitor
from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import HTMX, submit
from tests.support import html, with_personal_parts
from tracking import events
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.pipeline import audience
from tracking.pipeline.ingest import store
from tracking.rules.config import Model

MODEL = Model()
BOT = {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}


def library(db: Database) -> dict[str, Any]:
    """An awareness read on lead scoring, what may follow it, and plenty of other articles."""
    made = {
        "basics": make_asset(db, title="Scoring basics", slug="scoring-basics"),
        "compared": make_asset(
            db, title="Scoring models compared", slug="scoring-compared", kind="whitepaper",
            stage="consideration",
        ),
        "pricing": make_asset(
            db, title="Pricing datasheet", slug="pricing", kind="datasheet", stage="decision",
        ),
        "crm-webinar": make_asset(
            db, title="CRM webinar", slug="crm-webinar", kind="webinar", stage="consideration",
            topics=["crm"], webinar_starts_at="2027-03-01T15:00",
        ),
    }  # fmt: skip
    for n in range(5):
        made[f"crm-{n}"] = make_asset(db, title=f"CRM article {n}", slug=f"crm-{n}", topics=["crm"])
    return made


def read(client: TestClient[Litestar], slug: str, seconds: float = 30, depth: float = 0.6) -> None:
    """Open the asset page and read it (the beacon a browser sends while reading)."""
    assert client.get(f"/library/{slug}").status_code == 200
    beacon = {"type": "read_progress", "asset": slug, "seconds": seconds, "depth": depth}
    assert client.post("/t", content=json.dumps(beacon)).status_code == 204


def cards(page: HTMLParser, section: str) -> list[tuple[str, str, str]]:
    """(slug, kind badge, reason) of each recommendation card in a section."""
    found = []
    for card in page.css(f"#{section} [data-recommendation]"):
        link = card.css_first("a.card__link")
        found.append(
            (
                (link.attributes.get("href") or "").removeprefix("/library/"),
                card.css_first(".badge").text(strip=True),
                card.css_first(".recommendation__reason").text(strip=True),
            )
        )
    return found


def test_a_reader_of_an_awareness_asset_is_offered_the_next_stage_on_its_topic(
    client: TestClient[Litestar], db: Database
) -> None:
    library(db)
    read(client, "scoring-basics")
    response = client.get("/")
    assert response.headers["cache-control"] == "private, no-store"
    # The list is personal: it loads after the page (a link to it without JavaScript).
    assert html(response.text).css_first("#recommended-link").attributes["href"] == "/recommended"
    shown = with_personal_parts(client, response.text)
    offered = cards(html(shown), "recommended")
    assert html(shown).css_first("#recommended-title").text() == "Recommended for you"
    assert offered[0] == (
        "scoring-compared",
        "Whitepaper",
        "Because you read 'Scoring basics'",
    )
    assert "scoring-basics" not in [slug for slug, _, _ in offered]
    assert "pricing" not in [slug for slug, _, _ in offered]  # decision: two stages ahead
    kinds = [kind for _, kind, _ in offered]
    assert all(kinds.count(kind) <= MAX_PER_KIND for kind in kinds)


def test_read_next_never_offers_what_the_reader_consumed_nor_the_page_itself(
    client: TestClient[Litestar], db: Database
) -> None:
    library(db)
    for slug in ("scoring-basics", "crm-0", "crm-1", "scoring-compared"):
        read(client, slug)
    page = client.get("/library/crm-2")
    assert page.headers["cache-control"] == "private, no-store"
    offered = cards(html(with_personal_parts(client, page.text)), "read-next")
    slugs = [slug for slug, _, _ in offered]
    assert len(offered) == 3
    assert not {"scoring-basics", "crm-0", "crm-1", "scoring-compared", "crm-2"} & set(slugs)
    kinds = [kind for _, kind, _ in offered]
    assert all(kinds.count(kind) <= MAX_PER_KIND for kind in kinds)
    home = cards(html(with_personal_parts(client, client.get("/").text)), "recommended")
    assert "crm-2" not in [slug for slug, _, _ in home]  # opened now, so consumed
    assert all(reason for _, _, reason in home)


def test_crawlers_get_the_same_non_personal_list_and_a_cacheable_page(
    client: TestClient[Litestar], db: Database
) -> None:
    library(db)
    response = client.get("/", headers=BOT)
    assert "private" not in response.headers.get("cache-control", "")
    offered = cards(html(response.text), "recommended")
    assert len(offered) == 3
    assert [kind for _, kind, _ in offered].count("Article") == MAX_PER_KIND
    assert "pricing" not in [slug for slug, _, _ in offered]  # no decision content for strangers
    assert all(reason for _, _, reason in offered)
    asset = client.get("/library/crm-0", headers=BOT)
    assert "private" not in asset.headers.get("cache-control", "")
    assert "crm-0" not in [slug for slug, _, _ in cards(html(asset.text), "read-next")]


def test_after_a_soft_gate_form_the_reader_gets_read_next(
    client: TestClient[Litestar], db: Database
) -> None:
    library(db)
    make_asset(db, title="Soft checklist", slug="soft-checklist", kind="checklist", gate="soft")
    read(client, "soft-checklist")
    response = submit(
        client,
        "soft-checklist",
        htmx=True,
        email="ada@example.com",
        first_name="Ada",
        last_name="L",
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    offered = cards(html(response.text), "read-next-after-unlock")
    assert offered
    assert "soft-checklist" not in [slug for slug, _, _ in offered]


def test_a_gated_asset_page_ends_with_read_next_too(
    client: TestClient[Litestar], db: Database
) -> None:
    library(db)
    make_asset(db, title="Gated guide", slug="gated-guide", kind="ebook", gate="gated")
    read(client, "scoring-basics")
    page = html(with_personal_parts(client, client.get("/library/gated-guide").text))
    assert cards(page, "read-next")
    fragment = client.get("/library/gated-guide/gate", headers=HTMX)
    assert fragment.status_code == 200


# --- the service, as the console calls it ------------------------------------------------------


def lead_with(db: Database, email: str, answers: dict[str, str] | None = None) -> tuple[int, str]:
    with db.write() as session:
        found = identify.identify(
            session, visitor_id=None, email=email, answers=answers or {}, consent=None,
            source=Source("import"), now=utcnow(), model=MODEL,
        )  # fmt: skip
    return found.lead_id, found.visitor_id


def reads(db: Database, visitor: str, lead_id: int | None, *asset_ids: int) -> None:
    at = utcnow() - timedelta(hours=len(asset_ids))
    trail: list[events.TrackedEvent] = []
    for n, asset_id in enumerate(asset_ids):
        when = at + timedelta(minutes=10 * n)
        trail.append(
            events.AssetView(
                visitor_id=visitor, lead_id=lead_id, asset_id=asset_id, occurred_at=when
            )
        )
        trail.append(
            events.ReadProgress(
                visitor_id=visitor,
                lead_id=lead_id,
                asset_id=asset_id,
                seconds=30,
                depth=0.6,
                occurred_at=when,
            )
        )
    with db.write() as session:
        store(session, [trail], now=utcnow(), model=MODEL)  # fmt: skip


def test_co_reading_explains_what_readers_of_the_same_asset_went_on_to_read(
    db: Database,
) -> None:
    made = library(db)
    cache = AudienceCache()
    for n in range(3):  # three earlier readers went from the basics to the CRM webinar
        reads(db, f"earlier-reader-{n}", None, made["basics"].id, made["crm-webinar"].id)
    lead_id, visitor = lead_with(db, "ada@example.com")
    reads(db, visitor, lead_id, made["basics"].id)
    audience.catch_up(db)
    with db.read() as session:
        found = recommend_for_lead(session, lead_id, MODEL, utcnow(), cache=cache)
    webinar = next(r for r in found if r.slug == "crm-webinar")
    assert webinar.reason == "Readers of 'Scoring basics' went on to read this"
    assert "scoring-basics" not in [r.slug for r in found]
    reads(db, visitor, lead_id, made["crm-webinar"].id)  # new reading: the cache follows
    with db.read() as session:
        again = recommend_for_lead(session, lead_id, MODEL, utcnow(), cache=cache)
    assert "crm-webinar" not in [r.slug for r in again]


def test_new_reading_reaches_co_reading_once_the_audience_job_counted_it(db: Database) -> None:
    made = library(db)
    cache = AudienceCache()
    lead_id, visitor = lead_with(db, "ada@example.com")
    reads(db, visitor, lead_id, made["basics"].id)
    for n in range(3):
        reads(db, f"earlier-reader-{n}", None, made["basics"].id, made["crm-webinar"].id)

    def webinar_reason() -> str | None:
        with db.read() as session:
            found = recommend_for_lead(session, lead_id, MODEL, utcnow(), cache=cache)
        return next((r.reason for r in found if r.slug == "crm-webinar"), None)

    # A request ranks with what the shared tables hold; it never counts anything itself.
    assert webinar_reason() != "Readers of 'Scoring basics' went on to read this"
    assert audience.catch_up(db) == 4  # the job: the four readers who opened something new
    assert audience.catch_up(db) == 0  # nothing new since
    assert webinar_reason() == "Readers of 'Scoring basics' went on to read this"
    with db.read() as session:  # another process's cache reads the same counts
        other = recommend_for_lead(session, lead_id, MODEL, utcnow(), cache=AudienceCache())
    assert "Readers of 'Scoring basics' went on to read this" in [r.reason for r in other]


def test_decision_answers_open_the_content_fast_lane(db: Database) -> None:
    made = library(db)
    lead_id, visitor = lead_with(db, "bo@example.com", {"timeframe": "0-3m"})
    reads(db, visitor, lead_id, made["basics"].id)
    with db.read() as session:
        found = recommend_for_lead(session, lead_id, MODEL, utcnow())
        by_browser = recommend_for_visitor(session, visitor, MODEL, utcnow(), exclude="pricing")
    assert found[0].slug == "pricing"
    assert found[0].reason == "Because you read 'Scoring basics'"  # same topic
    assert all(r.stage != "awareness" for r in found)
    assert "pricing" not in [r.slug for r in by_browser]  # the browser speaks for its lead
    # decision and the next stage first; the earlier stage only fills what they cannot
    assert [r.stage for r in by_browser] == ["consideration", "consideration", "awareness"]


def test_unknown_leads_and_visitors_get_the_non_personal_list(db: Database) -> None:
    library(db)
    with db.read() as session:
        nobody = recommend_for_lead(session, 999_999, MODEL, utcnow())
        stranger = recommend_for_visitor(session, "never-seen", MODEL, utcnow())
        untracked = recommend_for_visitor(session, None, MODEL, utcnow())
    assert nobody == stranger == untracked
    assert [r.stage for r in nobody][:2] == ["awareness", "awareness"]
    assert "decision" not in {r.stage for r in nobody}
