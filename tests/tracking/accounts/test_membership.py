"""Accounts from company domains (free-mail and disposable addresses excluded), accounts made
and filled by hand, merges and erasures, and the account job's figures, on both backends."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from content.orm import utcnow
from portal.db import Database
from tracking.accounts import membership
from tracking.accounts.account_score import AccountRules
from tracking.accounts.membership import AccountRefused
from tracking.accounts.models import Account
from tracking.accounts.refresh import Keeper, backfill_all, refresh
from tracking.identity import identify as identification
from tracking.identity.event_import import parse_events, resolve
from tracking.identity.facts import Source
from tracking.identity.leadadmin import erase, merge
from tracking.models import Lead
from tracking.rules.config import Model

MODEL = Model()
RULES = AccountRules(MODEL.scoring.half_life_days, MODEL.stages, MODEL.scoring.engagement_bands[0])
FORM = Source("form", "pricing-guide")


def identify(db: Database, email: str, **answers: str) -> int:
    with db.write() as session:
        return identification.identify(
            session, visitor_id=None, email=email, answers=answers, consent=None, source=FORM
        ).lead_id


def lead(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        session.expunge(found)
        return found


def account(db: Database, account_id: int | None) -> Account:
    assert account_id is not None
    with db.read() as session:
        found = session.get(Account, account_id)
        assert found is not None
        session.expunge(found)
        return found


def accounts(db: Database) -> dict[str | None, int]:
    """Every account's domain (or name, for one without) and its head count as stored."""
    with db.read() as session:
        return {a.domain or a.name: a.people for a in session.scalars(select(Account))}


def refresh_all(db: Database, now: datetime | None = None) -> None:
    with db.write() as session:
        refresh(session, session.scalars(select(Account.id)).all(), RULES, now)


def test_leads_of_one_company_share_an_account_and_free_mail_makes_none(db: Database) -> None:
    ada = identify(db, "ada@pipewise.example", company="Pipewise GmbH")
    bo = identify(db, "bo@mail.pipewise.example", company="Pipewise GmbH")
    cy = identify(db, "cy@pipewise.example", company="Pipewise")
    gmail = identify(db, "dee@gmail.com", company="Pipewise GmbH")
    throwaway = identify(db, "ed@mailinator.com")
    other = identify(db, "fay@northwind.example")

    assert lead(db, ada).account_id == lead(db, bo).account_id == lead(db, cy).account_id
    assert lead(db, other).account_id not in (None, lead(db, ada).account_id)
    assert lead(db, gmail).account_id is None
    assert lead(db, throwaway).account_id is None
    assert (lead(db, gmail).free_mail, lead(db, throwaway).free_mail) == (True, True)
    assert lead(db, ada).free_mail is False
    # counted as they join, before the account job has run
    assert accounts(db) == {"pipewise.example": 3, "northwind.example": 1}
    assert account(db, lead(db, ada).account_id).name == "Pipewise"  # from the domain

    refresh_all(db)
    # named after the company most of its people gave
    assert account(db, lead(db, ada).account_id).name == "Pipewise GmbH"
    assert account(db, lead(db, other).account_id).name == "Northwind"


def test_imported_events_put_new_leads_in_their_accounts(db: Database) -> None:
    now = utcnow()
    body = {
        "events": [
            {"email": "gus@acme.example", "type": "page_view"},
            {"email": "hal@acme.example", "type": "page_view"},
            {"email": "ida@web.de", "type": "page_view"},
        ]
    }
    with db.write() as session:
        resolve(session, parse_events(body, now), now)
    with db.read() as session:
        placed = dict(session.execute(select(Lead.email, Lead.account_id)).all())
    assert placed["gus@acme.example"] == placed["hal@acme.example"] is not None
    assert placed["ida@web.de"] is None


def test_first_leads_of_a_company_arriving_at_once_make_one_account(db: Database) -> None:
    barrier = threading.Barrier(8)
    failures: list[Exception] = []

    def submit(n: int) -> None:
        barrier.wait()
        try:
            identify(db, f"person{n}@initech.example")
        except Exception as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert accounts(db) == {"initech.example": 8}


def test_a_marketer_makes_an_account_and_assigns_leads_that_then_stay(db: Database) -> None:
    gmail = identify(db, "jo@gmail.com")
    acme = identify(db, "kim@acme.example")
    with db.write() as session:
        made = membership.create(session, "Globex (holding)", "", by="mia@leadshelf.example")
        made_id = made.id
        membership.assign(session, made_id, [gmail, acme])
    assert lead(db, gmail).account_id == lead(db, acme).account_id == made_id
    assert lead(db, acme).account_by_hand is True
    assert accounts(db) == {"acme.example": 0, "Globex (holding)": 2}

    # a lead placed by hand is not moved by its domain
    with db.write() as session:
        membership.note_email(session, session.get(Lead, acme))
        membership.backfill(session)
    assert lead(db, acme).account_id == made_id

    with db.write() as session:
        membership.remove(session, gmail)
        membership.by_domain_again(session, acme)
    assert lead(db, gmail).account_id is None
    assert lead(db, gmail).account_by_hand is True  # kept out until handed back
    assert lead(db, acme).account_id == account_id_of(db, "acme.example")
    assert accounts(db) == {"acme.example": 1, "Globex (holding)": 0}


def account_id_of(db: Database, domain: str) -> int:
    with db.read() as session:
        found = session.scalar(select(Account.id).where(Account.domain == domain))
        assert found is not None
        return found


def test_an_account_made_with_a_domain_takes_in_that_domains_leads(db: Database) -> None:
    with db.write() as session:
        membership.create(session, "Umbrella Corp", "https://www.Umbrella.example/about", by="m")
    first = identify(db, "lu@eu.umbrella.example")
    made = account(db, lead(db, first).account_id)
    assert (made.domain, made.name) == ("umbrella.example", "Umbrella Corp")
    refresh_all(db)
    assert account(db, made.id).name == "Umbrella Corp"  # a marketer's name stays


@pytest.mark.parametrize(
    ("name", "domain", "message"),
    [
        ("", "acme.example", "Give the account a name."),
        ("X" * 201, "", "Keep the name to 200 characters or fewer."),
        ("Mine", "gmail.com", "gmail.com is a free-mail provider: it names no company."),
        ("Mine", "yopmail.com", "yopmail.com hands out throw-away addresses"),
        ("Mine", "not a domain", "Enter a domain like pipewise.example, or leave it empty."),
        ("Mine", "pipewise.example", "pipewise.example is already the domain of the account"),
    ],
)
def test_a_wrong_account_is_refused_with_the_reason(
    db: Database, name: str, domain: str, message: str
) -> None:
    identify(db, "max@pipewise.example")
    with db.write() as session, pytest.raises(AccountRefused, match=message.replace("(", r"\(")):
        membership.create(session, name, domain, by="m")
    assert set(accounts(db)) == {"pipewise.example"}


def test_merging_and_erasing_keep_head_counts_right(db: Database) -> None:
    ned = identify(db, "ned@hooli.example")
    oli = identify(db, "oli@hooli.example")
    pat = identify(db, "pat@gmail.com")
    with db.write() as session:
        made = membership.create(session, "Hooli XYZ", "", by="m").id
        membership.assign(session, made, [oli])
    with db.write() as session:
        # pat has no account: it takes the one a marketer put the duplicate in
        merge(session, pat, oli, MODEL, actor="m", reason="same person")
    assert lead(db, pat).account_id == made
    assert accounts(db) == {"hooli.example": 1, "Hooli XYZ": 1}
    with db.write() as session:
        erase(session, ned)
    assert accounts(db) == {"hooli.example": 0, "Hooli XYZ": 1}


def test_the_account_job_recomputes_what_changed_and_places_old_leads(db: Database) -> None:
    quinn = identify(db, "quinn@stark.example")
    rae = identify(db, "rae@stark.example")
    now = utcnow()
    with db.write() as session:
        # a lead written before accounts existed (an upgrade): no account yet
        session.add(Lead(email="sam@stark.example", created_at=now, last_activity_at=now))
        session.execute(
            update(Lead)
            .where(Lead.id == quinn)
            .values(engagement=40.0, engagement_as_of=now, journey_stage="decision")
        )
        session.execute(
            update(Lead).where(Lead.id == rae).values(engagement=10.0, engagement_as_of=now)
        )
    keeper = Keeper()
    written = keeper.run(db.write, RULES, now)
    stark = account(db, lead(db, quinn).account_id)
    assert written == 1
    assert stark.people == 3
    assert stark.engagement == 25 + 10 / 2  # capped at 25, then weighted 1, 1/2, 1/3 (0)
    assert (stark.furthest_stage, stark.common_stage) == ("decision", "awareness")
    # nothing changed: the next pass writes nothing
    assert keeper.run(db.write, RULES, now + timedelta(minutes=1)) == 0
    # a person re-scored after that pass: the account is recomputed
    later = now + timedelta(minutes=2)
    with db.write() as session:
        session.execute(
            update(Lead).where(Lead.id == rae).values(engagement=30.0, engagement_as_of=later)
        )
    assert keeper.run(db.write, RULES, later + timedelta(seconds=1)) == 1
    assert account(db, stark.id).engagement == 25 + 25 / 2


def test_the_backfill_places_every_lead_and_counts_every_account(db: Database) -> None:
    now = utcnow()
    with db.write() as session:
        for email in ("a@wayne.example", "b@wayne.example", "c@gmx.de", "d@lex.example"):
            session.add(Lead(email=email, created_at=now, last_activity_at=now))
    placed, made = backfill_all(db.write, RULES)
    assert (placed, made) == (3, 2)
    assert accounts(db) == {"wayne.example": 2, "lex.example": 1}
    with db.read() as session:
        assert session.scalar(select(func.count()).where(Lead.free_mail.is_(True))) == 1
