"""Gate experiments on the public side, over HTTP on SQLite and PostgreSQL: the browser's arm
is decided where its gate form loads, the open arm reads (and downloads) a gated asset without
the form, the first sight is recorded once, and a lead that passed the gate is never gated
again while one that has not is assigned like anyone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from content.files import FileStore
from content.models import Asset
from content.orm import utcnow
from nurture.intelligence.models import GateArmFigures, GateExperiment, GateExposure
from portal.accounts.models import Role, StaffUser
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.forms import HTMX, submit
from tests.support import StaffActions, csrf_token_from, html

Client = TestClient[Litestar]


@pytest.fixture
def gated(db: Database, settings: Settings) -> Any:
    return make_asset(
        db,
        title="Pricing guide",
        slug="pricing-guide",
        kind="whitepaper",
        stage="decision",
        gate="gated",
        body="The **secret** pricing details.",
        store=FileStore(settings.files_dir),
        pdf_pages=["Pricing page one"],
    )


def experiment(db: Database, asset_id: int, open_share: float) -> int:
    """A running experiment (the console's checks are tested with the console)."""
    with db.write() as session:
        found = GateExperiment(asset_id=asset_id, gate="gated", open_share=open_share)
        session.add(found)
        session.flush()
        return found.id


def exposures(db: Database) -> list[tuple[int, str]]:
    with db.read() as session:
        return [(e.experiment_id, e.arm) for e in session.scalars(select(GateExposure))]


def test_the_open_arm_reads_a_gated_asset_and_its_file_without_the_form(
    client: Client, db: Database, gated: Any
) -> None:
    running = experiment(db, gated.id, open_share=1.0)
    page = client.get("/library/pricing-guide")
    assert "secret" not in page.text  # the page is the same for every browser
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["HX-Retarget"] == "#asset-content"
    tree = html(fragment.text)
    assert tree.css_first("form.gate-form") is None
    assert "secret" in tree.css_first(".asset__body").text()
    link = tree.css_first('a[href*="/library/pricing-guide/download?t="]')
    assert client.get(link.attributes["href"] or "").status_code == 200
    assert client.get("/library/pricing-guide/file").status_code == 200
    # seen again: still open, recorded once
    again = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert "secret" in again.text
    assert exposures(db) == [(running, "open")]


def test_the_gated_arm_gets_the_form_and_another_browser_is_counted_on_its_own(
    client: Client, db: Database, gated: Any
) -> None:
    running = experiment(db, gated.id, open_share=0.0)
    client.get("/library/pricing-guide")
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert html(fragment.text).css_first("form.gate-form") is not None
    assert "secret" not in fragment.text
    assert client.get("/library/pricing-guide/file").status_code == 403
    client.cookies.clear()  # another browser
    client.get("/library/pricing-guide")
    client.get("/library/pricing-guide/gate", headers=HTMX)
    assert exposures(db) == [(running, "gated"), (running, "gated")]


def test_a_page_without_javascript_keeps_the_gate_and_stays_out(
    client: Client, db: Database, gated: Any
) -> None:
    experiment(db, gated.id, open_share=1.0)
    client.get("/library/pricing-guide")
    page = client.get("/library/pricing-guide/gate")
    assert html(page.text).css_first("form.gate-form") is not None
    assert exposures(db) == []


def test_a_lead_that_passed_the_gate_is_never_gated_and_not_counted(
    client: Client, db: Database, gated: Any
) -> None:
    client.get("/library/pricing-guide")
    submit(client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L")
    experiment(db, gated.id, open_share=0.0)
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert "secret" in html(fragment.text).css_first(".asset__body").text()
    assert exposures(db) == []


def test_a_known_lead_that_has_not_passed_this_gate_is_assigned_like_anyone(
    client: Client, db: Database, gated: Any, settings: Settings
) -> None:
    make_asset(db, title="Other", slug="other-guide", gate="gated", body="Other body.")
    client.get("/library/other-guide")
    submit(client, "other-guide", email="ada@example.com", first_name="Ada", last_name="L")
    running = experiment(db, gated.id, open_share=0.0)
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert html(fragment.text).css_first("form.gate-form") is not None
    assert exposures(db) == [(running, "gated")]


def test_the_open_arm_of_a_soft_asset_drops_its_form(client: Client, db: Database) -> None:
    soft = make_asset(db, title="Checklist", slug="checklist", gate="soft", body="All **ten**.")
    running = experiment(db, soft.id, open_share=1.0)
    page = client.get("/library/checklist")
    assert html(page.text).css_first(".soft-gate") is not None
    fragment = client.get("/library/checklist/gate", headers=HTMX)
    assert fragment.headers["HX-Retarget"] == ".soft-gate"
    assert html(fragment.text).css_first("form") is None
    assert exposures(db) == [(running, "open")]


def test_an_ended_experiment_shows_the_gate_to_everyone(
    client: Client, db: Database, gated: Any
) -> None:
    running = experiment(db, gated.id, open_share=1.0)
    with db.write() as session:
        found = session.get(GateExperiment, running)
        assert found is not None
        found.ended_at = found.started_at
    client.get("/library/pricing-guide")
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert html(fragment.text).css_first("form.gate-form") is not None
    assert exposures(db) == []


# --- the console ----------------------------------------------------------------------------

URL = "/console/content-intelligence/experiments"


def start_form(client: Client, **fields: str) -> Any:
    page = client.get(URL)
    return client.post(
        URL,
        data={"_csrf_token": csrf_token_from(page.text), **fields},
        follow_redirects=False,
    )


def test_an_editor_starts_reads_and_applies_an_experiment(
    client: Client, db: Database, gated: Any, staff: StaffActions, settled: None
) -> None:
    staff.sign_in_as(Role.EDITOR)
    editor = html(client.get(f"/console/assets/{gated.id}").text)
    assert editor.css_first(f'a[href="{URL}?asset={gated.id}"]') is not None
    intelligence = html(client.get("/console/content-intelligence").text)
    assert intelligence.css_first(f'a[href="{URL}"]') is not None

    started = start_form(client, asset=str(gated.id), open_share="50", window_days="90")
    assert started.status_code == 303
    report_url = started.headers["location"].split("?")[0]
    report = html(client.get(started.headers["location"]).text)
    assert "The experiment runs" in report.css_first(".flash--success").text()
    assert report.css_first(".experiment-exposed").text(strip=True) == (
        "Browsers so far: 0 open, 0 gated."
    )
    verdicts = [cell.text(strip=True) for cell in report.css("td.verdict")]
    assert verdicts
    assert all(v.startswith("No clear difference yet") for v in verdicts)
    listed = html(client.get(URL).text)
    assert [row.attributes["data-state"] for row in listed.css(".experiment-row")] == ["running"]

    # a second one on the asset is refused, the first one kept
    again = start_form(client, asset=str(gated.id), open_share="30", window_days="90")
    assert again.status_code in (400, 409)  # the asset is no longer offered: 409 once sent
    with db.read() as session:
        assert len(session.scalars(select(GateExperiment)).all()) == 1

    apply = client.post(
        f"{report_url}/apply",
        data={"arm": "open", "_csrf_token": csrf_token_from(client.get(report_url).text)},
        follow_redirects=False,
    )
    assert apply.status_code == 303
    with db.read() as session:
        asset = session.get(Asset, gated.id)
        assert asset is not None
        assert asset.gate == "open"
        found = session.scalars(select(GateExperiment)).one()
        assert found.ended_at is not None
        assert found.applied == "open"
    twice = client.post(
        f"{report_url}/apply",
        data={"arm": "gated", "_csrf_token": csrf_token_from(client.get(URL).text)},
        follow_redirects=False,
    )
    assert twice.status_code == 409
    assert "winner is applied" in html(twice.text).css_first(".flash--error").text()


def test_a_second_experiment_on_a_running_asset_is_a_conflict(
    client: Client, db: Database, gated: Any, staff: StaffActions, settled: None
) -> None:
    staff.sign_in_as(Role.ADMIN)
    running = experiment(db, gated.id, 0.5)
    refused = start_form(client, asset=str(gated.id), open_share="50", window_days="90")
    assert refused.status_code == 409
    assert "already runs" in html(refused.text).css_first("#experiment-error").text()
    with db.read() as session:
        assert [e.id for e in session.scalars(select(GateExperiment))] == [running]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"open_share": "3"}, "between 5 % and 95 %"),
        ({"open_share": "fifty"}, "between 5 % and 95 %"),
        ({"window_days": "0"}, "between 1 and 365 days"),
        ({"asset": "x"}, "Choose a published asset"),
    ],
)
def test_wrong_input_is_named_and_the_form_kept(
    client: Client,
    db: Database,
    gated: Any,
    staff: StaffActions,
    settled: None,
    fields: dict[str, str],
    message: str,
) -> None:
    staff.sign_in_as(Role.EDITOR)
    sent = {"asset": str(gated.id), "open_share": "50", "window_days": "90", **fields}
    refused = start_form(client, **sent)
    assert refused.status_code == 400
    tree = html(refused.text)
    assert message in tree.css_first("#experiment-error").text()
    assert tree.css_first("#ex-share").attributes["value"] == sent["open_share"]
    with db.read() as session:
        assert session.scalars(select(GateExperiment)).all() == []


def test_an_open_asset_cannot_be_tested(
    client: Client, db: Database, staff: StaffActions, settled: None
) -> None:
    opened = make_asset(db, title="Open", slug="open-one", gate="open")
    make_asset(db, title="Gated", slug="gated-one", gate="gated")
    staff.sign_in_as(Role.EDITOR)
    refused = start_form(client, asset=str(opened.id), open_share="50", window_days="90")
    assert refused.status_code == 400
    assert "only a gated or soft asset" in html(refused.text).css_first("#experiment-error").text()


def test_a_marketer_reads_but_may_not_start_end_or_apply(
    client: Client, db: Database, gated: Any, staff: StaffActions, settled: None
) -> None:
    running = experiment(db, gated.id, 0.5)
    staff.sign_in_as(Role.MARKETER)
    listed = client.get(URL)
    assert listed.status_code == 200
    assert html(listed.text).css_first("form.experiment-form") is None
    report = client.get(f"{URL}/{running}")
    assert report.status_code == 200
    assert html(report.text).css_first("#apply-open") is None
    token = csrf_token_from(client.get("/console/profile").text)
    for path, data in (
        (URL, {"asset": str(gated.id), "open_share": "50", "window_days": "90"}),
        (f"{URL}/{running}/end", {}),
        (f"{URL}/{running}/apply", {"arm": "open"}),
    ):
        answer = client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 403, path
    with db.read() as session:
        found = session.get(GateExperiment, running)
        assert found is not None
        assert found.ended_at is None


def test_every_post_needs_the_csrf_token(
    client: Client, db: Database, gated: Any, staff: StaffActions, settled: None
) -> None:
    running = experiment(db, gated.id, 0.5)
    staff.sign_in_as(Role.EDITOR)
    for path, data in (
        (URL, {"asset": str(gated.id), "open_share": "50", "window_days": "90"}),
        (f"{URL}/{running}/end", {}),
        (f"{URL}/{running}/apply", {"arm": "open"}),
    ):
        assert client.post(path, data=data, follow_redirects=False).status_code == 403, path
    ended = client.post(
        f"{URL}/{running}/end",
        data={"_csrf_token": csrf_token_from(client.get(URL).text)},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    with db.read() as session:
        found = session.get(GateExperiment, running)
        assert found is not None
        assert found.ended_at is not None
        assert found.applied == ""
        asset = session.get(Asset, gated.id)
        assert asset is not None
        assert asset.gate == "gated"
    assert client.get(f"{URL}/999999").status_code == 404


def test_the_report_gives_a_verdict_only_where_one_arm_clearly_won(
    client: Client, db: Database, gated: Any, staff: StaffActions, settled: None
) -> None:
    running = experiment(db, gated.id, 0.5)
    with db.write() as session:
        # ended, its window passed: the job leaves the figures as they are
        found = session.get(GateExperiment, running)
        assert found is not None
        found.started_at = utcnow() - timedelta(days=300)
        found.ended_at = utcnow() - timedelta(days=200)
        for arm, new_leads, mql in (("open", 10, 3), ("gated", 40, 5)):
            session.add(
                GateArmFigures(
                    experiment_id=running, arm=arm, readers=200, engaged=120,
                    engaged_seconds=200 * 90.0, submissions=0 if arm == "open" else 50,
                    new_leads=new_leads, mql=mql, sql=0, opportunity=0,
                )
            )  # fmt: skip
    email = staff.sign_in_as(Role.EDITOR)
    tree = html(client.get(f"{URL}/{running}").text)
    verdicts = {
        row.attributes["data-metric"]: row.css_first("td.verdict").text(strip=True)
        for row in tree.css("tr.metric-row")
        if row.css_first("td.verdict")
    }
    assert verdicts["new_leads"] == (
        "The gate wins on New leads: 20.0% against 5.0% open (p < 0.001)."
    )
    assert verdicts["mql"] == "No clear difference yet (200 readers open, 200 gated)."
    cells = tree.css_first('tr[data-metric="new_leads"]').css("td.num")
    assert [cell.css_first(".cell-sub").text(strip=True) for cell in cells] == [
        "2.7%\u20139.0%",
        "15.0%\u201326.1%",
    ]
    assert "btn--primary" in (tree.css_first("#apply-gated").attributes.get("class") or "")
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language="de"))
    german = html(client.get(f"{URL}/{running}").text)
    sentence = german.css_first('tr[data-metric="new_leads"] td.verdict').text(strip=True)
    assert sentence.startswith("Das Gate gewinnt bei Neue Leads: 20,0")
    assert german.css_first("#apply-gated").text(strip=True) == "Beenden und Gate behalten"
