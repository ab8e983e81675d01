"""Gate experiments on the public side, over HTTP on SQLite and PostgreSQL: the browser's arm
is decided where its gate form loads, the open arm reads (and downloads) a gated asset without
the form, the first sight is recorded once, and a lead that passed the gate is never gated
again while one that has not is assigned like anyone."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.files import FileStore
from nurture.intelligence.models import GateExperiment, GateExposure
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.forms import HTMX, submit
from tests.support import html

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
