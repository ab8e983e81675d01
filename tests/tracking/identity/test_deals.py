"""Deals from the CRM on SQLite and PostgreSQL: kept by external id, and the lifecycle moves
they make (an opportunity, a customer, back to nurturing some time after a lost deal unless
another deal holds the lead), each logged with its funnel milestone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.db import Database
from tracking.accounts.models import Account
from tracking.deals.models import Deal
from tracking.identity import deals
from tracking.identity.deals import DealNotFound, DealPost, Posted
from tracking.identity.identify import get_or_create_lead
from tracking.models import FunnelMilestone, Lead, LeadChange
from tracking.pipeline import leadstate
from tracking.reporting.deals import deals_of_account, deals_of_lead
from tracking.rules.config import Model
from tracking.rules.deals import DealRefused
from tracking.rules.scoring import Lifecycle

MODEL = Model()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECYCLE_AFTER = timedelta(days=30)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def make_lead(db: Database, email: str = "ada@example.com", lifecycle: str = "lead") -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, T0)
        lead.lifecycle = lifecycle
        return lead.id


def post(db: Database, when: datetime, **fields: Any) -> Posted:
    values: dict[str, Any] = {
        "external_id": "D-1",
        "name": "Analytical Engines, 40 seats",
        "amount_minor": 1_200_050,
        "currency": "EUR",
        "stage": "open",
    }
    with db.write() as session:
        posted = deals.post(session, DealPost(**(values | fields)), MODEL, RECYCLE_AFTER, when)
        session.expunge(posted.deal)
        return posted


def lead_of(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        session.expunge(lead)
        return lead


def lifecycle_log(db: Database, lead_id: int) -> list[tuple[str | None, str, str]]:
    with db.read() as session:
        return [
            (change.old, change.new, change.reason)
            for change in session.scalars(
                select(LeadChange)
                .where(LeadChange.lead_id == lead_id, LeadChange.kind == "lifecycle")
                .order_by(LeadChange.seq)
            )
        ]


def milestones(db: Database, lead_id: int) -> list[tuple[str, datetime]]:
    with db.read() as session:
        return [
            (row.kind, row.at)
            for row in session.scalars(
                select(FunnelMilestone)
                .where(FunnelMilestone.lead_id == lead_id, FunnelMilestone.kind != "created")
                .order_by(FunnelMilestone.id)
            )
        ]


def test_an_open_deal_makes_its_lead_an_opportunity_with_the_milestone(db: Database) -> None:
    ada = make_lead(db, lifecycle="sql")

    posted = post(db, at(1), lead_id=ada)

    assert (posted.created, posted.changed, posted.previous_stage) == (True, True, None)
    assert posted.deal.lead_id == ada
    assert posted.deal.amount_minor == 1_200_050
    assert lead_of(db, ada).lifecycle == "opportunity"
    assert lifecycle_log(db, ada) == [("sql", "opportunity", "deal D-1 opened")]
    assert milestones(db, ada) == [("opportunity", at(1))]


def test_a_won_deal_makes_a_customer_through_the_opportunity(db: Database) -> None:
    ada = make_lead(db, lifecycle="mql")

    post(db, at(1), lead_id=ada, stage="won", closed_at=at(1))

    assert lead_of(db, ada).lifecycle == "customer"
    assert lifecycle_log(db, ada) == [
        ("mql", "opportunity", "deal D-1 won"),
        ("opportunity", "customer", "deal D-1 won"),
    ]
    assert milestones(db, ada) == [("opportunity", at(1)), ("customer", at(1))]
    assert lead_of(db, ada).journey_stage == "customer"  # re-evaluated after the move


def test_the_deal_is_logged_before_the_moves_it_makes_and_points_at_the_deal(
    db: Database,
) -> None:
    ada = make_lead(db)
    first = post(db, at(1), lead_id=ada)
    post(db, at(2), lead_id=ada, stage="won", amount_minor=1_500_000)

    with db.read() as session:
        log = [
            (change.kind, change.old, change.new, change.reason)
            for change in session.scalars(
                select(LeadChange)
                .where(LeadChange.lead_id == ada, LeadChange.kind.in_(("deal", "lifecycle")))
                .order_by(LeadChange.seq)
            )
        ]
    deal_id = str(first.deal.id)
    assert log == [
        ("deal", None, deal_id, "deal D-1 open: Analytical Engines, 40 seats (EUR 12,000.50)"),
        ("lifecycle", "lead", "opportunity", "deal D-1 opened"),
        ("deal", "open", deal_id, "deal D-1 won: Analytical Engines, 40 seats (EUR 15,000.00)"),
        ("lifecycle", "opportunity", "customer", "deal D-1 won"),
    ]


def test_the_same_external_id_updates_and_an_identical_repeat_changes_nothing(
    db: Database,
) -> None:
    ada = make_lead(db)
    first = post(db, at(1), lead_id=ada)
    again = post(db, at(2), lead_id=ada)
    updated = post(db, at(3), lead_id=ada, name="Analytical Engines, 60 seats")

    assert (again.created, again.changed) == (False, False)
    assert again.deal.id == first.deal.id
    assert again.deal.updated_at == at(1)
    assert (updated.created, updated.changed, updated.previous_stage) == (False, True, "open")
    assert updated.deal.updated_at == at(3)
    with db.read() as session:
        assert len(session.scalars(select(Deal)).all()) == 1
        entries = session.scalars(select(LeadChange.kind).where(LeadChange.kind == "deal")).all()
    assert len(entries) == 2  # created and renamed; the repeat logged nothing
    assert lifecycle_log(db, ada) == [("lead", "opportunity", "deal D-1 opened")]


def test_a_closed_deal_is_closed_now_unless_told_and_keeps_that_time_on_repeats(
    db: Database,
) -> None:
    ada = make_lead(db)
    won = post(db, at(1), lead_id=ada, stage="won")
    repeat = post(db, at(5), lead_id=ada, stage="won")
    backdated = post(db, at(6), external_id="D-2", lead_id=ada, stage="won", closed_at=at(-3))

    assert won.deal.closed_at == at(1)
    assert won.deal.created_at == at(1)
    assert repeat.changed is False
    assert repeat.deal.closed_at == at(1)
    # created no later than it closed, when the CRM does not say
    assert (backdated.deal.created_at, backdated.deal.closed_at) == (at(-3), at(-3))


def test_fields_that_do_not_fit_together_are_refused(db: Database) -> None:
    ada = make_lead(db)
    for fields, field in [
        ({"lead_id": ada, "closed_at": at(1)}, "closed_at"),  # open deals have none
        ({"lead_id": ada, "stage": "won", "created_at": at(2), "closed_at": at(1)}, "closed_at"),
        ({"lead_id": ada, "email": "ada@example.com"}, "lead"),
        ({}, "lead"),
        ({"email": "not an address"}, "email"),
    ]:
        with pytest.raises(DealRefused) as refused:
            post(db, at(3), **fields)
        assert refused.value.field == field
    with db.read() as session:
        assert session.scalars(select(Deal)).all() == []


def test_deals_name_known_leads_and_accounts_only(db: Database) -> None:
    make_lead(db)
    for fields, message in [
        ({"lead_id": 999}, "no lead 999"),
        ({"lead_id": 2**40}, f"no lead {2**40}"),
        ({"email": "bo@example.com"}, "no lead with the address bo@example.com"),
        ({"account_id": 7}, "no account 7"),
    ]:
        with pytest.raises(DealNotFound, match=message):
            post(db, at(1), **fields)
    with db.read() as session:
        assert session.scalars(select(Lead.email)).all() == ["ada@example.com"]


def test_a_deal_for_a_lead_takes_its_account_and_one_for_an_account_needs_no_lead(
    db: Database,
) -> None:
    ada = make_lead(db)
    with db.write() as session:
        engines, other = Account(domain="engines.example"), Account(name="Difference Ltd")
        session.add_all([engines, other])
        session.flush()
        session.get_one(Lead, ada).account_id = engines.id
        engines_id, other_id = engines.id, other.id

    by_email = post(db, at(1), email="ADA@example.com")
    chosen = post(db, at(1), external_id="D-2", lead_id=ada, account_id=other_id)
    account_only = post(db, at(1), external_id="D-3", account_id=other_id)

    assert (by_email.deal.lead_id, by_email.deal.account_id) == (ada, engines_id)
    assert (chosen.deal.lead_id, chosen.deal.account_id) == (ada, other_id)
    assert (account_only.deal.lead_id, account_only.deal.account_id) == (None, other_id)


def test_a_lost_deal_sends_its_lead_back_to_nurturing_after_the_delay(db: Database) -> None:
    ada = make_lead(db, lifecycle="sql")
    lost = post(db, at(1), lead_id=ada, stage="lost", closed_at=at(1))

    assert lead_of(db, ada).lifecycle == "opportunity"
    assert lost.deal.recycle_at == at(31)
    assert deals.recycle_due(db, MODEL, now=at(30)) == 0
    assert lead_of(db, ada).lifecycle == "opportunity"

    assert deals.recycle_due(db, MODEL, now=at(31)) == 1

    assert lead_of(db, ada).lifecycle == "recycled"
    assert lifecycle_log(db, ada)[-1] == (
        "opportunity",
        "recycled",
        "deal D-1 lost on 2026-03-03: back to nurturing",
    )
    assert deals.recycle_due(db, MODEL, now=at(40)) == 0  # done once
    with db.read() as session:
        assert session.scalars(select(Deal.recycle_at)).one() is None
    post(db, at(41), lead_id=ada, stage="lost", closed_at=at(1), name="Renamed")
    assert deals.recycle_due(db, MODEL, now=at(42)) == 0  # an edit does not recycle again


def test_another_open_or_won_deal_keeps_the_lead(db: Database) -> None:
    ada = make_lead(db, lifecycle="sql")
    bo = make_lead(db, "bo@example.com", lifecycle="sql")
    post(db, at(1), lead_id=ada, stage="lost", closed_at=at(1))
    post(db, at(10), external_id="D-2", lead_id=ada, stage="open")
    post(db, at(1), external_id="D-3", lead_id=bo, stage="lost", closed_at=at(1))
    post(db, at(2), external_id="D-4", lead_id=bo, stage="won", closed_at=at(2))

    assert deals.recycle_due(db, MODEL, now=at(31)) == 0

    assert lead_of(db, ada).lifecycle == "opportunity"
    assert lead_of(db, bo).lifecycle == "customer"
    with db.read() as session:
        assert session.scalars(select(Deal.recycle_at)).all() == [None] * 4


def test_a_deal_reopened_before_the_delay_is_over_keeps_the_lead(db: Database) -> None:
    ada = make_lead(db, lifecycle="sql")
    post(db, at(1), lead_id=ada, stage="lost", closed_at=at(1))
    reopened = post(db, at(5), lead_id=ada, stage="open")

    assert reopened.deal.recycle_at is None
    assert reopened.deal.closed_at is None
    assert deals.recycle_due(db, MODEL, now=at(60)) == 0
    assert lead_of(db, ada).lifecycle == "opportunity"


def test_a_customer_stays_a_customer_when_a_deal_is_lost(db: Database) -> None:
    ada = make_lead(db, lifecycle="customer")
    post(db, at(1), lead_id=ada, stage="lost", closed_at=at(1))

    assert deals.recycle_due(db, MODEL, now=at(31)) == 0
    assert lead_of(db, ada).lifecycle == "customer"
    assert lifecycle_log(db, ada) == []


def test_a_lead_moved_back_by_sales_meanwhile_is_left_alone(db: Database) -> None:
    ada = make_lead(db, lifecycle="sql")
    post(db, at(1), lead_id=ada, stage="lost", closed_at=at(1))
    with db.write() as session:
        lead = session.get_one(Lead, ada)
        leadstate.set_lifecycle(session, lead, Lifecycle.RECYCLED, "no budget", at(2))

    assert deals.recycle_due(db, MODEL, now=at(31)) == 0
    assert [new for _, new, _ in lifecycle_log(db, ada)] == ["opportunity", "recycled"]


def test_an_accounts_deals_are_its_own_and_its_peoples(db: Database) -> None:
    ada = make_lead(db)
    with db.write() as session:
        account = Account(name="Difference Ltd")
        session.add(account)
        session.flush()
        account_id = account.id
    post(db, at(1), external_id="D-1", lead_id=ada, account_id=account_id)
    post(db, at(2), external_id="D-2", account_id=account_id)
    post(db, at(3), external_id="D-3", lead_id=ada)  # the lead's own account, not this one

    with db.read() as session:
        found = deals_of_account(session, account_id)
        of_lead = deals_of_lead(session, ada)
    assert [(row.external_id, row.lead_email) for row in found] == [
        ("D-2", None),
        ("D-1", "ada@example.com"),
    ]
    assert [row.external_id for row in of_lead] == ["D-3", "D-1"]
    assert found[0].amount == "EUR 12,000.50"
