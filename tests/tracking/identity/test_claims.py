"""Claims on SQLite and PostgreSQL: a typed email of a known lead unlocks one asset for one
browser and changes nothing of the lead's until the "continue on this device" click."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select

from content.models import Asset
from content.orm import utcnow
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify as identification
from tracking.identity.claims import (
    Claimed,
    Continued,
    answers_to_apply,
    identify_or_claim,
    verify,
)
from tracking.identity.consent import ConsentText, consents
from tracking.identity.demo_requests import submit_demo_request
from tracking.identity.facts import Source, record_facts
from tracking.identity.forget import forget
from tracking.identity.gate_forms import gate_form, submit_gate
from tracking.identity.identify import Identification
from tracking.identity.unlocks import Unlocker, is_claimed, is_unlocked, unlocker
from tracking.identity.visitors import active_lead_id, new_visitor_id
from tracking.lead_profile import profile
from tracking.models import Event, IdentityClaim, Lead, Visitor
from tracking.pipeline.ingest import record
from tracking.rules.config import Model

MODEL = Model()
FORM = Source("form", "pricing-guide")
WORDING = ConsentText("2026-11", "Yes, email me new resources.")
ADA = "ada@example.com"


@pytest.mark.parametrize(
    ("known", "answers", "applied"),
    [
        ({}, {"company": "Acme"}, {"company": "Acme"}),
        ({"company": "Acme"}, {"company": "Evil Corp"}, {}),
        ({"company": "Acme"}, {"company": "Acme", "job_title": "CMO"}, {"job_title": "CMO"}),
        ({"company": ""}, {"company": "Acme"}, {"company": "Acme"}),  # empty is not known
        ({}, {"email": "eve@example.com", "first_name": "Eve"}, {"first_name": "Eve"}),
        ({}, {"phone": ""}, {}),
        ({"first_name": "Ada", "last_name": "Lovelace"}, {"first_name": "Eve"}, {}),
        ({}, {}, {}),
    ],
)
def test_a_claim_fills_in_only_what_the_lead_does_not_know(
    known: Mapping[str, str], answers: Mapping[str, str], applied: dict[str, str]
) -> None:
    assert answers_to_apply(known, answers) == applied


def a_lead(db: Database, email: str = ADA, **answers: str) -> Identification:
    with db.write() as session:
        return identification.identify(
            session, visitor_id=new_visitor_id(), email=email, answers=answers, consent=None,
            source=FORM,
        )  # fmt: skip


def claim(
    db: Database,
    visitor_id: str | None,
    asset: Asset | None,
    email: str = ADA,
    consent: ConsentText | None = None,
    **answers: str,
) -> Identification | Claimed:
    with db.write() as session:
        return identify_or_claim(
            session,
            visitor_id=visitor_id,
            email=email,
            answers=answers,
            consent=consent,
            source=FORM,
            now=utcnow(),
            model=MODEL,
            asset_id=asset.id if asset is not None else None,
        )


def click(db: Database, made: Claimed, visitor_id: str | None) -> Continued | None:
    with db.write() as session:
        return verify(
            session, made.claim_id, made.lead_id, visitor_id=visitor_id, now=utcnow(), model=MODEL
        )


def test_a_new_email_identifies_the_browser_as_before(db: Database) -> None:
    asset = make_asset(db, gate="gated")
    browser = new_visitor_id()
    made = claim(db, browser, asset, first_name="Ada")
    assert isinstance(made, Identification)
    assert made.created
    with db.read() as session:
        assert active_lead_id(session, made.visitor_id) == made.lead_id
        assert session.scalar(select(func.count()).select_from(IdentityClaim)) == 0


def test_the_browser_of_the_lead_speaks_for_it(db: Database) -> None:
    ada = a_lead(db, first_name="Ada")
    made = claim(db, ada.visitor_id, None, company="Acme")
    assert isinstance(made, Identification)
    with db.read() as session:
        assert profile(session, ada.lead_id) == {"first_name": "Ada", "company": "Acme"}


def test_another_browser_only_claims_and_the_lead_is_untouched(db: Database) -> None:
    asset = make_asset(db, gate="gated")
    ada = a_lead(db, first_name="Ada")
    phone = new_visitor_id()
    made = claim(db, phone, asset, consent=WORDING, first_name="Eve", company="Evil")
    assert isinstance(made, Claimed)
    assert (made.lead_id, made.visitor_id, made.fresh_visitor) == (ada.lead_id, phone, False)
    with db.read() as session:
        assert profile(session, ada.lead_id) == {"first_name": "Ada"}
        assert consents(session, ada.lead_id) == []
        assert active_lead_id(session, phone) is None  # still anonymous
        assert not is_unlocked(session, ada.lead_id, asset.id)
        assert is_claimed(session, phone, asset.id)
        assert unlocker(session, phone, asset.id) == Unlocker(visitor_id=phone)
        assert unlocker(session, new_visitor_id(), asset.id) is None
        stored = session.scalars(select(IdentityClaim)).one()
    assert stored.answers == {"first_name": "Eve", "company": "Evil"}
    assert stored.consent_ticked
    assert stored.verified_at is None


def test_a_browser_without_an_id_or_with_a_retired_one_gets_a_fresh_anonymous_id(
    db: Database,
) -> None:
    asset = make_asset(db, gate="gated")
    ada = a_lead(db)
    untracked = claim(db, None, asset)
    with db.write() as session:
        forget(session, ada.visitor_id)
    retired = claim(db, ada.visitor_id, asset)
    for made in (untracked, retired):
        assert isinstance(made, Claimed)
        assert made.fresh_visitor
        assert made.visitor_id != ada.visitor_id
        with db.read() as session:
            visitor = session.get(Visitor, made.visitor_id)
            assert visitor is not None
            assert visitor.lead_id is None


def test_asking_again_from_the_same_browser_keeps_one_claim(db: Database) -> None:
    asset = make_asset(db, gate="soft")
    a_lead(db)
    phone = new_visitor_id()
    first = claim(db, phone, asset, first_name="E")
    again = claim(db, phone, asset, consent=WORDING, last_name="M")
    assert isinstance(first, Claimed)
    assert isinstance(again, Claimed)
    assert again.claim_id == first.claim_id
    with db.read() as session:
        stored = session.scalars(select(IdentityClaim)).one()
    assert stored.answers == {"first_name": "E", "last_name": "M"}
    assert stored.consent_ticked


def test_two_browsers_typing_one_new_email_at_once_make_one_lead_and_one_claim(
    db: Database,
) -> None:
    asset = make_asset(db, gate="gated")
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def submit() -> None:
        barrier.wait()
        try:
            outcomes.append(claim(db, new_visitor_id(), asset, first_name="Ada"))
        except Exception as exc:  # collected and asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Claimed", "Identification"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1


def test_the_click_links_the_browser_stitches_its_reading_and_applies_the_claim(
    db: Database,
) -> None:
    asset = make_asset(db, gate="gated", language="de")
    ada = a_lead(db, first_name="Ada")
    phone = new_visitor_id()
    with db.write() as session:
        record(session, [events.AssetView(visitor_id=phone, asset_id=asset.id)])
    made = claim(db, phone, asset, consent=WORDING, first_name="Eve", company="Acme")
    assert isinstance(made, Claimed)

    done = click(db, made, phone)

    assert done is not None
    assert (done.lead_id, done.asset_id, done.first_unlock, done.first_click) == (
        ada.lead_id,
        asset.id,
        True,
        True,
    )
    with db.read() as session:
        assert active_lead_id(session, phone) is None  # the old id is retired...
        assert active_lead_id(session, done.visitor_id) == ada.lead_id  # ...for a fresh one
        owners = set(session.scalars(select(Event.lead_id).where(Event.visitor_id == phone)))
        assert owners == {ada.lead_id}  # its anonymous reading is Ada's now
        assert profile(session, ada.lead_id) == {"first_name": "Ada", "company": "Acme"}
        assert is_unlocked(session, ada.lead_id, asset.id)
        [asked] = consents(session, ada.lead_id)
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        assert lead.language == "de"  # the claimed asset's, as on a first form
        assert session.scalars(select(IdentityClaim)).one().verified_at is not None
    assert (asked.status, asked.source_ref) == ("pending", asset.slug)
    assert done.consent_to_confirm == asked.id


def test_a_second_click_links_its_browser_but_applies_nothing_again(db: Database) -> None:
    asset = make_asset(db, gate="gated")
    ada = a_lead(db)
    made = claim(db, new_visitor_id(), asset, consent=WORDING, company="Acme")
    assert isinstance(made, Claimed)
    first = click(db, made, made.visitor_id)
    with db.write() as session:  # Ada corrects her company in between
        record_facts(session, ada.lead_id, {"company": "Acme Group"}, FORM, utcnow())
    tablet = new_visitor_id()
    second = click(db, made, tablet)
    assert first is not None
    assert second is not None
    assert (second.first_click, second.first_unlock, second.consent_to_confirm) == (
        False,
        False,
        None,
    )
    with db.read() as session:
        assert active_lead_id(session, second.visitor_id) == ada.lead_id
        assert profile(session, ada.lead_id) == {"company": "Acme Group"}
        assert len(consents(session, ada.lead_id)) == 1


def test_a_click_for_another_lead_or_an_erased_claim_does_nothing(db: Database) -> None:
    asset = make_asset(db, gate="gated")
    a_lead(db)
    bob = a_lead(db, "bob@example.com")
    made = claim(db, new_visitor_id(), asset)
    assert isinstance(made, Claimed)
    forged = Claimed(made.claim_id, bob.lead_id, made.visitor_id, fresh_visitor=False)
    assert click(db, forged, new_visitor_id()) is None
    gone = Claimed(made.claim_id + 100, made.lead_id, made.visitor_id, fresh_visitor=False)
    assert click(db, gone, new_visitor_id()) is None
    with db.read() as session:
        assert session.scalars(select(IdentityClaim)).one().verified_at is None


def test_a_gate_submission_of_a_known_email_is_a_claim_with_anonymous_events(
    db: Database,
) -> None:
    asset = make_asset(db, gate="gated", slug="pricing-guide")
    ada = a_lead(db, first_name="Ada", last_name="Lovelace")
    phone = new_visitor_id()
    with db.write() as session:
        row = session.get(Asset, asset.id)
        assert row is not None
        result = submit_gate(
            session,
            row,
            phone,
            {"email": "ADA@example.com", "first_name": "Eve", "last_name": "M"},
            consent_ticked=True,
            model=MODEL,
        )
    assert result.accepted
    assert result.lead_id is None
    assert result.claim is not None
    assert result.visitor_id is None  # the browser keeps its (anonymous) id
    assert result.consent_to_confirm is None
    with db.read() as session:
        types = {
            e.type: (e.visitor_id, e.lead_id)
            for e in session.scalars(select(Event).where(Event.asset_id == asset.id))
        }
        row = session.get(Asset, asset.id)
        assert row is not None
        form = gate_form(session, row, phone, MODEL)
        assert profile(session, ada.lead_id) == {"first_name": "Ada", "last_name": "Lovelace"}
    assert types == {"form_submit": (phone, None), "unlock": (phone, None)}
    assert form.unlocked
    assert form.lead is None  # not greeted


def test_a_demo_request_of_a_known_email_reaches_sales_without_the_browser(
    db: Database,
) -> None:
    ada = a_lead(db, first_name="Ada")
    phone = new_visitor_id()
    with db.write() as session:
        result = submit_demo_request(
            session,
            phone,
            {"email": ADA, "first_name": "Eve", "last_name": "M", "company": "Acme"},
            consent_ticked=True,
            asset=None,
            model=MODEL,
        )
    assert result.lead_id == ada.lead_id
    assert result.claim is not None
    assert result.visitor_id is None
    with db.read() as session:
        lead = session.get(Lead, ada.lead_id)
        assert lead is not None
        assert lead.lifecycle == "sql"
        request = session.scalars(select(Event).where(Event.type == "demo_request")).one()
        assert (request.lead_id, request.visitor_id) == (ada.lead_id, None)
        assert active_lead_id(session, phone) is None
        assert profile(session, ada.lead_id) == {"first_name": "Ada"}
        assert consents(session, ada.lead_id) == []
        stored = session.scalars(select(IdentityClaim)).one()
    assert (stored.asset_id, stored.visitor_id, stored.consent_ticked) == (None, phone, True)
