"""What a prospect sees: home, library with facets and search, asset pages, files and calendar."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.editing import save_asset, validate_draft
from portal.db import Database
from tests.factories import catch_up_search, make_asset
from tests.support import html


@pytest.fixture
def sync(app: Litestar, db: Database):  # type: ignore[no-untyped-def]
    """Bring the app's search index up to date now (the background syncer would within seconds)."""

    def run() -> None:
        catch_up_search(db, app)

    return run


def test_home_shows_featured_and_stage_sections(client: TestClient[Litestar], db: Database) -> None:
    make_asset(db, title="Lead scoring basics", stage="awareness", featured=True)
    make_asset(db, title="Pricing checklist", stage="decision", kind="checklist")
    make_asset(db, title="Unpublished thoughts", published=False)
    page = html(client.get("/").text)
    text = page.css_first("main").text()
    assert "Lead scoring basics" in text
    assert "Pricing checklist" in text
    assert "Unpublished thoughts" not in text
    assert page.css_first('a[href="/library?stage=decision"]') is not None
    assert page.css_first('a[href="/library?topic=lead-scoring"]') is not None


def test_library_lists_live_assets_with_facet_counts(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(db, title="Webinar on scoring", kind="webinar", webinar_starts_at="2027-03-01T15:00")
    make_asset(db, title="Scoring article", kind="article")
    make_asset(db, title="Another article", kind="article")
    make_asset(db, title="Draft article", kind="article", published=False)
    response = client.get("/library")
    assert response.status_code == 200
    results = html(response.text).css_first("#results")
    titles = {a.text(strip=True) for a in results.css("h3 a, h2 a")}
    assert {"Webinar on scoring", "Scoring article", "Another article"} <= titles
    assert "Draft article" not in results.text()
    kind_link = results.css_first('a[href="/library?kind=article"]')
    assert kind_link is not None
    assert "2" in kind_link.text()
    narrowed = html(client.get("/library?kind=article").text).css_first("#results")
    assert "Webinar on scoring" not in narrowed.text()
    assert "Scoring article" in narrowed.text()


def test_htmx_gets_only_the_results_fragment(client: TestClient[Litestar], db: Database) -> None:
    make_asset(db, title="Fragment guide", kind="ebook")
    response = client.get("/library?kind=ebook", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text.lower()
    assert html(response.text).css_first("#results") is not None
    assert response.headers["hx-push-url"] == "/library?kind=ebook"


def test_search_ranks_and_highlights_and_suggests(
    client: TestClient[Litestar], db: Database, sync
) -> None:  # type: ignore[no-untyped-def]
    make_asset(db, title="Nurturing playbook", body="How nurturing tracks work.")
    make_asset(db, title="Webinar recap", body="We talked about nurturing briefly.")
    sync()
    page = html(client.get("/library?q=nurturing").text)
    titles = [a.text(strip=True) for a in page.css("#results h3 a, #results h2 a")]
    assert titles[:2] == ["Nurturing playbook", "Webinar recap"]
    assert page.css_first("#results mark") is not None
    suggestion = html(client.get("/library?q=nurturng").text).css_first(
        '#results a[href="/library?q=nurturing"]'
    )
    assert suggestion is not None


def test_asset_page_renders_a_sanitized_body_and_related(
    client: TestClient[Litestar], db: Database
) -> None:
    asset = make_asset(
        db,
        title="Safe guide",
        body="## Intro\n\nHello <script>alert(1)</script> [x](javascript:alert(1))",
        topics=["email-nurturing"],
    )
    make_asset(db, title="A related read", topics=["email-nurturing"])
    response = client.get(f"/library/{asset.slug}")
    assert response.status_code == 200
    page = html(response.text)
    assert page.css_first("h1").text(strip=True) == "Safe guide"
    assert page.css_first("main script") is None
    assert not any("javascript:" in (a.attributes.get("href") or "") for a in page.css("a"))
    assert "A related read" in page.css_first("main").text()


def test_gated_asset_shows_teaser_and_gate_only(
    client: TestClient[Litestar], db: Database, app: Litestar
) -> None:
    asset = make_asset(
        db,
        title="Gated guide",
        gate="gated",
        body="SECRET-BODY-TEXT",
        store=app.state.files,
        pdf_pages=["page one", "page two"],
        kind="whitepaper",
    )
    page = html(client.get(f"/library/{asset.slug}").text)
    assert page.css_first("#gate") is not None
    assert "SECRET-BODY-TEXT" not in page.html
    assert page.css_first('a[href*="/download"]') is None
    assert client.get(f"/library/{asset.slug}/file").status_code == 403


def test_renamed_asset_redirects_from_its_old_slug(
    client: TestClient[Litestar], db: Database
) -> None:
    asset = make_asset(db, title="Old name")
    with db.write() as session:
        from content.models import Asset

        stored = session.get(Asset, asset.id)
        draft, _ = validate_draft(
            {"title": "New name", "slug": "new-name", "kind": "article", "stage": "awareness"}
        )
        assert draft is not None
        assert stored is not None
        save_asset(session, draft, "editor@example.com", stored)
    response = client.get(f"/library/{asset.slug}", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "/library/new-name"


def test_unknown_and_draft_assets_are_not_found(client: TestClient[Litestar], db: Database) -> None:
    draft = make_asset(db, published=False)
    assert client.get(f"/library/{draft.slug}").status_code == 404
    assert client.get("/library/no-such-asset").status_code == 404


def test_pdf_is_viewable_with_ranges_and_downloadable_with_a_signed_link(
    client: TestClient[Litestar], db: Database, app: Litestar
) -> None:
    asset = make_asset(
        db, kind="whitepaper", store=app.state.files, pdf_pages=["one", "two", "three"]
    )
    page = html(client.get(f"/library/{asset.slug}").text)
    view = client.get(f"/library/{asset.slug}/file")
    assert view.status_code == 200
    assert view.headers["content-type"] == "application/pdf"
    assert view.headers["content-disposition"].startswith("inline")
    partial = client.get(f"/library/{asset.slug}/file", headers={"Range": "bytes=0-7"})
    assert partial.status_code == 206
    assert partial.content == b"%PDF-1.4"
    assert partial.headers["content-range"].startswith("bytes 0-7/")
    link = page.css_first('a[href*="/download?t="]').attributes["href"]
    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content == view.content
    tampered = client.get(link[:-3] + "xyz")
    assert tampered.status_code == 403


def test_download_link_of_one_asset_does_not_open_another(
    client: TestClient[Litestar], db: Database, app: Litestar
) -> None:
    first = make_asset(db, store=app.state.files, pdf_pages=["first"])
    second = make_asset(db, store=app.state.files, pdf_pages=["second"])
    link = (
        html(client.get(f"/library/{first.slug}").text)
        .css_first('a[href*="/download?t="]')
        .attributes["href"]
    )
    token = link.split("t=", 1)[1]
    assert client.get(f"/library/{second.slug}/download?t={token}").status_code == 403


def test_webinar_offers_a_calendar_entry(client: TestClient[Litestar], db: Database) -> None:
    starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    asset = make_asset(
        db,
        title="Live demo, Q&A",
        kind="webinar",
        webinar_starts_at=starts.isoformat(),
        webinar_duration_minutes="60",
    )
    page = html(client.get(f"/library/{asset.slug}").text)
    time_node = page.css_first("time.local-time")
    assert time_node.attributes["datetime"] == starts.isoformat()
    ics = client.get(f"/library/{asset.slug}/calendar.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    body = ics.text
    assert f"DTSTART:{starts.strftime('%Y%m%dT%H%M%SZ')}" in body
    assert f"DTEND:{(starts + timedelta(minutes=60)).strftime('%Y%m%dT%H%M%SZ')}" in body
    assert "SUMMARY:Live demo\\, Q&A" in body
    assert body.endswith("END:VCALENDAR\r\n")


def test_video_embeds_only_known_players(client: TestClient[Litestar], db: Database) -> None:
    known = make_asset(db, kind="video", video_url="https://www.youtube-nocookie.com/embed/abc123")
    unknown = make_asset(db, kind="video", video_url="https://videos.example.com/watch/1")
    response = client.get(f"/library/{known.slug}")
    iframe = html(response.text).css_first("iframe")
    assert iframe.attributes["src"] == "https://www.youtube-nocookie.com/embed/abc123"
    assert "https://www.youtube-nocookie.com" in response.headers["content-security-policy"]
    other = html(client.get(f"/library/{unknown.slug}").text)
    assert other.css_first("iframe") is None
    assert other.css_first('a[href="https://videos.example.com/watch/1"]') is not None


def test_scheduled_asset_goes_live_without_anyone_touching_it(
    client: TestClient[Litestar], db: Database
) -> None:
    from content.models import Asset
    from content.publishing import schedule

    asset = make_asset(db, title="Launch day guide", published=False)
    with db.write() as session:
        stored = session.get(Asset, asset.id)
        assert stored is not None
        schedule(session, stored, datetime.now(UTC) + timedelta(seconds=1), "editor@example.com")
    assert client.get(f"/library/{asset.slug}").status_code == 404
    deadline = time.monotonic() + 15
    status = 404
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.25)  # the app's own background tick publishes it (every 2 s)
        status = client.get(f"/library/{asset.slug}").status_code
    assert status == 200
    with db.read() as session:
        stored = session.get(Asset, asset.id)
        assert stored is not None
        assert stored.status == "published"
        assert stored.revisions[0].author == "scheduler"
