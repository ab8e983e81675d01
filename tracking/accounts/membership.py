"""Which account a lead belongs to: by its email's company domain, or where a marketer put it.

A lead joins the account of its business domain when it is created or its email changes
(the account is made on first sight of the domain); free-mail and disposable addresses
join none. A lead a marketer assigned (``Lead.account_by_hand``) stays where it was put
until the marketer hands it back to its domain. Every move marks the accounts it touches
stale (``Account.updated_at`` unset) and keeps their head count, so the account job
(``tracking.accounts.refresh``) recomputes their figures on its next pass.

Locks go lead first, then account (as ingestion and identification take them), so a
hand assignment and an identification cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from content.orm import dialect_insert, utcnow
from content.words import N_, Said
from tracking.accounts import domains
from tracking.accounts.models import Account
from tracking.models import Lead

BACKFILL_BATCH = 100
NAME_MAX = 200


class AccountRefused(ValueError):
    """A hand-made account or an assignment cannot be done as asked; the message (a ``Said``:
    ``str()`` is its English) says why."""


def note_email(session: Session, lead: Lead, now: datetime | None = None) -> int | None:
    """A lead was created or its email changed: flag a free-mail address and put the lead in
    the account of its company domain (none for free-mail or disposable ones). A lead placed
    by hand stays where it is. Returns the lead's account id."""
    domain = domains.domain_of(lead.email)
    free = bool(domain) and (domains.is_free_mail(domain) or domains.is_disposable(domain))
    if lead.free_mail != free:
        lead.free_mail = free
    if lead.account_by_hand:
        return lead.account_id
    company = domains.company_domain(lead.email)
    target = account_for_domain(session, company, now or utcnow()) if company else None
    _move(session, [lead], target)
    return target


def account_for_domain(session: Session, domain: str, now: datetime) -> int:
    """The id of the domain's account, made now when this is the first lead of the company
    (two first leads at once make one account)."""
    insert = dialect_insert(session)
    session.execute(
        insert(Account)
        .values(domain=domain, name=domains.name_from_domain(domain)[:NAME_MAX], created_at=now)
        .on_conflict_do_nothing(index_elements=[Account.domain])
    )
    found = session.scalar(select(Account.id).where(Account.domain == domain))
    assert found is not None
    return found


def _move(session: Session, leads: Sequence[Lead], target: int | None) -> None:
    """Put the leads in account ``target`` (None: in none), keeping both sides' head counts."""
    moving = [lead for lead in leads if lead.account_id != target]
    if not moving:
        return
    left: dict[int, int] = {}
    for lead in moving:
        if lead.account_id is not None:
            left[lead.account_id] = left.get(lead.account_id, 0) + 1
        lead.account_id = target
    changes = {account_id: -count for account_id, count in left.items()}
    if target is not None:
        changes[target] = changes.get(target, 0) + len(moving)
    at_least_zero = func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
    for account_id in sorted(changes):  # id order: two moves lock accounts alike
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(people=at_least_zero(Account.people + changes[account_id], 0), updated_at=None)
        )
    session.flush()


def mark_stale(session: Session, account_ids: Iterable[int | None]) -> None:
    """Have the account job recompute these accounts (a lead left by merge or erasure)."""
    wanted = sorted({account_id for account_id in account_ids if account_id is not None})
    if wanted:
        session.execute(update(Account).where(Account.id.in_(wanted)).values(updated_at=None))


def clean_domain(raw: str) -> str:
    """A domain a marketer typed (``Pipewise.example``, ``https://www.pipewise.example/``, or an
    address) as the company's registrable domain; AccountRefused says what is wrong."""
    typed = raw.strip().lower()
    for prefix in ("https://", "http://"):
        typed = typed.removeprefix(prefix)
    typed = typed.split("/", 1)[0].rpartition("@")[2].rstrip(".")
    if not typed or any(c.isspace() for c in typed) or "." not in typed:
        raise AccountRefused(Said(N_("Enter a domain like pipewise.example, or leave it empty.")))
    if domains.is_disposable(typed):
        raise AccountRefused(
            Said(
                N_("%(domain)s hands out throw-away addresses: it names no company."), domain=typed
            )
        )
    if domains.is_free_mail(typed):
        raise AccountRefused(
            Said(N_("%(domain)s is a free-mail provider: it names no company."), domain=typed)
        )
    registrable = domains.registrable_domain(typed)
    if registrable is None or len(registrable) > 253:
        raise AccountRefused(Said(N_("%(domain)s is not a company's domain."), domain=typed))
    return registrable


def create(
    session: Session, name: str, domain: str, *, by: str, now: datetime | None = None
) -> Account:
    """A marketer's account (``domain`` may be empty). With a domain, the leads of that
    domain that nobody placed by hand join it."""
    now = now or utcnow()
    name = " ".join(name.split())
    if not name:
        raise AccountRefused(Said(N_("Give the account a name.")))
    if len(name) > NAME_MAX:
        raise AccountRefused(
            Said(N_("Keep the name to %(max)s characters or fewer."), max=NAME_MAX)
        )
    cleaned = clean_domain(domain) if domain.strip() else None
    if cleaned is not None:
        taken = session.scalar(select(Account).where(Account.domain == cleaned))
        if taken is not None:
            raise AccountRefused(
                Said(
                    N_("%(domain)s is already the domain of the account %(account)s."),
                    domain=cleaned,
                    account=taken.name,
                )
            )
    account = Account(name=name, domain=cleaned, created_by=by, created_at=now)
    session.add(account)
    session.flush()
    if cleaned is not None:
        leads = session.scalars(
            select(Lead)
            .where(
                Lead.account_by_hand.is_(False),
                or_(Lead.email.like(f"%@{cleaned}"), Lead.email.like(f"%.{cleaned}")),
            )
            .order_by(Lead.id)
            .with_for_update()
        ).all()
        _move(
            session, [lead for lead in leads if domains.company_domain(lead.email) == cleaned], None
        )
        _move(session, [lead for lead in leads if lead.account_id is None], account.id)
        session.refresh(account)
    return account


def _leads_locked(session: Session, lead_ids: Iterable[int]) -> list[Lead]:
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.id.in_(sorted(set(lead_ids))))
            .order_by(Lead.id)
            .with_for_update()
        )
    )


def assign(session: Session, account_id: int, lead_ids: Iterable[int]) -> list[Lead]:
    """Put these leads in the account by hand: a change of email no longer moves them."""
    if session.get(Account, account_id) is None:
        raise AccountRefused(Said(N_("That account no longer exists.")))
    leads = _leads_locked(session, lead_ids)
    _move(session, leads, account_id)
    for lead in leads:
        lead.account_by_hand = True
    return leads


def remove(session: Session, lead_id: int) -> Lead | None:
    """Take the lead out of its account by hand: it stays in none until handed back."""
    leads = _leads_locked(session, [lead_id])
    if not leads:
        return None
    _move(session, leads, None)
    leads[0].account_by_hand = True
    return leads[0]


def by_domain_again(session: Session, lead_id: int, now: datetime | None = None) -> Lead | None:
    """Hand the lead back to its email's domain: it joins that account (or none) again."""
    leads = _leads_locked(session, [lead_id])
    if not leads:
        return None
    leads[0].account_by_hand = False
    note_email(session, leads[0], now)
    return leads[0]


def leave(session: Session, lead: Lead) -> None:
    """The lead is about to go (erased, or merged into another): its account loses it."""
    _move(session, [lead], None)


def after_merge(session: Session, survivor: Lead, duplicate: Lead) -> None:
    """Before the duplicate of a merge is deleted: its account loses it, and a survivor in no
    account (and not taken out of one by hand) takes the account a marketer had put the
    duplicate in. Otherwise the survivor keeps its own account."""
    placed, by_hand = duplicate.account_id, duplicate.account_by_hand
    leave(session, duplicate)
    taken_out = survivor.account_by_hand and survivor.account_id is None
    if placed is not None and by_hand and survivor.account_id is None and not taken_out:
        _move(session, [survivor], placed)
        survivor.account_by_hand = True


def backfill(session: Session, after_id: int = 0, limit: int = BACKFILL_BATCH) -> tuple[int, int]:
    """Place a batch of leads that have no account (and were neither taken out by hand nor
    found at a free-mail address), in id order after ``after_id``; returns (leads looked at,
    last id) so the caller goes on."""
    leads = session.scalars(
        select(Lead)
        .where(
            Lead.id > after_id,
            Lead.account_id.is_(None),
            Lead.account_by_hand.is_(False),
            Lead.free_mail.is_(False),  # already judged: a free-mail or throw-away address
        )
        .order_by(Lead.id)
        .limit(limit)
        .with_for_update()
    ).all()
    now = utcnow()
    for lead in leads:
        note_email(session, lead, now)
    return len(leads), (leads[-1].id if leads else after_id)
