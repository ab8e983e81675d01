"""Console → Programs, Webhooks, Attribution, KPIs and Accounts, and the lead page's programs,
account, deals and source, for a staff member whose console language is German (issue 18):
no English text of the catalog is left on the page, form errors and notices come in German,
numbers and dates are written the German way, the CSVs keep their machine column names; a
staff member without a language set still reads English. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any

import pytest
from babel.messages.pofile import read_po
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from content.models import Topic
from content.orm import utcnow
from nurture import endpoints
from nurture.programs import store
from nurture.programs.models import Program
from nurture.programs.templates import template
from portal import i18n
from portal.accounts.models import Role, StaffUser
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.nurture.attribution.scenario import day, lead, lifecycle, read, run
from tests.support import StaffActions, csrf_token_from, html
from tracking.accounts import membership
from tracking.deals.models import Deal

Client = TestClient[Litestar]
MONTHS = "from=2026-01&to=2026-06"
CATALOG = "console2.po"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhook receivers on loopback are allowed (the endpoint form is filled in for real)."""
    return replace(settings, webhook_allow_networks="127.0.0.0/8", outbox_in_process=False)


def sign_in(staff: StaffActions, db: Database, language: str) -> str:
    """An admin (every page of this area) whose profile says ``language``."""
    email = staff.create(Role.ADMIN, f"admin-{language or 'default'}@example.com")
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language=language))
    assert getattr(staff.login(email), "status_code", None) == 303
    return email


@pytest.fixture
def german(staff: StaffActions, db: Database, settled: None) -> str:
    return sign_in(staff, db, "de")


@pytest.fixture
def english(staff: StaffActions, db: Database, settled: None) -> str:
    return sign_in(staff, db, "")


# --- what a reader sees ----------------------------------------------------------------------


class _Visible(HTMLParser):
    """The text nodes and the attributes a reader sees or hears, outside code."""

    SKIPPED = {"script", "style", "code", "pre", "textarea", "template"}
    SPOKEN = {"aria-label", "title", "placeholder", "alt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        self.texts += [value for name, value in attrs if name in self.SPOKEN and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def visible(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    return parser.texts


@functools.cache
def english_texts() -> tuple[frozenset[str], tuple[str, ...]]:
    """The English texts of this area's catalog (console2.po) whose German differs: whole
    ones (a text node equal to one is untranslated) and sentences of five words or more
    without placeholders or markup (found inside a longer text too)."""
    with (i18n.catalog_folder("de") / CATALOG).open("rb") as source:
        entries = list(read_po(source, locale="de"))
    whole, sentences = set(), []
    for entry in entries:
        if not entry.id:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else entry.id
        strings = (entry.string,) if isinstance(entry.string, str) else entry.string
        for english in ids:
            if english in strings or "%(" in english:
                continue
            text = english.replace("%%", "%")
            whole.add(text)
            if len(text.split()) >= 5 and "<" not in text:
                sentences.append(text)
    return frozenset(whole), tuple(sentences)


def untranslated(page: str) -> list[str]:
    """The English texts of this area's catalog still on ``page``."""
    whole, sentences = english_texts()
    texts = visible(page)
    joined = " ".join(texts)
    return sorted({text for text in texts if text in whole}) + [
        sentence for sentence in sentences if sentence in joined
    ]


def section(page: str, selector: str) -> str:
    node = html(page).css_first(selector)
    assert node is not None, selector
    return node.html or ""


# --- the world the pages show --------------------------------------------------------------


@dataclass(frozen=True)
class World:
    program_id: int
    lead_id: int
    endpoint_id: int
    account_id: int


def world(db: Database) -> World:
    """An active welcome program with a lead in it (that lead in an account, with a deal), a
    webhook endpoint, and reads that make milestones for the attribution report."""
    welcome = template("welcome")[0]
    guide = make_asset(
        db, title="Scoring guide", stage="awareness", kind="case_study", topics=["lead-scoring"]
    )
    with db.write() as session:
        topic = session.scalars(select(Topic).where(Topic.slug == "lead-scoring")).one()
        topic.labels = {"de": "Lead-Bewertung"}
    ada = lead(db, "ada@pipewise.example", day(30))
    read(db, ada, guide, day(20))
    lifecycle(db, ada, "mql", day(9))
    run(db)
    now = utcnow()
    with db.write() as session:
        saved = store.save(session, welcome, by="test", now=now, status="active")
        store.add_leads(session, saved.program, [ada], by="test", now=now)
        account = membership.create(session, "Pipewise GmbH", "", by="test")
        membership.assign(session, account.id, [ada])
        session.add(
            Deal(
                external_id="crm-1", account_id=account.id, lead_id=ada, name="Rollout",
                amount_minor=1_250_050, currency="EUR", stage="open",
            )
        )  # fmt: skip
        draft = endpoints.EndpointDraft("http://127.0.0.1:9/hook", ("lead.mql",), "CRM")
        endpoint = endpoints.create(session, draft)
        return World(saved.program.id, ada, endpoint.id, account.id)


def pages(seen: World, mail: str) -> dict[str, str]:
    return {
        "programs": "/console/programs",
        "program": f"/console/programs/{seen.program_id}",
        "yaml": f"/console/programs/{seen.program_id}/yaml",
        "mail": f"/console/programs/{seen.program_id}/steps/{mail}",
        "review": f"/console/programs/{seen.program_id}/review",
        "dry run": f"/console/programs/{seen.program_id}/dry-run",
        "webhooks": "/console/webhooks",
        "webhook": f"/console/webhooks/{seen.endpoint_id}",
        "new webhook": "/console/webhooks/new",
        "attribution": f"/console/attribution?{MONTHS}",
        "attribution by kind": f"/console/attribution?view=kind&{MONTHS}",
        "kpis": "/console/kpis",
        "accounts": "/console/accounts",
        "account": f"/console/accounts/{seen.account_id}",
    }


def mail_step(db: Database, program_id: int) -> str:
    with db.read() as session:
        program = session.get(Program, program_id)
        assert program is not None
        return next(step.id for step in store.current(session, program).sends())


# --- tests ---------------------------------------------------------------------------------


def test_every_page_of_the_area_speaks_german(client: Client, db: Database, german: str) -> None:
    seen = world(db)
    urls = pages(seen, mail_step(db, seen.program_id))
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert untranslated(response.text) == [], name
    programs = html(client.get(urls["programs"]).text)
    assert programs.css_first("h1").text(strip=True) == "Programme"
    assert programs.css_first("#guard-rails-h").text(strip=True) == "Leitplanken"
    flow = html(client.get(urls["program"]).text)
    assert flow.css_first("#program-status").text(strip=True) == "aktiv"
    assert "Ein Lead bestätigt die Anmeldung" in flow.css_first("#trigger").text()
    assert flow.css_first(".program-card--wait") is not None
    assert "Warten" in flow.css_first(".program-card--wait .program-card__title").text()
    goals = [node.text(strip=True) for node in flow.css("#goals li")]
    assert "den Lifecycle SQL erreicht" in goals
    topics = html(client.get(f"/console/attribution?view=topic&{MONTHS}").text)
    assert [row.css_first("th").text(strip=True) for row in topics.css(
        "table.attribution-table tbody tr[data-key]")] == ["Lead-Bewertung"]  # fmt: skip


def test_the_lead_page_sections_of_the_area_speak_german(
    client: Client, db: Database, german: str
) -> None:
    seen = world(db)
    page = client.get(f"/console/leads/{seen.lead_id}")
    assert page.status_code == 200
    for selector in (".lead-programs", ".lead-account", ".lead-deals", ".lead-source"):
        assert untranslated(section(page.text, selector)) == [], selector
    programs = html(section(page.text, ".lead-programs"))
    assert programs.css_first("h2").text(strip=True) == "Nurturing-Programme"
    assert "Jetzt darin" in programs.text()
    deals = html(section(page.text, ".lead-deals"))
    assert deals.css_first('tr[data-stage="open"] .badge').text(strip=True) == "offen"
    assert "Von Hand zuordnen" in section(page.text, ".lead-account")


def test_numbers_money_and_dates_are_written_the_german_way(
    client: Client, db: Database, german: str
) -> None:
    seen = world(db)
    account = html(client.get(f"/console/accounts/{seen.account_id}").text)
    assert account.css_first(".deal-row .cell-amount").text(strip=True) == "12.500,50\xa0€"
    created = account.css_first(".lead-header__sub").text()
    assert re.search(r"seit \d{2}\.\d{2}\.\d{4}", created), created
    kpis = html(client.get("/console/kpis").text)
    period = kpis.css_first(".console-page-header p").text()
    assert re.search(r"\d+\xa0% davon vergangen", period), period  # Babel's German percent
    days = kpis.css_first('tr[data-figure="days_to_sql"] th').text(strip=True)
    assert days.startswith("Tage vom Lead zum SQL")


def test_form_errors_and_notices_come_in_german(client: Client, db: Database, german: str) -> None:
    seen = world(db)
    token = csrf_token_from(client.get("/console/programs").text)
    nameless = client.post("/console/programs/new", data={"name": " ", "_csrf_token": token})
    assert nameless.status_code == 422
    assert (
        html(nameless.text)
        .css_first("#error-new-name")
        .text(strip=True)
        .startswith("Geben Sie dem Programm einen Namen")
    )
    rails = client.post(
        "/console/programs/guard-rails",
        data={"weekly_cap": "lots", "quiet_start": "25", "quiet_end": "8", "_csrf_token": token},
    )
    assert rails.status_code == 422
    assert "ganze Zahl" in html(rails.text).css_first("#error-weekly_cap").text()
    assert "Stunde von 0 bis 23" in html(rails.text).css_first("#error-quiet_start").text()

    yaml_page = client.get(f"/console/programs/{seen.program_id}/yaml")
    form = html(yaml_page.text)
    text = form.css_first("#text").text()
    broken = re.sub(r"days: \d+", "days: drei", text, count=1)
    refused = client.post(
        f"/console/programs/{seen.program_id}/yaml",
        data={"text": broken, "based_on": form.css_first('input[name="based_on"]').attributes[
            "value"] or "", "_csrf_token": csrf_token_from(yaml_page.text)},
    )  # fmt: skip
    assert refused.status_code == 422
    fault = html(refused.text)
    assert fault.css_first(".error-summary__title").text(strip=True) == (
        "Nicht gespeichert: Nichts wurde geändert."
    )
    assert fault.css_first(".fault-problem").text(strip=True) == "muss eine Zahl sein"

    paused = client.post(
        f"/console/programs/{seen.program_id}/status",
        data={"action": "pause", "_csrf_token": token},
        follow_redirects=True,
    )
    assert html(paused.text).css_first("#notice").text(strip=True).startswith("Pausiert:")

    webhook_page = client.get("/console/webhooks/new")
    private = client.post(
        "/console/webhooks/new",
        data={"url": "http://10.0.0.5/hook", "description": "CRM", "event_types": ["lead.mql"],
              "_csrf_token": csrf_token_from(webhook_page.text)},
    )  # fmt: skip
    assert private.status_code == 400
    assert html(private.text).css_first("#error-url").text() == "10.0.0.5 ist eine private Adresse"

    accounts_page = client.get("/console/accounts")
    free = client.post(
        "/console/accounts/new",
        data={"name": "Gmail", "domain": "gmail.com",
              "_csrf_token": csrf_token_from(accounts_page.text)},
    )  # fmt: skip
    assert free.status_code == 422
    assert html(free.text).css_first("#new-account-error").text(strip=True) == (
        "gmail.com ist ein Freemail-Anbieter: Die Domain steht für kein Unternehmen."
    )
    wrong = client.get("/console/attribution?model=u-shaped&window=45")
    assert wrong.status_code == 400
    alerts = [node.text(strip=True) for node in html(wrong.text).css(".flash--error")]
    assert "Ein Modell 'u-shaped' gibt es nicht; gezeigt wird W-förmig." in alerts
    assert any(alert.startswith("Das Zeitfenster muss 30, 90, 180, 365 Tage") for alert in alerts)


def test_the_csvs_keep_machine_columns_and_write_labels_in_german(
    client: Client, db: Database, german: str
) -> None:
    world(db)
    response = client.get(f"/console/attribution/report.csv?view=kind&model=first&{MONTHS}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:7] == ["view", "key", "label", "model", "window_days", "from", "to"]
    assert "mql" in rows[0]
    assert "revenue_eur" in rows[0]
    labels = {row[1]: row[2] for row in rows[1:]}
    assert labels["case_study"] == "Fallstudie"
    titled = client.get(
        f"/console/attribution/report.csv?view=kind&model=first&{MONTHS}&header=labels"
    )
    titled_rows = list(csv.reader(io.StringIO(titled.text)))
    assert titled_rows[0][:3] == ["Ansicht", "Schlüssel", "Bezeichnung"]
    assert titled_rows[0][-2:] == ["Pipeline (EUR)", "Umsatz (EUR)"]
    assert titled_rows[1:] == rows[1:]


def test_the_weekly_review_speaks_german_with_german_numbers(
    client: Client, db: Database, german: str
) -> None:
    seen = world(db)
    page = client.get(f"/console/programs/{seen.program_id}/review")
    assert page.status_code == 200
    tree = html(page.text)
    assert tree.css_first("h1").text(strip=True).startswith("Wochenbericht:")
    headings = [node.text(strip=True) for node in tree.css("table.review-program th[scope=row]")]
    assert headings[:3] == ["Eingetreten", "Aktiv", "Gesendet"]
    review_csv = client.get(f"/console/programs/{seen.program_id}/review.csv")
    rows = list(csv.reader(io.StringIO(review_csv.text)))
    assert rows[0][:4] == ["week", "week_start", "step", "step_label"]
    assert rows[1][3] == "Alle Schritte (das Programm)"
    assert any(row[3].startswith("E-Mail: ") for row in rows[1:])
    titled = client.get(f"/console/programs/{seen.program_id}/review.csv?header=labels")
    titled_rows = list(csv.reader(io.StringIO(titled.text)))
    assert titled_rows[0][:5] == ["Woche", "Wochenbeginn", "Schritt", "Bezeichnung", "Eingetreten"]
    assert titled_rows[1:] == rows[1:]


def test_a_staff_member_without_a_language_still_reads_english(
    client: Client, db: Database, english: str
) -> None:
    seen = world(db)
    programs = html(client.get("/console/programs").text)
    assert programs.css_first("#guard-rails-h").text(strip=True) == "Guard rails"
    flow = html(client.get(f"/console/programs/{seen.program_id}").text)
    assert flow.css_first("#program-status").text(strip=True) == "active"
    assert "A lead confirms the subscription" in flow.css_first("#trigger").text()
    account = html(client.get(f"/console/accounts/{seen.account_id}").text)
    assert account.css_first(".deal-row .cell-amount").text(strip=True) == "€12,500.50"
    lead_page = client.get(f"/console/leads/{seen.lead_id}")
    assert (
        html(section(lead_page.text, ".lead-programs")).css_first("h2").text(strip=True)
        == "Nurture programs"
    )


# --- the words themselves, without a request ------------------------------------------------


def test_the_flow_and_the_verdicts_are_said_in_german() -> None:
    from nurture.programs.definition import parse
    from nurture.programs.rules import VariantStats, pick_winner
    from portal.routes.console_program_review import verdict_words
    from portal.routes.console_program_views import flow_cards, trigger_words

    definition = parse(
        {
            "name": "P",
            "trigger": {"kind": "inactive", "days": 60},
            "steps": [
                {"id": "pause", "wait": {"days": 2, "weekday": "tuesday", "hour": 10}},
                {"id": "fork", "branch": {"if": {"grade": "A B"}, "then": "exit"}},
                {"id": "mail", "send": {"subjects": ["Hallo", "Servus"], "body": "Text"}},
            ],
        }
    )
    with i18n.using("de"):
        assert trigger_words(definition.trigger, str) == "Ein Lead war 60 Tage lang nicht aktiv"
        cards = flow_cards(definition, str)
        assert cards[0].title == (
            "Warten: 2 Tage, dann bis Dienstag 10:00 Uhr in der Zeitzone des Leads"
        )
        assert cards[1].title == "Wenn die Einstufung des Leads A oder B ist"
        assert cards[1].branches[0] == ("dann", "das Programm verlassen")
        assert cards[2].lines == [
            "A/B-Aufteilung: Jeder Lead erhält eine der 2 Betreffzeilen, gleichmäßig verteilt"
        ]
    verdict = pick_winner([VariantStats(400, 150, 60), VariantStats(400, 100, 20)])
    assert verdict.winner == 0
    assert verdict.explanation.startswith("A wins on clicks: two-proportion z-test, p = 0.0000")

    @dataclass
    class Line:
        facts: Any
        explanation: str

    with i18n.using("de"):
        german = verdict_words(Line(verdict.facts, verdict.explanation))  # type: ignore[arg-type]
    assert german.startswith("A gewinnt nach Klicks: Zwei-Stichproben-z-Test für Anteile, p = 0,")
    assert "95\xa0% Konfidenz" in german


def test_domain_refusals_are_said_in_german_and_stay_english_as_text() -> None:
    from nurture.programs.definition import DefinitionError, parse
    from tracking.accounts.membership import AccountRefused, clean_domain

    with pytest.raises(DefinitionError) as refused:
        parse({"name": "P", "trigger": {"kind": "manual"}, "steps": []})
    assert refused.value.problem == "a program needs at least one step"
    with i18n.using("de"):
        assert i18n.say(refused.value.said) == "ein Programm braucht mindestens einen Schritt"
    with pytest.raises(AccountRefused) as account:
        clean_domain("web.de")
    assert str(account.value) == "web.de is a free-mail provider: it names no company."
    with i18n.using("de"):
        assert i18n.say(account.value.args[0]) == (
            "web.de ist ein Freemail-Anbieter: Die Domain steht für kein Unternehmen."
        )


def test_a_verdict_still_waiting_for_sends_is_said_in_german() -> None:
    from nurture.programs.rules import VerdictFacts

    facts = VerdictFacts(None, "opens", 1.0, 0.95, 1, waiting=True)
    assert str(facts.said()) == "no winner yet: every variant needs 30 sends"
    with i18n.using("de"):
        assert i18n.say(facts.said()) == "noch kein Gewinner: Jede Variante braucht 30 Sendungen"
