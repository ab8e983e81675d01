"""The console in each staff member's language, on SQLite and PostgreSQL: a marketer (or admin)
who chose German on their profile reads every console page in German (no English text the
catalog translates is left on it, charts and messages included), and one who keeps English
reads it in English; an admin sets a colleague's language on the staff page; the public
portal's language switch does not change the console; the leads CSV keeps its machine column
names unless German column titles are asked for."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import SuppressionReason
from portal import i18n
from portal.accounts.models import Role, StaffUser
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.german_pages import german_on, untranslated
from tests.support import STAFF_PASSWORD, StaffActions, app_for, csrf_token_from, html
from tracking import events
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.pipeline.ingest import record
from tracking.reporting.leadlist import EXPORT_HEADER

# --- a lead with something on every page ------------------------------------------------------


@dataclass
class World:
    lead_id: int
    asset_slug: str


@pytest.fixture
def world(db: Database, app: Litestar, settled: None) -> World:
    """A lead who read a decision-stage whitepaper, downloaded it, answered the budget and
    timeframe questions (an MQL waiting for sales), and a suppressed address."""
    asset = make_asset(
        db, slug="rollout-plan", title="Rollout Plan Workbook", stage="decision", topics=["rollout"]
    )
    now = utcnow()
    with db.write() as session:
        found = identify(
            session,
            visitor_id="jo-laptop",
            email="jo.kranz@kranz-werke.example",
            answers={
                "first_name": "Jo",
                "last_name": "Kranz",
                "company": "Kranz Werke",
                "budget": "approved",
                "authority": "decision_maker",
                "timeframe": "0-3m",
            },
            consent=ConsentText("v2", "Yes, send me news about rollouts."),
            source=Source("form", "rollout-plan"),
            now=now - timedelta(days=2),
            model=app.state.model,
        )
        read_at = now - timedelta(days=1)
        record(
            session,
            [
                events.AssetView(
                    visitor_id=found.visitor_id, asset_id=asset.id, occurred_at=read_at
                ),
                events.ReadProgress(
                    visitor_id=found.visitor_id,
                    asset_id=asset.id,
                    seconds=300,
                    depth=0.9,
                    occurred_at=read_at,
                ),
                events.Download(
                    visitor_id=found.visitor_id, asset_id=asset.id, occurred_at=read_at
                ),
            ],
            model=app.state.model,
        )
    with db.write() as session:
        suppression.suppress(
            session, "gone@kranz-werke.example", SuppressionReason.HARD_BOUNCE, now, detail="550"
        )
    return World(found.lead_id, asset.slug)


def speak(client: TestClient[Litestar], language: str) -> None:
    """Choose the console's language on one's own profile, as a staff member does."""
    token = csrf_token_from(client.get("/console/profile").text)
    response = client.post(
        "/console/profile",
        data={"language": language, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/profile?saved=1"


OTHER_AREAS = (".lead-source", ".lead-account", ".lead-programs", ".lead-deals")
"""The lead page's sections of the console's second part (programs, accounts, deals, sources),
which ``test_console2_german.py`` reads."""


def page(client: TestClient[Litestar], url: str, status: int = 200) -> LexborHTMLParser:
    response = client.get(url)
    assert response.status_code == status, url
    return html(response.text)


def own_part(tree: LexborHTMLParser) -> LexborHTMLParser:
    """The page without the sections of the console's second part."""
    for selector in OTHER_AREAS:
        for node in tree.css(selector):
            node.decompose()
    return tree


def lang_of(tree: LexborHTMLParser) -> str:
    root = tree.css_first("html")
    assert root is not None
    return root.attributes.get("lang") or ""


def marketer_pages(world: World) -> list[tuple[str, int]]:
    lead = world.lead_id
    return [
        ("/console", 200),
        ("/console/profile?saved=1", 200),
        ("/console/dashboard", 200),
        ("/console/dashboard?days=7", 200),
        ("/console/leads", 200),
        ("/console/leads?fit_min=many", 400),
        (f"/console/leads/{lead}", 200),
        (f"/console/leads/{lead}/trail", 200),
        ("/console/handoff", 200),
        ("/console/analytics", 200),
        ("/console/analytics?sort=readers&order=asc", 200),
        ("/console/email", 200),
        ("/console/mailbox", 404),
        ("/console/staff", 403),
        ("/console/leads/987654", 404),
    ]


ADMIN_PAGES = [
    ("/console/staff", 200),
    ("/console/system", 200),
    ("/console/assets", 200),
    ("/console/assets?status=draft&q=nothing", 200),
    ("/console/privacy", 200),
]


def test_a_marketer_who_chose_german_reads_every_console_page_in_german(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "de")
    left: dict[str, list[str]] = {}
    for url, status in marketer_pages(world):
        tree = own_part(page(client, url, status))
        assert lang_of(tree) == "de", url
        if found := untranslated(tree):
            left[url] = found
    assert left == {}


def test_an_admin_who_chose_german_reads_the_admin_pages_in_german(
    client: TestClient[Litestar], staff: StaffActions, settled: None, world: World
) -> None:
    staff.sign_in_as(Role.ADMIN)
    speak(client, "de")
    left = {}
    for url, status in ADMIN_PAGES:
        tree = page(client, url, status)
        assert lang_of(tree) == "de", url
        if found := untranslated(tree):
            left[url] = found
    assert left == {}


def test_a_marketer_who_keeps_english_reads_the_console_in_english(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "en")
    for url, status in marketer_pages(world):
        tree = own_part(page(client, url, status))
        assert lang_of(tree) == "en", url
        assert german_on(tree) == [], url
    menu = [a.text(strip=True) for a in page(client, "/console").css(".console-nav__item")]
    assert menu[:3] == ["Overview", "Funnel dashboard", "Leads"]


def test_the_german_console_names_things_as_german_marketers_do(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "de")
    overview = page(client, "/console")
    menu = [a.text(strip=True) for a in overview.css(".console-nav__item")]
    assert menu[:4] == ["Übersicht", "Funnel-Dashboard", "Leads", "Accounts"]
    assert overview.css_first(".role-badge").text(strip=True) == "Marketing"
    assert overview.css_first("title").text().startswith("Übersicht · ")

    lead = page(client, f"/console/leads/{world.lead_id}")
    assert lead.css_first(".lead-stage").text().startswith("Entscheidung")
    assert lead.css_first(".lead-lifecycle").text(strip=True) == "MQL"
    assert (
        "hat „Rollout Plan Workbook“ heruntergeladen" in lead.css_first(".stage-explanation").text()
    )
    fields = [th.text(strip=True) for th in lead.css("table.profile-history tbody th")]
    assert {"Vorname", "Unternehmen", "Budget", "Zeitrahmen"} <= set(fields)
    consent = lead.css_first("table.consent-records tbody tr")
    assert consent.css_first("th").text().startswith("Erteilt")
    assert "Version v2" in consent.text()

    leads = page(client, "/console/leads?fit_min=many", 400)
    assert leads.css_first("#lead-results .flash--error").text(strip=True) == (
        "Fit-Score von muss eine Zahl sein, nicht „many“"
    )
    refused = page(client, "/console/staff", 403)
    assert refused.css_first(".error-page__message").text(strip=True) == (
        "Dieser Bereich der Konsole ist der Rolle Admin vorbehalten; "
        "Sie sind als Marketing angemeldet."
    )


def test_the_dashboard_charts_speak_german_with_german_numbers_and_days(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "de")
    tree = page(client, "/console/dashboard")
    titles = [f.css_first("figcaption").text(strip=True) for f in tree.css("figure.chart")]
    assert titles[0] == "Leads, die jede Journey-Phase erreicht haben"
    assert "Neue Leads, MQLs und SQLs pro Tag" in titles
    per_day = tree.css("figure.chart")[titles.index("Neue Leads, MQLs und SQLs pro Tag")]
    assert [th.text() for th in per_day.css("thead th")] == ["Tag", "Neue Leads", "MQLs", "SQLs"]
    today = utcnow().date()
    days = [row.css_first("th").text() for row in per_day.css("tbody tr")]
    assert days[-1] == f"{today.day}. {i18n_month(today.month)}"
    image = per_day.css_first("img")
    assert (image.attributes["alt"] or "").endswith("Die Zahlen stehen in der folgenden Tabelle.")
    stage_rows = [[c.text(strip=True) for c in r.css("th, td")] for r in tree.css(
        "table.stage-funnel tbody tr")]  # fmt: skip
    assert [row[0] for row in stage_rows][:3] == ["Orientierung", "Abwägung", "Entscheidung"]
    # a share is written the German way: a decimal comma
    assert all(re.match(r"\d+,\d\s?%|\u2013", row[2]) for row in stage_rows), stage_rows
    english = page_in(client, "en", "/console/dashboard")
    titles = [f.css_first("figcaption").text(strip=True) for f in english.css("figure.chart")]
    assert titles[0] == "Leads that reached each journey stage"


def i18n_month(month: int) -> str:
    with i18n.using("de"):
        from babel.dates import get_month_names

        return str(get_month_names("abbreviated", locale=i18n.locale())[month])


def page_in(client: TestClient[Litestar], language: str, url: str) -> LexborHTMLParser:
    speak(client, language)
    return page(client, url)


def test_messages_after_an_action_are_in_the_staff_members_language(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "de")
    queue = client.get("/console/handoff")
    token = csrf_token_from(queue.text)
    assert html(queue.text).css_first("tr.handoff-row") is not None
    back = client.post(
        f"/console/handoff/{world.lead_id}", data={"_csrf_token": token, "do": "recycle"}
    )
    assert html(back.text).css_first(".flash--error").text(strip=True) == (
        "Nennen Sie den Grund, warum der Lead zurück ins Nurturing geht."
    )
    accepted = client.post(
        f"/console/handoff/{world.lead_id}", data={"_csrf_token": token, "do": "accept"}
    )
    tree = html(accepted.text)
    assert tree.css_first(".flash--success").text(strip=True) == (
        "jo.kranz@kranz-werke.example als SQL angenommen."
    )
    done = tree.css_first(".handoff-done li").text()
    assert done.startswith("Jo Kranz: SQL am ")


def test_an_admin_sets_a_colleagues_console_language_on_the_staff_page(
    client: TestClient[Litestar], staff: StaffActions, db: Database, settled: None
) -> None:
    colleague = staff.create(Role.EDITOR, "eva@example.com")
    staff.sign_in_as(Role.ADMIN)
    staff_page = client.get("/console/staff")
    row = html(staff_page.text).css_first(f'tr[data-staff="{colleague}"]')
    form = row.css_first("form.staff-language")
    assert form.css_first("option[selected]").attributes["value"] == ""
    response = client.post(
        form.attributes["action"] or "",
        data={"language": "de", "_csrf_token": csrf_token_from(staff_page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    notice = page(client, response.headers["location"]).css_first("#language-set")
    assert "eva@example.com" in notice.text()
    with db.read() as session:
        assert session.scalars(select(StaffUser.language).where(
            StaffUser.email == colleague)).one() == "de"  # fmt: skip
    refused = client.post(
        form.attributes["action"] or "",
        data={"language": "fr", "_csrf_token": csrf_token_from(staff_page.text)},
    )
    assert refused.status_code == 422
    problem = html(refused.text).css_first("#language-problem").text(strip=True)
    assert problem == "unknown language 'fr'; choose one of en, de"
    missing = client.post(
        "/console/staff/987654/language",
        data={"language": "de", "_csrf_token": csrf_token_from(staff_page.text)},
    )
    assert missing.status_code == 404
    # The admin's own console stays English; the colleague's speaks German from now on.
    assert lang_of(page(client, "/console/staff")) == "en"
    client.post("/console/logout", data={"_csrf_token": csrf_token_from(staff_page.text)})
    staff.login(colleague)
    tree = page(client, "/console/assets")
    assert lang_of(tree) == "de"
    assert tree.css_first(".console-nav__item").text(strip=True) == "Übersicht"


def test_the_console_follows_the_staff_member_not_the_portals_switch_or_the_browser(
    client: TestClient[Litestar], marketer: str, settled: None
) -> None:
    german_browser = {"Accept-Language": "de-DE,de;q=0.9"}
    # The site default (English) until the marketer chooses: the browser does not decide.
    assert lang_of(html(client.get("/console", headers=german_browser).text)) == "en"
    client.get("/?lang=de")  # the public portal's switch, kept in a cookie
    assert client.cookies[i18n.LANGUAGE_COOKIE] == "de"
    assert lang_of(page(client, "/console")) == "en"
    speak(client, "de")
    client.get("/?lang=en")
    tree = page(client, "/console/profile")
    assert lang_of(tree) == "de"
    assert tree.css_first("select#language option[selected]").attributes["value"] == "de"
    speak(client, "")  # back to the site's default
    assert lang_of(page(client, "/console")) == "en"


def test_staff_on_a_german_site_get_german_until_they_choose_english(
    settings: Settings, db: Database
) -> None:
    german_site = replace(settings, default_language="de")
    with app_for(german_site) as built, TestClient(built) as client:
        staff = StaffActions(client, db)
        staff.sign_in_as(Role.MARKETER)
        tree = page(client, "/console/profile")
        assert lang_of(tree) == "de"
        assert tree.css_first("select#language option[selected]").text(strip=True) == (
            "Die Voreinstellung der Website (Deutsch)"
        )
        speak(client, "en")
        assert lang_of(page(client, "/console")) == "en"


def test_an_unknown_language_on_the_profile_is_refused_and_changes_nothing(
    client: TestClient[Litestar], marketer: str, db: Database
) -> None:
    speak(client, "de")
    token = csrf_token_from(client.get("/console/profile").text)
    response = client.post("/console/profile", data={"language": "xx", "_csrf_token": token})
    assert response.status_code == 422
    tree = html(response.text)
    assert tree.css_first("#error-language").text(strip=True) == (
        "Unbekannte Sprache „xx“; wählen Sie eine von en, de"
    )
    with db.read() as session:
        assert session.scalars(select(StaffUser.language)).one() == "de"


def test_the_sign_in_page_follows_the_browser_and_says_its_errors_in_that_language(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    email = staff.create(Role.MARKETER)
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    login = client.get("/console/login", headers=german)
    tree = html(login.text)
    assert lang_of(tree) == "de"
    assert tree.css_first("h1").text(strip=True) == "An der Konsole anmelden"
    assert untranslated(tree) == []
    response = client.post(
        "/console/login",
        headers=german,
        data={
            "email": email,
            "password": STAFF_PASSWORD + "?",
            "_csrf_token": csrf_token_from(login.text),
        },
    )
    assert response.status_code == 401
    assert html(response.text).css_first("#login-error").text(strip=True) == (
        "E-Mail-Adresse oder Passwort ist falsch."
    )


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_csv_keeps_its_machine_names_and_offers_german_column_titles(
    client: TestClient[Litestar], marketer: str, world: World
) -> None:
    speak(client, "de")
    tree = page(client, "/console/leads?q=kranz")
    plain = tree.css_first("#lead-results a.btn").attributes["href"] or ""
    titled = tree.css_first("#lead-results a.lead-export__labelled")
    assert titled.text(strip=True) == "mit Spaltentiteln auf Deutsch"
    machine = read_csv(client.get(plain))
    assert machine[0] == list(EXPORT_HEADER)
    german = read_csv(client.get(titled.attributes["href"] or ""))
    assert len(german[0]) == len(EXPORT_HEADER)
    titles = dict(zip(EXPORT_HEADER, german[0], strict=True))
    assert titles["email"] == "E-Mail"
    assert titles["company_size"] == "Unternehmensgröße"
    assert titles["fit_score"] == "Fit-Score"
    assert titles["first_campaign"] == "Erster Besuch: Kampagne"
    assert german[1:] == machine[1:]  # the same leads and cells
    assert [row[1] for row in german[1:]] == ["jo.kranz@kranz-werke.example"]
    speak(client, "en")
    english = read_csv(client.get(titled.attributes["href"] or ""))
    assert english[0][:3] == ["ID", "Email", "First name"]
