"""Who may use which console route: every route under /console for anonymous visitors and each
staff role, the menu each role sees, the editor's view of content analytics (no personal data),
and forms sent without the CSRF token.

The expectation table must name every console route the app serves, so a route added without
an expectation fails ``test_every_console_route_has_an_expectation``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.models import Topic
from content.orm import Base, utcnow
from nurture.intelligence.models import GateExperiment
from nurture.models import WebhookDelivery, WebhookEndpoint
from nurture.programs import store
from nurture.programs.templates import template
from portal.accounts.models import Role
from portal.db import Database
from portal.demo_mail import DemoCatcher
from portal.settings import Settings
from tests.factories import make_asset
from tests.support import StaffActions, csrf_token_from, html
from tracking import events
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.models import Lead
from tracking.pipeline.ingest import record

ADMIN, EDITOR, MARKETER = Role.ADMIN, Role.EDITOR, Role.MARKETER
EVERYONE = frozenset({ADMIN, EDITOR, MARKETER})
PEOPLE = frozenset({ADMIN, MARKETER})
CONTENT = frozenset({ADMIN, EDITOR})
ADMINS = frozenset({ADMIN})
PUBLIC = "public"  # the sign-in routes


@dataclass(frozen=True)
class Expect:
    url: str
    """The URL requested, with ``{name}`` filled from the ``world`` fixture."""
    roles: frozenset[Role] | str


EXPECTED: dict[tuple[str, str], Expect] = {
    # the shell
    ("GET", "/console/login"): Expect("/console/login", PUBLIC),
    ("POST", "/console/login"): Expect("/console/login", PUBLIC),
    ("POST", "/console/logout"): Expect("/console/logout", EVERYONE),
    ("GET", "/console"): Expect("/console", EVERYONE),
    ("GET", "/console/staff"): Expect("/console/staff", ADMINS),
    ("POST", "/console/staff/tokens"): Expect("/console/staff/tokens", ADMINS),
    ("POST", "/console/staff/{user_id:int}/language"): Expect("/console/staff/1/language", ADMINS),
    ("GET", "/console/profile"): Expect("/console/profile", EVERYONE),
    ("POST", "/console/profile"): Expect("/console/profile", EVERYONE),
    # library and taxonomy
    ("GET", "/console/assets"): Expect("/console/assets", CONTENT),
    ("GET", "/console/assets/new"): Expect("/console/assets/new", CONTENT),
    ("POST", "/console/assets/new"): Expect("/console/assets/new", CONTENT),
    ("GET", "/console/assets/{asset_id:int}"): Expect("/console/assets/{asset}", CONTENT),
    ("POST", "/console/assets/{asset_id:int}"): Expect("/console/assets/{asset}", CONTENT),
    ("POST", "/console/assets/{asset_id:int}/status"): Expect(
        "/console/assets/{asset}/status", CONTENT
    ),
    ("GET", "/console/assets/{asset_id:int}/file"): Expect("/console/assets/{asset}/file", CONTENT),
    ("GET", "/console/assets/{asset_id:int}/preview"): Expect(
        "/console/assets/{asset}/preview", CONTENT
    ),
    ("GET", "/console/taxonomy"): Expect("/console/taxonomy", CONTENT),
    ("POST", "/console/taxonomy/{group:str}/{slug:str}"): Expect(
        "/console/taxonomy/topics/{topic}", CONTENT
    ),
    # webhooks
    ("GET", "/console/webhooks"): Expect("/console/webhooks", ADMINS),
    ("GET", "/console/webhooks/new"): Expect("/console/webhooks/new", ADMINS),
    ("POST", "/console/webhooks/new"): Expect("/console/webhooks/new", ADMINS),
    ("GET", "/console/webhooks/{endpoint_id:int}"): Expect("/console/webhooks/{endpoint}", ADMINS),
    ("POST", "/console/webhooks/{endpoint_id:int}"): Expect("/console/webhooks/{endpoint}", ADMINS),
    ("POST", "/console/webhooks/{endpoint_id:int}/enabled"): Expect(
        "/console/webhooks/{endpoint}/enabled", ADMINS
    ),
    ("GET", "/console/webhooks/{endpoint_id:int}/secret"): Expect(
        "/console/webhooks/{endpoint}/secret", ADMINS
    ),
    ("POST", "/console/webhooks/{endpoint_id:int}/rotate"): Expect(
        "/console/webhooks/{endpoint}/rotate", ADMINS
    ),
    ("POST", "/console/webhooks/{endpoint_id:int}/test"): Expect(
        "/console/webhooks/{endpoint}/test", ADMINS
    ),
    ("POST", "/console/webhooks/{endpoint_id:int}/deliveries/{delivery_id:int}/replay"): Expect(
        "/console/webhooks/{endpoint}/deliveries/{delivery}/replay", ADMINS
    ),
    # leads (personal data)
    ("GET", "/console/leads"): Expect("/console/leads", PEOPLE),
    ("GET", "/console/leads/export.csv"): Expect("/console/leads/export.csv", PEOPLE),
    ("GET", "/console/leads/{lead_id:int}"): Expect("/console/leads/{lead}", PEOPLE),
    ("GET", "/console/leads/{lead_id:int}/trail"): Expect("/console/leads/{lead}/trail", PEOPLE),
    ("POST", "/console/leads/{lead_id:int}/lifecycle"): Expect(
        "/console/leads/{lead}/lifecycle", PEOPLE
    ),
    ("POST", "/console/leads/{lead_id:int}/merge"): Expect("/console/leads/{lead}/merge", PEOPLE),
    ("POST", "/console/leads/{lead_id:int}/erase"): Expect("/console/leads/{lead}/erase", PEOPLE),
    ("POST", "/console/leads/{lead_id:int}/consent/withdraw"): Expect(
        "/console/leads/{lead}/consent/withdraw", PEOPLE
    ),
    ("POST", "/console/leads/{lead_id:int}/account"): Expect(
        "/console/leads/{lead}/account", PEOPLE
    ),
    # accounts (personal data)
    ("GET", "/console/accounts"): Expect("/console/accounts", PEOPLE),
    ("POST", "/console/accounts/new"): Expect("/console/accounts/new", PEOPLE),
    ("GET", "/console/accounts/{account_id:int}"): Expect("/console/accounts/{account}", PEOPLE),
    ("POST", "/console/accounts/{account_id:int}/people"): Expect(
        "/console/accounts/{account}/people", PEOPLE
    ),
    # reports and handoff
    ("GET", "/console/dashboard"): Expect("/console/dashboard", PEOPLE),
    ("GET", "/console/analytics"): Expect("/console/analytics", EVERYONE),
    ("GET", "/console/content-intelligence"): Expect("/console/content-intelligence", EVERYONE),
    ("GET", "/console/content-intelligence/fading"): Expect(
        "/console/content-intelligence/fading", EVERYONE
    ),
    ("GET", "/console/content-intelligence/process"): Expect(
        "/console/content-intelligence/process", EVERYONE
    ),
    ("POST", "/console/content-intelligence/fading/{asset_id:int}/snooze"): Expect(
        "/console/content-intelligence/fading/{asset}/snooze", CONTENT
    ),
    ("GET", "/console/content-intelligence/experiments"): Expect(
        "/console/content-intelligence/experiments", EVERYONE
    ),
    ("POST", "/console/content-intelligence/experiments"): Expect(
        "/console/content-intelligence/experiments", CONTENT
    ),
    ("GET", "/console/content-intelligence/experiments/{experiment_id:int}"): Expect(
        "/console/content-intelligence/experiments/{experiment}", EVERYONE
    ),
    ("POST", "/console/content-intelligence/experiments/{experiment_id:int}/end"): Expect(
        "/console/content-intelligence/experiments/{experiment}/end", CONTENT
    ),
    ("POST", "/console/content-intelligence/experiments/{experiment_id:int}/apply"): Expect(
        "/console/content-intelligence/experiments/{experiment}/apply", CONTENT
    ),
    ("GET", "/console/handoff"): Expect("/console/handoff", PEOPLE),
    ("POST", "/console/handoff/{lead_id:int}"): Expect("/console/handoff/{lead}", PEOPLE),
    # the privacy page's text
    ("GET", "/console/privacy"): Expect("/console/privacy", ADMINS),
    ("POST", "/console/privacy"): Expect("/console/privacy", ADMINS),
    ("GET", "/console/system"): Expect("/console/system", ADMINS),
    ("GET", "/console/email"): Expect("/console/email", PEOPLE),
    ("GET", "/console/programs"): Expect("/console/programs", PEOPLE),
    ("POST", "/console/programs/from-template"): Expect("/console/programs/from-template", PEOPLE),
    ("POST", "/console/programs/new"): Expect("/console/programs/new", PEOPLE),
    ("POST", "/console/programs/guard-rails"): Expect("/console/programs/guard-rails", PEOPLE),
    ("GET", "/console/programs/{program_id:int}"): Expect("/console/programs/{program}", PEOPLE),
    ("POST", "/console/programs/{program_id:int}/status"): Expect(
        "/console/programs/{program}/status", PEOPLE
    ),
    ("POST", "/console/programs/{program_id:int}/leads"): Expect(
        "/console/programs/{program}/leads", PEOPLE
    ),
    ("GET", "/console/programs/{program_id:int}/dry-run"): Expect(
        "/console/programs/{program}/dry-run", PEOPLE
    ),
    ("GET", "/console/programs/{program_id:int}/yaml"): Expect(
        "/console/programs/{program}/yaml", PEOPLE
    ),
    ("POST", "/console/programs/{program_id:int}/yaml"): Expect(
        "/console/programs/{program}/yaml", PEOPLE
    ),
    ("GET", "/console/programs/{program_id:int}/steps/{step_id:str}"): Expect(
        "/console/programs/{program}/steps/welcome", PEOPLE
    ),
    ("POST", "/console/programs/{program_id:int}/steps/{step_id:str}"): Expect(
        "/console/programs/{program}/steps/welcome", PEOPLE
    ),
    ("POST", "/console/email/suppressions/{entry_id:int}/lift"): Expect(
        "/console/email/suppressions/1/lift", ADMINS
    ),
    # a program's weekly review
    ("GET", "/console/programs/{program_id:int}/review"): Expect(
        "/console/programs/{program}/review", PEOPLE
    ),
    ("GET", "/console/programs/{program_id:int}/review.csv"): Expect(
        "/console/programs/{program}/review.csv", PEOPLE
    ),
    # closed-loop reporting
    ("GET", "/console/attribution"): Expect("/console/attribution", PEOPLE),
    ("GET", "/console/kpis"): Expect("/console/kpis", PEOPLE),
    ("GET", "/console/attribution/report.csv"): Expect("/console/attribution/report.csv", PEOPLE),
    # the demo mailbox (its catcher runs for every test here: see ``settings``)
    ("GET", "/console/mailbox"): Expect("/console/mailbox", EVERYONE),
    ("GET", "/console/mailbox/{mail_id:str}"): Expect("/console/mailbox/{mail}", EVERYONE),
    ("GET", "/console/mailbox/{mail_id:str}/html"): Expect(
        "/console/mailbox/{mail}/html", EVERYONE
    ),
    ("GET", "/console/mailbox/{mail_id:str}/attachments/{index:int}"): Expect(
        "/console/mailbox/{mail}/attachments/0", EVERYONE
    ),
}

MENUS: dict[Role, set[str]] = {
    EDITOR: {
        "/console",
        "/console/analytics",
        "/console/content-intelligence",
        "/console/assets",
        "/console/taxonomy",
        "/console/mailbox",
    },
    MARKETER: {
        "/console",
        "/console/mailbox",
        "/console/dashboard",
        "/console/leads",
        "/console/accounts",
        "/console/handoff",
        "/console/analytics",
        "/console/content-intelligence",
        "/console/email",
        "/console/programs",
        "/console/attribution",
        "/console/kpis",
    },
    ADMIN: {
        "/console",
        "/console/mailbox",
        "/console/dashboard",
        "/console/leads",
        "/console/accounts",
        "/console/handoff",
        "/console/analytics",
        "/console/content-intelligence",
        "/console/email",
        "/console/programs",
        "/console/attribution",
        "/console/kpis",
        "/console/assets",
        "/console/taxonomy",
        "/console/staff",
        "/console/webhooks",
        "/console/privacy",
        "/console/system",
    },
}

# Tables a refused request may still touch (sessions and counters), or the background jobs
# write meanwhile, left out of the comparison.
BOOKKEEPING = {
    "staff_session",
    "login_attempt",
    "rate_counter",
    "background_job",
}


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[DemoCatcher]:
    with DemoCatcher(tmp_path / "data") as running:
        yield running


@pytest.fixture
def settings(settings: Settings, catcher: DemoCatcher) -> Settings:
    """No in-process webhook worker: a replayed delivery stays where the test put it; no
    shared background jobs either (their passes write their own tables whenever a slow run
    reaches them, which the refused-posts snapshots would take for the posts' doing). The
    demo mailbox on (as with ``serve --demo``): its routes are console routes too."""
    assert settings.data_dir == catcher.folder.parent
    return replace(settings, outbox_in_process=False, jobs_in_process=False, smtp_url=catcher.url)


def console_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under /console (the automatic OPTIONS left out)."""
    found = set()
    for route in app.routes:
        if route.path != "/console" and not route.path.startswith("/console/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method not in {"OPTIONS", "HEAD"}:
                    found.add((method, route.path))
    return found


@pytest.fixture
def settled() -> None:
    """Nothing to settle: this module's app runs no shared background jobs (``settings``)."""


@pytest.fixture
def world(db: Database, app: Litestar, settled: None, catcher: DemoCatcher) -> dict[str, Any]:
    """One of everything a console URL can point at: an asset with a file, a topic, a lead with
    a trail and an open handoff, a webhook endpoint with a delivery, a caught mail."""
    asset = make_asset(
        db,
        slug="pricing-guide",
        title="Pricing guide",
        stage="decision",
        topics=["pricing"],
        store=app.state.files,
        pdf_pages=["Prices explained."],
    )
    now = utcnow()
    with db.write() as session:
        found = identify(
            session,
            visitor_id="ada-laptop",
            email="ada.lovelace@acme.example",
            answers={"first_name": "Ada", "last_name": "Lovelace", "company": "Acme Analytical"},
            consent=ConsentText("v1", "Yes, send me news."),
            source=Source("form", "pricing-guide"),
            now=now - timedelta(hours=2),
            model=app.state.model,
        )
        record(
            session,
            [
                events.AssetView(visitor_id=found.visitor_id, asset_id=asset.id),
                events.ReadProgress(
                    visitor_id=found.visitor_id, asset_id=asset.id, seconds=50, depth=0.95
                ),
                events.Download(visitor_id=found.visitor_id, asset_id=asset.id),
            ],
            model=app.state.model,
        )
        topic = session.scalars(select(Topic.slug).where(Topic.slug == "pricing")).one()
        endpoint = WebhookEndpoint(
            url="http://10.0.0.5/hook", event_types=["lead.mql"], secret="whsec_test"
        )
        session.add(endpoint)
        session.flush()
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=str(uuid.uuid4()),
            event_type="lead.mql",
            body="{}",
            status="dead",
            retry_until=now,
        )
        session.add(delivery)
        session.flush()
        mail = EmailMessage()
        mail["Subject"] = "Your copy of the Pricing guide"
        mail["To"] = "ada.lovelace@acme.example"
        mail.set_content("Here it is.")
        mail.add_alternative("<p>Here it is.</p>", subtype="html")
        mail.add_attachment(b"BEGIN:VCALENDAR", maintype="text", subtype="calendar")
        caught = catcher.mailbox.store(
            mail.as_bytes(), mail_from="news@example.com", rcpt_to=[mail["To"]], now=now
        )
        program = store.save(session, template("welcome")[0], by="test", now=now).program
        store.guard_rails(session)  # made here, not by the scheduler's first pass meanwhile
        experiment = GateExperiment(asset_id=asset.id, gate="gated")
        session.add(experiment)
        session.flush()
        return {
            "mail": caught,
            "program": program.id,
            "experiment": experiment.id,
            "asset": asset.id,
            "topic": topic,
            "lead": found.lead_id,
            "account": session.get(Lead, found.lead_id).account_id,  # acme.example's
            "endpoint": endpoint.id,
            "delivery": delivery.id,
            "email": "ada.lovelace@acme.example",
        }


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bookkeeping left out), to show a refused request changed
    nothing."""
    found = {}
    with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            rows = session.execute(select(table)).all()
            found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return found


def test_every_console_route_has_an_expectation(app: Litestar) -> None:
    served = console_routes(app)
    missing = served - set(EXPECTED)
    stale = set(EXPECTED) - served
    assert not missing, f"console routes without an expected role: {sorted(missing)}"
    assert not stale, f"expectations for routes the app no longer serves: {sorted(stale)}"


def test_the_expectations_follow_the_menu_sections(app: Litestar) -> None:
    # Each menu entry's own URL is in the table with exactly the roles the menu shows it to.
    for role, urls in MENUS.items():
        for url in urls:
            assert role in EXPECTED[("GET", url)].roles, (role, url)
    for key, expect in EXPECTED.items():
        if key[0] == "GET" and isinstance(expect.roles, frozenset) and key[1] in MENUS[ADMIN]:
            assert {r for r in MENUS if key[1] in MENUS[r]} == set(expect.roles), key


def signed_in(staff: StaffActions, client: TestClient[Litestar], role: Role | None) -> str:
    """Sign in as ``role`` (or stay anonymous); returns a CSRF token valid for this client."""
    if role is None:
        return csrf_token_from(client.get("/console/login").text)
    staff.sign_in_as(role)
    return csrf_token_from(client.get("/console").text)


def goes_to_login(response: Any) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/console/login?next="
    )


def get_as(client: TestClient[Litestar], role: Role | None, url: str, expect: Expect) -> bool:
    """Whether a GET by ``role`` is answered as the table expects."""
    response = client.get(url, follow_redirects=False)
    if expect.roles == PUBLIC:
        return response.status_code == (200 if role is None else 303)
    if role is None:
        return goes_to_login(response)
    return response.status_code == (200 if role in expect.roles else 403)


def post_as(
    client: TestClient[Litestar], role: Role | None, url: str, expect: Expect, token: str
) -> bool:
    """Whether a POST (with a valid CSRF token and an empty form) is let in or refused as the
    table expects. Let in: the handler answers (a redirect, a page, or its own complaint about
    the empty form), never the login or a refusal."""
    response = client.post(url, data={"_csrf_token": token}, follow_redirects=False)
    if role is None:
        return goes_to_login(response)
    if role in expect.roles:
        return response.status_code not in (401, 403) and not goes_to_login(response)
    return response.status_code == 403


@pytest.mark.parametrize("role", [None, EDITOR, MARKETER, ADMIN], ids=str)
def test_every_console_route_for_every_role(
    client: TestClient[Litestar],
    staff: StaffActions,
    db: Database,
    world: dict[str, Any],
    role: Role | None,
) -> None:
    token = signed_in(staff, client, role)
    wrong: list[str] = []
    for (method, _path), expect in EXPECTED.items():
        url = expect.url.format(**world)
        if method == "GET" and not get_as(client, role, url, expect):
            wrong.append(f"GET {url}")
    before = snapshot(db)
    for (method, path), expect in EXPECTED.items():
        if method != "POST" or expect.roles == PUBLIC or path == "/console/logout":
            continue
        url = expect.url.format(**world)
        if not post_as(client, role, url, expect, token):
            wrong.append(f"POST {url}")
    if role is None:
        assert snapshot(db) == before  # the refused visitor changed nothing

    # Sign out last: it ends the session the rest needed.
    response = client.post("/console/logout", data={"_csrf_token": token}, follow_redirects=False)
    if role is None:
        signed_out = goes_to_login(response)
    else:
        signed_out = response.headers.get("location") == "/console/login?signed_out=1"
    if not signed_out:
        wrong.append("POST /console/logout")
    assert wrong == []


@pytest.mark.parametrize("role", [EDITOR, MARKETER], ids=str)
def test_refused_posts_change_nothing(
    client: TestClient[Litestar],
    staff: StaffActions,
    db: Database,
    world: dict[str, Any],
    role: Role,
) -> None:
    token = signed_in(staff, client, role)
    before = snapshot(db)
    for (method, _path), expect in EXPECTED.items():
        if method != "POST" or expect.roles == PUBLIC or role in expect.roles:
            continue
        url = expect.url.format(**world)
        # A complete, plausible form: only the role stands in the way.
        form = {
            "_csrf_token": token,
            "to": "sql",
            "reason": "forbidden move",
            "do": "accept",
            "duplicate": world["email"],
            "confirm": "yes",
            "confirm_email": world["email"],
            "label": "Renamed",
            "name": "sneaky",
            "scope": "write",
            "url": "https://crm.example/hook",
            "event_types": "lead.mql",
            "action": "unpublish",
            "enabled": "0",
        }
        assert client.post(url, data=form, follow_redirects=False).status_code == 403, url
    assert snapshot(db) == before


@pytest.mark.parametrize("role", [EDITOR, MARKETER, ADMIN], ids=str)
def test_the_menu_lists_exactly_the_roles_sections(
    client: TestClient[Litestar], staff: StaffActions, role: Role
) -> None:
    staff.sign_in_as(role)
    for page in ("/console", "/console/analytics"):  # the same menu on every page
        tree = html(client.get(page).text)
        shown = [a.attributes["href"] for a in tree.css(".console-nav .console-nav__item")]
        assert len(shown) == len(set(shown))
        assert set(shown) == MENUS[role]


def test_an_editor_sees_content_analytics_without_personal_data(
    client: TestClient[Litestar], staff: StaffActions, db: Database, world: dict[str, Any]
) -> None:
    staff.sign_in_as(EDITOR)
    response = client.get("/console/analytics")
    assert response.status_code == 200
    tree = html(response.text)
    row = tree.css_first('tr[data-asset="pricing-guide"]')
    assert row is not None
    assert row.css_first(".views").text(strip=True) == "1"  # the lead's reading is counted
    text = tree.body.text() if tree.body else ""
    with db.read() as session:
        lead = session.get(Lead, world["lead"])
        assert lead is not None
        personal = [lead.email, "ada.lovelace", "Lovelace", "Acme Analytical"]
    for value in personal:
        assert value not in text, value
        assert value not in response.text, value
    assert not tree.css('a[href^="/console/leads"]')


@pytest.mark.parametrize(
    "url", ["/console/leads", "/console/leads/{lead}", "/console/leads/export.csv"]
)
def test_an_editor_gets_no_lead_data_from_lead_urls(
    client: TestClient[Litestar], staff: StaffActions, world: dict[str, Any], url: str
) -> None:
    staff.sign_in_as(EDITOR)
    response = client.get(url.format(**world))
    assert response.status_code == 403
    assert world["email"] not in response.text
    assert html(response.text).css_first("h1") is not None  # the friendly refusal page


def test_htmx_requests_of_a_signed_out_browser_are_sent_to_the_login(
    client: TestClient[Litestar], world: dict[str, Any]
) -> None:
    for url in ("/console/leads", "/console/leads/{lead}/trail", "/console/analytics"):
        response = client.get(
            url.format(**world), headers={"HX-Request": "true"}, follow_redirects=False
        )
        assert response.headers["hx-redirect"].startswith("/console/login?next="), url
        assert world["email"] not in response.text


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    client: TestClient[Litestar], staff: StaffActions, db: Database, world: dict[str, Any]
) -> None:
    staff.sign_in_as(ADMIN)  # allowed everywhere: only the missing token stands in the way
    before = snapshot(db)
    form = {
        "to": "sql",
        "reason": "no token",
        "do": "accept",
        "duplicate": world["email"],
        "confirm": "yes",
        "confirm_email": world["email"],
        "label": "Renamed",
        "name": "sneaky",
        "scope": "write",
    }
    for (method, _path), expect in EXPECTED.items():
        if method != "POST" or expect.roles == PUBLIC:
            continue
        url = expect.url.format(**world)
        response = client.post(url, data=form, follow_redirects=False)
        assert response.status_code == 403, url
    assert snapshot(db) == before
    assert client.get("/console").status_code == 200  # still signed in (logout was refused too)
