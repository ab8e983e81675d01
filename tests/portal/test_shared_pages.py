"""Public pages served from their shared bytes (issue 19 §2), on SQLite and PostgreSQL: a
content change shows at once, every language and time zone gets its own page, the personal
parts load as fragments (and as pages of their own without JavaScript), every view is still
recorded with where it came from, and a consent banner's CSRF token is never shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.editing import save_asset, validate_draft
from content.models import Asset
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.forms import HTMX
from tests.support import app_for, html, with_personal_parts
from tracking.models import Event
from tracking.sources.models import Visit

BOT = {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}


def titles(page: str) -> list[str]:
    return [a.text(strip=True) for a in html(page).css(".card__title a")]


def views(db: Database) -> list[tuple[str, str | None]]:
    """(type, visitor id) of every recorded event, oldest first."""
    with db.read() as session:
        return [
            (type_, visitor)
            for type_, visitor in session.execute(
                select(Event.type, Event.visitor_id).order_by(Event.id)
            )
        ]


def retitle(db: Database, slug: str, title: str) -> None:
    """An editor saves a new title (the editor's save appends to the content change log)."""
    with db.write() as session:
        asset = session.scalar(select(Asset).where(Asset.slug == slug))
        assert asset is not None
        draft, errors = validate_draft(
            {
                "title": title,
                "slug": slug,
                "kind": asset.kind,
                "stage": asset.stage,
                "summary": asset.summary,
                "body": asset.body,
            }
        )
        assert draft is not None, errors
        save_asset(session, draft, "editor@example.com", asset=asset)


def test_a_published_asset_appears_at_once_on_pages_served_from_their_shared_bytes(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(db, title="First guide", slug="first-guide")
    assert titles(client.get("/library").text) == ["First guide"]
    assert "First guide" in titles(client.get("/").text)
    assert titles(client.get("/library").text) == ["First guide"]  # served again, unchanged

    make_asset(db, title="Second guide", slug="second-guide")
    assert sorted(titles(client.get("/library").text)) == ["First guide", "Second guide"]
    assert "Second guide" in titles(client.get("/").text)

    page = client.get("/library/first-guide")
    assert html(page.text).css_first("h1").text(strip=True) == "First guide"
    retitle(db, "first-guide", "First guide, revised")
    page = client.get("/library/first-guide")
    assert html(page.text).css_first("h1").text(strip=True) == "First guide, revised"


def test_each_language_gets_its_own_page(client: TestClient[Litestar], db: Database) -> None:
    make_asset(db, title="A guide", slug="a-guide")
    make_asset(db, title="Ein Leitfaden", slug="ein-leitfaden", language="de")

    def spoken(path: str, **headers: str) -> str:
        return html(client.get(path, headers=headers).text).css_first("html").attributes["lang"]

    assert spoken("/library", **{"Accept-Language": "de-DE,de;q=0.9"}) == "de"
    assert spoken("/library", **{"Accept-Language": "en-US,en;q=0.9"}) == "en"
    # The asset's own language, unless the reader chose one.
    assert spoken("/library/ein-leitfaden", **{"Accept-Language": "en"}) == "de"
    assert spoken("/library/a-guide", **{"Accept-Language": "de"}) == "en"
    assert spoken("/library?lang=de") == "de"
    assert spoken("/library/a-guide", **{"Accept-Language": "en"}) == "de"  # the cookie's choice
    assert spoken("/library?lang=en") == "en"
    assert spoken("/library/ein-leitfaden", **{"Accept-Language": "de"}) == "en"
    german = html(client.get("/library?lang=de").text)
    assert german.css_first("#library-title").text(strip=True) == "Bibliothek"


def test_a_webinar_is_shown_in_each_readers_time_zone(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(
        db,
        title="Live demo",
        slug="live-demo",
        kind="webinar",
        webinar_starts_at="2027-03-01T15:00",
    )

    def shown(zone: str | None) -> str:
        client.cookies.clear()
        if zone:
            client.cookies.set("leadshelf_tz", zone)
        page = html(client.get("/library/live-demo").text)
        return page.css_first(".webinar-panel time").text(strip=True)

    utc, berlin, again = shown(None), shown("Europe/Berlin"), shown(None)
    assert "15:00" in utc
    assert "16:00" in berlin
    assert again == utc


def test_personal_parts_load_as_fragments_and_as_pages_without_javascript(
    client: TestClient[Litestar], db: Database
) -> None:
    for n in range(4):
        make_asset(db, title=f"CRM article {n}", slug=f"crm-{n}", topics=["crm"])
    home = client.get("/")
    slot = html(home.text).css_first("#recommended-slot")
    assert slot.attributes["hx-get"] == "/recommended"
    assert slot.attributes["hx-trigger"] == "load"
    assert html(home.text).css_first("#recommended-link").attributes["href"] == "/recommended"
    fragment = client.get("/recommended", headers=HTMX)
    assert fragment.headers["cache-control"] == "private, no-store"
    assert html(fragment.text).css_first("#recommended-title").text() == "Recommended for you"
    assert html(fragment.text).css_first("header.site-header") is None  # only the section
    page = client.get("/recommended")  # the link without JavaScript: a page of its own
    assert html(page.text).css_first("header.site-header") is not None
    assert html(page.text).css("#recommended [data-recommendation]")

    asset = client.get("/library/crm-0")
    assert html(asset.text).css_first("#read-next-link").attributes["href"] == "/library/crm-0/next"
    assert html(asset.text).css_first("#read-next [data-recommendation]") is None
    offered = client.get("/library/crm-0/next", headers=HTMX)
    assert offered.headers["cache-control"] == "private, no-store"
    picks = {a.attributes["href"] for a in html(offered.text).css("#read-next a.card__link")}
    assert picks
    assert "/library/crm-0" not in picks
    shown = html(with_personal_parts(client, asset.text))
    related = {a.attributes["href"] for a in shown.css("#related a.card__link")}
    assert not related & picks  # what "Read next" offers leaves "Related"
    no_js = client.get("/library/crm-0/next")
    assert html(no_js.text).css_first("header.site-header") is not None
    assert {a.attributes["href"] for a in html(no_js.text).css("#read-next a.card__link")} == picks
    assert client.get("/library/no-such-asset/next").status_code == 404
    retitle(db, "crm-0", "CRM article zero")  # what the fragment keeps follows the content
    breadcrumb = html(client.get("/library/crm-0/next").text).css(".breadcrumb a")
    assert breadcrumb[-1].text(strip=True) == "CRM article zero"


def test_crawlers_still_get_the_lists_in_the_page(
    client: TestClient[Litestar], db: Database
) -> None:
    for n in range(4):
        make_asset(db, title=f"CRM article {n}", slug=f"crm-{n}", topics=["crm"])
    page = html(client.get("/library/crm-0", headers=BOT).text)
    assert page.css("#read-next [data-recommendation]")
    assert page.css_first("#read-next-slot") is None


def test_every_view_of_a_shared_page_is_recorded_with_its_source(
    client: TestClient[Litestar], db: Database, settings: Settings
) -> None:
    make_asset(db, title="A guide", slug="a-guide")
    client.get("/library/a-guide")
    first_visitor = client.cookies.get("ls_visitor")
    client.get("/library/a-guide?utm_source=newsletter&utm_medium=email")
    client.get("/library")
    client.get("/library", headers=BOT)  # crawlers are not tracked
    with app_for(settings) as other_app, TestClient(other_app) as other:
        other.get("/library/a-guide")  # another browser, the same shared bytes
        assert other.cookies.get("ls_visitor") != first_visitor
    recorded = views(db)
    assert [type_ for type_, _ in recorded] == [
        "asset_view",
        "asset_view",
        "page_view",
        "asset_view",
    ]
    assert len({visitor for _, visitor in recorded}) == 2
    with db.read() as session:
        sources = [v.source for v in session.scalars(select(Visit).order_by(Visit.id))]
    assert "newsletter" in sources


@pytest.fixture
def opt_in(settings: Settings) -> Iterator[TestClient[Litestar]]:
    """A portal in opt-in consent mode."""
    with (
        app_for(settings.with_overrides(consent_mode="opt-in")) as app,
        TestClient(app) as client,
    ):
        yield client


def test_the_consent_banner_carries_each_browsers_own_csrf_token(
    opt_in: TestClient[Litestar], db: Database
) -> None:
    make_asset(db, title="A guide", slug="a-guide")
    tokens = []
    for _ in range(2):  # two browsers, one after the other
        opt_in.cookies.clear()
        page = html(opt_in.get("/library").text)
        field = page.css_first("#consent-banner input[name=_csrf_token]")
        assert field is not None
        tokens.append(field.attributes["value"])
        accepted = opt_in.post(
            "/consent",
            data={"choice": "granted", "next": "/library", "_csrf_token": tokens[-1]},
            follow_redirects=False,
        )
        assert accepted.status_code == 303
        after = html(opt_in.get("/library").text)  # chosen: no banner, the shared page
        assert after.css_first("#consent-banner") is None
    assert tokens[0] != tokens[1]
