"""Marketers' and sales' lead views: the filtered list, its CSV export, one lead's page with its
trail, consent and mail, and the actions on a lead (lifecycle moves, merge, withdrawing
consent, erase)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Stream, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Topic
from content.orm import utcnow
from content.printable import unprintable
from content.words import N_
from nurture import handoff, privacy
from nurture.mail import outbox, subscriptions
from nurture.recommendations import AudienceCache, recommend_for_lead
from portal import charts, i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import LEADS
from portal.console_words import day_label, export_heading, say
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_program_views import lead_programs
from tracking.accounts.models import Account
from tracking.identity import leadadmin
from tracking.lead_profile import profile_history
from tracking.models import Consent, Lead
from tracking.reporting import analytics, figures, lead_pages, lead_view, leadlist, trails
from tracking.reporting.deals import deals_of_lead
from tracking.rules.config import Model
from tracking.rules.profiling import InvalidAnswer, normalize_email
from tracking.rules.scoring import Category, Lifecycle
from tracking.sources.arrivals import Channel
from tracking.sources.lead_sources import lead_sources

TRAIL_PAGE = 200
MAILS_SHOWN = 20
CURVE_DAYS = 90
MANUAL_MOVES = {
    "sql": N_("Accepted as SQL"),
    "recycled": N_("Sent back to nurturing"),
    "opportunity": N_("Marked as opportunity"),
    "customer": N_("Marked as customer"),
}
"""The lifecycle moves by hand: what the lead page says once one is done."""
MOVE_ACTIONS = {
    "sql": N_("Accept as SQL"),
    "recycled": N_("Send back to nurturing"),
    "opportunity": N_("Mark as opportunity"),
    "customer": N_("Mark as customer"),
}
"""The same moves as the lead page offers them."""
MODEL_STAGE_LABELS = (N_("Awareness"), N_("Consideration"), N_("Decision"), N_("Customer"))
"""The default model's stage names (``tracking.rules.config.Model.stage_labels``), marked
for the catalog here: the console shows a model's names in the staff member's language when
the catalog knows them, and a team's own names as they wrote them."""


class MoveForm(msgspec.Struct, kw_only=True):
    """A lifecycle move by hand (one of ``MANUAL_MOVES``) and why."""

    to: str = ""
    reason: str = ""


class MergeForm(msgspec.Struct, kw_only=True):
    """Merge the lead with this email into the one on the page, once ``confirm`` is ticked."""

    duplicate: str = ""
    confirm: str = ""
    reason: str = ""


class WithdrawForm(msgspec.Struct, kw_only=True):
    """Withdraw the lead's marketing consent on its behalf; the reason becomes the record's text."""

    reason: str = ""


class EraseForm(msgspec.Struct, kw_only=True):
    """Erase the lead's personal data: its email typed again confirms it."""

    confirm_email: str = ""


def reason_from(typed: str, limit: int = 500) -> str:
    """The reason typed into an action form, on one line and cut to ``limit``."""
    return " ".join(typed.split())[:limit]


def reason_problem(typed: str) -> str | None:
    """What to tell the user when the typed reason holds a character that cannot be kept."""
    problem = unprintable(typed, multiline=True)
    if not problem:
        return None
    return i18n.gettext(
        "The reason contains %(problem)s: remove it and try again.", problem=problem
    )


def journey_label(model: Model) -> Any:
    """Stage names as marketing and sales agreed them in the model (not the portal's copy), in
    the staff member's language where the catalog has them."""
    return lambda stage: i18n.gettext(
        model.stage_labels.get(stage, stage.replace("_", " ").capitalize())
    )


def filter_choices(model: Model) -> dict[str, list[str]]:
    return {
        "stage": list(model.stages),
        "lifecycle": [item.value for item in Lifecycle],
        "grade": list("ABCDE"),
        "category": [item.value for item in Category],
    }


def _lead_or_404(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id) if trails.valid_id(lead_id) else None
    if lead is None:
        raise NotFoundException(f"no lead {lead_id}")
    return lead


def _back(lead_id: int, **query: str) -> Redirect:
    suffix = f"?{urlencode(query)}" if query else ""
    return Redirect(f"/console/leads/{lead_id}{suffix}", status_code=303)


class LeadsController(Controller):
    """/console/leads: marketers and admins only (personal data)."""

    path = "/console/leads"
    guards = [requires_role(*LEADS.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
    ) -> Template:
        choices = filter_choices(model)
        problem = None
        try:
            view = leadlist.parse_filter(request.query_params, choices)
        except leadlist.BadCursor as refused:  # the view without the page link's place
            problem, view = say(refused.said), refused.view
        except leadlist.BadFilter as refused:
            problem, view = say(refused.said), leadlist.LeadFilter()
        with database.read() as session:
            found = lead_pages.page(session, view)
            topics = list(session.scalars(select(Topic).order_by(Topic.label)))
        context = {
            "found": found,
            "view": found.view,
            "choices": choices,
            "topics": topics,
            "problem": problem,
            "sorts": [item.value for item in leadlist.Sort],
            "channels": [item.value for item in Channel],
            "query": lambda **changes: urlencode(found.view.query_items(**changes)),
            "whole": lambda **changes: urlencode(found.view.whole.query_items(**changes)),
            "stage_label": journey_label(model),
        }
        status = 400 if problem else 200
        if request.headers.get("hx-request") and not request.headers.get("hx-boosted"):
            # The address bar gets the tidy form of the view (no empty fields), to bookmark.
            tidy = urlencode(found.view.query_items())
            return Template(
                "partials/lead_rows.html",
                context=context,
                status_code=status,
                headers={"HX-Push-Url": "/console/leads" + (f"?{tidy}" if tidy else "")},
            )
        page = console_page(request, "console/leads.html", **context)
        page.status_code = status
        return page

    @get("/export.csv", sync_to_thread=False)
    def export(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
    ) -> Response[Any]:
        """Every matching lead (not just one page), streamed as it is read.

        The first row holds the columns' stable machine names (``first_name``, ``fit_score``),
        which scripts and imports rely on; with ``header=labels`` it holds their titles in the
        staff member's language instead, for people opening the file in a spreadsheet. The
        cells are the same either way."""
        try:
            view = leadlist.parse_filter(request.query_params, filter_choices(model))
        except leadlist.BadFilter as refused:
            return Response(say(refused.said), status_code=400, media_type="text/plain")
        rows = leadlist.export_rows(database.read, view)
        if request.query_params.get("header") == "labels":
            rows = _titled(rows, [export_heading(name) for name in leadlist.EXPORT_HEADER])
        stamp = utcnow().strftime("%Y%m%d-%H%M")
        return Stream(
            _csv_chunks(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'},
        )

    @get("/{lead_id:int}", sync_to_thread=True)
    def lead_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        audience_cache: NamedDependency[AudienceCache],
        lead_id: FromPath[int],
    ) -> Template:
        now = utcnow()
        with database.read() as session:
            lead = _lead_or_404(session, lead_id)
            context = _lead_context(session, lead, model, now, audience_cache)
        return console_page(
            request,
            "console/lead.html",
            done=request.query_params.get("done"),
            problem=request.query_params.get("problem"),
            moves=MOVE_ACTIONS,
            stage_label=journey_label(model),
            **context,
        )

    @get("/{lead_id:int}/trail", sync_to_thread=True)
    def trail_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        lead_id: FromPath[int],
        cursor: FromQuery[str] = "",
    ) -> Template:
        """Older trail entries (htmx "Show older"); without htmx, the lead page links here too."""
        with database.read() as session:
            _lead_or_404(session, lead_id)
            try:
                page = trails.trail(session, lead_id, TRAIL_PAGE, cursor or None)
            except trails.BadCursor:
                raise ClientException(
                    i18n.gettext(
                        "This link to older activity is not valid (cut short or altered): "
                        "open the lead's page and follow “Show older activity” again."
                    )
                ) from None
        context = {
            "days": figures.group_trail(page.items),
            "page": page,
            "lead_id": lead_id,
            "stage_label": journey_label(model),
        }
        if request.headers.get("hx-request"):
            return Template("partials/lead_trail.html", context=context)
        return console_page(request, "console/lead_trail.html", **context)

    @post("/{lead_id:int}/lifecycle")
    async def move(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        lead_id: FromPath[int],
        data: Annotated[MoveForm, FormBody],
    ) -> Response[Any]:
        target, reason = data.to, reason_from(data.reason)
        if target not in MANUAL_MOVES:
            return _back(lead_id, problem=i18n.gettext("Choose what to do with the lead."))
        if refused := reason_problem(data.reason):
            return _back(lead_id, problem=refused)
        if not reason:
            return _back(
                lead_id,
                problem=i18n.gettext("Say why, in a few words: it goes into the lead's log."),
            )
        actor = request.user.email

        def work() -> str | None:
            with database.write() as session:
                lead = _lead_or_404(session, lead_id)
                try:
                    handoff.move(session, lead, Lifecycle(target), f"{reason} ({actor})", model)
                except ValueError as refused:
                    return i18n.gettext("Not allowed: %(why)s.", why=refused)
            return None

        problem = await to_thread.run_sync(work)
        if problem:
            return _back(lead_id, problem=problem)
        return _back(lead_id, done=i18n.gettext(MANUAL_MOVES[target]))

    @post("/{lead_id:int}/merge")
    async def merge(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        lead_id: FromPath[int],
        data: Annotated[MergeForm, FormBody],
    ) -> Response[Any]:
        """Merge another lead (by email) into this one, after an explicit confirmation."""
        reason = reason_from(data.reason, 300)
        if data.confirm != "yes":
            return _back(lead_id, problem=i18n.gettext("Tick the box to confirm the merge."))
        if refused := reason_problem(data.reason):
            return _back(lead_id, problem=refused)
        try:
            email = normalize_email(data.duplicate)
        except InvalidAnswer:
            return _back(lead_id, problem=i18n.gettext("Enter the email of the duplicate lead."))
        actor = request.user.email

        def work() -> str | None:
            with database.write() as session:
                duplicate = session.scalar(select(Lead.id).where(Lead.email == email))
                if duplicate is None:
                    return i18n.gettext("There is no lead with the email %(email)s.", email=email)
                try:
                    leadadmin.merge(
                        session, lead_id, duplicate, model, actor=actor, reason=reason or "-"
                    )
                except leadadmin.MergeRefused as refused:
                    return str(refused).capitalize() + "."
            return None

        problem = await to_thread.run_sync(work)
        if problem:
            return _back(lead_id, problem=problem)
        return _back(lead_id, done=i18n.gettext("Merged %(email)s into this lead", email=email))

    @post("/{lead_id:int}/consent/withdraw")
    async def withdraw_consent(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        lead_id: FromPath[int],
        data: Annotated[WithdrawForm, FormBody],
    ) -> Response[Any]:
        """A marketer or admin withdraws consent for the lead (it asked by phone, by letter):
        no more marketing mail, and the address goes on the suppression list."""
        reason = reason_from(data.reason, subscriptions.REASON_MAX)
        if refused := reason_problem(data.reason):
            return _back(lead_id, problem=refused)
        if not reason:
            return _back(
                lead_id,
                problem=i18n.gettext(
                    "Say why, in a few words: it is kept as the withdrawal's text."
                ),
            )
        actor = request.user.email

        def work() -> tuple[str | None, str]:
            with database.write() as session:
                lead = _lead_or_404(session, lead_id)
                left = subscriptions.withdraw_for(
                    session, lead, by=actor, reason=reason, now=utcnow()
                )
                if left is None:
                    return (
                        i18n.gettext(
                            "There is no consent to withdraw: the lead is not subscribed."
                        ),
                        "",
                    )
                return None, lead.email

        problem, email = await to_thread.run_sync(work)
        if problem:
            return _back(lead_id, problem=problem)
        return _back(
            lead_id,
            done=i18n.gettext(
                "Consent withdrawn: no more marketing email goes to %(email)s, and the address "
                "is on the suppression list as unsubscribed",
                email=email,
            ),
        )

    @post("/{lead_id:int}/erase")
    async def erase(
        self,
        database: NamedDependency[Database],
        lead_id: FromPath[int],
        data: Annotated[EraseForm, FormBody],
    ) -> Response[Any]:
        """Erase the lead's personal data; confirmed by typing its email."""

        def work() -> str | None:
            with database.write() as session:
                lead = _lead_or_404(session, lead_id)
                if data.confirm_email.strip().lower() != lead.email:
                    return i18n.gettext("Type the lead's email exactly to confirm the erasure.")
                privacy.erase_lead(session, lead_id)
            return None

        problem = await to_thread.run_sync(work)
        if problem:
            return _back(lead_id, problem=problem)
        return Redirect("/console/leads?" + urlencode({"done": "erased"}), status_code=303)


def _titled(rows: Iterator[list[str]], titles: list[str]) -> Iterator[list[str]]:
    """The rows with their first (the machine names) replaced by ``titles``."""
    next(rows, None)
    yield titles
    yield from rows


def _csv_chunks(rows: Iterator[list[str]], every: int = 500) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()  # spreadsheet programs then read the file as UTF-8
    for number, row in enumerate(rows, 1):
        writer.writerow(row)
        if number % every == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _lead_context(
    session: Session, lead: Lead, model: Model, now: Any, audience: AudienceCache
) -> dict[str, Any]:
    seen = lead_view.view(session, lead, model, now)
    period = analytics.Period(now.date() - timedelta(days=CURVE_DAYS - 1), now.date())
    points = figures.day_points(analytics.lead_day_counts(session, lead.id, period), model.scoring)
    curve = figures.engagement_curve(
        points, period.first, period.last, model.scoring.half_life_days
    )
    page = trails.trail(session, lead.id, TRAIL_PAGE)
    return {
        "lead": lead,
        "seen": seen,
        "history": profile_history(session, lead.id),
        "consents": list(
            session.scalars(
                select(Consent).where(Consent.lead_id == lead.id).order_by(Consent.id.desc())
            )
        ),
        "suppressions": subscriptions.entries_for(session, lead.email),
        "mails": outbox.messages_to(session, lead.email, limit=MAILS_SHOWN),
        "stage_history": analytics.stage_history(session, lead.id),
        "changes": handoff.recent_changes(session, lead.id),
        "summaries": trails.asset_summaries(session, lead.id),
        "days": figures.group_trail(page.items),
        "page": page,
        # The portal's shared audience cache: the co-reading table is not rebuilt per page.
        "recommendations": recommend_for_lead(session, lead.id, model, now, 3, cache=audience),
        "curve": charts.lines(
            i18n.gettext("Engagement score, last %(days)s days", days=CURVE_DAYS),
            [day_label(day) for day, _value in curve],
            {i18n.gettext("Engagement"): [value for _day, value in curve]},
        ),
        "open_handoff": handoff.open_for(session, lead.id),
        "programs": lead_programs(session, lead.id),
        "sources": lead_sources(session, lead),
        "account": session.get(Account, lead.account_id) if lead.account_id else None,
        "deals": deals_of_lead(session, lead.id),
    }
