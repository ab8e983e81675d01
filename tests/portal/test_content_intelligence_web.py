"""Console → Content intelligence through an editor's eyes, on SQLite and PostgreSQL: the gap
matrix by stage and topic (or persona), the stalls ranked in plain sentences, in English and
German, and a choice the page does not have named."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from content.orm import utcnow
from nurture.intelligence import gaps, process
from portal.accounts.models import Role, StaffUser
from portal.db import Database
from tests.factories import make_asset
from tests.factories import make_reader as lead
from tests.support import StaffActions, csrf_token_from, html
from tracking.models import LeadChange
from tracking.rules.config import default_model

Client = TestClient[Litestar]
URL = "/console/content-intelligence"


def test_a_marketer_sees_where_leads_stall_and_the_matrix(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    guide = make_asset(db, stage="consideration", topics=["energy-monitoring"])
    make_asset(db, stage="awareness", topics=["energy-monitoring"])
    for n in range(3):
        lead(db, f"l{n}@x.example", "consideration", 45, {guide.id: 2})
    lead(db, "moving@x.example", "consideration", 3, {guide.id: 2})
    gaps.refresh(db.read, db.write, utcnow())
    staff.sign_in_as(Role.MARKETER)

    page = client.get(URL)
    assert page.status_code == 200
    tree = html(page.text)
    sentences = [item.text(strip=True) for item in tree.css(".gap-sentence")]
    assert sentences == [
        "3 leads interested in Energy monitoring stall in consideration; there is 1 "
        "consideration asset on that topic and they have read it."
    ]
    # the lead list filtered to exactly those leads
    leads_link = tree.css_first(".gap a").attributes["href"]
    listed = html(client.get(leads_link).text)
    assert sorted(row.css_first("th a").text(strip=True) for row in listed.css(".lead-row")) == [
        "l0@x.example",
        "l1@x.example",
        "l2@x.example",
    ]
    assert "Only the leads who stall in Consideration after reading Energy monitoring" in (
        " ".join(listed.text().split())
    )
    refused = client.get("/console/leads", params={"stalled": "colour:x"})
    assert refused.status_code == 400
    row = tree.css_first('tr[data-key="energy-monitoring"]')
    cell = row.css_first('td[data-stage="consideration"]')
    assert cell.css_first(".cell-assets").text(strip=True) == "1 asset"
    assert cell.css_first(".cell-stalled").text(strip=True) == "3 stalled"
    assert cell.css_first("a").attributes["href"] == (
        "/library?stage=consideration&topic=energy-monitoring"
    )
    assert "gap-cell--thin" in (cell.attributes.get("class") or "")
    empty = row.css_first('td[data-stage="decision"]')
    assert "gap-cell--empty" in (empty.attributes.get("class") or "")


def test_a_german_editor_reads_the_sentences_in_german(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    guide = make_asset(db, stage="decision", topics=["pricing"])
    lead(db, "a@x.example", "decision", 45, {guide.id: 2})
    lead(db, "b@x.example", "decision", 45, {})
    gaps.refresh(db.read, db.write, utcnow() + timedelta(seconds=1))
    email = staff.sign_in_as(Role.EDITOR)
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language="de"))
    tree = html(client.get(URL).text)
    assert tree.css_first("h1").text(strip=True) == "Content-Intelligence"
    assert tree.css_first(".gap a") is None  # editors do not see leads
    assert [item.text(strip=True) for item in tree.css(".gap-sentence")] == [
        "1 Lead mit Interesse an Pricing steckt in der Phase Entscheidung fest; zu diesem Thema "
        "gibt es 1 Inhalt für die Phase Entscheidung und sie haben ihn gelesen."
    ]


def test_a_choice_the_page_does_not_have_is_named(
    client: Client, staff: StaffActions, settled: None
) -> None:
    staff.sign_in_as(Role.MARKETER)
    page = client.get(URL, params={"by": "colour"})
    assert page.status_code == 400
    assert "Show by: expected one of topic, persona, not “colour”" in html(page.text).text()
    assert html(page.text).css_first("table.gap-matrix") is not None
    before_the_job = client.get(URL, params={"by": "persona"})
    assert before_the_job.status_code == 200
    assert "has not run yet" in before_the_job.text


def test_an_editor_snoozes_a_fading_flag_with_a_reason(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    old = make_asset(db, title="The 2024 benchmark report")
    staff.sign_in_as(Role.EDITOR)
    page = client.get(f"{URL}/fading")
    row = html(page.text).css_first(f'tr[data-asset="{old.slug}"]')
    assert row.css_first(".dated").text(strip=True) == "The title names 2024"
    token = csrf_token_from(page.text)
    action = f"{URL}/fading/{old.id}/snooze"

    refused = client.post(action, data={"reason": "  ", "days": "90", "_csrf_token": token})
    assert refused.status_code == 422
    assert "Say why the flag may rest" in refused.text
    wrong_length = client.post(
        action, data={"reason": "Still current", "days": "7", "_csrf_token": token}
    )
    assert wrong_length.status_code == 422
    assert 'value="Still current"' in wrong_length.text  # the form is kept

    done = client.post(
        action,
        data={"reason": "Still the newest figures", "days": "30", "_csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    rested = html(client.get(done.headers["location"]).text)
    row = rested.css_first(f'tr[data-asset="{old.slug}"]')
    assert "flag-row--snoozed" in (row.attributes.get("class") or "")
    assert "Still the newest figures" in row.css_first(".cell-flag").text()
    assert row.css_first("form") is None


def test_a_marketer_sees_the_flags_but_may_not_snooze(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    old = make_asset(db, title="Trends 2023")
    staff.sign_in_as(Role.MARKETER)
    page = client.get(f"{URL}/fading")
    assert html(page.text).css_first(f'tr[data-asset="{old.slug}"] form') is None
    refused = client.post(
        f"{URL}/fading/{old.id}/snooze",
        data={"reason": "x", "days": "30", "_csrf_token": csrf_token_from(page.text)},
    )
    assert refused.status_code == 403


def test_the_buying_process_of_leads_that_reached_decision(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    first, second, third = (
        make_asset(db, title=f"Step {n}", topics=["pricing"]) for n in (1, 2, 3)
    )
    other = make_asset(db, title="Elsewhere", topics=["energy"])
    now = utcnow()
    for n in range(3):
        lead_id = lead(
            db, f"d{n}@x.example", "decision", 10,
            {first.id: 30, second.id: 20, third.id: 15, **({other.id: 5} if n == 0 else {})},
        )  # fmt: skip
        with db.write() as session:
            session.add(
                LeadChange(
                    lead_id=lead_id, at=now - timedelta(days=25), kind="stage",
                    old="awareness", new="consideration",
                )
            )  # fmt: skip
            session.add(
                LeadChange(
                    lead_id=lead_id, at=now - timedelta(days=10), kind="stage",
                    old="consideration", new="decision",
                )
            )  # fmt: skip
    lead(db, "still@x.example", "consideration", 40, {first.id: 3})  # never decided
    staff.sign_in_as(Role.EDITOR)
    pending = html(client.get(f"{URL}/process").text)
    assert pending.css_first(".process-pending").text(strip=True) == (
        "The figures are being computed; they appear within 15 minutes."
    )
    assert pending.css_first(".process-summary") is None
    process.refresh(db.read, db.write, default_model().stages, now)

    tree = html(client.get(f"{URL}/process").text)
    assert tree.css_first(".process-pending") is None
    computed = tree.css_first(".process-computed").text(strip=True)
    assert computed.startswith("Computed at ")
    assert str(now.year) in computed
    summary = tree.css_first(".process-summary").text(strip=True)
    assert summary == "3 leads reached decision; the typical one read 3 assets before."
    most = [item.attributes["data-asset"] for item in tree.css(".process-most li")]
    assert most[:3] == sorted([first.slug, second.slug, third.slug])  # 3 leads each, by id
    assert other.slug not in most  # read after deciding
    paths = [item.text(strip=True) for item in tree.css(".process-paths li")]
    assert paths == ["Step 1→Step 2→Step 33 leads"]
    days = {dd.attributes["data-stage"]: dd.text(strip=True) for dd in tree.css(".stage-days")}
    assert days == {"awareness": "375 days", "consideration": "15 days"}

    by_topic = html(client.get(f"{URL}/process", params={"topic": "energy"}).text)
    assert by_topic.css_first(".process-summary").text(strip=True).startswith("1 lead reached")
    unknown = client.get(f"{URL}/process", params={"topic": "nope"})
    assert unknown.status_code == 400
    assert "There is no topic “nope”." in html(unknown.text).text()


def test_a_german_editor_waits_for_the_buying_process_then_reads_it(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    guide = make_asset(db, title="Preisleitfaden", topics=["pricing"])
    decided = lead(db, "d@x.example", "decision", 5, {guide.id: 20})
    with db.write() as session:
        session.add(
            LeadChange(
                lead_id=decided, at=utcnow() - timedelta(days=5), kind="stage",
                old="consideration", new="decision",
            )
        )  # fmt: skip
    email = staff.sign_in_as(Role.EDITOR)
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language="de"))
    pending = html(client.get(f"{URL}/process", params={"topic": "pricing"}).text)
    assert pending.css_first(".process-pending").text(strip=True) == (
        "Die Zahlen werden berechnet; sie erscheinen innerhalb von 15 Minuten."
    )
    process.refresh(db.read, db.write, default_model().stages, utcnow())
    tree = html(client.get(f"{URL}/process", params={"topic": "pricing"}).text)
    assert tree.css_first(".process-computed").text(strip=True).startswith("Berechnet am ")
    assert [item.attributes["data-asset"] for item in tree.css(".process-most li")] == [guide.slug]
    assert "selected" in tree.css_first('option[value="pricing"]').attributes
