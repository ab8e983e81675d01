"""Visits and identity on SQLite and PostgreSQL: a browser's anonymous visits become its lead's
when it identifies (a form, the "continue on this device" link), its visit goes on under its
fresh id, and a merged lead keeps the earliest first visit and the newest latest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.db import Database
from tracking import events
from tracking.identity import identify
from tracking.identity.claims import Claimed, identify_or_claim, verify
from tracking.identity.facts import Source
from tracking.identity.leadadmin import merge
from tracking.models import Lead
from tracking.pipeline.ingest import store
from tracking.rules.config import Model
from tracking.sources.arrivals import arrival
from tracking.sources.models import Visit

MODEL = Model()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FORM = Source("form", "pricing-guide")
LINKEDIN = "/library?utm_source=linkedin&utm_medium=social&utm_campaign=spring"
NEWSLETTER = "/library?utm_source=newsletter&utm_medium=email&utm_campaign=march"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def pages(db: Database, visitor: str, *views: tuple[float, str]) -> None:
    """Page views of one browser at these minutes, each its own batch."""
    for minutes, url in views:
        with db.write() as session:
            store(
                session,
                [[events.PageView(visitor_id=visitor, path="/", arrival=arrival(url, None))]],
                now=at(minutes),
            )


def identify_at(db: Database, visitor: str, email: str, minutes: float) -> identify.Identification:
    with db.write() as session:
        return identify.identify(
            session,
            visitor_id=visitor,
            email=email,
            answers={},
            consent=None,
            source=FORM,
            now=at(minutes),
        )


def visits(db: Database) -> list[Visit]:
    with db.read() as session:
        return list(session.scalars(select(Visit).order_by(Visit.started_at)))


def first_and_latest(db: Database, lead_id: int) -> tuple[int | None, int | None]:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead.first_visit_id, lead.latest_visit_id


def campaigns(db: Database, ids: Sequence[int | None]) -> list[str]:
    by_id = {v.id: v.campaign for v in visits(db)}
    return [by_id[i] for i in ids if i is not None]


def test_identifying_gives_the_browsers_visits_to_the_lead(db: Database) -> None:
    pages(db, "anon", (0, LINKEDIN), (60, NEWSLETTER))
    found = identify_at(db, "anon", "ada@example.com", 65)
    assert {v.lead_id for v in visits(db)} == {found.lead_id}
    assert campaigns(db, first_and_latest(db, found.lead_id)) == ["spring", "march"]


def test_the_visit_goes_on_under_the_fresh_id(db: Database) -> None:
    pages(db, "anon", (0, LINKEDIN))
    found = identify_at(db, "anon", "ada@example.com", 3)
    pages(db, found.visitor_id, (8, "/library/guide"))
    (visit,) = visits(db)  # the page after the form is no new, direct visit
    assert visit.lead_id == found.lead_id
    pages(db, found.visitor_id, (50, "/library"))  # 42 quiet minutes later: a new visit
    assert first_and_latest(db, found.lead_id) == tuple(v.id for v in visits(db))
    assert visits(db)[1].lead_id == found.lead_id


def test_a_browser_of_another_lead_keeps_its_visits_with_that_lead(db: Database) -> None:
    pages(db, "anon", (0, LINKEDIN))
    ada = identify_at(db, "anon", "ada@example.com", 1)
    grace = identify_at(db, ada.visitor_id, "grace@example.com", 2)  # the browser types B
    assert {v.lead_id for v in visits(db)} == {ada.lead_id}
    assert first_and_latest(db, grace.lead_id) == (None, None)
    pages(db, grace.visitor_id, (3, "/library"))  # B's browser starts its own visit
    assert visits(db)[-1].lead_id == grace.lead_id
    assert first_and_latest(db, grace.lead_id) == (visits(db)[-1].id,) * 2


def test_the_continue_link_stitches_the_second_devices_visits(db: Database) -> None:
    pages(db, "laptop", (0, LINKEDIN))
    ada = identify_at(db, "laptop", "ada@example.com", 5)
    pages(db, "phone", (2, NEWSLETTER))  # the phone came from the newsletter meanwhile
    with db.write() as session:
        made = identify_or_claim(
            session,
            visitor_id="phone",
            email="ada@example.com",
            answers={},
            consent=None,
            source=FORM,
            now=at(6),
            model=MODEL,
            asset_id=None,
        )
    assert isinstance(made, Claimed)
    assert first_and_latest(db, ada.lead_id) == (visits(db)[0].id,) * 2  # a claim proves nothing
    with db.write() as session:
        verify(session, made.claim_id, ada.lead_id, visitor_id="phone", now=at(7), model=MODEL)
    assert {v.lead_id for v in visits(db)} == {ada.lead_id}
    assert campaigns(db, first_and_latest(db, ada.lead_id)) == ["spring", "march"]


def test_a_merge_keeps_the_earliest_first_and_the_newest_latest(db: Database) -> None:
    pages(db, "a1", (10, LINKEDIN))
    ada = identify_at(db, "a1", "ada@example.com", 11)
    pages(db, "b1", (0, "/?utm_source=google&utm_medium=cpc&utm_campaign=brand"))
    pages(db, "b1", (90, NEWSLETTER))
    other = identify_at(db, "b1", "ada.lovelace@example.com", 91)
    pages(db, ada.visitor_id, (60, "/?utm_source=xing&utm_medium=social&utm_campaign=may"))
    with db.write() as session:
        merge(session, ada.lead_id, other.lead_id, MODEL, actor="erin", reason="same person")
    assert {v.lead_id for v in visits(db)} == {ada.lead_id}
    assert campaigns(db, first_and_latest(db, ada.lead_id)) == ["brand", "march"]
