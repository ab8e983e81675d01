"""The account list (filters, sort, pages) and one account's page: what the console and the
API read. Both read the account rows the account job keeps (``tracking.accounts.refresh``)
and, for one account, its people, their reading (``asset_engagement``) and its deals; never
the event log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from content.models import Asset
from content.words import N_, Said
from tracking.accounts.models import Account
from tracking.deals.models import Deal
from tracking.models import AssetEngagement, Lead, ProfileFact
from tracking.sources.models import Visit

PER_PAGE = 50
COUNT_CAP = 10_000
TOP_CONTENT = 10
PEOPLE_SHOWN = 500
"""The API's account detail lists at most this many people, most engaged first."""
PEOPLE_PER_PAGE = 50
"""The account page shows its people this many at a time (the committee summary counts all)."""


class Sort(StrEnum):
    ENGAGEMENT = "engagement"
    PEOPLE = "people"
    LAST_ACTIVITY = "last_activity"
    NAME = "name"


SORT_COLUMNS = {
    Sort.ENGAGEMENT: Account.engagement,
    Sort.PEOPLE: Account.people,
    Sort.LAST_ACTIVITY: Account.last_activity_at,
    Sort.NAME: Account.name,
}
DESCENDING_FIRST = {Sort.ENGAGEMENT, Sort.PEOPLE, Sort.LAST_ACTIVITY}


class BadFilter(ValueError):
    """A filter value that cannot be understood; the message (a ``Said``: ``str()`` is its
    English) names it."""


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """One view of the account list; every field round-trips through the query string."""

    q: str = ""
    """Part of the name or the domain."""
    stage: str = ""
    """The account's furthest stage."""
    min_people: int | None = None
    sort: Sort = Sort.ENGAGEMENT
    descending: bool = True
    page: int = 1

    def query_items(self, **changes: Any) -> list[tuple[str, str]]:
        """The filter as query-string pairs (defaults left out), with ``changes`` applied."""
        view = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        for item in fields(view):
            value = getattr(view, item.name)
            if item.name == "descending":
                if value != (view.sort in DESCENDING_FIRST):
                    pairs.append(("order", "desc" if value else "asc"))
            elif value != item.default and value not in ("", None):
                pairs.append((item.name, str(value)))
        return pairs


def whole(label: str | Said, raw: str, low: int, high: int) -> int:
    """``raw`` as a whole number within [low, high]; BadFilter naming ``label`` otherwise."""
    try:
        value = int(raw)
    except ValueError:
        raise BadFilter(
            Said(N_("%(label)s must be a whole number, not '%(value)s'"), label=label,
                 value=raw[:40])
        ) from None  # fmt: skip
    return max(low, min(value, high))


def parse_filter(params: Mapping[str, str], stages: Sequence[str]) -> AccountFilter:
    """An ``AccountFilter`` from query parameters; unknown values raise ``BadFilter``."""
    stage = (params.get("stage") or "").strip()
    if stage and stage not in stages:
        raise BadFilter(Said(N_("unknown stage '%(value)s'"), value=stage[:40]))
    raw_people = (params.get("min_people") or "").strip()
    sort = params.get("sort") or Sort.ENGAGEMENT.value
    if sort not in Sort.__members__.values():
        raise BadFilter(Said(N_("cannot sort by '%(value)s'"), value=sort[:40]))
    order = params.get("order")
    return AccountFilter(
        q=(params.get("q") or "").strip()[:200],
        stage=stage,
        min_people=whole(Said(N_("People at least")), raw_people, 0, 1_000_000)
        if raw_people
        else None,
        sort=Sort(sort),
        descending=order != "asc" if order else Sort(sort) in DESCENDING_FIRST,
        page=whole(Said(N_("Page")), (params.get("page") or "1").strip(), 1, 100_000),
    )


def filtered(
    query: Select[Any], q: str = "", stage: str = "", min_people: int | None = None
) -> Select[Any]:
    """The account query narrowed by a name/domain search, furthest stage and head count."""
    if q:
        needle = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(Account.name).like(f"%{needle}%", escape="\\"),
                Account.domain.like(f"%{needle}%", escape="\\"),
            )
        )
    if stage:
        query = query.where(Account.furthest_stage == stage)
    if min_people is not None:
        query = query.where(Account.people >= min_people)
    return query


@dataclass(frozen=True, slots=True)
class AccountPage:
    view: AccountFilter
    accounts: list[Account]
    total: int
    """Matching accounts, counted up to ``COUNT_CAP`` (then "10,000 or more")."""
    capped: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


def page(session: Session, view: AccountFilter) -> AccountPage:
    """One page of the account list as the filter asks."""
    base = filtered(select(Account), view.q, view.stage, view.min_people)
    column = SORT_COLUMNS[view.sort]
    ordered = column.desc() if view.descending else column.asc()
    tie = Account.id.desc() if view.descending else Account.id.asc()
    order: list[ColumnElement[Any]] = [ordered, tie]
    if view.sort is Sort.LAST_ACTIVITY:  # accounts nobody was active in yet go last either way
        order.insert(0, column.is_(None))
    accounts = list(
        session.scalars(base.order_by(*order).offset((view.page - 1) * PER_PAGE).limit(PER_PAGE))
    )
    counted = session.scalar(
        select(func.count()).select_from(
            filtered(select(Account.id), view.q, view.stage, view.min_people)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
    )
    total = counted or 0
    return AccountPage(view, accounts, min(total, COUNT_CAP), total > COUNT_CAP)


@dataclass(frozen=True, slots=True)
class PersonRow:
    """One person of the buying committee."""

    lead_id: int
    email: str
    name: str
    job_title: str
    stage: str
    grade: str
    lifecycle: str
    engagement: float
    engagement_as_of: datetime | None
    last_activity_at: datetime
    by_hand: bool
    free_mail: bool
    source: str = ""
    """Where the lead first came from (its first visit's source / medium), "" if unknown."""


@dataclass(frozen=True, slots=True)
class ContentRow:
    """An asset the account's people read: how many of them, how long, how often."""

    slug: str
    title: str
    kind: str
    stage: str
    readers: int
    engaged_seconds: float
    views: int
    downloads: int


@dataclass(frozen=True, slots=True)
class Seat:
    """Everyone of the account with one job title in one stage: the committee summary's unit
    (personas come from the title, so the caller maps them with its personas)."""

    job_title: str
    stage: str
    people: int


@dataclass(frozen=True, slots=True)
class AccountView:
    account: Account
    people: list[PersonRow]
    top_content: list[ContentRow]
    deals: list[Deal] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    """Every person counted by job title and stage (all of them, whatever page is shown)."""
    people_page: int = 1

    @property
    def headcount(self) -> int:
        """Everyone in the account now (the account row's count waits for the account job)."""
        return sum(seat.people for seat in self.seats)

    @property
    def people_pages(self) -> int:
        return max(1, -(-self.headcount // PEOPLE_PER_PAGE))

    @property
    def first_shown(self) -> int:
        """The position (from 1) of the first person on this page, 0 when nobody is."""
        return (self.people_page - 1) * PEOPLE_PER_PAGE + 1 if self.people else 0


def seats_of(session: Session, account_id: int) -> list[Seat]:
    """The account's people counted by current job title and journey stage: one grouped
    statement, so a committee of hundreds is summed by the database, not listed."""
    title = aliased(ProfileFact)
    headcount = func.count(Lead.id)
    rows = session.execute(
        select(title.value, Lead.journey_stage, headcount)
        .outerjoin(
            title,
            (title.lead_id == Lead.id)
            & (title.field == "job_title")
            & title.superseded_at.is_(None),
        )
        .where(Lead.account_id == account_id)
        .group_by(title.value, Lead.journey_stage)
    )
    return [Seat(job_title or "", stage, int(n)) for job_title, stage, n in rows]


def people_of(
    session: Session, account_id: int, limit: int = PEOPLE_SHOWN, offset: int = 0
) -> list[PersonRow]:
    """The account's people, most engaged first (as of their last evaluation): one statement
    with their current job title and first visit, reading only the columns shown (a whole
    lead row decodes its journey state and other JSON, the most of the page's time at
    hundreds of people)."""
    title = aliased(ProfileFact)
    rows = session.execute(
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            title.value,
            Lead.journey_stage,
            Lead.grade,
            Lead.lifecycle,
            Lead.engagement,
            Lead.engagement_as_of,
            Lead.last_activity_at,
            Lead.account_by_hand,
            Lead.free_mail,
            Visit.source,
            Visit.medium,
        )
        .outerjoin(
            title,
            (title.lead_id == Lead.id)
            & (title.field == "job_title")
            & title.superseded_at.is_(None),
        )
        .outerjoin(Visit, Visit.id == Lead.first_visit_id)
        .where(Lead.account_id == account_id)
        .order_by(Lead.engagement.desc(), Lead.id.desc())  # ix_lead_account_engagement backwards
        .offset(offset)
        .limit(limit)
    )
    return [
        PersonRow(
            lead_id=lead_id,
            email=email,
            name=name,
            job_title=job_title or "",
            stage=stage,
            grade=grade,
            lifecycle=lifecycle,
            engagement=engagement,
            engagement_as_of=as_of,
            last_activity_at=active,
            by_hand=by_hand,
            free_mail=free_mail,
            source=" / ".join(part for part in (source, medium) if part),
        )
        for (lead_id, email, name, job_title, stage, grade, lifecycle, engagement, as_of, active,
             by_hand, free_mail, source, medium) in rows
    ]  # fmt: skip


def top_content(session: Session, account_id: int, limit: int = TOP_CONTENT) -> list[ContentRow]:
    """The assets the account's people read most (engaged time, then readers)."""
    readers = func.count(func.distinct(AssetEngagement.lead_id))
    seconds = func.sum(AssetEngagement.engaged_seconds)
    rows = session.execute(
        select(
            Asset.slug,
            Asset.title,
            Asset.kind,
            Asset.stage,
            readers,
            seconds,
            func.sum(AssetEngagement.views),
            func.sum(AssetEngagement.downloads),
        )
        .join(Lead, Lead.id == AssetEngagement.lead_id)
        .join(Asset, Asset.id == AssetEngagement.asset_id)
        .where(Lead.account_id == account_id)
        .group_by(Asset.id, Asset.slug, Asset.title, Asset.kind, Asset.stage)
        .order_by(seconds.desc(), readers.desc(), Asset.slug)
        .limit(limit)
    )
    return [
        ContentRow(slug, title, kind, stage, int(n), float(s or 0), int(v or 0), int(d or 0))
        for slug, title, kind, stage, n, s, v, d in rows
    ]


def deals_of(session: Session, account_id: int) -> list[Deal]:
    """The account's deals: posted for the account, or for one of its people."""
    return list(
        session.scalars(
            select(Deal)
            .where(
                or_(
                    Deal.account_id == account_id,
                    Deal.lead_id.in_(select(Lead.id).where(Lead.account_id == account_id)),
                )
            )
            .order_by(Deal.created_at.desc(), Deal.id.desc())
        )
    )


def account_view(session: Session, account_id: int, people_page: int = 1) -> AccountView | None:
    """Everything the account page shows, with one page of its people (most engaged first),
    or None when there is no such account."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    return AccountView(
        account=account,
        people=people_of(session, account_id, PEOPLE_PER_PAGE, (people_page - 1) * PEOPLE_PER_PAGE),
        top_content=top_content(session, account_id),
        deals=deals_of(session, account_id),
        seats=seats_of(session, account_id),
        people_page=people_page,
    )


def find(session: Session, typed: str) -> list[Account]:
    """Accounts a marketer means by what they typed: the domain, the exact name (any case),
    or ``#id``; more than one when several share the name."""
    wanted = " ".join(typed.split())
    if not wanted:
        return []
    if wanted.startswith("#") and wanted[1:].isdigit() and len(wanted) < 12:
        found = session.get(Account, int(wanted[1:]))
        return [found] if found is not None else []
    by_domain = session.scalar(select(Account).where(Account.domain == wanted.lower()))
    if by_domain is not None:
        return [by_domain]
    return list(
        session.scalars(
            select(Account)
            .where(func.lower(Account.name) == wanted.lower())
            .order_by(Account.id)
            .limit(10)
        )
    )
