"""Console → Accounts: the companies leads belong to. The list (search, furthest stage, head
count, sort, pages), one account's page (its buying committee, engagement, stages, top
content, deals), accounts made by hand, and leads placed in them from the account page or
the lead page. Marketers and admins only (personal data)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Persona
from content.orm import utcnow
from content.taxonomy import label_in
from content.words import N_, Said
from nurture.ranking import personas_from_title
from portal import i18n
from portal.account_jobs import account_rules
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import ACCOUNTS
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_leads import journey_label
from tracking.accounts import listing, membership
from tracking.accounts.account_score import decayed
from tracking.accounts.listing import AccountFilter, BadFilter
from tracking.accounts.membership import AccountRefused
from tracking.accounts.models import Account
from tracking.accounts.refresh import refresh
from tracking.models import Lead
from tracking.rules.config import Model
from tracking.rules.profiling import InvalidAnswer, normalize_email

MAX_EMAILS = 200


class NewAccountForm(msgspec.Struct, kw_only=True):
    """A company made by hand: a name and, optionally, its email domain."""

    name: str = ""
    domain: str = ""


class PeopleForm(msgspec.Struct, kw_only=True):
    """Leads to put in the account, by email (one a line, or separated by commas)."""

    emails: str = ""


class LeadAccountForm(msgspec.Struct, kw_only=True):
    """From the lead page: ``assign`` to the account typed (domain, name or #id), ``remove``
    from its account, or ``domain``: back to its email domain's account."""

    action: str = "assign"
    account: str = ""


def _page_of(request: Request[StaffPrincipal, Any, Any], model: Model) -> tuple[AccountFilter, str]:
    try:
        return listing.parse_filter(request.query_params, model.stages), ""
    except BadFilter as refused:
        return AccountFilter(), said_of(refused)


@dataclass(frozen=True, slots=True)
class Committee:
    """The buying committee at a glance: how many people hold each persona and stand at
    each stage (personas in the order of their counts; people without one counted apart)."""

    personas: list[tuple[str, int]]
    no_persona: int
    stages: list[tuple[str, int]]


def committee(
    seats: Sequence[listing.Seat],
    personas_of: Callable[[str], Sequence[str]],
    stages: Sequence[str],
) -> Committee:
    by_persona: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    no_persona = 0
    for seat in seats:
        labels = personas_of(seat.job_title)
        for label in labels:
            by_persona[label] += seat.people
        if not labels:
            no_persona += seat.people
        by_stage[seat.stage] += seat.people
    ordered = sorted(by_persona.items(), key=lambda item: (-item[1], item[0]))
    return Committee(
        personas=ordered,
        no_persona=no_persona,
        stages=[(stage, by_stage[stage]) for stage in stages if by_stage[stage]],
    )


def said_of(refused: Exception) -> str:
    """A domain refusal (its message a ``Said``) in the reader's language."""
    return i18n.say(refused.args[0]) if refused.args else str(refused)


def _split_emails(typed: str) -> list[str]:
    return [part for part in typed.replace(",", "\n").replace(";", "\n").split() if part]


class AccountsController(Controller):
    """/console/accounts: marketers and admins."""

    path = "/console/accounts"
    guards = [requires_role(*ACCOUNTS.roles)]
    include_in_schema = False

    def _list_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: Database,
        model: Model,
        *,
        form: NewAccountForm | None = None,
        form_problem: str = "",
    ) -> Template:
        view, problem = _page_of(request, model)
        now = utcnow()
        with database.read() as session:
            found = listing.page(session, view)
        half_life = model.scoring.half_life_days
        page = console_page(
            request,
            "console/accounts.html",
            found=found,
            view=found.view,
            problem=problem,
            stages=model.stages,
            sorts=[item.value for item in listing.Sort],
            query=lambda **changes: urlencode(found.view.query_items(**changes)),
            stage_label=journey_label(model),
            engagement=lambda a: decayed(a.engagement, a.engagement_as_of, now, half_life),
            form=form or NewAccountForm(),
            form_problem=form_problem,
        )
        page.status_code = 400 if problem else 422 if form_problem else 200
        return page

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
    ) -> Template:
        return self._list_page(request, database, model)

    @post("/new", sync_to_thread=True)
    def create(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        data: Annotated[NewAccountForm, FormBody],
    ) -> Response[Any]:
        """Make an account by hand; a wrong name or domain is named and the form kept."""
        try:
            with database.write() as session:
                made = membership.create(session, data.name, data.domain, by=request.user.email)
                recount(session, model)
                made_id = made.id
        except AccountRefused as refused:
            problem = said_of(refused)
            return self._list_page(request, database, model, form=data, form_problem=problem)
        return Redirect(f"/console/accounts/{made_id}?done=created", status_code=303)

    def _account_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: Database,
        model: Model,
        account_id: int,
        *,
        emails: str = "",
        people_problem: str = "",
    ) -> Template:
        problem = ""
        raw_page = request.query_params.get("people_page", "").strip()
        try:
            label = Said(N_("People page"))
            people_page = listing.whole(label, raw_page, 1, 1_000_000) if raw_page else 1
        except BadFilter as refused:
            people_page, problem = 1, said_of(refused)
        with database.read() as session:
            seen = (
                listing.account_view(session, account_id, people_page)
                if account_id < 2**31
                else None
            )
            if seen is None:
                raise NotFoundException(f"no account {account_id}")
            rows = session.scalars(select(Persona)).all()
            # A job title matches a persona by its label in any language; it is shown in the
            # staff member's.
            matched = {
                row.slug: " ".join([row.label, *(row.labels or {}).values()]) for row in rows
            }
            shown = {row.slug: label_in(row, i18n.current()) for row in rows}
            session.expunge_all()
        personas_of = functools.cache(
            lambda title: tuple(shown[slug] for slug in personas_from_title(title, matched))
        )
        now = utcnow()
        half_life = model.scoring.half_life_days
        page = console_page(
            request,
            "console/account.html",
            seen=seen,
            account=seen.account,
            engagement=decayed(
                seen.account.engagement, seen.account.engagement_as_of, now, half_life
            ),
            person_engagement=lambda p: decayed(p.engagement, p.engagement_as_of, now, half_life),
            personas_of=personas_of,
            committee=committee(seen.seats, personas_of, model.stages),
            stage_label=journey_label(model),
            done=request.query_params.get("done"),
            emails=emails,
            people_problem=people_problem,
            problem=problem,
        )
        page.status_code = 400 if problem else 422 if people_problem else 200
        return page

    @get("/{account_id:int}", sync_to_thread=True)
    def account_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        account_id: FromPath[int],
    ) -> Template:
        return self._account_page(request, database, model, account_id)

    @post("/{account_id:int}/people", sync_to_thread=True)
    def add_people(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        account_id: FromPath[int],
        data: Annotated[PeopleForm, FormBody],
    ) -> Response[Any]:
        """Put leads in the account by their emails; any address that is not a lead is named
        and nothing is moved, the list kept for correction."""
        typed = _split_emails(data.emails)
        problem = _people_problem(typed)
        if not problem:
            with database.write() as session:
                if session.get(Account, account_id) is None:
                    raise NotFoundException(f"no account {account_id}")
                problem, moved = _assign_emails(session, account_id, typed, model)
            if not problem:
                done = i18n.ngettext("%(num)s person added", "%(num)s people added", moved)
                return Redirect(
                    f"/console/accounts/{account_id}?{urlencode({'done': done})}",
                    status_code=303,
                )
        return self._account_page(
            request, database, model, account_id, emails=data.emails, people_problem=problem
        )


def _people_problem(typed: list[str]) -> str:
    if not typed:
        return i18n.gettext("Enter the email of at least one lead.")
    if len(typed) > MAX_EMAILS:
        return i18n.gettext("Add at most %(max)s people at a time.", max=MAX_EMAILS)
    wrong = []
    for raw in typed:
        try:
            normalize_email(raw)
        except InvalidAnswer:
            wrong.append(raw[:80])
    if wrong:
        return i18n.gettext("Not an email address: %(addresses)s.", addresses=", ".join(wrong[:10]))
    return ""


def _assign_emails(
    session: Session, account_id: int, typed: list[str], model: Model
) -> tuple[str, int]:
    emails = sorted({normalize_email(raw) for raw in typed})
    found = dict(session.execute(select(Lead.email, Lead.id).where(Lead.email.in_(emails))).all())
    unknown = [email for email in emails if email not in found]
    if unknown:
        problem = i18n.gettext(
            "No lead has the address %(addresses)s: nobody was added.",
            addresses=", ".join(unknown[:10]),
        )
        return problem, 0
    leads = membership.assign(session, account_id, found.values())
    recount(session, model)
    return "", len(leads)


def recount(session: Session, model: Model) -> None:
    """Recompute the accounts a move just marked stale (the one the leads joined, the ones
    they left), so the pages show them right away rather than after the job's next pass."""
    stale = session.scalars(
        select(Account.id).where(Account.updated_at.is_(None)).order_by(Account.id).limit(500)
    ).all()
    refresh(session, stale, account_rules(model))


def _back_to_lead(lead_id: int, **query: str) -> Redirect:
    return Redirect(f"/console/leads/{lead_id}?{urlencode(query)}#account-h", status_code=303)


@post(
    "/console/leads/{lead_id:int}/account",
    guards=[requires_role(*ACCOUNTS.roles)],
    include_in_schema=False,
)
async def lead_account(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    lead_id: FromPath[int],
    data: Annotated[LeadAccountForm, FormBody],
) -> Response[Any]:
    """From the lead page: put the lead in an account, take it out, or back to its domain's."""
    if data.action not in ("assign", "remove", "domain"):
        problem = i18n.gettext("Choose what to do with the lead's account.")
        return _back_to_lead(lead_id, problem=problem)
    typed = " ".join(data.account.split())[:200]
    if data.action == "assign" and not typed:
        problem = i18n.gettext("Type the account's domain or name.")
        return _back_to_lead(lead_id, problem=problem, account=typed)

    def work() -> str:
        with database.write() as session:
            if lead_id >= 2**31 or session.get(Lead, lead_id) is None:
                raise NotFoundException(f"no lead {lead_id}")
            if data.action == "remove":
                membership.remove(session, lead_id)
            elif data.action == "domain":
                membership.by_domain_again(session, lead_id)
            else:
                matches = listing.find(session, typed)
                if not matches:
                    return i18n.gettext(
                        "No account is called %(name)s: make it under Accounts first.", name=typed
                    )
                if len(matches) > 1:
                    return i18n.gettext(
                        "Several accounts are called %(name)s: type its domain or #id.", name=typed
                    )
                membership.assign(session, matches[0].id, [lead_id])
            recount(session, model)
        return ""

    problem = await to_thread.run_sync(work)
    if problem:
        return _back_to_lead(lead_id, problem=problem, account=typed)
    if data.action == "assign":
        done = i18n.gettext("Placed in the account %(name)s by hand", name=typed)
    elif data.action == "remove":
        done = i18n.gettext(
            "Taken out of its account; it stays out until handed back to its domain"
        )
    else:
        done = i18n.gettext("Back in the account of its email domain")
    return _back_to_lead(lead_id, done=done)


ROUTES: list[Any] = [AccountsController, lead_account]
