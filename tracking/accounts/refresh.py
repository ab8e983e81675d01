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

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session

from content.orm import utcnow
from tracking.accounts import domains, membership
from tracking.accounts.account_score import AccountRules, Person, figures
from tracking.accounts.models import Account
from tracking.models import Lead

STALE_AFTER = timedelta(days=1)
"""Every account is recomputed at least this often (engagement fades without activity)."""
BATCH = 100
"""Accounts written in one short write transaction."""
MAX_REST = 0.1
"""The longest rest between two writes of one pass, in seconds."""
MAX_BATCHES = 200
"""A pass stops after this many batches (20,000 accounts) and goes on at the next one."""

Writer = Callable[[], AbstractContextManager[Session]]


def compute(
    session: Session, account_ids: Iterable[int], rules: AccountRules, now: datetime
) -> list[dict[str, Any]]:
    """These accounts' new figures from their people, as rows for ``write`` (reads only)."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return []
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
    computed = []
    accounts = session.execute(
        select(Account.id, Account.domain, Account.created_by, Account.name)
        .where(Account.id.in_(wanted))
        .order_by(Account.id)
    )
    for account_id, domain, created_by, name in accounts:
        found = figures(people.get(account_id, []), now, rules)
        if not created_by and domain:  # named after its people; a marketer's name stays
            name = (found.company or domains.name_from_domain(domain))[: membership.NAME_MAX]
        computed.append(
            {
                "id": account_id,
                "name": name,
                "people": found.people,
                "engagement": found.engagement,
                "engagement_as_of": now,
                "furthest_stage": found.furthest_stage,
                "common_stage": found.common_stage,
                "last_activity_at": found.last_activity_at,
                "updated_at": now,
            }
        )
    return computed


def write_figures(session: Session, computed: list[dict[str, Any]]) -> int:
    """Store figures ``compute`` made (one UPDATE by primary key for all of them)."""
    if computed:
        session.execute(update(Account), computed)
    return len(computed)


def refresh(
    session: Session, account_ids: Iterable[int], rules: AccountRules, now: datetime | None = None
) -> int:
    """Recompute these accounts' figures from their people in one transaction; returns how
    many were written."""
    return write_figures(session, compute(session, account_ids, rules, now or utcnow()))


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

    def run(
        self,
        write: Writer,
        rules: AccountRules,
        now: datetime | None = None,
        read: Writer | None = None,
    ) -> int:
        """One pass: place unplaced leads, then recompute stale accounts; returns the number
        of accounts written."""
        now = now or utcnow()
        read = read or write
        while True:
            with write() as session:
                seen, self.placed_up_to = membership.backfill(session, self.placed_up_to)
            if seen < membership.BACKFILL_BATCH:
                break
        # What to recompute and the figures are read outside any write transaction; each
        # write is one short UPDATE, so on SQLite ingestion never waits long for the lock.
        with read() as session:
            stale = stale_ids(session, now, self.since, BATCH * MAX_BATCHES)
        written = 0
        for start in range(0, len(stale), BATCH):
            with read() as session:
                computed = compute(session, stale[start : start + BATCH], rules, now)
            started = time.monotonic()
            with write() as session:
                written += write_figures(session, computed)
            # rest as long as the write held the lock: other writers (ingestion) get their turn
            time.sleep(min(time.monotonic() - started, MAX_REST))
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
