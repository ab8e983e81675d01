"""Identity on SQLite and PostgreSQL: leads, facts, consent, stitching and unlocks."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from content.orm import utcnow
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify as identification
from tracking.identity.consent import ConsentText, consents
from tracking.identity.facts import Source, record_facts
from tracking.identity.forget import forget
from tracking.identity.stitch import stitch
from tracking.identity.unlocks import is_unlocked, unlock, unlocked_stages
from tracking.identity.visitors import active_lead_id, ensure_visitor, new_visitor_id
from tracking.lead_profile import profile, profile_history
from tracking.models import Consent, Event, Lead, ProfileFact, Visitor
from tracking.pipeline.ingest import record

FORM = Source("form", "pricing-guide")
WORDING = ConsentText("2026-11", "Yes, email me new resources.")


def identify(db: Database, email: str, visitor_id: str | None = None, **answers: str):
    with db.write() as session:
        return identification.identify(
            session,
            visitor_id=visitor_id,
            email=email,
            answers=answers,
            consent=None,
            source=FORM,
        )


def test_twenty_concurrent_first_submissions_create_exactly_one_lead(db: Database) -> None:
    barrier = threading.Barrier(20)
    outcomes: list[object] = []

    def submit(n: int) -> None:
        barrier.wait()
        try:
            result = identify(db, "ada@example.com", new_visitor_id(), company=f"Firm {n}")
            outcomes.append(result.lead_id)
        except Exception as exc:  # collected and asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert len(set(outcomes)) == 1
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
        lead_id = session.scalar(select(Lead.id))
        current = session.scalars(
            select(ProfileFact).where(ProfileFact.superseded_at.is_(None))
        ).all()
        history = session.scalar(select(func.count()).select_from(ProfileFact))
        visitors = session.scalar(
            select(func.count()).select_from(Visitor).where(Visitor.lead_id == lead_id)
        )
    # One current company value; every other submission's value kept as history.
    assert len(current) == 1
    assert history == 20
    assert visitors == 40  # 20 browsers retired + 20 fresh ids, all the lead's


def test_new_value_wins_and_old_values_stay_with_their_provenance(db: Database) -> None:
    first = identify(db, "ada@example.com", company="Acme")
    with db.write() as session:
        changed = record_facts(
            session, first.lead_id, {"company": "Acme Group"}, Source("api", "crm"), utcnow()
        )
        unchanged = record_facts(
            session, first.lead_id, {"company": "Acme Group"}, Source("api", "crm"), utcnow()
        )
    assert changed == ("company",)
    assert unchanged == ()
    with db.read() as session:
        assert profile(session, first.lead_id) == {"company": "Acme Group"}
        history = profile_history(session, first.lead_id)
    assert [(f.value, f.source, f.source_ref) for f in history] == [
        ("Acme Group", "api", "crm"),
        ("Acme", "form", "pricing-guide"),
    ]
    assert history[0].superseded_at is None
    assert history[1].superseded_at is not None


def test_email_is_unique_after_normalization_by_the_caller(db: Database) -> None:
    a = identify(db, "ada@example.com")
    b = identify(db, "ada@example.com")
    assert a.lead_id == b.lead_id
    assert a.created
    assert not b.created


def test_consent_is_stored_with_text_version_time_and_source(db: Database) -> None:
    with db.write() as session:
        result = identification.identify(
            session,
            visitor_id=None,
            email="ada@example.com",
            answers={},
            consent=WORDING,
            source=FORM,
        )
    with db.read() as session:
        lead = session.get(Lead, result.lead_id)
        records = consents(session, result.lead_id)
    assert lead is not None
    # Double opt-in: asked, not subscribed until the confirmation link is clicked.
    assert not lead.marketing_consent
    assert lead.consent_status == "pending"
    assert [
        (c.granted, c.status, c.text_version, c.text, c.source, c.source_ref) for c in records
    ] == [(True, "pending", "2026-11", "Yes, email me new resources.", "form", "pricing-guide")]
    assert result.consent_to_confirm == records[0].id


def test_no_consent_is_recorded_when_the_box_is_not_ticked(db: Database) -> None:
    result = identify(db, "ada@example.com")
    with db.read() as session:
        lead = session.get(Lead, result.lead_id)
        assert lead is not None
        assert not lead.marketing_consent
        assert session.scalar(select(func.count()).select_from(Consent)) == 0


def _anonymous_events(db: Database, visitor_id: str, count: int) -> None:
    asset = make_asset(db)
    with db.write() as session:
        ensure_visitor(session, visitor_id)
        record(
            session,
            [events.AssetView(visitor_id=visitor_id, asset_id=asset.id) for _ in range(count)],
        )


def test_identification_stitches_anonymous_history_and_rotates_the_browser_id(
    db: Database,
) -> None:
    browser = new_visitor_id()
    _anonymous_events(db, browser, 3)
    result = identify(db, "ada@example.com", browser)
    assert result.visitor_id != browser
    with db.read() as session:
        owners = session.scalars(select(Event.lead_id).where(Event.visitor_id == browser)).all()
        assert owners == [result.lead_id] * 3
        # The old id is retired: it no longer speaks for the lead; the new one does.
        assert active_lead_id(session, browser) is None
        assert active_lead_id(session, result.visitor_id) == result.lead_id


def test_stitching_twice_changes_nothing(db: Database) -> None:
    browser = new_visitor_id()
    _anonymous_events(db, browser, 2)
    result = identify(db, "ada@example.com", browser)
    with db.write() as session:
        assert stitch(session, browser, result.lead_id) == 0
        other = identification.get_or_create_lead(session, "bob@example.com", utcnow())[0]
        assert stitch(session, browser, other.id) == 0
    with db.read() as session:
        owners = set(session.scalars(select(Event.lead_id)))
    assert owners == {result.lead_id}


def test_a_browser_of_lead_a_submitting_as_b_belongs_to_b_and_a_keeps_its_history(
    db: Database,
) -> None:
    browser = new_visitor_id()
    _anonymous_events(db, browser, 2)
    ada = identify(db, "ada@example.com", browser)
    with db.write() as session:
        record(session, [events.CtaClick(visitor_id=ada.visitor_id, lead_id=ada.lead_id)])
    bob = identify(db, "bob@example.com", ada.visitor_id)
    with db.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.lead_id == ada.lead_id)
            )
            == 3
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.lead_id == bob.lead_id)
            )
            == 0
        )
        assert active_lead_id(session, ada.visitor_id) is None
        assert active_lead_id(session, bob.visitor_id) == bob.lead_id
        assert session.scalar(select(func.count()).select_from(Lead)) == 2


def test_forget_retires_the_browser_id_but_keeps_the_history(db: Database) -> None:
    ada = identify(db, "ada@example.com")
    with db.write() as session:
        forget(session, ada.visitor_id)
    with db.read() as session:
        assert identification.known_lead(session, ada.visitor_id) is None
        visitor = session.get(Visitor, ada.visitor_id)
        assert visitor is not None
        assert visitor.lead_id == ada.lead_id


def test_unlock_is_per_lead_and_idempotent(db: Database) -> None:
    asset = make_asset(db, gate="gated")
    ada = identify(db, "ada@example.com")
    bob = identify(db, "bob@example.com")
    with db.write() as session:
        assert unlock(session, ada.lead_id, asset.id) is True
        assert unlock(session, ada.lead_id, asset.id) is False
    with db.read() as session:
        assert is_unlocked(session, ada.lead_id, asset.id)
        assert not is_unlocked(session, bob.lead_id, asset.id)
        assert unlocked_stages(session, ada.lead_id) == ["awareness"]


def test_known_lead_reads_the_profile_of_the_browser_lead(db: Database) -> None:
    ada = identify(db, "ada@example.com", first_name="Ada", company="Acme")
    with db.read() as session:
        lead = identification.known_lead(session, ada.visitor_id)
        assert identification.known_lead(session, new_visitor_id()) is None
        assert identification.known_lead(session, None) is None
    assert lead is not None
    assert lead.first_name == "Ada"
    assert lead.known_fields == {"email", "first_name", "company"}


@pytest.mark.parametrize("days", [0, 30])
def test_events_keep_their_time(db: Database, days: int) -> None:
    at = utcnow() - timedelta(days=days)
    with db.write() as session:
        record(session, [events.CtaClick(visitor_id="v", occurred_at=at, target="demo")])
    with db.read() as session:
        event = session.scalars(select(Event)).one()
    assert abs((event.occurred_at - at).total_seconds()) < 1
    assert event.properties == {"target": "demo"}


def test_rate_limit_counts_per_key_and_window_and_prunes_old_windows(db: Database) -> None:
    from portal import ratelimit

    limit = ratelimit.Limit(hits=2, seconds=60)
    with db.write() as session:
        verdicts = [ratelimit.hit(session, "gate:1.2.3.4", limit, now=120.0) for _ in range(3)]
        other = ratelimit.hit(session, "gate:5.6.7.8", limit, now=120.0)
        next_window = ratelimit.hit(session, "gate:1.2.3.4", limit, now=181.0)
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].retry_after == 60
    assert other.allowed
    assert next_window.allowed
    with db.write() as session:
        assert ratelimit.prune(session, now=120.0 + ratelimit.KEEP_SECONDS + 1) == 2
