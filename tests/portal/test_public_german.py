"""The public portal in German: every page a prospect opens speaks German when they chose it
(the switch) or their browser asks for it, with no English text of the catalog left; the
switch is kept; forms say their mistakes in German; the consent record keeps the text shown,
its version and its language; webinar times are the reader's, in the reader's format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlalchemy import select

from content.files import FileStore
from portal import i18n
from portal.db import Database
from portal.settings import Settings
from portal.visitor import TIME_ZONE_COOKIE
from tests.factories import make_asset
from tests.portal.forms import HTMX, backdated, form_fields, submit
from tests.portal.sales_form import form_values
from tests.support import app_for, html
from tests.untranslated import untranslated
from tracking.models import Consent, Lead
from tracking.rules.config import default_model

Client = TestClient[Litestar]
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
WEBINAR_START = datetime(2031, 10, 8, 8, 0, tzinfo=UTC)  # 10:00 in Berlin (summer time)


@pytest.fixture
def library(db: Database, settings: Settings) -> dict[str, Any]:
    """A German open article and webinar, an English gated whitepaper with a PDF, an English
    soft checklist: what the library holds in both languages."""
    store = FileStore(settings.files_dir)
    return {
        "article": make_asset(
            db,
            title="Lead-Nurturing-Leitfaden für den Mittelstand",
            slug="lead-nurturing-leitfaden",
            language="de",
            stage="awareness",
            summary="Wie mittelständische B2B-Teams Interessenten begleiten.",
            body="## Warum es zählt\n\nWeil Käufer sich selbst informieren.",
        ),
        "webinar": make_asset(
            db,
            title="Scoring-Sprechstunde",
            slug="scoring-sprechstunde",
            language="de",
            kind="webinar",
            stage="consideration",
            gate="gated",
            summary="Wir besprechen Ihre Scoring-Modelle live.",
            webinar_starts_at=WEBINAR_START.isoformat(),
            webinar_duration_minutes="45",
        ),
        "guide": make_asset(
            db,
            title="The Buyer's Guide to Lead Scoring",
            slug="buyers-guide",
            language="en",
            kind="whitepaper",
            stage="decision",
            gate="gated",
            summary="How to weigh fit and intent.",
            store=store,
            pdf_pages=["Pricing page one"],
        ),
        "checklist": make_asset(
            db,
            title="RFP checklist",
            slug="rfp-checklist",
            language="en",
            kind="checklist",
            stage="consideration",
            gate="soft",
            summary="What to ask vendors.",
        ),
    }


def first(tree: LexborHTMLParser | LexborNode, selector: str) -> LexborNode:
    """The first element ``selector`` finds; the test fails when there is none."""
    found = tree.css_first(selector)
    assert found is not None, f"no {selector}"
    return found


def lang_of(page: str) -> str:
    root = first(html(page), "html")
    assert root is not None
    return root.attributes.get("lang") or ""


def speaks_german(response: Any) -> None:
    """The page declares German and shows no English text of the catalog."""
    assert lang_of(response.text) == "de", response.url
    assert untranslated(response.text) == [], response.url


PAGES = [
    ("/", 200),
    ("/library", 200),
    ("/library?q=Scoring", 200),
    ("/library?kind=whitepaper&stage=decision", 200),
    ("/library?q=zzzqqq", 200),
    ("/library/lead-nurturing-leitfaden", 200),
    ("/library/scoring-sprechstunde", 200),
    ("/library/scoring-sprechstunde/gate", 200),
    ("/library/buyers-guide", 200),
    ("/library/buyers-guide/gate", 200),
    ("/library/rfp-checklist", 200),
    ("/library/buyers-guide/download?t=forged", 403),
    ("/talk-to-sales", 200),
    ("/talk-to-sales?asset=buyers-guide", 200),
    ("/talk-to-sales/thanks?sent=queued", 200),
    ("/consent", 200),
    ("/forget", 200),
    ("/privacy", 200),
    ("/library/no-such-asset", 404),
    ("/no-such-page", 404),
]


def test_every_public_page_speaks_german_once_the_reader_chose_it(
    client: Client, library: dict[str, Any]
) -> None:
    chosen = client.get("/?lang=de", headers=ENGLISH)
    speaks_german(chosen)
    for path, status in PAGES:  # the English assets too: the reader's choice wins
        response = client.get(path, headers=ENGLISH)
        assert response.status_code == status, path
        speaks_german(response)


GERMAN_BY_BROWSER = [
    (path, status) for path, status in PAGES if "buyers-guide" not in path and "rfp" not in path
]


@pytest.mark.parametrize(("path", "status"), GERMAN_BY_BROWSER)
def test_a_german_browser_gets_every_page_in_german(
    client: Client, library: dict[str, Any], path: str, status: int
) -> None:
    response = client.get(path, headers=GERMAN)
    assert response.status_code == status
    speaks_german(response)
    assert "Accept-Language" in response.headers.get("vary", "") or status != 200


def test_the_error_pages_speak_german(app: Litestar) -> None:
    template = app.template_engine.get_template("public/error.html")  # type: ignore[union-attr]
    for status, retry in ((429, 120), (500, None)):
        with i18n.using("de"):
            page = template.render(status_code=status, retry_after=retry, request=None)
        assert lang_of(page) == "de"
        assert untranslated(page) == []
    with i18n.using("de"):
        page = template.render(status_code=429, retry_after=120, request=None)
    assert "Versuchen Sie es in etwa 2 Minuten erneut." in page


def test_the_switch_is_kept_and_marks_the_language_shown(
    client: Client, library: dict[str, Any]
) -> None:
    english = client.get("/library?kind=whitepaper", headers=ENGLISH)
    assert lang_of(english.text) == "en"
    switch = first(html(english.text), "#language-de")
    assert switch.text() == "Deutsch"
    assert switch.attributes["href"] == "/library?kind=whitepaper&lang=de"
    assert first(html(english.text), "#language-en").attributes["aria-current"] == "true"

    german = client.get(switch.attributes["href"] or "", headers=ENGLISH)
    assert german.cookies.get(i18n.LANGUAGE_COOKIE) == "de"
    tree = html(german.text)
    assert first(tree, "#language-de").attributes["aria-current"] == "true"
    assert "aria-current" not in first(tree, "#language-en").attributes
    assert first(tree, "#library-title").text() == "Bibliothek"
    # Later pages, an English asset included, keep the choice over the browser's language.
    assert lang_of(client.get("/", headers=ENGLISH).text) == "de"
    assert lang_of(client.get("/library/buyers-guide", headers=ENGLISH).text) == "de"
    # Switching back is kept as well: a German asset in an English page.
    client.get("/?lang=en", headers=GERMAN)
    assert lang_of(client.get("/library/lead-nurturing-leitfaden", headers=GERMAN).text) == "en"


def test_without_a_choice_the_asset_speaks_its_language(
    client: Client, library: dict[str, Any]
) -> None:
    german_asset = client.get("/library/lead-nurturing-leitfaden", headers=ENGLISH)
    assert lang_of(german_asset.text) == "de"
    assert i18n.LANGUAGE_COOKIE not in german_asset.cookies
    # its gate form, loaded by htmx, speaks the page's language too
    form = client.get("/library/scoring-sprechstunde/gate", headers={**ENGLISH, **HTMX})
    assert first(html(form.text), "#gate-submit").text() == "Anmelden"
    english_asset = client.get("/library/buyers-guide", headers=GERMAN)
    assert lang_of(english_asset.text) == "en"


def test_a_german_page_labels_the_english_assets_and_keeps_their_words_english(
    client: Client, library: dict[str, Any]
) -> None:
    tree = html(client.get("/library?lang=de").text)
    cards = {first(card, ".card__title").text(): card for card in tree.css("article.card")}
    english = cards["The Buyer's Guide to Lead Scoring"]
    assert english.attributes["lang"] == "en"
    label = first(english, ".asset-card__language")
    assert label.text() == "English"
    assert first(english, ".asset-card__kicker").attributes["lang"] == "de"
    german = cards["Lead-Nurturing-Leitfaden für den Mittelstand"]
    assert german.css_first(".asset-card__language") is None
    assert "lang" not in german.attributes


def test_the_gate_form_names_its_mistakes_in_german(
    client: Client, library: dict[str, Any]
) -> None:
    client.get("/?lang=de")
    response = submit(client, "buyers-guide", htmx=True, email="ada@", first_name="")
    assert response.status_code == 422
    tree = html(response.text)
    errors = {node.attributes["id"]: node.text() for node in tree.css(".field__error")}
    assert errors == {
        "gate-email-error": "Geben Sie eine E-Mail-Adresse wie name@firma.de ein.",
        "gate-first_name-error": "Bitte füllen Sie das Feld „Vorname“ aus.",
        "gate-last_name-error": "Bitte füllen Sie das Feld „Nachname“ aus.",
    }
    labels = [node.text() for node in tree.css(".field label")]
    assert labels == ["Geschäftliche E-Mail-Adresse", "Vorname", "Nachname"]
    assert untranslated(f'<html lang="de">{response.text}</html>') == []

    too_fast = client.post(
        "/library/buyers-guide/unlock",
        data={
            **form_fields(client.get("/library/buyers-guide/gate").text),
            "email": "ada@pipewise.example",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
    )
    assert too_fast.status_code == 422
    notice = first(html(too_fast.text), "#gate-notice").text()
    assert notice.startswith("Das ging schneller als erwartet")


def test_english_mistakes_keep_their_english_words(client: Client, library: dict[str, Any]) -> None:
    response = submit(client, "buyers-guide", htmx=True, email="ada@", first_name="")
    errors = [node.text() for node in html(response.text).css(".field__error")]
    assert errors == [
        "Enter an email address like name@company.com.",
        "Please enter your first name.",
        "Please enter your last name.",
    ]


def test_talk_to_sales_names_its_mistakes_in_german(
    settings: Settings, library: dict[str, Any]
) -> None:
    with (
        app_for(settings.with_overrides(free_mail="refuse")) as app,
        TestClient(app) as client,
    ):
        page = client.get("/talk-to-sales?lang=de")
        data = {
            **form_values(page.text),
            "_started": backdated(),
            "email": "ada@gmail.com",
            "first_name": "Ada",
            "last_name": "",
            "company": "Pipewise GmbH",
            "phone": "ruf mich an",
        }
        response = client.post("/talk-to-sales", data=data)
    assert response.status_code == 422
    tree = html(response.text)
    errors = {node.attributes["id"]: node.text() for node in tree.css(".field__error")}
    assert errors == {
        "sales-email-error": "Bitte verwenden Sie Ihre geschäftliche E-Mail-Adresse: gmail.com "
        "ist ein Freemail-Anbieter, und wir antworten von Unternehmen zu Unternehmen.",
        "sales-last_name-error": "Bitte füllen Sie das Feld „Nachname“ aus.",
        "sales-phone-error": "Bitte verwenden Sie in einer Telefonnummer nur Ziffern, "
        "Leerzeichen und + - ( ) /.",
    }
    speaks_german(response)


def consents_of(db: Database, email: str) -> list[Consent]:
    with db.read() as session:
        lead = session.scalars(select(Lead).where(Lead.email == email)).one()
        found = list(session.scalars(select(Consent).where(Consent.lead_id == lead.id)))
        session.expunge_all()
    return found


def test_the_consent_record_keeps_the_german_text_its_version_and_language(
    client: Client, db: Database, library: dict[str, Any]
) -> None:
    language, german = default_model().profiling.consent_wording("de")
    assert language == "de"
    client.get("/?lang=de")
    form = html(client.get("/library/buyers-guide/gate", headers=HTMX).text)
    assert first(form, 'label[for="gate-consent"] span').text() == german.text

    response = submit(
        client,
        "buyers-guide",
        htmx=True,
        consent=True,
        email="anna@pipewise.example",
        first_name="Anna",
        last_name="Schmidt",
    )
    assert response.status_code == 200
    (consent,) = consents_of(db, "anna@pipewise.example")
    assert (consent.language, consent.text, consent.text_version) == (
        "de",
        german.text,
        german.version,
    )
    with db.read() as session:
        lead = session.scalars(select(Lead).where(Lead.email == "anna@pipewise.example")).one()
        assert lead.language == "de"  # the form's language, although the asset is English


def test_the_consent_record_of_an_english_form_keeps_the_english(
    client: Client, db: Database, library: dict[str, Any]
) -> None:
    profiling = default_model().profiling
    submit(
        client,
        "buyers-guide",
        htmx=True,
        consent=True,
        email="ada@pipewise.example",
        first_name="Ada",
        last_name="Lovelace",
    )
    (consent,) = consents_of(db, "ada@pipewise.example")
    assert (consent.language, consent.text, consent.text_version) == (
        "en",
        profiling.consent_text,
        profiling.consent_version,
    )


def test_talk_to_sales_records_the_german_consent(
    client: Client, db: Database, library: dict[str, Any]
) -> None:
    _, german = default_model().profiling.consent_wording("de")
    page = client.get("/talk-to-sales?lang=de")
    assert first(html(page.text), 'label[for="sales-consent"] span').text() == german.text
    data = {
        **form_values(page.text),
        "_started": backdated(),
        "email": "jonas@pipewise.example",
        "first_name": "Jonas",
        "last_name": "Weber",
        "company": "Pipewise GmbH",
        "consent_marketing": "yes",
    }
    assert client.post("/talk-to-sales", data=data, follow_redirects=False).status_code == 303
    (consent,) = consents_of(db, "jonas@pipewise.example")
    assert (consent.language, consent.text_version) == ("de", german.version)


@pytest.fixture
def berlin(client: Client) -> Client:
    """A reader whose browser said it is in Berlin (static/js/timezone.js's cookie)."""
    client.cookies.set(TIME_ZONE_COOKIE, "Europe%2FBerlin")
    return client


def test_a_webinar_shows_its_time_in_the_readers_zone_and_language(
    berlin: Client, library: dict[str, Any]
) -> None:
    page = html(berlin.get("/library/scoring-sprechstunde", headers=GERMAN).text)
    when = first(page, ".webinar-panel time.local-time")
    assert when.text() == "08.10.2031, 10:00 MESZ"
    assert when.attributes["data-zone"] == "Europe/Berlin"
    assert when.attributes["datetime"] == WEBINAR_START.isoformat()
    card_day = first(
        html(berlin.get("/library?kind=webinar", headers=GERMAN).text), ".asset-card__when time"
    )
    assert card_day.text() == "08.10.2031"

    english = html(berlin.get("/library/scoring-sprechstunde?lang=en").text)
    assert first(english, ".webinar-panel time.local-time").text() == "8 Oct 2031, 10:00 CEST"


def test_without_a_zone_the_time_is_utc_for_the_browser_to_rewrite(
    client: Client, library: dict[str, Any]
) -> None:
    page = html(client.get("/library/scoring-sprechstunde", headers=GERMAN).text)
    when = first(page, ".webinar-panel time.local-time")
    assert when.attributes["data-zone"] == "UTC"
    assert when.text() == "08.10.2031, 08:00 UTC"
    # a zone that is no zone is ignored, never an error
    client.cookies.set(TIME_ZONE_COOKIE, "Mars/Olympus")
    page = html(client.get("/library/scoring-sprechstunde", headers=GERMAN).text)
    assert first(page, ".webinar-panel time").attributes["data-zone"] == "UTC"


def test_the_privacy_policy_is_built_in_in_german(client: Client) -> None:
    page = client.get("/privacy", headers=GERMAN)
    speaks_german(page)
    policy = first(html(page.text), ".privacy-policy")
    assert first(policy, "h2").text() == "Was wir speichern"


def test_the_asset_page_dates_are_written_the_german_way(client: Client, db: Database) -> None:
    make_asset(
        db,
        slug="leitfaden",
        language="de",
        published_at=datetime(2026, 12, 5, 9, 0, tzinfo=UTC) - timedelta(days=1),
    )
    page = html(client.get("/library/leitfaden").text)
    assert first(page, ".asset-meta time").text() == "04.12.2026"
