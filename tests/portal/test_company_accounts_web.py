"""Console → Accounts through a marketer's eyes, on SQLite and PostgreSQL: the list's filters,
sort and pages, an account's page (its people by job title and persona, engagement, stages,
top content, deals), accounts made by hand, people placed from the account page and the lead
page, and the free-mail flag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from content.orm import utcnow
from portal.db import Database
from tests.factories import make_asset
from tests.support import csrf_token_from, html
from tracking import events
from tracking.accounts.models import Account
from tracking.deals.models import Deal
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.models import Lead, Visitor
from tracking.pipeline.ingest import record
from tracking.sources.models import Visit

Client = TestClient[Litestar]


def person(
    app: Litestar,
    db: Database,
    email: str,
    *,
    engagement: float = 0.0,
    stage: str = "awareness",
    **answers: str,
) -> int:
    """A lead identified by a gate form, then scored as given."""
    with db.write() as session:
        lead_id = identify(
            session,
            visitor_id=None,
            email=email,
            answers=answers,
            consent=None,
            source=Source("form", "guide"),
            model=app.state.model,
        ).lead_id
        session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(engagement=engagement, engagement_as_of=utcnow(), journey_stage=stage)
        )
    return lead_id


def account_of(db: Database, lead_id: int) -> int | None:
    with db.read() as session:
        return session.scalar(select(Lead.account_id).where(Lead.id == lead_id))


def recompute(client: Client) -> None:
    client.app.state.runner.run_all_once(["account-figures"])


def rows(page: str, selector: str = ".account-row") -> list[dict[str, str]]:
    found = []
    for row in html(page).css(selector):
        cells = {"name": (row.css_first("th a") or row.css_first("th")).text(strip=True)}
        for cell in row.css("td"):
            for css_class in (cell.attributes.get("class") or "").split():
                cells[css_class.removeprefix("cell-")] = cell.text(strip=True)
        found.append(cells)
    return found


@pytest.fixture
def companies(client: Client, app: Litestar, db: Database, marketer: str) -> dict[str, Any]:
    """Pipewise (a committee of three), Northwind (one busy reader), a free-mail reader."""
    ids = {
        "ada": person(
            app, db, "ada@pipewise.example", engagement=22, stage="decision",
            company="Pipewise GmbH", job_title="Head of Marketing Operations",
        ),
        "bo": person(
            app, db, "bo@mail.pipewise.example", engagement=20, stage="consideration",
            company="Pipewise GmbH", job_title="CFO",
        ),
        "cy": person(app, db, "cy@pipewise.example", engagement=18, stage="consideration"),
        "dee": person(
            app, db, "dee@northwind.example", engagement=400, stage="awareness",
            company="Northwind Traders",
        ),
        "ed": person(app, db, "ed@gmail.com", engagement=5),
    }  # fmt: skip
    recompute(client)
    return ids


def test_the_list_ranks_a_committee_above_one_busy_reader(
    client: Client, companies: dict[str, int]
) -> None:
    page = client.get("/console/accounts")
    assert page.status_code == 200
    found = rows(page.text)
    assert [row["name"] for row in found] == ["Pipewise GmbH", "Northwind Traders"]
    # 22 + 20/2 + 18/3 = 38; the busy reader counts as one engaged person (25)
    assert found[0] | {"name": ""} == {
        "name": "",
        "people": "3",
        "engagement": "38.0",
        "stage": "Decision",
        "common-stage": "Consideration",
    }
    assert (found[1]["engagement"], found[1]["people"]) == ("25.0", "1")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("q=north", ["Northwind Traders"]),
        ("q=PIPEWISE.example", ["Pipewise GmbH"]),
        ("stage=awareness", ["Northwind Traders"]),
        ("min_people=2", ["Pipewise GmbH"]),
        ("sort=name&order=asc", ["Northwind Traders", "Pipewise GmbH"]),
        ("sort=people&order=asc", ["Northwind Traders", "Pipewise GmbH"]),
        ("q=nobody-here", []),
    ],
)
def test_filters_and_sort_live_in_the_address(
    client: Client, companies: dict[str, int], query: str, names: list[str]
) -> None:
    page = client.get(f"/console/accounts?{query}")
    assert page.status_code == 200
    assert [row["name"] for row in rows(page.text)] == names


def test_a_filter_that_cannot_be_understood_is_named(
    client: Client, companies: dict[str, int]
) -> None:
    page = client.get("/console/accounts?stage=nirvana")
    assert page.status_code == 400
    assert html(page.text).css_first(".flash--error").text(strip=True) == "unknown stage 'nirvana'"


def test_the_list_pages_fifty_at_a_time(client: Client, db: Database, marketer: str) -> None:
    with db.write() as session:
        for n in range(53):
            session.add(Account(name=f"Firm {n:02d}", domain=f"firm{n:02d}.example", people=1))
    first = client.get("/console/accounts?sort=name&order=asc")
    second = client.get("/console/accounts?sort=name&order=asc&page=2")
    assert len(rows(first.text)) == 50
    assert [row["name"] for row in rows(second.text)] == ["Firm 50", "Firm 51", "Firm 52"]
    assert html(first.text).css_first('a[rel="next"]').attributes["href"] == (
        "/console/accounts?sort=name&page=2"  # A to Z is the name's own order
    )


def test_an_accounts_page_shows_its_committee_content_and_deals(
    client: Client, app: Litestar, db: Database, companies: dict[str, int]
) -> None:
    guide = make_asset(
        db, slug="pricing-guide", title="Pricing guide", stage="decision",
        personas=["marketing-ops"],
    )  # fmt: skip
    with db.write() as session:
        visitor = identify(
            session, visitor_id=None, email="ada@pipewise.example", answers={}, consent=None,
            source=Source("form", "guide"), model=app.state.model,
        ).visitor_id  # fmt: skip
        record(
            session,
            [
                events.AssetView(visitor_id=visitor, asset_id=guide.id),
                events.ReadProgress(visitor_id=visitor, asset_id=guide.id, seconds=120, depth=0.9),
            ],
            model=app.state.model,
        )
        # the reading above re-scored Ada: the stage the committee table shows is the lead's own
        session.execute(
            update(Lead).where(Lead.id == companies["ada"]).values(journey_stage="decision")
        )
        account_id = session.scalar(select(Lead.account_id).where(Lead.id == companies["ada"]))
        session.add(
            Deal(
                external_id="crm-77", account_id=account_id, name="Pipewise rollout",
                amount_minor=1_250_000, currency="EUR", stage="open",
            )
        )  # fmt: skip
    page = client.get(f"/console/accounts/{account_id}")
    assert page.status_code == 200
    tree = html(page.text)
    assert tree.css_first("h1").text(strip=True) == "Pipewise GmbH"
    people = {row["name"]: row for row in rows(page.text, ".person-row")}
    assert set(people) == {
        "ada@pipewise.example",
        "bo@mail.pipewise.example",
        "cy@pipewise.example",
    }
    ada = people["ada@pipewise.example"]
    assert (ada["title"], ada["persona"], ada["stage"]) == (
        "Head of Marketing Operations",
        "Marketing ops",
        "Decision",
    )
    assert people["bo@mail.pipewise.example"]["persona"] == "—"
    content = rows(page.text, ".content-row")
    assert [(row["name"], row["readers"]) for row in content] == [("Pricing guide", "1")]
    deal = tree.css_first('.deal-row[data-deal="crm-77"]')
    assert deal is not None
    assert deal.css_first(".cell-amount").text(strip=True) == "€12,500.00"


def test_the_committee_shows_where_each_person_first_came_from(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    with db.write() as session:
        session.add(Visitor(id="a" * 32, lead_id=companies["ada"]))
        session.flush()
        visit = Visit(visitor_id="a" * 32, lead_id=companies["ada"], source="linkedin",
                      medium="social", channel="social")  # fmt: skip
        session.add(visit)
        session.flush()
        session.execute(
            update(Lead).where(Lead.id == companies["ada"]).values(first_visit_id=visit.id)
        )
    page = client.get(f"/console/accounts/{account_of(db, companies['ada'])}")
    people = {row["name"]: row for row in rows(page.text, ".person-row")}
    assert people["ada@pipewise.example"]["source"] == "linkedin / social"
    assert people["cy@pipewise.example"]["source"] == "—"


def test_an_unknown_account_is_not_found(client: Client, marketer: str) -> None:
    assert client.get("/console/accounts/999999").status_code == 404


def form_token(client: Client, url: str) -> str:
    return csrf_token_from(client.get(url).text)


def test_making_an_account_names_mistakes_and_keeps_the_form(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    token = form_token(client, "/console/accounts")
    refused = client.post(
        "/console/accounts/new",
        data={"_csrf_token": token, "name": "Private Readers", "domain": "gmail.com"},
    )
    assert refused.status_code == 422
    tree = html(refused.text)
    assert "gmail.com is a free-mail provider" in tree.css_first("#new-account-error").text()
    assert tree.css_first("#account-name").attributes["value"] == "Private Readers"
    assert tree.css_first("#account-domain").attributes["value"] == "gmail.com"

    made = client.post(
        "/console/accounts/new",
        data={"_csrf_token": token, "name": "Globex Holding", "domain": ""},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert html(page.text).css_first("h1").text(strip=True) == "Globex Holding"


def test_people_are_added_by_email_and_a_wrong_list_moves_nobody(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    with db.write() as session:
        globex = Account(name="Globex Holding", created_by="mia@leadshelf.example")
        session.add(globex)
        session.flush()
        globex_id = globex.id
    url = f"/console/accounts/{globex_id}"
    token = form_token(client, url)
    typed = "ed@gmail.com, dee@northwind.example\nnobody@nowhere.example"
    refused = client.post(f"{url}/people", data={"_csrf_token": token, "emails": typed})
    assert refused.status_code == 422
    tree = html(refused.text)
    assert tree.css_first("#people-error").text(strip=True) == (
        "No lead has the address nobody@nowhere.example: nobody was added."
    )
    assert tree.css_first("#people-emails").text() == typed
    assert account_of(db, companies["ed"]) is None

    added = client.post(
        f"{url}/people",
        data={"_csrf_token": token, "emails": "ed@gmail.com, dee@northwind.example"},
    )
    assert added.status_code == 200
    assert "2 people added." in added.text
    assert [row["people"] for row in rows(client.get("/console/accounts?q=globex").text)] == ["2"]
    assert account_of(db, companies["dee"]) == globex_id
    # Northwind lost its only person, counted at once
    assert [row["people"] for row in rows(client.get("/console/accounts?q=north").text)] == ["0"]


def test_the_lead_page_places_a_lead_by_hand_and_hands_it_back(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    lead_url = f"/console/leads/{companies['ed']}"
    page = client.get(lead_url)
    tree = html(page.text)
    assert tree.css_first(".lead-header .badge--free-mail") is not None
    assert "a free-mail address names no company" in tree.css_first(".lead-account").text()
    token = csrf_token_from(page.text)

    unknown = client.post(
        f"{lead_url}/account",
        data={"_csrf_token": token, "action": "assign", "account": "Initech"},
        follow_redirects=False,
    )
    assert unknown.status_code == 303
    again = html(client.get(unknown.headers["location"]).text)
    assert "No account is called Initech" in again.css_first(".flash--error").text()
    assert again.css_first("#lead-account").attributes["value"] == "Initech"

    placed = client.post(
        f"{lead_url}/account",
        data={"_csrf_token": token, "action": "assign", "account": "pipewise.example"},
    )
    assert "Placed in the account pipewise.example by hand" in placed.text
    assert account_of(db, companies["ed"]) == account_of(db, companies["ada"])
    assert "placed by hand" in html(placed.text).css_first(".lead-account").text()

    back = client.post(f"{lead_url}/account", data={"_csrf_token": token, "action": "domain"})
    assert "Back in the account of its email domain" in back.text
    assert account_of(db, companies["ed"]) is None

    ada_url = f"/console/leads/{companies['ada']}"
    out = client.post(f"{ada_url}/account", data={"_csrf_token": token, "action": "remove"})
    assert "Taken out of its account" in out.text
    assert account_of(db, companies["ada"]) is None


def test_the_lead_list_flags_free_mail_addresses(client: Client, companies: dict[str, int]) -> None:
    tree = html(client.get("/console/leads").text)
    flagged = {
        row.attributes["data-lead"]
        for row in tree.css(".lead-row")
        if row.css_first(".badge--free-mail") is not None
    }
    assert flagged == {str(companies["ed"])}


def test_stale_accounts_wait_for_the_job_and_then_show_new_figures(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    with db.write() as session:
        session.execute(
            update(Lead)
            .where(Lead.id == companies["cy"])
            .values(engagement=25, engagement_as_of=utcnow() + timedelta(seconds=1))
        )
    before = rows(client.get("/console/accounts?q=pipewise").text)[0]["engagement"]
    recompute(client)
    after = rows(client.get("/console/accounts?q=pipewise").text)[0]["engagement"]
    assert (before, after) == ("38.0", "42.7")  # 25 + 22/2 + 20/3


def test_a_large_committee_is_summed_up_and_its_people_paged(
    client: Client, app: Litestar, db: Database, marketer: str
) -> None:
    """Fifty-three people: the summary counts every one of them by persona and stage, the
    table shows fifty, most engaged first, and the next page the other three."""
    make_asset(db, slug="ops-guide", personas=["marketing-ops"])  # the persona exists
    ids = [
        person(
            app, db, f"p{n:02d}@bigco.example", engagement=float(n),
            stage="decision" if n < 3 else "awareness",
            **({"job_title": "Head of Marketing Operations"} if n % 2 else {}),
        )
        for n in range(53)
    ]  # fmt: skip
    recompute(client)
    account_id = account_of(db, ids[0])
    first = client.get(f"/console/accounts/{account_id}")
    shown = [row["name"] for row in rows(first.text, ".person-row")]
    assert shown == [f"p{n:02d}@bigco.example" for n in range(52, 2, -1)]
    tree = html(first.text)
    personas = {
        node.attributes["data-persona"]: node.css_first("strong").text()
        for node in tree.css(".committee-persona")
    }
    assert personas == {"Marketing ops": "26", "": "27"}
    stages = {
        node.attributes["data-stage"]: node.css_first("strong").text()
        for node in tree.css(".committee-stage")
    }
    assert stages == {"awareness": "50", "decision": "3"}
    assert "People 1\u201350 of 53" in tree.css_first(".people-shown").text()
    following = tree.css_first('nav[aria-label="Pages of people"] a[rel="next"]')
    second = client.get(following.attributes["href"])
    assert [row["name"] for row in rows(second.text, ".person-row")] == [
        "p02@bigco.example",
        "p01@bigco.example",
        "p00@bigco.example",
    ]
    assert "People 51\u201353 of 53" in html(second.text).css_first(".people-shown").text()


def test_a_people_page_that_is_no_number_is_named(
    client: Client, db: Database, companies: dict[str, int]
) -> None:
    page = client.get(f"/console/accounts/{account_of(db, companies['ada'])}?people_page=two")
    assert page.status_code == 400
    assert "People page must be a whole number, not 'two'" in html(page.text).text()
    assert len(rows(page.text, ".person-row")) == 3
