"""Keeping the account rows current, so the account list and page read one row per account.

The account job (a singleton on the runner) makes a pass every half minute: it places
leads that have no account yet (an upgrade, leads written in bulk), then recomputes every
stale account: one a lead joined or left (``updated_at`` unset by
``tracking.accounts.membership``), one whose people were active or re-scored since the
last pass, and, once a day, every account, so fading engagement and stage moves without
activity (a lifecycle set by sales) reach the row. Figures come from the lead rows' stored
verdicts (``tracking.accounts.account_score``), never from the event log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from content.orm import utcnow
from tracking.accounts import domains, membership
from tracking.accounts.account_score import AccountRules, Person, figures
from tracking.accounts.models import Account
from tracking.models import Lead

STALE_AFTER = timedelta(days=1)
"""Every account is recomputed at least this often (engagement fades without activity)."""
BATCH = 500
MAX_BATCHES = 40
"""A pass stops after this many batches (20,000 accounts) and goes on at the next one."""

Writer = Callable[[], AbstractContextManager[Session]]


def refresh(
    session: Session, account_ids: Iterable[int], rules: AccountRules, now: datetime | None = None
) -> int:
    """Recompute these accounts' figures from their people; returns how many were written."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return 0
    now = now or utcnow()
    people: dict[int, list[Person]] = {}
    rows = session.execute(
        select(
            Lead.account_id,
            Lead.engagement,
            Lead.engagement_as_of,
            Lead.journey_stage,
            Lead.last_activity_at,
            Lead.company,
        ).where(Lead.account_id.in_(wanted))
    )
    for account_id, engagement, as_of, stage, active, company in rows:
        assert account_id is not None
        people.setdefault(account_id, []).append(Person(engagement, as_of, stage, active, company))
    accounts = session.scalars(
        select(Account).where(Account.id.in_(wanted)).order_by(Account.id).with_for_update()
    ).all()
    for account in accounts:
        found = figures(people.get(account.id, []), now, rules)
        account.people = found.people
        account.engagement = found.engagement
        account.engagement_as_of = now
        account.furthest_stage = found.furthest_stage
        account.common_stage = found.common_stage
        account.last_activity_at = found.last_activity_at
        account.updated_at = now
        if not account.created_by and account.domain:  # a marketer's name stays
            named = found.company or domains.name_from_domain(account.domain)
            account.name = named[: membership.NAME_MAX]
    session.flush()
    return len(accounts)


def stale_ids(
    session: Session, now: datetime, since: datetime | None, limit: int = BATCH
) -> list[int]:
    """Accounts to recompute in the pass that started at ``now`` (module docstring); with
    ``since`` (the previous pass's start) only their people's recent changes are looked up,
    without it every account's people are compared with its row."""
    not_this_pass = or_(Account.updated_at.is_(None), Account.updated_at < now)
    moved: ColumnElement[bool]
    if since is None:
        moved = exists(
            select(1).where(
                Lead.account_id == Account.id,
                or_(
                    Lead.last_activity_at > Account.updated_at,
                    Lead.engagement_as_of > Account.updated_at,
                ),
            )
        )
    else:
        moved = Account.id.in_(
            select(Lead.account_id).where(
                Lead.account_id.is_not(None),
                or_(Lead.last_activity_at > since, Lead.engagement_as_of > since),
            )
        )
    due = or_(Account.updated_at.is_(None), Account.updated_at < now - STALE_AFTER, moved)
    return list(
        session.scalars(
            select(Account.id).where(not_this_pass, due).order_by(Account.id).limit(limit)
        )
    )


@dataclass(slots=True)
class Keeper:
    """The account job's memory between passes (per process; a new process starts over)."""

    since: datetime | None = None
    """When the previous pass started."""
    placed_up_to: int = 0
    """Leads up to this id had their account looked for by this process."""

    def run(self, write: Writer, rules: AccountRules, now: datetime | None = None) -> int:
        """One pass: place unplaced leads, then recompute stale accounts; returns the number
        of accounts written."""
        now = now or utcnow()
        while True:
            with write() as session:
                seen, self.placed_up_to = membership.backfill(session, self.placed_up_to)
            if seen < membership.BACKFILL_BATCH:
                break
        written = 0
        for _ in range(MAX_BATCHES):
            with write() as session:
                batch = stale_ids(session, now, self.since)
                written += refresh(session, batch, rules, now)
            if len(batch) < BATCH:
                break
        self.since = now
        return written


def backfill_all(write: Writer, rules: AccountRules) -> tuple[int, int]:
    """Place every lead without an account and recompute every account (``leadshelf accounts
    backfill``, ``leadshelf demo``); returns (leads in an account, accounts)."""
    Keeper().run(write, rules)
    now = utcnow()
    after = 0
    while True:
        with write() as session:
            batch = list(
                session.scalars(
                    select(Account.id).where(Account.id > after).order_by(Account.id).limit(BATCH)
                )
            )
            refresh(session, batch, rules, now)
        if len(batch) < BATCH:
            break
        after = batch[-1]
    with write() as session:
        placed = session.scalar(
            select(func.count()).select_from(Lead).where(Lead.account_id.is_not(None))
        )
        accounts = session.scalar(select(func.count()).select_from(Account))
    return placed or 0, accounts or 0
