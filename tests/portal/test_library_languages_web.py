"""The public library per language: a German reader sees German versions and English assets
that have none, never both versions of one asset; an asset page links its translation in the
page's language; topics carry the label of the page's language, which editors set."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from portal.accounts.models import Role, StaffUser
from portal.db import Database
from tests.factories import make_asset
from tests.support import StaffActions, csrf_token_from, html, with_personal_parts
from tests.untranslated import untranslated

FACET = "#facet-topic-lead-scoring"


@pytest.fixture
def pieces(db: Database) -> None:
    make_asset(db, slug="guide", title="Scoring guide", topics=["lead-scoring"], kind="ebook")
    make_asset(
        db,
        slug="leitfaden",
        title="Scoring-Leitfaden",
        topics=["lead-scoring"],
        kind="ebook",
        language="de",
        translation_of="guide",
    )
    make_asset(db, slug="checklist", title="Scoring checklist", topics=["lead-scoring"])


def listed(client: TestClient[Litestar], url: str) -> dict[str, str | None]:
    """The library's cards: asset slug → the card's ``lang`` (None: the page's language)."""
    page = html(client.get(url).text)
    return {
        (card.css_first("a.card__link").attributes["href"] or "").rsplit("/", 1)[-1]: (
            card.attributes.get("lang")
        )
        for card in page.css("#results article.asset-card")
    }


def test_a_german_reader_sees_one_version_of_each_asset_german_first(
    client: TestClient[Litestar], pieces: None
) -> None:
    german = listed(client, "/library?lang=de")
    assert list(german) == ["leitfaden", "checklist"]
    assert german["checklist"] == "en"  # marked as English on a German page
    english = listed(client, "/library?lang=en")
    assert list(english) == ["checklist", "guide"]
    # a language picked in the filter shows all of it, translated or not
    assert list(listed(client, "/library?lang=de&language=en")) == ["checklist", "guide"]


def test_a_browser_reading_german_gets_the_same_without_the_switch(
    client: TestClient[Litestar], pieces: None
) -> None:
    page = client.get("/library", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    cards = html(page.text).css("#results a.card__link")
    assert [a.text(strip=True) for a in cards] == ["Scoring-Leitfaden", "Scoring checklist"]


def test_an_asset_page_links_its_translation_in_the_pages_language(
    client: TestClient[Litestar], pieces: None
) -> None:
    english = html(client.get("/library/guide?lang=en").text)
    link = english.css_first("a.asset__translation")
    assert link.attributes["href"] == "/library/leitfaden"
    assert link.attributes["hreflang"] == "de"
    assert link.text(strip=True) == "Also in German"
    german = html(client.get("/library/leitfaden?lang=de").text)
    link = german.css_first("a.asset__translation")
    assert link.attributes["href"] == "/library/guide"
    assert link.text(strip=True) == "Auch auf Englisch"
    assert html(client.get("/library/checklist?lang=de").text).css("a.asset__translation") == []


def test_read_next_prefers_the_page_language_and_says_why_in_it(
    client: TestClient[Litestar], pieces: None
) -> None:
    make_asset(db=client.app.state.db, slug="artikel", title="Ein Artikel", language="de")
    page = html(with_personal_parts(client, client.get("/library/artikel?lang=de").text))
    offered = [a.attributes["href"] for a in page.css("#read-next a.card__link")]
    assert offered == ["/library/leitfaden", "/library/checklist"]
    reasons = {p.text(strip=True) for p in page.css("#read-next .recommendation__reason")}
    # "Read next" loads after the page, whose view it counts already.
    assert reasons == {"Weil Sie „Ein Artikel“ gelesen haben"}


def test_an_editor_gives_a_topic_its_german_label_and_german_pages_show_it(
    client: TestClient[Litestar], staff: StaffActions, db: Database, pieces: None
) -> None:
    staff.sign_in_as(Role.EDITOR)
    page = client.get("/console/taxonomy")
    field = html(page.text).css_first("#label-de-topics-lead-scoring")
    assert field.attributes["value"] == ""
    assert field.attributes["placeholder"] == "Lead scoring"
    response = client.post(
        "/console/taxonomy/topics/lead-scoring",
        data={
            "label": "Lead scoring",
            "label_de": " Lead-Scoring ",
            "_csrf_token": csrf_token_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (
        html(client.get("/console/taxonomy").text)
        .css_first("#label-de-topics-lead-scoring")
        .attributes["value"]
        == "Lead-Scoring"
    )

    def topic_labels(url: str) -> set[str]:
        tree = html(client.get(url).text)
        facet = {
            a.text(strip=True) for a in tree.css("#facet-topic-lead-scoring .facet-link__label")
        }
        tags = {t.text(strip=True) for t in tree.css(".asset-card__topics .tag")}
        return facet | tags

    assert topic_labels("/library?lang=de") == {"Lead-Scoring"}
    assert topic_labels("/library?lang=en") == {"Lead scoring"}
    guide = html(client.get("/library/guide?lang=de").text)
    assert [a.text(strip=True) for a in guide.css(".asset__topics a")] == ["Lead-Scoring"]


def test_an_empty_german_label_falls_back_to_the_english_one(
    client: TestClient[Litestar], staff: StaffActions, db: Database, pieces: None
) -> None:
    staff.sign_in_as(Role.EDITOR)
    for german in ("Lead-Scoring", ""):
        page = client.get("/console/taxonomy")
        client.post(
            "/console/taxonomy/topics/lead-scoring",
            data={
                "label": "Lead scoring",
                "label_de": german,
                "_csrf_token": csrf_token_from(page.text),
            },
        )
    tree = html(client.get("/library?lang=de").text)
    assert tree.css_first(f"{FACET} .facet-link__label").text(strip=True) == "Lead scoring"


def test_a_german_editor_reads_the_taxonomy_page_in_german(
    client: TestClient[Litestar], staff: StaffActions, db: Database, pieces: None
) -> None:
    email = staff.create(Role.EDITOR)
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language="de"))
    staff.login(email)
    shown = client.get("/console/taxonomy").text
    assert untranslated(shown) == []
    page = html(shown)
    assert page.css_first("h1").text() == "Themen & Personas"
    headers = [th.text(strip=True) for th in page.css("#topics-title ~ div th")]
    assert headers[:3] == ["Kürzel", "Bezeichnung (Englisch)", "Bezeichnung (Deutsch)"]
    refused = client.post(
        "/console/taxonomy/topics/lead-scoring",
        data={"label": " ", "_csrf_token": csrf_token_from(client.get("/console/taxonomy").text)},
    )
    problem = html(refused.text).css_first('[role="alert"]').text()
    assert problem == "Eine Bezeichnung braucht 1 bis 120 Zeichen."
