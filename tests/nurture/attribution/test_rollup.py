"""The attribution job's rollups and the report read from them, on a hand-built set of leads
whose figures are worked out by hand in each test."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from content.models import Asset
from nurture.attribution.report import View, report, timings
from nurture.attribution.rollup import add_milestones, read_milestones
from nurture.attribution.rollup import run as attribution_pass
from nurture.attribution.rules import AttributionModel
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.attribution.scenario import SIX_MONTHS, day, lead, lifecycle, read, run, visit
from tracking.deals.models import Deal


@pytest.fixture
def assets(db: Database) -> dict[str, Asset]:
    return {
        "guide": make_asset(db, title="Scoring guide", stage="awareness", kind="ebook",
                            topics=["lead-scoring"]),
        "checklist": make_asset(db, title="Pricing checklist", stage="consideration",
                                kind="checklist", topics=["lead-scoring", "pricing"]),
        "pricing": make_asset(db, title="Pricing sheet", stage="decision", kind="datasheet",
                              topics=["pricing"]),
    }  # fmt: skip


def test_the_report_credits_each_milestone_to_the_content_read_before_it(
    db: Database, assets: dict[str, Asset]
) -> None:
    # Ada read the guide, was created, read the checklist and the pricing sheet, became MQL.
    ada = lead(db, "ada@example.com", day(30))
    read(db, ada, assets["guide"], day(40))
    read(db, ada, assets["checklist"], day(20))
    read(db, ada, assets["pricing"], day(10))
    lifecycle(db, ada, "mql", day(9))
    # Bo read only the checklist before being created; nothing since.
    bo = lead(db, "bo@example.com", day(5))
    read(db, bo, assets["checklist"], day(6))
    run(db)

    def earned(model: AttributionModel, view: View = View.ASSET) -> dict[str, dict[str, float]]:
        with db.read() as session:
            got = report(session, view, model, 90, SIX_MONTHS)
        # a line touched but earning nothing under this model (influenced only) is left out
        return {
            line.label: {k: v for k, v in line.earned.items() if v}
            for line in got.lines
            if any(line.earned.values())
        }

    # First touch: Ada's creation and MQL go to the guide, Bo's creation to the checklist.
    assert earned(AttributionModel.FIRST_TOUCH) == {
        "Scoring guide": {"created": 1.0, "mql": 1.0},
        "Pricing checklist": {"created": 1.0},
    }
    # Last touch: Ada's creation (day 30: only the guide was read) to the guide, her MQL to
    # the pricing sheet.
    assert earned(AttributionModel.LAST_TOUCH) == {
        "Pricing sheet": {"mql": 1.0},
        "Scoring guide": {"created": 1.0},
        "Pricing checklist": {"created": 1.0},
    }
    # Linear: Ada's MQL a third each; her creation all to the guide.
    linear = earned(AttributionModel.LINEAR)
    assert linear["Scoring guide"] == pytest.approx({"created": 1.0, "mql": 1 / 3})
    assert linear["Pricing checklist"] == pytest.approx({"created": 1.0, "mql": 1 / 3})
    assert linear["Pricing sheet"] == pytest.approx({"mql": 1 / 3})
    # W-shaped MQL: anchors guide (first), guide (creation: latest at or before day 30),
    # pricing (MQL) -> guide 0.6, pricing 0.3, checklist the other 0.1.
    w = earned(AttributionModel.W_SHAPED)
    assert w["Scoring guide"]["mql"] == pytest.approx(0.6)
    assert w["Pricing sheet"]["mql"] == pytest.approx(0.3)
    assert w["Pricing checklist"]["mql"] == pytest.approx(0.1)
    # Per topic, the checklist's credit is split between its two topics.
    topics = earned(AttributionModel.FIRST_TOUCH, View.TOPIC)
    assert topics == {
        "Lead scoring": {"created": 1.5, "mql": 1.0},
        "Pricing": {"created": 0.5},
    }


def test_sources_campaigns_revenue_and_time_to_mql(db: Database, assets: dict[str, Asset]) -> None:
    ada = lead(db, "ada@example.com", day(30))
    visit(db, ada, day(40), "linkedin", "social", "spring-launch")
    visit(db, ada, day(12), "google", "organic")
    lifecycle(db, ada, "mql", day(10))
    with db.write() as session:
        session.add(
            Deal(external_id="D-1", lead_id=ada, name="Pipewise rollout", amount_minor=1_250_000,
                 currency="EUR", stage="won", created_at=day(8), closed_at=day(1),
                 updated_at=day(1))
        )  # fmt: skip
    run(db)
    with db.read() as session:
        check_sources(session)


def check_sources(session: Session) -> None:
    sources = report(session, View.SOURCE, AttributionModel.LINEAR, 90, SIX_MONTHS)
    by_source = {line.label: line.earned for line in sources.lines}
    assert by_source["linkedin / social"]["revenue"] == pytest.approx(625_000)
    assert by_source["google / organic"]["revenue"] == pytest.approx(625_000)
    assert by_source["linkedin / social"]["created"] == pytest.approx(1.0)
    campaigns = report(session, View.CAMPAIGN, AttributionModel.FIRST_TOUCH, 90, SIX_MONTHS)
    assert [(line.label, line.earned["pipeline"]) for line in campaigns.lines] == [
        ("spring-launch", pytest.approx(1_250_000))
    ]
    # 30 days back from the MQL the LinkedIn visit (day 40) is out of the window.
    short = report(session, View.SOURCE, AttributionModel.FIRST_TOUCH, 30, SIX_MONTHS)
    mqls = {line.label: line.earned["mql"] for line in short.lines if line.earned["mql"]}
    assert mqls == {"google / organic": 1.0}
    (timing,) = timings(session, SIX_MONTHS)
    assert timing.source == "linkedin / social"
    assert timing.leads["mql"] == 1
    assert timing.days["mql"] == pytest.approx(30.0)
    assert timing.days["sql"] is None


def test_a_milestone_without_touches_is_counted_as_unattributed_and_credited_once(
    db: Database, assets: dict[str, Asset]
) -> None:
    lead(db, "quiet@example.com", day(3))
    run(db)
    run(db)  # a second pass finds nothing new: nothing is counted twice
    with db.read() as session:
        got = report(session, View.ASSET, AttributionModel.LINEAR, 90, SIX_MONTHS)
    assert got.lines == []
    assert got.reached["created"] == 1
    assert got.unattributed["created"] == 1


def test_the_jobs_pass_credits_new_milestones_once_and_says_what_it_did(
    db: Database, assets: dict[str, Asset]
) -> None:
    ada = lead(db, "ada@example.com", day(30))
    read(db, ada, assets["guide"], day(40))
    first = attribution_pass(db, "EUR", day(0))
    assert first.describe() == "1 milestone(s) credited"  # no deal yet: no money to rebuild
    assert attribution_pass(db, "EUR", day(0)).describe() is None  # nothing new
    lifecycle(db, ada, "mql", day(2))
    assert attribution_pass(db, "EUR", day(0)).describe() == "1 milestone(s) credited"
    with db.read() as session:
        got = report(session, View.ASSET, AttributionModel.LINEAR, 90, SIX_MONTHS)
    assert [(line.label, line.earned["created"], line.earned["mql"]) for line in got.lines] == [
        ("Scoring guide", 1.0, 1.0)
    ]


def test_credits_read_by_a_pass_that_another_pass_overtook_are_not_added_twice(
    db: Database, assets: dict[str, Asset]
) -> None:
    # The job reads and computes outside its write transaction: two passes at once (a worker
    # and a web process during a deploy) must not count Ada's creation twice.
    ada = lead(db, "ada@example.com", day(30))
    read(db, ada, assets["guide"], day(40))
    with db.read() as session:
        stale = read_milestones(session)
    assert stale is not None
    assert stale.count == 1
    assert attribution_pass(db, "EUR", day(0)).describe() == "1 milestone(s) credited"
    with db.write() as session:
        assert add_milestones(session, stale, day(0)) == 0
    with db.read() as session:
        got = report(session, View.ASSET, AttributionModel.FIRST_TOUCH, 90, SIX_MONTHS)
    assert [(line.label, line.earned["created"], line.influenced) for line in got.lines] == [
        ("Scoring guide", 1.0, 1)
    ]


def test_pipeline_and_revenue_follow_deals_corrected_won_and_deleted(
    db: Database, assets: dict[str, Asset]
) -> None:
    # Each pass after a deal changed rewrites only the money rows that moved: the report must
    # read as if rebuilt from scratch every time.
    ada = lead(db, "ada@example.com", day(60))
    visit(db, ada, day(70), "linkedin", "social")
    bo = lead(db, "bo@example.com", day(60))
    visit(db, bo, day(65), "google", "organic")
    with db.write() as session:
        session.add_all(
            Deal(external_id=external, lead_id=lead_id, amount_minor=amount, currency="EUR",
                 stage="open", created_at=day(50), updated_at=day(50))
            for external, lead_id, amount in (("D-1", ada, 1_000_000), ("D-2", bo, 400_000))
        )  # fmt: skip

    def money(figure: str) -> tuple[dict[str, float], float]:
        with db.read() as session:
            got = report(session, View.SOURCE, AttributionModel.FIRST_TOUCH, 90, SIX_MONTHS)
        earned = {line.label: line.earned[figure] for line in got.lines if line.earned[figure]}
        return earned, got.reached[figure]

    assert attribution_pass(db, "EUR", day(0)).deals == 2
    assert money("pipeline") == (
        {"linkedin / social": 1_000_000, "google / organic": 400_000},
        1_400_000,
    )
    with db.write() as session:  # the CRM corrects Ada's amount and wins the deal
        session.execute(
            update(Deal)
            .where(Deal.external_id == "D-1")
            .values(amount_minor=1_200_000, stage="won", closed_at=day(5), updated_at=day(5))
        )
    assert attribution_pass(db, "EUR", day(0)).deals == 2
    assert money("pipeline") == (
        {"linkedin / social": 1_200_000, "google / organic": 400_000},
        1_600_000,
    )
    assert money("revenue") == ({"linkedin / social": 1_200_000}, 1_200_000)
    with db.write() as session:
        session.execute(delete(Deal).where(Deal.external_id == "D-2"))
    assert attribution_pass(db, "EUR", day(0)).deals == 1
    assert money("pipeline") == ({"linkedin / social": 1_200_000}, 1_200_000)
    assert attribution_pass(db, "EUR", day(0)).deals is None  # nothing changed since
