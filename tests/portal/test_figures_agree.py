"""Figures that must agree with each other, through the real tracking pipeline on SQLite and
PostgreSQL: a "Talk to sales" request sent from an asset makes nobody a unique visitor of it
(views are never fewer than unique visitors, in the console and the API), and a sales fast lane
SQL that never was an MQL does not count as converting from MQL (nor a lead that jumped a
journey stage as converting from it), in the dashboard's funnels and on the console pages."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import delete

from content.models import Asset
from content.orm import utcnow
from portal.accounts.models import Role
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.answers import MQL_ANSWERS, lead_answering
from tests.portal.figures import NONE, asset_rows
from tests.portal.forms import submit
from tests.portal.sales_form import ANSWERS, send
from tests.support import StaffActions, html
from tests.tracking.reporting.funnels import HISTORIES, LIFECYCLE, reach_of
from tests.tracking.reporting.leads import add_lead, change
from tracking import events
from tracking.identity.demo_requests import submit_demo_request
from tracking.models import AssetDaily, Lead, LeadChange
from tracking.pipeline import rollups
from tracking.pipeline.ingest import record
from tracking.reporting.analytics import Period, asset_figures, dashboard
from tracking.reporting.asset_stats import asset_stats
from tracking.reporting.figures import FunnelStep, path_funnel
from tracking.rules.config import Model

MODEL = Model()


def datasheet(db: Database) -> Asset:
    return make_asset(
        db, slug="datasheet", title="Product datasheet", kind="datasheet", stage="decision"
    )


def figures_of(db: Database, slug: str) -> tuple[int, int, int, int]:
    """(views, unique visitors) in the console's analytics, then in the API's asset stats."""
    with db.read() as session:
        today = utcnow().date()
        found = {f.slug: f for f in asset_figures(session, Period(today - timedelta(1), today))}[
            slug
        ]
        asset_id = session.query(Asset.id).filter_by(slug=slug).scalar()
        stats = asset_stats(session, [asset_id])[asset_id]
    return found.views, found.readers, stats.views, stats.unique_visitors


def test_a_talk_to_sales_request_from_an_asset_makes_no_unique_visitor(db: Database) -> None:
    asset = datasheet(db)
    with db.write() as session:
        record(session, [events.AssetView(visitor_id="browser-1", asset_id=asset.id)], model=MODEL)
    with db.write() as session:
        sheet = session.get(Asset, asset.id)
        result = submit_demo_request(
            session, "browser-1", ANSWERS, consent_ticked=False, asset=sheet, model=MODEL
        )
        assert result.accepted  # the browser now speaks as the lead, under a fresh id
    assert figures_of(db, "datasheet") == (1, 1, 1, 1)
    before = _asset_days(db)
    with db.write() as session:
        rollups.rebuild(session)  # replaying the raw events counts the same
    assert _asset_days(db) == before


def test_reading_under_the_fresh_id_counts_only_once_it_opens_the_asset(db: Database) -> None:
    asset = datasheet(db)
    at = utcnow()
    with db.write() as session:
        record(
            session,
            [
                events.FormSubmit(visitor_id="fresh", asset_id=asset.id, occurred_at=at),
                events.ReadProgress(
                    visitor_id="fresh", asset_id=asset.id, seconds=30, depth=0.95, occurred_at=at
                ),
            ],
        )
    assert figures_of(db, "datasheet") == (0, 0, 0, 0)
    with db.write() as session:
        record(session, [events.AssetView(visitor_id="fresh", asset_id=asset.id, occurred_at=at)])
    assert figures_of(db, "datasheet") == (1, 1, 1, 1)
    with db.read() as session:
        today = utcnow().date()
        [found] = [f for f in asset_figures(session, Period(today, today)) if f.slug == "datasheet"]
        stats = asset_stats(session, [asset.id])[asset.id]
    assert (found.completions, found.completion_rate) == (1, 1.0)
    assert (stats.completion_rate, stats.average_engaged_seconds) == (1.0, 30.0)


def _asset_days(db: Database) -> list[tuple[int, int, int]]:
    with db.read() as session:
        return [
            (row.views, row.readers, row.completions)
            for row in session.query(AssetDaily).order_by(AssetDaily.asset_id, AssetDaily.day)
        ]


def test_a_fast_lane_sql_does_not_convert_from_mql(db: Database) -> None:
    asset = datasheet(db)
    mia = lead_answering(db, "mia@example.com", MQL_ANSWERS, utcnow())  # a real MQL, waiting
    with db.write() as session:
        sheet = session.get(Asset, asset.id)
        result = submit_demo_request(
            session, None, ANSWERS, consent_ticked=False, asset=sheet, model=MODEL
        )
    with db.read() as session:
        lifecycles = {lead.id: lead.lifecycle for lead in session.query(Lead)}
        assert lifecycles == {mia: "mql", result.lead_id: "sql"}
        board = dashboard(session, MODEL, Period.last_days(7, utcnow().date()))
    assert board.lifecycle_funnel[2].conversion == 0.0  # was "sql 100 % from mql"
    assert board.lifecycle_funnel == [
        FunnelStep("lead", 2, None),
        FunnelStep("mql", 1, 0.5),
        FunnelStep("sql", 1, 0.0, skipped=1),
        FunnelStep("opportunity", 0, 0.0),
        FunnelStep("customer", 0, None),
    ]
    # Both went from awareness straight to decision (decision hints; a demo request).
    assert board.stage_funnel == [
        FunnelStep("awareness", 2, None),
        FunnelStep("consideration", 0, 0.0),
        FunnelStep("decision", 2, None, skipped=2),
        FunnelStep("customer", 0, 0.0),
    ]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(HISTORIES)
def test_the_database_counts_the_funnel_along_the_paths_in_the_change_log(
    db: Database, histories: list[list[str]]
) -> None:
    """Whatever the lifecycle and stage histories, the dashboard's funnels are what the
    definition (``reach_of``, in plain Python) says of the same paths."""
    stages = MODEL.stages[1:]
    as_stage = dict(
        zip([*LIFECYCLE, "recycled"], [*stages, MODEL.stages[0], stages[0]], strict=True)
    )
    with db.write() as session:
        session.execute(delete(LeadChange))
        session.execute(delete(Lead))
        for number, history in enumerate(histories):
            lead_id = add_lead(session, f"lead{number}@x.example", created=utcnow())
            for step in history:  # the change log numbers them in this order
                change(session, lead_id, "lifecycle", None, step, utcnow())
                change(session, lead_id, "stage", None, as_stage[step], utcnow())
                session.flush()
    with db.read() as session:
        board = dashboard(session, MODEL, Period.last_days(7, utcnow().date()))
    total = len(histories)
    assert board.lifecycle_funnel == path_funnel(
        ("lead", total), LIFECYCLE, reach_of(LIFECYCLE, histories)
    )
    stage_histories = [[as_stage[step] for step in history] for history in histories]
    assert board.stage_funnel == path_funnel(
        (MODEL.stages[0], total), stages, reach_of(stages, stage_histories)
    )


# the console pages


def test_a_browser_that_unlocks_with_javascript_and_reads_to_the_end_is_a_complete_reader(
    client: TestClient[Litestar],
    db: Database,
    staff: StaffActions,
    settled: None,
) -> None:
    make_asset(db, slug="pricing-guide", title="Pricing guide", stage="decision", gate="gated")
    assert client.get("/library/pricing-guide").status_code == 200  # the teaser: a view
    unlocked = submit(
        client, "pricing-guide", htmx=True, email="ada@example.com", first_name="Ada", last_name="L"
    )
    assert unlocked.status_code == 200  # the content swapped in over the teaser: a view
    beacon = {"type": "read_progress", "asset": "pricing-guide", "seconds": 40, "depth": 0.95}
    assert client.post("/t", content=json.dumps(beacon)).status_code == 204  # the fresh id reads
    staff.sign_in_as(Role.MARKETER)

    figures = asset_rows(html(client.get("/console/analytics").text))["pricing-guide"]
    # Two browser ids (the identification gave a fresh one), as after a redirect without
    # JavaScript; the one that read the unlocked content to the end is among them.
    assert (figures["views"], figures["readers"], figures["completion"]) == ("2", "2", "50.0%")


def funnel_rows(tree: LexborHTMLParser, css: str) -> list[tuple[str, str, str, str]]:
    """(step, leads, conversion, what skipped the step before) per row of a funnel table."""
    found = []
    for row in tree.css(f"table.{css} tbody tr"):
        conversion = row.css_first("td.conversion")
        note = conversion.css_first(".skipped")
        found.append(
            (
                row.attributes["data-step"] or "",
                row.css_first("td.count").text(strip=True),
                conversion.text(deep=False, strip=True),
                note.text(strip=True) if note is not None else "",
            )
        )
    return found


def test_the_console_shows_the_figures_of_a_talk_to_sales_visitor_and_a_fast_lane_sql(
    client: TestClient[Litestar],
    db: Database,
    staff: StaffActions,
    settled: None,
) -> None:
    datasheet(db)
    lead_answering(db, "mia@example.com", MQL_ANSWERS, utcnow())
    assert client.get("/library/datasheet").status_code == 200  # one view
    assert send(client, "?asset=datasheet").status_code == 303  # talk to sales from it
    staff.sign_in_as(Role.MARKETER)

    figures = asset_rows(html(client.get("/console/analytics").text))["datasheet"]
    assert (figures["views"], figures["readers"]) == ("1", "1")

    response = client.get("/console/dashboard")  # the period's snapshot, taken now
    assert response.status_code == 200
    board = html(response.text)
    assert funnel_rows(board, "lifecycle-funnel") == [
        ("lead", "2", NONE, ""),
        ("mql", "1", "50.0%", ""),
        ("sql", "1", "0.0%", "1 skipped mql"),
        ("opportunity", "0", "0.0%", ""),
        ("customer", "0", NONE, ""),
    ]
    assert funnel_rows(board, "stage-funnel") == [
        ("awareness", "2", NONE, ""),
        ("consideration", "0", "0.0%", ""),
        ("decision", "2", NONE, "2 skipped Consideration"),
        ("customer", "0", "0.0%", ""),
    ]
