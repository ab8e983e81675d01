"""The marketer's lead views through the browser's eyes, on SQLite and PostgreSQL: filters from
the URL, htmx fragments, refused filters, pages, the CSV export, one lead's page, the actions on
it (lifecycle, merge, erase) and the older part of a long trail."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlalchemy import func, select

from content.models import Asset
from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import (
    MailBounce,
    MailCategory,
    MailMessage,
    MailStatus,
    Suppression,
    SuppressionReason,
)
from nurture.mail.outbox import Mail, enqueue
from portal.db import Database
from tests.factories import make_asset
from tests.portal.figures import same_figures, table_values
from tests.support import csrf_token_from, html
from tests.tracking.reporting.leads import add_leads
from tracking import events
from tracking.identity import consent as consenting
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import identify
from tracking.models import AssetEngagement, Event, Lead, LeadChange
from tracking.pipeline import leadstate
from tracking.pipeline.ingest import record
from tracking.reporting.leadlist import CURSOR_REFUSED, EXPORT_HEADER
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

NOW = utcnow()
EN_DASH = "\u2013"  # between the first and last row shown


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture(autouse=True)
def fresh_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Now" is when the test starts, however long after the import it runs."""
    monkeypatch.setitem(globals(), "NOW", utcnow())


# the list


@pytest.fixture
def listed(db: Database, settled: None) -> dict[str, int]:
    """The five ``LEADS`` (ada, bob, cy, dee, eve) by the part of the email before @; ada read
    the pricing guide, bob and eve a nurturing asset."""
    ids = add_leads(db)
    pricing = make_asset(db, slug="pricing-guide", topics=["pricing"])
    nurturing = make_asset(db, slug="nurturing-101", topics=["nurturing"])
    with db.write() as session:
        for visitor, asset, lead in (
            ("ada-laptop", pricing, "ada"),
            ("bob-laptop", nurturing, "bob"),
            ("eve-laptop", nurturing, "eve"),
        ):
            session.add(
                AssetEngagement(
                    visitor_id=visitor, asset_id=asset.id, lead_id=ids[lead], first_at=NOW,
                    last_at=NOW, views=1,
                )
            )  # fmt: skip
    return ids


def rows(tree: LexborHTMLParser | LexborNode) -> list[str]:
    """The leads listed, in order, by the part of the email before @."""
    names = []
    for row in tree.css("tr.lead-row"):
        link = row.css_first("th a")
        sub = row.css_first("th .cell-sub")
        email = (sub or link).text(strip=True)
        names.append(email.split("@")[0])
    return names


def listing(client: TestClient[Litestar], query: str, **headers: str) -> Any:
    return client.get(f"/console/leads?{query}", headers=headers)


FILTERED: list[tuple[str, list[str]]] = [
    ("", ["dee", "ada", "bob", "cy", "eve"]),  # latest activity first
    ("stage=decision", ["dee", "ada"]),
    ("stage=awareness&stage=customer", ["cy", "eve"]),
    ("lifecycle=mql&lifecycle=sql", ["dee", "ada"]),
    ("grade=B", ["dee", "bob"]),
    ("category=bant&category=known", ["ada", "cy"]),
    ("topic=nurturing", ["bob", "eve"]),
    ("topic=pricing", ["ada"]),
    ("fit_min=30&fit_max=60", ["dee", "bob", "eve"]),
    ("engagement_min=5.3&engagement_max=40", ["dee", "bob"]),
    ("active_from=2026-03-01&active_to=2026-03-02", ["ada", "bob"]),
    ("created_from=2026-02-01&created_to=2026-02-15", ["bob", "cy"]),
    ("q=acme", ["ada", "eve"]),
    ("q=LOVELACE", ["ada"]),
    ("stage=decision&grade=B", ["dee"]),
    ("sort=fit&order=asc", ["cy", "eve", "bob", "dee", "ada"]),
    ("sort=email", ["ada", "bob", "cy", "dee", "eve"]),
]


def test_filters_in_the_url_pick_the_rows(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    wrong = []
    for query, expected in FILTERED:
        response = listing(client, query)
        tree = html(response.text)
        count = tree.css_first(".lead-count").text(strip=True)
        seen = (response.status_code, rows(tree), count)
        if seen != (200, expected, f"Leads 1{EN_DASH}{len(expected)} of {len(expected)}"):
            wrong.append((query, seen))
    assert wrong == []


def test_the_form_shows_the_filters_of_the_url(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    query = (
        "q=acme&stage=decision&stage=customer&grade=A&topic=pricing&fit_min=10&fit_max=90"
        "&engagement_min=2.5&active_from=2026-01-01&created_to=2026-03-31&sort=fit&order=asc"
    )
    form = html(listing(client, query).text).css_first("form.lead-filters")
    assert form.css_first("#lead-q").attributes["value"] == "acme"
    checked = {
        (box.attributes["name"], box.attributes["value"])
        for box in form.css('input[type="checkbox"][checked]')
    }
    assert checked == {("stage", "decision"), ("stage", "customer"), ("grade", "A")}
    assert form.css_first("#lead-topic option[selected]").attributes["value"] == "pricing"
    values = {
        name: form.css_first(f'input[name="{name}"]').attributes["value"]
        for name in ("fit_min", "fit_max", "engagement_min", "engagement_max")
    }
    assert values == {
        "fit_min": "10",
        "fit_max": "90",
        "engagement_min": "2.5",
        "engagement_max": "",
    }
    assert form.css_first('input[name="active_from"]').attributes["value"] == "2026-01-01"
    assert form.css_first('input[name="created_to"]').attributes["value"] == "2026-03-31"
    assert form.css_first("#lead-sort option[selected]").attributes["value"] == "fit"
    assert form.css_first("#lead-order option[selected]").attributes["value"] == "asc"


def test_a_row_shows_the_stored_verdicts(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    row = html(listing(client, "q=ada@").text).css_first("tr.lead-row")
    assert row.attributes["data-lead"] == str(listed["ada"])
    link = row.css_first("th a")
    assert (link.text(), link.attributes["href"]) == (
        "Ada Lovelace",
        f"/console/leads/{listed['ada']}",
    )
    cells = [cell.text(strip=True) for cell in row.css("td")]
    assert cells[:8] == ["Acme", "Decision", "mql", "A", "bant", "80", "40.5", cells[7]]
    assert row.css_first("time").attributes["datetime"].startswith("2026-03-02T23:59:59")


def test_nothing_matching_says_so_and_offers_everyone(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    tree = html(listing(client, "q=nobody").text)
    assert rows(tree) == []
    assert tree.css_first(".lead-count").text(strip=True) == "No leads match"
    empty = tree.css_first(".data-table__empty")
    assert "No leads match these filters." in empty.text()
    assert empty.css_first("a").attributes["href"] == "/console/leads"


def test_htmx_gets_only_the_results_and_a_browser_the_whole_page(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    fragment = listing(client, "grade=B", **{"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text.lower()
    tree = html(fragment.text)
    assert tree.css_first("form.lead-filters") is None
    assert tree.css_first(".console-nav") is None
    assert tree.css_first("section#lead-results") is not None
    assert rows(tree) == ["dee", "bob"]

    page = listing(client, "grade=B")
    assert page.text.lstrip().lower().startswith("<!doctype html")
    full = html(page.text)
    assert full.css_first("form.lead-filters") is not None
    assert full.css_first(".console-nav") is not None
    assert rows(full.css_first("section#lead-results")) == ["dee", "bob"]
    # The form asks htmx to swap exactly the fragment the server sends.
    form = full.css_first("form.lead-filters")
    assert form.attributes["hx-target"] == "#lead-results"
    assert form.attributes["hx-get"] == "/console/leads"


REFUSED: list[tuple[str, str]] = [
    ("fit_min=abc", "Fit score from must be a number, not 'abc'"),
    ("engagement_max=lots", "Engagement to must be a number, not 'lots'"),
    ("stage=nowhere", "unknown stage 'nowhere'"),
    ("grade=F", "unknown grade 'F'"),
    ("active_from=2026-13-01", "Last active from must be a date (YYYY-MM-DD)"),
    ("sort=shoe_size", "cannot sort by 'shoe_size'"),
    ("page=two", "Page must be a number, not 'two'"),
    ("after=garbage", CURSOR_REFUSED),
    ("sort=fit&before=WyJlbWFpbCIsImFAYi5jIiwxLDFd", CURSOR_REFUSED),  # a cursor of email order
]


def test_a_bad_filter_value_is_explained_and_the_page_stays_usable(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    query, message = REFUSED[0]  # fit_min=abc
    response = listing(client, query)
    assert response.status_code == 400
    tree = html(response.text)
    assert tree.css_first("#lead-results .flash--error").text(strip=True) == message
    assert tree.css_first("form.lead-filters") is not None  # the marketer can correct it
    assert rows(tree) == ["dee", "ada", "bob", "cy", "eve"]  # and still sees the leads
    fragment = listing(client, query, **{"HX-Request": "true"})
    assert fragment.status_code == 400
    assert "<html" not in fragment.text.lower()
    assert html(fragment.text).css_first(".flash--error").text(strip=True) == message
    export = client.get(f"/console/leads/export.csv?{query}")
    assert export.status_code == 400
    assert export.text == message


def test_every_kind_of_bad_filter_value_is_named(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    wrong = []
    for query, message in REFUSED:
        response = listing(client, query)
        shown = html(response.text).css_first(".flash--error")
        seen = (response.status_code, shown.text(strip=True) if shown else None)
        if seen != (400, message):
            wrong.append((query, seen))
    assert wrong == []


def test_a_bad_page_link_keeps_the_filters_and_starts_at_the_first_page(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    response = listing(client, "grade=B&after=WyJsYXN0X2FjdGl2aXR5IiwxLDEsMV0")  # a number
    assert response.status_code == 400
    tree = html(response.text)
    assert tree.css_first(".flash--error").text(strip=True) == CURSOR_REFUSED
    assert rows(tree) == ["dee", "bob"]
    assert "checked" in tree.css_first('input[name="grade"][value="B"]').attributes


def test_a_filter_value_is_shown_as_text_never_as_markup(
    client: TestClient[Litestar], marketer: str, listed: dict[str, int]
) -> None:
    response = listing(client, "stage=<script>alert(1)</script>")
    assert response.status_code == 400
    flash = html(response.text).css_first(".flash--error")
    assert flash.text(strip=True) == "unknown stage '<script>alert(1)</script>'"
    assert flash.css_first("script") is None


@pytest.fixture
def crowd(db: Database, listed: dict[str, int]) -> list[int]:
    """Sixty grade-B leads at Bulk Ltd (more than a page), the newest activity first by number."""
    with db.write() as session:
        crowd = [
            Lead(
                email=f"bulk{n:02d}@bulk.example",
                company="Bulk Ltd",
                grade="B",
                journey_stage="consideration",
                fit_score=50,
                created_at=ago(days=70),
                last_activity_at=ago(days=60 - n),
            )
            for n in range(60)
        ]
        session.add_all(crowd)
        session.flush()
        return [lead.id for lead in crowd]


def test_paging_keeps_the_filters(
    client: TestClient[Litestar], marketer: str, crowd: list[int]
) -> None:
    first = html(listing(client, "grade=B&q=bulk&sort=email&order=asc").text)
    assert rows(first) == [f"bulk{n:02d}" for n in range(50)]
    assert first.css_first(".lead-count").text(strip=True) == f"Leads 1{EN_DASH}50 of 60"
    assert first.css_first(".pager a[rel=prev]") is None
    following = first.css_first(".pager a[rel=next]")
    href = following.attributes["href"]
    assert following.attributes["hx-get"] == href
    assert href is not None
    query = parse_qs(urlsplit(href).query)
    assert query.pop("after") != [""]  # where the next page starts: after bulk49
    assert query == {"q": ["bulk"], "grade": ["B"], "sort": ["email"]}
    # email sorts ascending by nature: no "order" needed
    second = html(client.get(href).text)
    assert rows(second) == [f"bulk{n:02d}" for n in range(50, 60)]
    assert second.css_first(".lead-count").text(strip=True) == f"Leads 51{EN_DASH}60 of 60"
    assert second.css_first(".pager span").text(strip=True) == "Page 2 of 2"
    assert second.css_first(".pager a[rel=next]") is None
    back = second.css_first(".pager a[rel=prev]").attributes["href"]
    assert back is not None
    query = parse_qs(urlsplit(back).query)
    assert query.pop("before") != [""]  # the page that ends before bulk50
    assert query == {"q": ["bulk"], "grade": ["B"], "sort": ["email"]}
    again = html(client.get(back).text)
    assert rows(again) == [f"bulk{n:02d}" for n in range(50)]
    assert again.css_first(".lead-count").text(strip=True) == f"Leads 1{EN_DASH}50 of 60"
    assert again.css_first(".pager a[rel=prev]") is None
    start = second.css_first(".pager a[rel=first]").attributes["href"]
    assert start is not None
    assert parse_qs(urlsplit(start).query) == {"q": ["bulk"], "grade": ["B"], "sort": ["email"]}
    # The same through htmx: the next page arrives as a fragment with its own pager, and the
    # address bar gets the page's own address to bookmark.
    fragment = client.get(href, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text.lower()
    assert rows(html(fragment.text)) == [f"bulk{n:02d}" for n in range(50, 60)]
    assert fragment.headers["HX-Push-Url"] == href
    # A link from before cursors (?page=2) opens the same page, with the same links.
    old = html(listing(client, "grade=B&q=bulk&sort=email&page=2").text)
    assert rows(old) == [f"bulk{n:02d}" for n in range(50, 60)]
    assert old.css_first(".lead-count").text(strip=True) == f"Leads 51{EN_DASH}60 of 60"
    assert old.css_first(".pager a[rel=prev]").attributes["href"] == back


def read_csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_holds_every_matching_lead_not_just_the_page(
    client: TestClient[Litestar],
    marketer: str,
    db: Database,
    crowd: list[int],
    listed: dict[str, int],
) -> None:
    page = html(listing(client, "grade=B").text)
    link = page.css_first('a[href^="/console/leads/export.csv"]')
    assert "Export all 62 as CSV" in link.text()
    href = link.attributes["href"]
    assert href is not None
    assert parse_qs(urlsplit(href).query) == {"grade": ["B"]}
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="leads-\d{8}-\d{4}\.csv"', disposition)
    table = read_csv(response)
    assert table[0] == list(EXPORT_HEADER)
    found = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    emails = {row["email"] for row in found}
    assert len(found) == 62 == len(emails)
    assert emails == {f"bulk{n:02d}@bulk.example" for n in range(60)} | {
        "bob@stone.example",
        "dee@initech.example",
    }
    assert {row["grade"] for row in found} == {"B"}
    everyone = read_csv(client.get("/console/leads/export.csv"))
    assert len(everyone) == 1 + 65


def test_the_csv_carries_the_profile_and_neutralises_formulas(
    client: TestClient[Litestar], marketer: str, db: Database, listed: dict[str, int]
) -> None:
    with db.write() as session:
        record_facts(
            session,
            listed["bob"],
            {
                "first_name": "Bob",
                "last_name": "Stone",
                "company": '=HYPERLINK("http://evil.example","Click")',
                "job_title": "@ops",
                "phone": "+49 30 1234",
                "budget": "planned",
                "timeframe": "3-6m",
            },
            Source("form", "pricing-guide"),
            ago(days=1),
        )
    table = read_csv(client.get("/console/leads/export.csv?q=bob@"))
    assert len(table) == 2
    bob = dict(zip(table[0], table[1], strict=True))
    assert bob["company"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert bob["job_title"] == "'@ops"
    assert bob["phone"] == "+49 30 1234"
    assert (bob["first_name"], bob["last_name"], bob["budget"], bob["timeframe"]) == (
        "Bob",
        "Stone",
        "planned",
        "3-6m",
    )
    assert (bob["grade"], bob["lifecycle"], bob["fit_score"], bob["id"]) == (
        "B",
        "lead",
        "45",
        str(listed["bob"]),
    )
    # The list shows the same formula as harmless text.
    cells = html(listing(client, "q=bob@").text).css("tr.lead-row td")
    assert cells[0].text(strip=True) == '=HYPERLINK("http://evil.example","Click")'


# one lead's page


@dataclass
class Library:
    intro: Asset
    guide: Asset
    pricing: Asset
    roi: Asset


@pytest.fixture
def library(db: Database, settled: None) -> Library:
    return Library(
        intro=make_asset(db, slug="intro", title="What lead scoring is", stage="awareness"),
        guide=make_asset(
            db, slug="guide", title="Scoring guide", stage="consideration", kind="whitepaper"
        ),
        pricing=make_asset(db, slug="pricing", title="Pricing guide", stage="decision"),
        roi=make_asset(db, slug="roi", title="ROI calculator", stage="decision", kind="checklist"),
    )


def reading(visitor: str, asset: Asset, at: datetime, seconds: float, depth: float) -> list[Any]:
    return [
        events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at),
        events.ReadProgress(
            visitor_id=visitor, asset_id=asset.id, seconds=seconds, depth=depth, occurred_at=at
        ),
    ]


@dataclass
class Ada:
    lead_id: int
    browser: str
    read_on: datetime


@pytest.fixture
def ada(db: Database, app: Litestar, library: Library) -> Ada:
    """A lead who gave her name, company, budget, authority and timeframe, ticked the consent
    box, changed company later through the CRM, and read the pricing guide to 92 %."""
    model: Model = app.state.model
    with db.write() as session:
        found = identify(
            session,
            visitor_id="ada-laptop",
            email="ada@acme.example",
            answers={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "company": "Acme",
                "budget": "planned",
                "authority": "decision_maker",
                "timeframe": "0-3m",
            },
            consent=ConsentText("v1", "Yes, send me news about lead scoring."),
            source=Source("form", "pricing"),
            now=ago(days=3),
            model=model,
        )
        assert found.consent_to_confirm is not None
        confirmed = consenting.confirm(
            session,
            found.lead_id,
            found.consent_to_confirm,
            now=ago(days=3),
            ip="203.0.113.7",
            user_agent="MailApp/2.0",
        )
        assert confirmed == "confirmed"
    read_on = ago(days=2).replace(hour=10, minute=0, second=0, microsecond=0)
    with db.write() as session:
        record(
            session,
            [
                *reading(found.visitor_id, library.pricing, read_on, 60, 0.92),
                events.Search(
                    visitor_id=found.visitor_id, query="roi", results=1, occurred_at=read_on
                ),
            ],
            now=read_on,
            model=model,
        )
    with db.write() as session:
        record_facts(
            session, found.lead_id, {"company": "Analytical Engines"}, Source("api", "crm"), ago(1)
        )
    return Ada(found.lead_id, found.visitor_id, read_on)


def lead_page(client: TestClient[Litestar], lead_id: int) -> LexborHTMLParser:
    response = client.get(f"/console/leads/{lead_id}")
    assert response.status_code == 200
    return html(response.text)


def section(tree: LexborHTMLParser, heading_id: str) -> LexborNode:
    found = tree.css_first(f'section[aria-labelledby="{heading_id}"]')
    assert found is not None, heading_id
    return found


def test_the_lead_page_shows_who_it_is_and_where_each_answer_came_from(
    client: TestClient[Litestar], marketer: str, ada: Ada
) -> None:
    tree = lead_page(client, ada.lead_id)
    assert tree.css_first("h1").text(strip=True) == "Ada Lovelace"
    assert "Analytical Engines" in tree.css_first(".lead-header__sub").text()
    profile = {}
    for row in tree.css("table.profile-history tbody tr"):
        field = row.css_first("th").text(strip=True)
        value, source = (cell.text(strip=True) for cell in row.css("td")[:2])
        profile.setdefault(field, []).append((row.attributes["class"], value, source))
    # The superseded cell reads "Acme replaced <date>": the old value struck through.
    assert [(kind, source) for kind, _, source in sorted(profile["company"])] == [
        ("is-current", "api · crm"),
        ("is-superseded", "form · pricing"),
    ]
    assert sorted(profile["company"])[0][1] == "Analytical Engines"
    (old,) = tree.css("table.profile-history tr.is-superseded")
    assert old.css_first("th").text(strip=True) == "company"
    assert old.css_first("del").text() == "Acme"
    assert old.css_first(".cell-sub").text().startswith("replaced ")
    assert profile["budget"] == [("is-current", "planned", "form · pricing")]
    assert profile["first name"] == [("is-current", "Ada", "form · pricing")]
    consent = section(tree, "consent-h")
    assert consent.css_first(".consent-status strong").text() == "confirmed"
    (record_row,) = consent.css("table.consent-records tbody tr")
    assert record_row.css_first("th").text().startswith("Granted")
    assert "version v1" in record_row.text()
    assert record_row.css_first("q").text() == "Yes, send me news about lead scoring."
    confirmed = record_row.css_first(".consent-confirmed").text()
    assert "203.0.113.7" in confirmed
    assert "MailApp/2.0" in confirmed


def test_the_lead_page_explains_scores_and_stage(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    tree = lead_page(client, ada.lead_id)
    fit = {
        row.css_first("th").text(strip=True): (
            row.css("td")[0].text(strip=True),
            float(row.css("td")[1].text(strip=True)),
        )
        for row in tree.css("table.fit-breakdown tbody tr")
    }
    assert fit == {
        "budget": ("planned", 12),
        "authority": ("decision_maker", 20),
        "timeframe": ("0-3m", 15),
    }
    assert tree.css_first("table.fit-breakdown caption").text(strip=True) == "Fit score 47 of 100"
    assert tree.css_first(".lead-fit").text(strip=True) == "47"
    with db.read() as session:
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        stage, lifecycle = lead.journey_stage, lead.lifecycle
    assert (stage, lifecycle) == ("decision", "mql")  # decision evidence and fit over 25
    assert tree.css_first(".lead-stage").text().startswith("Decision")
    assert tree.css_first(".lead-lifecycle").text(strip=True) == "mql"
    explanation = tree.css_first(".stage-explanation").text()
    assert explanation.startswith("decision (")
    assert "Pricing guide" in explanation
    assert "timeframe 0-3m" in explanation
    evidence = {
        row.css_first("th").text(strip=True): row.css("td")[1].text()
        for row in section(tree, "stage-h").css("table tbody tr")
    }
    assert "Pricing guide" in evidence["Decision"]
    history = [" ".join(li.text().split()) for li in tree.css("ol.stage-history li")]
    assert any("stage awareness → decision" in item for item in history), history
    assert any("lifecycle lead → mql" in item for item in history), history


def test_the_engagement_chart_has_a_picture_and_the_same_figures_as_a_table(
    client: TestClient[Litestar], marketer: str, ada: Ada
) -> None:
    tree = lead_page(client, ada.lead_id)
    figure = tree.css_first("figure.chart")
    title = figure.css_first("figcaption").text(strip=True)
    assert title == "Engagement score, last 90 days"
    assert figure.css_first("img").attributes["alt"].startswith(title)
    body = figure.css("table tbody tr")
    assert len(body) == 90
    assert [th.text() for th in figure.css("thead th")] == ["Day", "Engagement"]
    values = table_values(figure)
    read_day = ada.read_on.strftime("%-d %b")
    by_day = {r.css_first("th").text(): float(r.css_first("td").text()) for r in body}
    assert by_day[read_day] > 0  # the day she read
    assert values[0] == 0.0  # nothing three months ago
    same_figures(figure)


def test_the_trail_groups_by_day_with_the_asset_read_and_its_depth(
    client: TestClient[Litestar], marketer: str, ada: Ada
) -> None:
    tree = lead_page(client, ada.lead_id)
    trail = section(tree, "trail-h")
    days = trail.css("section.trail-day")
    assert [d.css_first("h3 time").attributes["datetime"] for d in days] == [
        ada.read_on.date().isoformat()
    ]
    (visit,) = days[0].css(".trail-visit")
    assert "10:00 UTC" in visit.css_first(".trail-visit__when").text()
    item = visit.css_first('li.trail-asset[data-asset="pricing"]')
    assert item.css_first("a").text() == "Pricing guide"
    assert item.css_first(".trail-asset__time").text(strip=True) == "1 min 0 s engaged"
    meter = item.css_first("meter")
    assert float(meter.attributes["value"] or "") == pytest.approx(0.92)
    assert "Read 92%" in item.css_first(".trail-asset__depth").text()
    assert [li.text(strip=True) for li in visit.css("li.trail-other")] == ["search: “roi”"]
    summary = tree.css_first("table.lead-assets tbody tr")
    assert summary.css_first("th a").text() == "Pricing guide"
    assert float(summary.css_first("meter").attributes["value"] or "") == pytest.approx(0.92)


def test_the_page_recommends_what_she_has_not_read(
    client: TestClient[Litestar], marketer: str, ada: Ada, library: Library
) -> None:
    tree = lead_page(client, ada.lead_id)
    suggested = [a.attributes["href"] for a in section(tree, "next-h").css("li a")]
    assert suggested
    assert "/library/pricing" not in suggested
    assert set(suggested) <= {"/library/intro", "/library/guide", "/library/roi"}
    reasons = [span.text() for span in section(tree, "next-h").css("li .cell-sub")]
    assert all(reason.strip() for reason in reasons)


def post_action(client: TestClient[Litestar], lead_id: int, action: str, **form: str) -> Any:
    token = csrf_token_from(client.get(f"/console/leads/{lead_id}").text)
    return client.post(
        f"/console/leads/{lead_id}/{action}",
        data={"_csrf_token": token, **form},
        follow_redirects=False,
    )


def lifecycle_changes(db: Database, lead_id: int) -> list[tuple[Any, ...]]:
    """The lead's lifecycle changes as (seq, old, new, reason), oldest first."""
    with db.read() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(LeadChange.seq, LeadChange.old, LeadChange.new, LeadChange.reason)
                .where(LeadChange.lead_id == lead_id, LeadChange.kind == "lifecycle")
                .order_by(LeadChange.seq)
            )
        ]


def flash(response_text: str, kind: str) -> str:
    node = html(response_text).css_first(f".flash--{kind}")
    assert node is not None, f"no {kind} message"
    return node.text(strip=True)


def test_accepting_as_sql_logs_the_reason_and_who_did_it(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    form = html(client.get(f"/console/leads/{ada.lead_id}").text).css_first(
        'form[action$="/lifecycle"] input[name="to"][value="sql"]'
    )
    assert form is not None
    response = post_action(
        client, ada.lead_id, "lifecycle", to="sql", reason="  Budget confirmed   on the phone "
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/leads/{ada.lead_id}?done=Accepted+as+SQL"
    page = client.get(response.headers["location"])
    assert flash(page.text, "success") == "Accepted as SQL."
    assert html(page.text).css_first(".lead-lifecycle").text(strip=True) == "sql"
    _, old, new, reason = lifecycle_changes(db, ada.lead_id)[-1]
    assert (old, new, reason) == ("mql", "sql", f"Budget confirmed on the phone ({marketer})")
    log = [li.text() for li in html(page.text).css("ol.change-log li")]
    assert any(reason in item for item in log)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"to": "sql", "reason": "   "}, "Say why, in a few words: it goes into the lead's log."),
        ({"to": "sql"}, "Say why, in a few words: it goes into the lead's log."),
        ({"to": "mql", "reason": "rules own this"}, "Choose what to do with the lead."),
        ({"reason": "no target"}, "Choose what to do with the lead."),
    ],
)
def test_a_lifecycle_move_without_reason_or_target_changes_nothing(
    client: TestClient[Litestar],
    marketer: str,
    db: Database,
    ada: Ada,
    form: dict[str, str],
    message: str,
) -> None:
    before = lifecycle_changes(db, ada.lead_id)
    response = post_action(client, ada.lead_id, "lifecycle", **form)
    assert response.status_code == 303
    assert flash(client.get(response.headers["location"]).text, "error") == message
    assert lifecycle_changes(db, ada.lead_id) == before
    with db.read() as session:
        assert session.get(Lead, ada.lead_id).lifecycle == "mql"  # type: ignore[union-attr]


def test_a_move_the_rules_refuse_is_shown_and_not_made(
    client: TestClient[Litestar], marketer: str, db: Database, app: Litestar, ada: Ada
) -> None:
    with db.write() as session:
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        leadstate.set_lifecycle(session, lead, Lifecycle.CUSTOMER, "signed the contract")
    before = lifecycle_changes(db, ada.lead_id)
    response = post_action(client, ada.lead_id, "lifecycle", to="sql", reason="try anyway")
    page = client.get(response.headers["location"])
    assert flash(page.text, "error") == "Not allowed: customer leads cannot become sql."
    assert html(page.text).css_first(".lead-lifecycle").text(strip=True) == "customer"
    assert lifecycle_changes(db, ada.lead_id) == before


@pytest.fixture
def duplicate(db: Database, app: Litestar, ada: Ada, library: Library) -> int:
    """Ada again, from home under another address, who read the introduction."""
    with db.write() as session:
        found = identify(
            session,
            visitor_id="ada-home",
            email="ada.home@example.org",
            answers={"job_title": "CTO"},
            consent=None,
            source=Source("form", "intro"),
            now=ago(days=5),
            model=app.state.model,
        )
    with db.write() as session:
        record(
            session,
            reading(found.visitor_id, library.intro, ago(days=4), 40, 1.0),
            now=ago(days=4),
            model=app.state.model,
        )
    return found.lead_id


def lead_exists(db: Database, lead_id: int) -> bool:
    with db.read() as session:
        return session.get(Lead, lead_id) is not None


def test_merging_a_duplicate_moves_its_trail_and_logs_it(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada, duplicate: int
) -> None:
    response = post_action(
        client,
        ada.lead_id,
        "merge",
        duplicate="Ada.Home@example.org",
        confirm="yes",
        reason="same person, two addresses",
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert flash(page.text, "success") == "Merged ada.home@example.org into this lead."
    assert not lead_exists(db, duplicate)
    tree = html(page.text)
    trail = section(tree, "trail-h")
    assert {li.attributes["data-asset"] for li in trail.css("li.trail-asset")} == {
        "pricing",
        "intro",
    }
    log = [li.text() for li in tree.css("ol.change-log li")]
    merged = [item for item in log if "merged" in item]
    assert len(merged) == 1
    assert "ada.home@example.org merged in by marketer@example.com" in merged[0]
    assert "same person, two addresses" in merged[0]
    profile = [
        row.css_first("th").text() for row in tree.css("table.profile-history tr.is-current")
    ]
    assert "job title" in profile  # her answer from home is hers now
    assert rows(html(listing(client, "q=ada").text)) == ["ada"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"duplicate": "ada.home@example.org"}, "Tick the box to confirm the merge."),
        (
            {"duplicate": "ada.home@example.org", "confirm": "no"},
            "Tick the box to confirm the merge.",
        ),
        (
            {"duplicate": "nobody@example.org", "confirm": "yes"},
            "There is no lead with the email nobody@example.org.",
        ),
        ({"duplicate": "not an email", "confirm": "yes"}, "Enter the email of the duplicate lead."),
        (
            {"duplicate": "ada@acme.example", "confirm": "yes"},
            "A lead cannot be merged into itself.",
        ),
    ],
)
def test_a_merge_unconfirmed_or_of_an_unknown_lead_is_refused(
    client: TestClient[Litestar],
    marketer: str,
    db: Database,
    ada: Ada,
    duplicate: int,
    form: dict[str, str],
    message: str,
) -> None:
    response = post_action(client, ada.lead_id, "merge", **form)
    assert flash(client.get(response.headers["location"]).text, "error") == message
    assert lead_exists(db, duplicate)
    assert lead_exists(db, ada.lead_id)


def count_events(db: Database, **where: Any) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(Event)
        for name, value in where.items():
            column = getattr(Event, name)
            query = query.where(column.is_(None) if value is None else column == value)
        return session.scalar(query) or 0


def test_erasing_needs_the_exact_email(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    response = post_action(client, ada.lead_id, "erase", confirm_email="ada@acme.exampl")
    assert flash(client.get(response.headers["location"]).text, "error") == (
        "Type the lead's email exactly to confirm the erasure."
    )
    assert lead_exists(db, ada.lead_id)


def test_erasing_removes_the_person_and_keeps_the_reading_anonymous(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    events_before = count_events(db)
    assert count_events(db, lead_id=ada.lead_id) > 0
    response = post_action(client, ada.lead_id, "erase", confirm_email=" ADA@acme.example ")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/leads?done=erased"
    listing_page = client.get(response.headers["location"])
    assert flash(listing_page.text, "success").startswith("The lead's personal data was erased.")
    assert rows(html(listing_page.text)) == []
    assert not lead_exists(db, ada.lead_id)
    assert client.get(f"/console/leads/{ada.lead_id}").status_code == 404
    assert count_events(db) == events_before
    assert count_events(db, lead_id=ada.lead_id) == 0
    with db.read() as session:
        engagement = session.scalars(select(AssetEngagement)).all()
    assert engagement
    assert all(row.lead_id is None for row in engagement)
    assert read_csv(client.get("/console/leads/export.csv"))[1:] == []


def test_erasing_keeps_only_the_address_on_the_suppression_list(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    """The address is never mailed again; nothing else of its mail stays."""
    mail_to_ada(db, ada.lead_id)
    with db.write() as session:
        suppression.record_bounce(session, "ada@acme.example", "soft", "dsn", NOW, detail="full")
    post_action(client, ada.lead_id, "erase", confirm_email="ada@acme.example")
    with db.read() as session:
        kept = session.execute(
            select(Suppression.address, Suppression.reason, Suppression.detail)
        ).all()
        assert [tuple(row) for row in kept] == [("ada@acme.example", "erased", "")]
        assert session.scalars(select(MailMessage)).all() == []
        assert session.scalars(select(MailBounce)).all() == []


# consent and mail


def mail_to_ada(db: Database, lead_id: int) -> int:
    """A welcome mail, sent and opened."""
    with db.write() as session:
        message_id = enqueue(
            session,
            Mail(
                to="ada@acme.example", kind="welcome", category=MailCategory.MARKETING,
                lead_id=lead_id,
            ),
            domain="pipewise.example",
            now=ago(days=2),
        )  # fmt: skip
        assert message_id is not None
        message = session.get(MailMessage, message_id)
        assert message is not None
        message.status = MailStatus.SENT.value
        message.subject = "Welcome to the library"
        message.sent_at = ago(days=2)
        message.opened_at = ago(days=1)
        return message_id


def test_the_lead_page_shows_suppressions_and_recent_mail(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    mail_to_ada(db, ada.lead_id)
    with db.write() as session:
        suppression.suppress(
            session, "ada@acme.example", SuppressionReason.HARD_BOUNCE, ago(days=5), detail="550"
        )
    with db.write() as session:
        (bounce,) = session.scalars(select(Suppression)).all()
        suppression.lift(session, bounce.id, by="admin@example.com", reason="typo", now=ago(4))
        suppression.suppress(
            session, "ada@acme.example", SuppressionReason.UNSUBSCRIBED, ago(days=1),
            detail="unsubscribe link",
        )  # fmt: skip
    mail = section(lead_page(client, ada.lead_id), "mail-h")
    in_force, lifted = sorted(
        mail.css("table.suppressions tbody tr"), key=lambda row: row.attributes["class"] or ""
    )
    assert in_force.attributes["class"] == "is-active"
    assert in_force.css_first("th").text() == "unsubscribed"
    assert "in force" in in_force.text()
    assert lifted.css_first("th").text() == "hard bounce"
    assert "by admin@example.com: typo" in lifted.text()
    (row,) = mail.css("table.lead-mails tbody tr")
    assert (row.attributes["data-kind"], row.attributes["data-status"]) == ("welcome", "sent")
    assert row.css_first("th").text().startswith("Welcome to the library")
    cells = row.css("td")
    assert cells[1].css_first("time") is not None  # sent
    assert cells[2].css_first("time") is not None  # opened
    assert cells[3].text(strip=True) == EN_DASH  # not clicked


def test_a_lead_without_mail_says_so(client: TestClient[Litestar], marketer: str, ada: Ada) -> None:
    mail = section(lead_page(client, ada.lead_id), "mail-h")
    assert "Not on the suppression list" in mail.css_first("table.suppressions").text()
    assert "No mail to this address yet." in mail.css_first("table.lead-mails").text()


def test_a_marketer_withdraws_consent_with_a_reason(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    response = post_action(client, ada.lead_id, "consent/withdraw", reason=" Asked by phone ")
    assert response.status_code == 303
    page_text = client.get(response.headers["location"]).text
    assert flash(page_text, "success") == (
        "Consent withdrawn: no more marketing email goes to ada@acme.example, and the address "
        "is on the suppression list as unsubscribed."
    )
    with db.read() as session:
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        assert (lead.consent_status, lead.marketing_consent) == ("withdrawn", False)
        (entry,) = session.scalars(select(Suppression)).all()
        assert (entry.reason, entry.detail) == (
            "unsubscribed",
            f"withdrawn in the console by {marketer}: Asked by phone",
        )
        kinds = session.scalars(
            select(LeadChange.kind).where(LeadChange.lead_id == ada.lead_id)
        ).all()
        assert "unsubscribed" in kinds
    tree = html(page_text)
    consent = section(tree, "consent-h")
    assert consent.css_first(".consent-status strong").text() == "withdrawn"
    newest = consent.css_first("table.consent-records tbody tr")
    assert newest.css_first("th").text().startswith("Withdrawn")
    assert newest.css_first("q").text() == "Asked by phone"
    assert f"via console ({marketer})" in newest.text()
    # Nothing left to withdraw: the action is gone, and a stale form is told so.
    assert tree.css_first('form[action$="/consent/withdraw"]') is None
    again = post_action(client, ada.lead_id, "consent/withdraw", reason="twice")
    assert flash(client.get(again.headers["location"]).text, "error") == (
        "There is no consent to withdraw: the lead is not subscribed."
    )


def test_withdrawing_needs_a_reason(
    client: TestClient[Litestar], marketer: str, db: Database, ada: Ada
) -> None:
    form = html(client.get(f"/console/leads/{ada.lead_id}").text).css_first(
        'form[action$="/consent/withdraw"] input[name="reason"]'
    )
    assert form is not None
    response = post_action(client, ada.lead_id, "consent/withdraw", reason="   ")
    assert flash(client.get(response.headers["location"]).text, "error").startswith("Say why")
    with db.read() as session:
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        assert lead.consent_status == "confirmed"


# the older part of a long trail


@pytest.fixture
def long_trail(db: Database, library: Library) -> tuple[int, list[str]]:
    """A lead with 250 asset views, one a day: the lead page shows the newest 200 days."""
    first_day = (NOW - timedelta(days=260)).replace(hour=9, minute=0, second=0, microsecond=0)
    with db.write() as session:
        lead = Lead(email="reader@example.org", created_at=first_day, last_activity_at=NOW)
        session.add(lead)
        session.flush()
        days = []
        for n in range(250):
            at = first_day + timedelta(days=n)
            days.append(at.date().isoformat())
            session.add(
                Event(
                    visitor_id="reader-laptop", lead_id=lead.id, type="asset_view",
                    asset_id=library.guide.id, occurred_at=at,
                )
            )  # fmt: skip
        return lead.id, days


def trail_days(tree: LexborHTMLParser | LexborNode) -> list[str]:
    return [
        day.css_first("h3 time").attributes["datetime"] or ""
        for day in tree.css("section.trail-day")
    ]


def test_older_trail_pages_with_and_without_htmx(
    client: TestClient[Litestar], marketer: str, long_trail: tuple[int, list[str]]
) -> None:
    lead_id, days = long_trail
    tree = lead_page(client, lead_id)
    shown = trail_days(section(tree, "trail-h"))
    assert shown == list(reversed(days))[:200]  # newest first
    more = tree.css_first("#trail-more a")
    href = more.attributes["href"]
    assert href is not None
    assert href.startswith(f"/console/leads/{lead_id}/trail?cursor=")
    assert more.attributes["hx-get"] == href
    assert more.attributes["hx-target"] == "#trail-more"

    page = client.get(href)
    assert page.status_code == 200
    assert page.text.lstrip().lower().startswith("<!doctype html")
    full = html(page.text)
    assert full.css_first("h1").text(strip=True) == "Older activity"
    assert full.css_first(f'a[href="/console/leads/{lead_id}"]') is not None
    older = trail_days(full)
    assert older == list(reversed(days))[200:]
    assert full.css_first("#trail-more") is None  # nothing older left

    fragment = client.get(href, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text.lower()
    assert trail_days(html(fragment.text)) == older
    assert sorted(shown + older) == sorted(days)


def test_a_forged_trail_cursor_is_explained(
    client: TestClient[Litestar], marketer: str, long_trail: tuple[int, list[str]]
) -> None:
    lead_id, _ = long_trail
    for cursor in ("garbage", "WyIyMDI2LTAxLTAxIiwgMV0"):  # not base64 JSON; a naive time
        response = client.get(f"/console/leads/{lead_id}/trail?cursor={cursor}")
        assert response.status_code == 400
        assert "This link to older activity is not valid" in html(response.text).body.text()
    assert client.get("/console/leads/999999/trail").status_code == 404


def test_a_short_trail_offers_nothing_older(
    client: TestClient[Litestar], marketer: str, ada: Ada
) -> None:
    tree = lead_page(client, ada.lead_id)
    assert tree.css_first("#trail-more") is None
    page = client.get(f"/console/leads/{ada.lead_id}/trail")
    assert trail_days(html(page.text)) == [ada.read_on.date().isoformat()]


def test_an_unknown_lead_is_not_found(client: TestClient[Litestar], marketer: str) -> None:
    assert client.get("/console/leads/424242").status_code == 404
