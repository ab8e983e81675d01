"""Small things a prospect notices on the public pages: what a card and an asset page say about
length, what a soft gate offers when there is no file, and the site's icon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import TestClient

from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import HTMX, submit
from tests.support import html

VIDEO_URL = "https://www.youtube-nocookie.com/embed/abc123"


def test_a_video_does_not_claim_a_reading_time(client: TestClient[Litestar], db: Database) -> None:
    make_asset(db, slug="scoring-video", kind="video", video_url=VIDEO_URL, body="Transcript.")
    make_asset(db, slug="scoring-article", kind="article", body="Words to read.")

    page = html(client.get("/library/scoring-video").text)
    assert "min read" not in page.css_first(".asset-meta").text()
    cards = {
        card.css_first("a.card__link").attributes["href"]: card.css_first(".asset-card__foot")
        for card in html(client.get("/library").text).css("article.asset-card")
    }
    assert "min read" not in cards["/library/scoring-video"].text()
    assert "1 min read" in cards["/library/scoring-article"].text()
    article = html(client.get("/library/scoring-article").text)
    assert "1 min read" in article.css_first(".asset-meta").text()


def past_soft_webinar(db: Database) -> None:
    """A soft-gated webinar recording: readable and watchable, with no file to download."""
    make_asset(
        db,
        slug="scoring-clinic-recording",
        kind="webinar",
        gate="soft",
        stage="consideration",
        webinar_starts_at=(datetime.now(UTC) - timedelta(days=30)).isoformat(),
        webinar_duration_minutes="45",
        recording_url=VIDEO_URL,
    )


def test_a_soft_gate_without_a_file_offers_no_download(
    client: TestClient[Litestar], db: Database
) -> None:
    past_soft_webinar(db)

    form = html(client.get("/library/scoring-clinic-recording/gate", headers=HTMX).text)
    offer = form.css_first("#gate").text(separator=" ")
    assert "download" not in offer.lower()
    assert form.css_first("#gate-submit").text(strip=True) == "Show me more like this"

    done = submit(
        client,
        "scoring-clinic-recording",
        htmx=True,
        email="ada@example.com",
        first_name="Ada",
        last_name="L",
    )
    assert done.status_code == 200
    thanks = html(done.text)
    assert thanks.css_first("#gate-download") is None
    assert (
        thanks.css_first("#unlock-notice").text(strip=True)
        == "Thanks, Ada \u2014 you\u2019re all set."
    )

    # Back on the page, a known reader is not asked for an email it no longer sees.
    again = html(client.get("/library/scoring-clinic-recording/gate", headers=HTMX).text)
    offer = again.css_first("#gate-title").text(strip=True)
    assert "Leave your email" not in offer
    assert offer == "Tell us a little more and we\u2019ll suggest what to read next."


def test_every_page_names_an_icon_that_answers(client: TestClient[Litestar], db: Database) -> None:
    icon = html(client.get("/").text).css_first('link[rel="icon"]')
    assert icon is not None
    linked = client.get(icon.attributes["href"] or "")
    assert linked.status_code == 200
    assert linked.headers["content-type"].startswith("image/svg+xml")

    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert legacy.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in legacy.headers.get("cache-control", "")
