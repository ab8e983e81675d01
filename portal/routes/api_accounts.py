"""Accounts in the JSON API: the filtered list and one account with its people. Both read the
account rows the account job keeps (``tracking.accounts``); engagement is decayed to now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter, QueryParameter
from sqlalchemy import select

from content.orm import utcnow
from portal.db import Database
from portal.routes.api_common import (
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    error_responses,
    in_row_range,
)
from tracking.accounts import listing
from tracking.accounts.account_score import decayed
from tracking.accounts.models import Account
from tracking.rules.config import Model

AccountId = Annotated[int, Parameter(description="An account's `id` (no account: 404).")]


class AccountRead(msgspec.Struct):
    """An account (company): by email domain, or made by a marketer (``domain`` may be null).
    ``engagement_score`` is its people's decayed engagement, each capped and weighted less for
    every extra person; ``stage`` the furthest journey stage of its people, ``common_stage``
    the most common; ``people`` how many leads it has."""

    id: str
    domain: str | None
    name: str
    engagement_score: float
    stage: str
    common_stage: str
    people: int
    last_activity: datetime | None
    created_at: datetime


class PersonRead(msgspec.Struct):
    """One lead of the account (its buying committee), with its own stage and scores."""

    id: str
    email: str
    name: str
    job_title: str
    journey_stage: str
    grade: str
    lifecycle: str
    engagement_score: float
    last_activity: datetime
    placed_by_hand: bool


class AccountDetailRead(AccountRead):
    """An account with its people (at most 500, the most engaged first)."""

    leads: list[PersonRead]


class AccountList(msgspec.Struct):
    items: list[AccountRead]
    next_cursor: str | None


def _read(account: Account, model: Model, now: datetime) -> AccountRead:
    half_life = model.scoring.half_life_days
    return AccountRead(
        id=str(account.id),
        domain=account.domain,
        name=account.name,
        engagement_score=round(
            decayed(account.engagement, account.engagement_as_of, now, half_life), 2
        ),
        stage=account.furthest_stage,
        common_stage=account.common_stage,
        people=account.people,
        last_activity=account.last_activity_at,
        created_at=account.created_at,
    )


@get("/accounts", sync_to_thread=True, summary="Accounts, filtered", responses=error_responses())
def list_accounts(
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    q: Annotated[
        str | None,
        QueryParameter(max_length=200, description="Part of the account's name or domain."),
    ] = None,
    domain: Annotated[
        str | None, QueryParameter(max_length=253, description="The account of this domain.")
    ] = None,
    stage: Annotated[
        str | None, QueryParameter(description="Accounts whose furthest stage is this.")
    ] = None,
    min_people: Annotated[
        int, QueryParameter(ge=0, le=1_000_000, description="At least this many people.")
    ] = 0,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AccountList:
    """Accounts in the order they were made; filters combine; ``next_cursor`` pages on."""
    query = listing.filtered(
        select(Account).where(Account.id > decode_cursor(cursor)),
        (q or "").strip(),
        stage or "",
        min_people or None,
    )
    if domain:
        query = query.where(Account.domain == domain.strip().lower())
    now = utcnow()
    with database.read() as session:
        found = list(session.scalars(query.order_by(Account.id).limit(limit + 1)))
        items = [_read(account, model, now) for account in found[:limit]]
    following = encode_cursor(found[limit - 1].id) if len(found) > limit else None
    return AccountList(items=items, next_cursor=following)


@get(
    "/accounts/{account_id:int}",
    sync_to_thread=True,
    summary="One account with its people",
    responses=error_responses(404),
)
def get_account(
    account_id: AccountId, database: NamedDependency[Database], model: NamedDependency[Model]
) -> AccountDetailRead:
    """The account, its figures as they stand now and its people."""
    now = utcnow()
    half_life = model.scoring.half_life_days
    with database.read() as session:
        account = session.get(Account, account_id) if in_row_range(account_id) else None
        if account is None:
            raise NotFoundException(f"no account {account_id}")
        people = listing.people_of(session, account_id)
        base = msgspec.structs.asdict(_read(account, model, now))
    return AccountDetailRead(
        **base,
        leads=[
            PersonRead(
                id=str(person.lead_id),
                email=person.email,
                name=person.name,
                job_title=person.job_title,
                journey_stage=person.stage,
                grade=person.grade,
                lifecycle=person.lifecycle,
                engagement_score=round(
                    decayed(person.engagement, person.engagement_as_of, now, half_life), 2
                ),
                last_activity=person.last_activity_at,
                placed_by_hand=person.by_hand,
            )
            for person in people
        ],
    )


ROUTES = [list_accounts, get_account]
