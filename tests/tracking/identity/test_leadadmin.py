"""Merging and erasing leads on SQLite and PostgreSQL: a merge keeps everything of both under
the survivor and logs it; erasing removes the person and keeps the behaviour anonymous."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import consent as consenting
from tracking.identity import identify as identification
from tracking.identity import unlocks
from tracking.identity.consent import ConsentText, consents
from tracking.identity.facts import Source
from tracking.identity.leadadmin import MergeRefused, erase, merge
from tracking.lead_profile import profile, profile_history
from tracking.models import (
    AssetDaily,
    AssetEngagement,
    Consent,
    Event,
    Lead,
    LeadChange,
    ProfileFact,
    Unlock,
    Visitor,
)
from tracking.pipeline.ingest import record
from tracking.pipeline.rollups import refresh_lead_stats
from tracking.reporting import lead_pages
from tracking.reporting.analytics import Period, asset_figures
from tracking.reporting.leadlist import LeadFilter
from tracking.rules import scoring
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState

MODEL = Model()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MERGED_AT = T0 + timedelta(days=7)
V1 = ConsentText("v1", "Yes, send me news.")
V2 = ConsentText("v2", "Yes, send me news (new wording).")


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@dataclass
class Person:
    lead_id: int
    browser: str  # the browser's current (fresh) visitor id


def identify(db: Database, browser: str, email: str, day: float, **answers: str) -> Person:
    with db.write() as session:
        found = identification.identify(
            session,
            visitor_id=browser,
            email=email,
            answers=answers,
            consent=None,
            source=Source("form", "scoring-guide"),
            now=at(day),
            model=MODEL,
        )
    return Person(found.lead_id, found.visitor_id)


def ingest(db: Database, day: float, *tracked: events.TrackedEvent) -> None:
    with db.write() as session:
        record(session, tracked, now=at(day), model=MODEL)


def reading(visitor: str, asset: Asset, day: float, depth: float) -> list[events.TrackedEvent]:
    return [
        events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at(day)),
        events.ReadProgress(
            visitor_id=visitor, asset_id=asset.id, seconds=40, depth=depth, occurred_at=at(day)
        ),
    ]


def consent(db: Database, lead_id: int, granted: bool, wording: ConsentText, day: float) -> None:
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        source = Source("form", "x")
        if not granted:
            consenting.withdraw(session, lead, source=source, now=at(day), wording=wording)
            return
        asked = consenting.ask(session, lead, wording, source=source, now=at(day))
        assert asked is not None
        assert consenting.confirm(session, lead_id, asked.id, now=at(day)) == "confirmed"


def unlock(db: Database, lead_id: int, asset: Asset, day: float) -> None:
    with db.write() as session:
        unlocks.unlock(session, lead_id, asset.id, at(day))


@pytest.fixture
def library(db: Database) -> dict[str, Asset]:
    return {
        "intro": make_asset(db, slug="intro", stage="awareness"),
        "guide": make_asset(db, slug="guide", stage="consideration", kind="whitepaper"),
        "pricing": make_asset(db, slug="pricing", stage="decision"),
    }


@dataclass
class Pair:
    survivor: Person
    duplicate: Person
    before: dict[str, Any]


def counted(db: Database, lead_id: int) -> dict[str, Any]:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None

        def rows(model: Any) -> int:
            total = session.scalar(
                select(func.count()).select_from(model).where(model.lead_id == lead_id)
            )
            return int(total or 0)

        return {
            "visitors": rows(Visitor),
            "events": rows(Event),
            "engagement": rows(AssetEngagement),
            "facts": rows(ProfileFact),
            "consents": rows(Consent),
            "journey": JourneyState.from_json(lead.journey),
            "created_at": lead.created_at,
            "last_activity_at": lead.last_activity_at,
        }


@pytest.fixture
def pair(db: Database, library: dict[str, Asset]) -> Pair:
    """Ada signed up at home first (the duplicate), later at work (the survivor)."""
    intro, guide, pricing = library["intro"], library["guide"], library["pricing"]
    ingest(db, 0, *reading("home-anon", intro, 0, 1.0))
    home = identify(db, "home-anon", "ada@home.example", 0.1, first_name="Adeline",
                    last_name="Lovelace", timeframe="0-3m")  # fmt: skip
    ingest(db, 1, *reading(home.browser, guide, 1, 0.5))
    ingest(db, 6, events.Search(visitor_id=home.browser, query="pricing", results=1,
                                occurred_at=at(6)))  # fmt: skip
    consent(db, home.lead_id, True, V1, 0.1)
    consent(db, home.lead_id, False, V2, 5)  # withdrawn later: the newest decision
    unlock(db, home.lead_id, guide, 1)
    unlock(db, home.lead_id, intro, 0.1)

    ingest(db, 2, *reading("work-anon", pricing, 2, 0.95))
    work = identify(db, "work-anon", "ada@work.example", 2.1, first_name="Ada", company="Acme")
    ingest(db, 3, *reading(work.browser, guide, 3, 0.9))
    consent(db, work.lead_id, True, V1, 2.1)
    unlock(db, work.lead_id, guide, 3)
    unlock(db, work.lead_id, pricing, 2.1)
    before = {"survivor": counted(db, work.lead_id), "duplicate": counted(db, home.lead_id)}
    return Pair(work, home, before)


def do_merge(db: Database, pair: Pair, reason: str = "same person, two addresses") -> None:
    with db.write() as session:
        merge(
            session,
            pair.survivor.lead_id,
            pair.duplicate.lead_id,
            MODEL,
            actor="mia@example.com",
            reason=reason,
            now=MERGED_AT,
        )


def test_merge_deletes_the_duplicate_and_moves_its_devices_events_and_aggregates(
    db: Database, pair: Pair
) -> None:
    do_merge(db, pair)
    after = counted(db, pair.survivor.lead_id)
    survivor, duplicate = pair.before["survivor"], pair.before["duplicate"]
    for key in ("visitors", "events", "engagement", "facts", "consents"):
        assert after[key] == survivor[key] + duplicate[key], key
    assert duplicate["events"] > 0
    with db.read() as session:
        assert session.get(Lead, pair.duplicate.lead_id) is None
        for model in (Visitor, Event, AssetEngagement, ProfileFact, Consent, Unlock):
            left = session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.lead_id == pair.duplicate.lead_id)
            )
            assert left == 0, model.__name__
        # The duplicate's current browser now speaks for the survivor.
        known = identification.known_lead(session, pair.duplicate.browser)
        assert known is not None
        assert known.id == pair.survivor.lead_id


def test_merge_keeps_each_unlock_once(db: Database, pair: Pair, library: dict[str, Asset]) -> None:
    do_merge(db, pair)
    with db.read() as session:
        unlocks = session.scalars(
            select(Unlock).where(Unlock.lead_id == pair.survivor.lead_id)
        ).all()
    by_asset = {u.asset_id: u.unlocked_at for u in unlocks}
    assert len(unlocks) == 3
    assert by_asset == {
        library["intro"].id: at(0.1),  # the duplicate's
        library["guide"].id: at(3),  # both had it: the survivor's stays
        library["pricing"].id: at(2.1),
    }


def test_merge_keeps_both_profile_histories_and_the_survivors_current_values_win(
    db: Database, pair: Pair
) -> None:
    do_merge(db, pair)
    with db.read() as session:
        current = profile(session, pair.survivor.lead_id)
        history = profile_history(session, pair.survivor.lead_id)
        lead = session.get(Lead, pair.survivor.lead_id)
        assert lead is not None
    assert current == {
        "first_name": "Ada",  # the survivor's
        "company": "Acme",
        "last_name": "Lovelace",  # gaps filled by the duplicate's
        "timeframe": "0-3m",
    }
    values = {(f.field, f.value): f.superseded_at for f in history}
    assert values[("first_name", "Adeline")] == MERGED_AT  # kept as history
    assert values[("first_name", "Ada")] is None
    assert len(history) == 5
    assert {f.source_ref for f in history} == {"scoring-guide"}  # provenance kept
    assert (lead.name, lead.company) == ("Ada Lovelace", "Acme")


def found(db: Database, query: str) -> set[int]:
    """The ids of the leads the console's lead search finds."""
    with db.read() as session:
        return {lead.id for lead in lead_pages.page(session, LeadFilter(q=query)).leads}


def test_the_lead_search_finds_the_merged_lead_by_its_new_name(db: Database, pair: Pair) -> None:
    survivor, duplicate = pair.survivor.lead_id, pair.duplicate.lead_id
    assert found(db, "lovelace") == {duplicate}
    do_merge(db, pair)
    assert found(db, "LOVELACE") == {survivor}  # the duplicate's last name filled the gap
    assert found(db, "ada@home") == set()  # the duplicate's row is gone
    assert found(db, "ada@work") == {survivor}
    with db.read() as session:
        lead = session.get(Lead, survivor)
        assert lead is not None
        assert lead.search_text == "ada@work.example\nada lovelace\nacme"


def test_the_lead_search_forgets_an_erased_lead(db: Database, pair: Pair) -> None:
    assert found(db, "adeline") == {pair.duplicate.lead_id}
    with db.write() as session:
        erase(session, pair.duplicate.lead_id, now=at(9))
    assert found(db, "adeline") == set()
    assert found(db, "ada@home") == set()
    assert found(db, "ada@") == {pair.survivor.lead_id}
    with db.read() as session:
        texts = session.scalars(select(Lead.search_text)).all()
    assert not [t for t in texts if "adeline" in t or "home" in t]


def test_merge_keeps_every_consent_record_and_the_newer_decision_stands(
    db: Database, pair: Pair
) -> None:
    do_merge(db, pair)
    with db.read() as session:
        records = consents(session, pair.survivor.lead_id)
        lead = session.get(Lead, pair.survivor.lead_id)
        assert lead is not None
    assert [(c.granted, c.text_version, c.recorded_at) for c in records] == [
        (False, "v2", at(5)),
        (True, "v1", at(2.1)),
        (True, "v1", at(0.1)),
    ]
    assert (lead.marketing_consent, lead.marketing_consent_at) == (False, at(5))


def test_the_survivors_newer_consent_decision_stands(db: Database, pair: Pair) -> None:
    consent(db, pair.survivor.lead_id, False, V2, 5.5)
    consent(db, pair.survivor.lead_id, True, V2, 6)
    do_merge(db, pair)
    with db.read() as session:
        lead = session.get(Lead, pair.survivor.lead_id)
        assert lead is not None
    assert (lead.marketing_consent, lead.marketing_consent_at) == (True, at(6))


def test_a_duplicate_that_never_decided_leaves_the_survivors_consent(db: Database) -> None:
    work = identify(db, "work-anon", "ada@work.example", 1)
    home = identify(db, "home-anon", "ada@home.example", 2)
    consent(db, work.lead_id, True, V1, 1)
    do_merge(db, Pair(work, home, {}))
    with db.read() as session:
        lead = session.get(Lead, work.lead_id)
        assert lead is not None
    assert (lead.marketing_consent, lead.marketing_consent_at) == (True, at(1))


def test_merge_joins_the_journey_states_and_spans_both_leads_activity(
    db: Database, pair: Pair, library: dict[str, Asset]
) -> None:
    do_merge(db, pair)
    survivor, duplicate = pair.before["survivor"], pair.before["duplicate"]
    after = counted(db, pair.survivor.lead_id)
    state: JourneyState = after["journey"]
    mine: JourneyState = survivor["journey"]
    theirs: JourneyState = duplicate["journey"]
    assert set(state.assets) == set(mine.assets) | set(theirs.assets)
    assert set(state.assets) == {a.id for a in library.values()}
    assert state.counts == {
        kind: mine.counts.get(kind, 0) + theirs.counts.get(kind, 0)
        for kind in set(mine.counts) | set(theirs.counts)
    }
    assert state.engagement.as_of == max(mine.engagement.as_of, theirs.engagement.as_of)  # type: ignore[type-var]
    assert after["created_at"] == duplicate["created_at"] == at(0.1)
    assert after["last_activity_at"] == duplicate["last_activity_at"] == at(6)


def test_merge_logs_who_merged_what_and_why_and_re_evaluates_the_survivor(
    db: Database, pair: Pair
) -> None:
    do_merge(db, pair, reason="same person, two addresses")
    with db.read() as session:
        merged = session.scalars(select(LeadChange).where(LeadChange.kind == "merged")).one()
        lead = session.get(Lead, pair.survivor.lead_id)
        assert lead is not None
        answers = profile(session, lead.id)
    assert merged.lead_id == pair.survivor.lead_id
    assert (merged.at, merged.old, merged.new) == (
        MERGED_AT,
        None,
        f"lead {pair.duplicate.lead_id}",
    )
    assert merged.reason == (
        "ada@home.example merged in by mia@example.com: same person, two addresses"
    )
    # The duplicate's answers now count for the survivor's fit (its timeframe).
    assert lead.fit_score == scoring.fit(answers, MODEL.scoring).score
    assert lead.fit_score > 0
    assert lead.engagement_as_of == MERGED_AT


def test_a_long_merge_reason_is_cut_to_fit_the_log(db: Database, pair: Pair) -> None:
    do_merge(db, pair, reason="x" * 5000)
    with db.read() as session:
        merged = session.scalars(select(LeadChange).where(LeadChange.kind == "merged")).one()
    assert len(merged.reason) == 1000


def test_merge_refuses_a_lead_into_itself(db: Database, pair: Pair) -> None:
    with pytest.raises(MergeRefused, match="cannot be merged into itself"), db.write() as session:
        merge(session, pair.survivor.lead_id, pair.survivor.lead_id, MODEL, actor="m", reason="r")
    assert counted(db, pair.survivor.lead_id)["events"] == pair.before["survivor"]["events"]


@pytest.mark.parametrize("missing", ["survivor", "duplicate"])
def test_merge_refuses_a_lead_that_no_longer_exists(db: Database, pair: Pair, missing: str) -> None:
    ids = {"survivor": pair.survivor.lead_id, "duplicate": pair.duplicate.lead_id}
    ids[missing] = 999_999
    with pytest.raises(MergeRefused, match="no longer exists"), db.write() as session:
        merge(session, ids["survivor"], ids["duplicate"], MODEL, actor="m", reason="r")
    # Nothing moved.
    assert counted(db, pair.survivor.lead_id)["events"] == pair.before["survivor"]["events"]
    assert counted(db, pair.duplicate.lead_id)["events"] == pair.before["duplicate"]["events"]


def test_later_events_of_the_duplicates_browser_go_to_the_survivor(
    db: Database, pair: Pair, library: dict[str, Asset]
) -> None:
    do_merge(db, pair)
    ingest(db, 8, *reading(pair.duplicate.browser, library["pricing"], 8, 0.3))
    with db.read() as session:
        latest = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert latest is not None
        assert latest.lead_id == pair.survivor.lead_id


# erase


def asset_state(db: Database) -> tuple[Any, ...]:
    with db.read() as session:
        daily = sorted(
            (r.asset_id, r.day, r.views, r.readers, r.completions, r.engaged_seconds, r.unlocks)
            for r in session.scalars(select(AssetDaily))
        )
        engagement = sorted(
            (r.visitor_id, r.asset_id, r.engaged_seconds, r.max_depth, r.views, r.first_at)
            for r in session.scalars(select(AssetEngagement))
        )
        figures = asset_figures(session, Period(at(-1).date(), at(10).date()))
        total_events = session.scalar(select(func.count()).select_from(Event))
    return daily, engagement, figures, total_events


def test_erase_removes_the_person_and_keeps_the_behaviour_anonymous(
    db: Database, pair: Pair
) -> None:
    with db.write() as session:
        refresh_lead_stats(session, now=at(7))
    analytics_before = asset_state(db)
    gone, kept = pair.duplicate.lead_id, pair.survivor.lead_id
    with db.read() as session:
        event_ids = set(session.scalars(select(Event.id).where(Event.lead_id == gone)))
        visitor_ids = set(session.scalars(select(Visitor.id).where(Visitor.lead_id == gone)))
    assert event_ids
    assert len(visitor_ids) == 2  # the anonymous browser it was identified on, and the fresh one
    erased_at = at(9)
    with db.write() as session:
        assert erase(session, gone, now=erased_at) is True
    with db.read() as session:
        assert session.get(Lead, gone) is None
        assert session.scalar(select(Lead.id).where(Lead.email == "ada@home.example")) is None
        for model in (ProfileFact, Consent, Unlock, LeadChange, Event, AssetEngagement, Visitor):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.lead_id == gone)
            )
            assert left == 0, model.__name__
        # Its events are still there, with no lead.
        kept_events = session.scalars(select(Event).where(Event.id.in_(event_ids))).all()
        assert len(kept_events) == len(event_ids)
        assert {e.lead_id for e in kept_events} == {None}
        # Its browsers are retired and belong to no one.
        browsers = session.scalars(select(Visitor).where(Visitor.id.in_(visitor_ids))).all()
        assert {(v.lead_id, v.retired_at) for v in browsers} == {(None, erased_at)}
        assert identification.known_lead(session, pair.duplicate.browser) is None
    # Asset analytics are unchanged (roll-ups, aggregates, lead figures until the next refresh).
    assert asset_state(db) == analytics_before
    # The other lead is untouched.
    assert counted(db, kept) == pair.before["survivor"]


def test_erase_leaves_the_lead_figures_without_the_erased_lead_on_refresh(
    db: Database, pair: Pair, library: dict[str, Asset]
) -> None:
    with db.write() as session:
        erase(session, pair.duplicate.lead_id, now=at(9))
        refresh_lead_stats(session, now=at(9))
    with db.read() as session:
        figures = {f.slug: f for f in asset_figures(session, Period(at(-1).date(), at(10).date()))}
    assert figures["intro"].leads_influenced == 0  # only the erased lead read it
    assert figures["guide"].leads_influenced == 1


def test_an_erased_persons_browser_is_never_linked_again(
    db: Database, pair: Pair, library: dict[str, Asset]
) -> None:
    with db.write() as session:
        erase(session, pair.duplicate.lead_id, now=at(9))
    # The same browser later reads and signs up with another address: it starts afresh.
    ingest(db, 10, *reading(pair.duplicate.browser, library["pricing"], 10, 0.2))
    with db.read() as session:
        latest = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert latest is not None
        assert latest.lead_id is None
    again = identify(db, pair.duplicate.browser, "ada@new.example", 10.5)
    with db.read() as session:
        moved = session.scalar(
            select(func.count()).select_from(Event).where(Event.lead_id == again.lead_id)
        )
    assert moved == 0


def test_erasing_a_missing_lead_says_so(db: Database) -> None:
    with db.write() as session:
        assert erase(session, 999_999) is False
