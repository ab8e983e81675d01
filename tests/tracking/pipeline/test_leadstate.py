"""Lead state on the real database (SQLite and PostgreSQL): a realistic trail, the change log,
incremental state equal to a rescore, the Lead JSON and lifecycle moves through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify as identification
from tracking.identity.facts import Source, record_facts
from tracking.identity.visitors import new_visitor_id
from tracking.models import Lead, LeadChange, Visitor
from tracking.pipeline import leadstate
from tracking.pipeline.ingest import record
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState

MODEL = Model()
START = utcnow() - timedelta(days=20)


def at(days: float) -> Any:
    return START + timedelta(days=days)


@pytest.fixture
def library(db: Database) -> dict[str, Any]:
    return {
        "intro": make_asset(
            db, slug="what-is-nurturing", title="What is nurturing", stage="awareness"
        ),
        "guide": make_asset(
            db,
            slug="scoring-guide",
            title="Scoring guide",
            stage="consideration",
            kind="whitepaper",
        ),
        "compare": make_asset(
            db, slug="compare-tools", title="Compare tools", stage="consideration"
        ),
        "pricing": make_asset(db, slug="pricing-guide", title="Pricing guide", stage="decision"),
        "demo": make_asset(
            db,
            slug="live-demo",
            title="Live demo webinar",
            stage="decision",
            kind="webinar",
            webinar_starts_at=(utcnow() + timedelta(days=3)).isoformat(),
        ),
    }


def ingest(db: Database, *tracked: events.TrackedEvent, now: Any = None) -> None:
    with db.write() as session:
        record(session, tracked, now=now, model=MODEL)


def read(visitor: str, asset: Any, day: float, seconds: float, depth: float) -> list[Any]:
    return [
        events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at(day)),
        events.ReadProgress(
            visitor_id=visitor, asset_id=asset.id, seconds=seconds, depth=depth,
            occurred_at=at(day + 0.01),
        ),
    ]  # fmt: skip


def identify(db: Database, visitor: str, email: str, day: float, **answers: str) -> int:
    with db.write() as session:
        result = identification.identify(
            session,
            visitor_id=visitor,
            email=email,
            answers=answers,
            consent=None,
            source=Source("form", "scoring-guide"),
            now=at(day),
            model=MODEL,
        )
    return result.lead_id


def browser_of(db: Database, lead_id: int) -> str:
    """The browser id that speaks for the lead now (identification rotates it)."""
    with db.read() as session:
        visitor = session.scalar(
            select(Visitor.id).where(
                Visitor.lead_id == lead_id,
                Visitor.retired_at.is_(None),
            )
        )
    assert visitor is not None
    return visitor


def realistic_trail(db: Database, library: dict[str, Any]) -> tuple[int, str]:
    """Anonymous awareness reading, identification, consideration research, then decision acts."""
    browser = new_visitor_id()
    ingest(db, *read(browser, library["intro"], 0, 45, 1.0), now=at(0.1))
    lead_id = identify(db, browser, "ada@example.com", 1, first_name="Ada", company="Acme")
    visitor = browser_of(db, lead_id)
    ingest(db, *read(visitor, library["guide"], 3, 60, 0.95), now=at(3.1))
    ingest(db, *read(visitor, library["compare"], 6, 50, 0.8), now=at(6.1))
    ingest(db, *read(visitor, library["pricing"], 15, 60, 0.92), now=at(15.1))
    ingest(
        db,
        events.WebinarRegister(visitor_id=visitor, asset_id=library["demo"].id, occurred_at=at(16)),
        events.WebinarAttend(
            visitor_id=visitor, asset_id=library["demo"].id, seconds=2400, occurred_at=at(19)
        ),
        now=at(19),
    )
    with db.write() as session:
        record_facts(
            session, lead_id, {"timeframe": "0-3m", "authority": "decision_maker"},
            Source("form", "pricing-guide"), at(19.5),
        )  # fmt: skip
    ingest(db, events.CtaClick(visitor_id=visitor, target="talk-to-sales", occurred_at=at(19.6)))
    return lead_id, visitor


def test_a_realistic_trail_ends_in_decision_with_evidence_and_a_change_log(
    db: Database, library: dict[str, Any]
) -> None:
    lead_id, _ = realistic_trail(db, library)
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        changes = session.scalars(
            select(LeadChange).where(LeadChange.lead_id == lead_id).order_by(LeadChange.seq)
        ).all()
        view = leadstate.verdicts(session, lead, MODEL, utcnow())
    assert lead.journey_stage == "decision"
    assert 0.5 < lead.stage_confidence <= 1.0
    assert lead.fit_score >= 35  # authority 20 + timeframe 15
    assert lead.lifecycle == "mql"
    assert lead.category == "qualified_question"
    assert set(lead.milestones) >= {"webinar_registered", "webinar_attended"}
    kinds = [(c.kind, c.new) for c in changes]
    assert kinds[0] == ("identified", "lead")
    stages = [new for kind, new in kinds if kind == "stage"]
    assert stages[-1] == "decision"
    assert "consideration" in stages
    assert ("lifecycle", "mql") in kinds
    mql = next(c for c in changes if c.kind == "lifecycle")
    assert mql.old == "lead"
    assert "decision stage" in mql.reason or "fit" in mql.reason
    assert view.stage.stage == "decision"
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)


def test_the_incremental_state_equals_a_full_rescore(db: Database, library: dict[str, Any]) -> None:
    lead_id, _ = realistic_trail(db, library)
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        incremental = JourneyState.from_json(lead.journey)
        rebuilt = leadstate.replay(session, lead, MODEL)
    now = utcnow()
    half_life = MODEL.scoring.half_life_days
    assert rebuilt.counts == incremental.counts
    assert set(rebuilt.assets) == set(incremental.assets)
    assert rebuilt.engagement.at(now, half_life) == pytest.approx(
        incremental.engagement.at(now, half_life), rel=1e-9
    )
    for asset_id, touch in incremental.assets.items():
        assert rebuilt.assets[asset_id].acts == touch.acts
        assert rebuilt.assets[asset_id].evidence.at(now, half_life) == pytest.approx(
            touch.evidence.at(now, half_life), rel=1e-9
        )
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        before = (lead.journey_stage, lead.grade, lead.category, lead.lifecycle)
        leadstate.rescore(session, lead, MODEL)
        assert (lead.journey_stage, lead.grade, lead.category, lead.lifecycle) == before


def test_a_single_awareness_read_never_makes_a_decision_lead(
    db: Database, library: dict[str, Any]
) -> None:
    browser = new_visitor_id()
    lead_id = identify(db, browser, "bob@example.com", 0)
    visitor = browser_of(db, lead_id)
    ingest(db, *read(visitor, library["intro"], 1, 60, 1.0))
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.journey_stage == "awareness"


@pytest.fixture
def api(client: TestClient[Litestar], db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm")
    return {"Authorization": f"Bearer {token}"}


def test_the_lead_json_has_the_contract_shape_and_explains_the_stage(
    client: TestClient[Litestar], db: Database, library: dict[str, Any], api: dict[str, str]
) -> None:
    lead_id, _ = realistic_trail(db, library)
    body = client.get(f"/api/v1/leads/{lead_id}", headers=api).json()
    assert set(body) >= {
        "id", "email", "profile", "journey_stage", "stage_confidence", "stage_evidence",
        "fit_score", "engagement_score", "grade", "category", "lifecycle", "consent",
        "first_seen", "last_activity",
    }  # fmt: skip
    assert body["id"] == str(lead_id)
    assert body["profile"]["timeframe"] == "0-3m"
    assert body["journey_stage"] == "decision"
    assert [e["stage"] for e in body["stage_evidence"]] == list(MODEL.stages)
    decision = next(e for e in body["stage_evidence"] if e["stage"] == "decision")
    assert {t["asset"] for t in decision["top"]} == {"live-demo", "pricing-guide"}
    assert body["stage_explanation"].startswith("decision (")
    assert "attended 'Live demo webinar'" in body["stage_explanation"]
    assert "read 'Pricing guide' 92%" in body["stage_explanation"]
    assert "timeframe 0-3m" in body["stage_explanation"]
    assert body["grade"] in "ABCDE"
    assert body["consent"] == {"marketing": False, "at": None, "status": "none"}
    assert 0 <= body["fit_score"] <= 100


def test_leads_are_listed_with_filters_and_cursor_pages(
    client: TestClient[Litestar], db: Database, library: dict[str, Any], api: dict[str, str]
) -> None:
    lead_id, _ = realistic_trail(db, library)
    for n in range(3):
        identify(db, new_visitor_id(), f"reader{n}@example.com", 2)
    decision = client.get("/api/v1/leads", params={"stage": "decision"}, headers=api).json()
    assert [item["id"] for item in decision["items"]] == [str(lead_id)]
    first = client.get("/api/v1/leads", params={"limit": 2}, headers=api).json()
    second = client.get(
        "/api/v1/leads", params={"limit": 2, "cursor": first["next_cursor"]}, headers=api
    ).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 4
    assert second["next_cursor"] is None
    by_email = client.get("/api/v1/leads", params={"email": " ADA@example.com"}, headers=api)
    assert [i["email"] for i in by_email.json()["items"]] == ["ada@example.com"]


def test_sales_moves_the_lifecycle_and_the_rules_respect_it(
    client: TestClient[Litestar], db: Database, library: dict[str, Any], api: dict[str, str]
) -> None:
    lead_id, visitor = realistic_trail(db, library)
    url = f"/api/v1/leads/{lead_id}/lifecycle"
    recycled = client.post(
        url, json={"to": "recycled", "reason": "no budget this year"}, headers=api
    )
    assert recycled.status_code == 200
    assert recycled.json()["lifecycle"] == "recycled"
    # More reading right away does not overrule sales: the cool-off holds the lead back.
    ingest(db, *read(visitor, library["pricing"], 20, 60, 1.0))
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.lifecycle == "recycled"
        last = session.scalars(
            select(LeadChange)
            .where(LeadChange.lead_id == lead_id, LeadChange.kind == "lifecycle")
            .order_by(LeadChange.seq.desc())
        ).first()
    assert last is not None
    assert (last.old, last.new, last.reason) == ("mql", "recycled", "no budget this year")
    assert (
        client.post(url, json={"to": "sql", "reason": "call booked"}, headers=api).json()[
            "lifecycle"
        ]
        == "sql"
    )
    refused = client.post(url, json={"to": "mql", "reason": "x"}, headers=api)
    assert refused.status_code == 400
    empty = client.post(url, json={"to": "customer", "reason": " "}, headers=api)
    assert empty.status_code == 400
    assert (
        client.post(url, json={"to": "customer", "reason": "signed"}, headers=api).status_code
        == 200
    )
    back = client.post(url, json={"to": "sql", "reason": "oops"}, headers=api)
    assert back.status_code == 409
    assert back.json()["detail"] == "customer leads cannot become sql"
    assert client.post("/api/v1/leads/999999/lifecycle", json={"to": "sql", "reason": "x"},
                       headers=api).status_code == 404  # fmt: skip


def test_engagement_fades_when_the_lead_goes_quiet(db: Database, library: dict[str, Any]) -> None:
    lead_id, _ = realistic_trail(db, library)
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        soon = leadstate.verdicts(session, lead, MODEL, utcnow())
        later = leadstate.verdicts(
            session, lead, MODEL, utcnow() + timedelta(days=MODEL.scoring.half_life_days)
        )
    assert later.engagement == pytest.approx(soon.engagement / 2, rel=0.01)


def test_quiet_leads_are_re_evaluated_and_their_fading_is_logged(
    db: Database, library: dict[str, Any]
) -> None:
    lead_id, _ = realistic_trail(db, library)
    with db.read() as session:
        before = session.get(Lead, lead_id).engagement  # type: ignore[union-attr]
    months_later = utcnow() + timedelta(days=150)
    assert leadstate.reevaluate_quiet(db, MODEL, now=months_later) == 1
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.engagement < before / 16  # five half-lives
        assert lead.engagement_as_of == months_later
        faded = session.scalars(
            select(LeadChange).where(LeadChange.lead_id == lead_id, LeadChange.at == months_later)
        ).all()
    # Five months of silence: the evidence has faded below the decision threshold (the
    # timeframe answer alone is not enough), and the grade falls with the engagement.
    assert lead.journey_stage != "decision"
    assert {c.kind for c in faded} >= {"grade", "stage"}
    assert leadstate.reevaluate_quiet(db, MODEL, now=months_later) == 0


def test_every_quiet_lead_is_re_evaluated_batch_after_batch_within_the_budget(
    db: Database, library: dict[str, Any]
) -> None:
    for n in range(5):
        browser = new_visitor_id()
        lead_id = identify(db, browser, f"reader{n}@example.com", 0)
        ingest(db, *read(browser_of(db, lead_id), library["intro"], 1, 45, 1.0), now=at(1.1))
    months_later = utcnow() + timedelta(days=150)
    ticks = iter(range(100))
    # No time left after the first batch: two now, the other three at the next call.
    assert leadstate.reevaluate_quiet(
        db, MODEL, now=months_later, limit=2, budget_seconds=0, clock=lambda: next(ticks)
    ) == 2  # fmt: skip
    assert leadstate.reevaluate_quiet(db, MODEL, now=months_later, limit=2) == 3
    with db.read() as session:
        stamps = set(session.scalars(select(Lead.engagement_as_of)))
    assert stamps == {months_later}
