"""Console → Programs → a program: its flow drawn as cards, its status and the actions on it
(activate, pause, resume, archive), the leads in it now, the dry run, adding leads by hand,
and its version history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from content.printable import unprintable_said
from content.words import N_
from nurture.programs import store
from nurture.programs.definition import Status
from nurture.programs.models import Program, ProgramSettings
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_program_views import (
    entered_by_words,
    flow_cards,
    goal_words,
    leads_in,
    parsed,
    stage_labeler,
    trigger_words,
    version_note,
    versions_of,
)
from portal.settings import Settings
from tracking.models import Lead
from tracking.rules.config import Model
from tracking.rules.profiling import InvalidAnswer, normalize_email

ADD_MAX = 500
"""Addresses one "add leads by hand" may carry."""

ACTIONS: dict[str, tuple[tuple[str, ...], Status]] = {
    "activate": (("draft", "archived"), Status.ACTIVE),
    "pause": (("active",), Status.PAUSED),
    "resume": (("paused",), Status.ACTIVE),
    "archive": (("draft", "active", "paused"), Status.ARCHIVED),
}
"""Each action on the page: the statuses it starts from and where it leads."""

DONE = {
    "created": N_(
        "Created as a draft. Check its steps and mails, preview them for a real lead, "
        "then activate it."
    ),
    "activate": N_(
        "Active: leads enter it from now on as they meet its trigger (nobody who met "
        "it before now), and its mails go out."
    ),
    "pause": N_("Paused: nobody enters, and its leads wait where they are until you resume it."),
    "resume": N_("Active again: its leads go on from where they waited."),
    "archive": N_("Archived: its leads left it, and nobody enters."),
    "updated": N_("Saved."),
    "unchanged": N_("Nothing changed."),
}
"""What the page says after each action (English, marked; shown in the reader's language)."""


class StatusForm(msgspec.Struct, kw_only=True):
    """An action on the program (``ACTIONS``); archiving needs ``confirm``."""

    action: str = ""
    confirm: str = ""


class AddLeadsForm(msgspec.Struct, kw_only=True):
    """Leads to add by hand: their emails, one a line (commas and spaces do too)."""

    emails: str = ""


def program_or_404(session: Session, program_id: int) -> Program:
    program = session.get(Program, program_id) if 0 < program_id < 2**31 else None
    if program is None:
        raise NotFoundException(f"no program {program_id}")
    return program


def done_notice(done: str, version: str = "") -> str | None:
    if done == "versioned" and version.isdigit():
        return i18n.gettext(
            "Saved as version %(version)s. Leads that enter from now on follow it; leads "
            "already in the program finish the version they started.",
            version=version,
        )
    said = DONE.get(done)
    return i18n.gettext(said) if said else None


def page_context(
    session: Session, program: Program, model: Model, settings: Settings
) -> dict[str, Any]:
    stage = stage_labeler(model)
    versions = versions_of(session, program.id)
    # Leads in older versions finish those: their steps are named by the version they follow.
    definitions = {row.version: found for row in versions if (found := parsed(row.definition))}
    current = definitions.get(program.version) or store.current(session, program)
    in_now, leads = leads_in(session, program, definitions)
    rails = session.get(ProgramSettings, 1)
    return {
        "program": program,
        "definition": current,
        "trigger": trigger_words(current.trigger, stage),
        "cards": flow_cards(current, stage),
        "goals": [goal_words(goal, stage) for goal in current.goals],
        "in_now": in_now,
        "leads": leads,
        "versions": versions,
        "globally_paused": rails is not None and rails.paused,
        "no_postal_address": not settings.postal_address.strip(),
        "actions": [name for name, (starts, _) in ACTIONS.items() if program.status in starts],
        "entered_by": entered_by_words,
        "stage_name": stage,
        "version_note": version_note,
    }


@dataclass(frozen=True, slots=True)
class Viewing:
    """One request on one program's page: what every answer of the page needs."""

    request: Request[StaffPrincipal, Any, Any]
    database: Database
    model: Model
    settings: Settings
    program_id: int


def _page(viewing: Viewing, *, status_code: int = 200, **context: Any) -> Template:
    """The program page; ``dry_run=True`` adds the dry run's answer."""
    with viewing.database.read() as session:
        program = program_or_404(session, viewing.program_id)
        found = page_context(session, program, viewing.model, viewing.settings)
        if context.pop("dry_run", False):
            found["dry_run"] = store.dry_run(
                session, program, found["definition"], utcnow(), viewing.model.stages
            )
        session.expunge_all()
    page = console_page(viewing.request, "console/program.html", **found, **context)
    page.status_code = status_code
    return page


def status_label(status: str) -> str:
    """A program's status in the reader's words (the badge, the sentences)."""
    words = {
        "draft": i18n.pgettext("program", "draft"),
        "active": i18n.pgettext("program", "active"),
        "paused": i18n.pgettext("program", "paused"),
        "archived": i18n.pgettext("program", "archived"),
    }
    return words.get(status, status)


def cannot_now(status: str, action: str) -> str:
    """Why an action does not fit the program's status ("The program is paused already: it
    cannot pause now.")."""
    shown = status_label(status)
    sentences = {
        "activate": i18n.gettext(
            "The program is %(status)s already: it cannot activate now.", status=shown
        ),
        "pause": i18n.gettext(
            "The program is %(status)s already: it cannot pause now.", status=shown
        ),
        "resume": i18n.gettext(
            "The program is %(status)s already: it cannot resume now.", status=shown
        ),
        "archive": i18n.gettext(
            "The program is %(status)s already: it cannot archive now.", status=shown
        ),
    }
    return sentences[action]


def split_addresses(typed: str) -> list[str]:
    """The typed addresses, in order, each once."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,;]+", typed) if part))


def addresses_problem(typed: str, addresses: list[str]) -> str | None:
    if problem := unprintable_said(typed, multiline=True):
        return i18n.gettext(
            "The text contains %(problem)s: remove it and add again.", problem=i18n.say(problem)
        )
    if not addresses:
        return i18n.gettext("Type the email of at least one lead, one a line.")
    if len(addresses) > ADD_MAX:
        return i18n.gettext(
            "At most %(max)s addresses at a time (%(typed)s typed).",
            max=ADD_MAX,
            typed=len(addresses),
        )
    return None


class ProgramPageController(Controller):
    path = PROGRAMS.url
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/{program_id:int}", sync_to_thread=True)
    def program_page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        settings: NamedDependency[Settings],
        program_id: FromPath[int],
        done: FromQuery[str] = "",
        version: FromQuery[str] = "",
    ) -> Template:
        viewing = Viewing(request, database, model, settings, program_id)
        return _page(viewing, notice=done_notice(done, version))

    @get("/{program_id:int}/dry-run", sync_to_thread=True)
    def dry_run(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        settings: NamedDependency[Settings],
        program_id: FromPath[int],
    ) -> Template:
        """Who matches the trigger now: the section alone for htmx, else the whole page."""
        if not request.headers.get("hx-request"):
            return _page(Viewing(request, database, model, settings, program_id), dry_run=True)
        with database.read() as session:
            program = program_or_404(session, program_id)
            found = store.dry_run(
                session, program, store.current(session, program), utcnow(), model.stages
            )
            session.expunge_all()
        return console_page(
            request,
            "console/program_dry_run.html",
            program=program,
            dry_run=found,
            stage_name=stage_labeler(model),
        )

    @post("/{program_id:int}/status", sync_to_thread=True)
    def change_status(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        settings: NamedDependency[Settings],
        program_id: FromPath[int],
        data: Annotated[StatusForm, FormBody],
    ) -> Response[Any]:
        problem, status_code = None, 409
        with database.write() as session:
            program = program_or_404(session, program_id)
            move = ACTIONS.get(data.action)
            if move is None:
                problem = i18n.gettext("Choose an action: activate, pause, resume or archive.")
                status_code = 400
            elif program.status not in move[0]:
                problem = cannot_now(program.status, data.action)
            elif data.action == "archive" and data.confirm != "yes":
                problem, status_code = i18n.gettext("Tick the box to confirm the archiving."), 422
            else:
                store.set_status(
                    session, program, move[1].value, by=request.user.email, now=utcnow()
                )
        if problem is not None:
            viewing = Viewing(request, database, model, settings, program_id)
            return _page(viewing, status_code=status_code, problem=problem)
        return Redirect(f"{PROGRAMS.url}/{program_id}?done={data.action}", status_code=303)

    @post("/{program_id:int}/leads", sync_to_thread=True)
    def add_leads(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        settings: NamedDependency[Settings],
        program_id: FromPath[int],
        data: Annotated[AddLeadsForm, FormBody],
    ) -> Template:
        """Enter the leads of the typed emails; the page lists what became of each address
        and keeps the ones to correct in the box."""
        viewing = Viewing(request, database, model, settings, program_id)
        typed = split_addresses(data.emails)
        if problem := addresses_problem(data.emails, typed):
            return _page(viewing, status_code=422, add_problem=problem, add_typed=data.emails)
        try:
            with database.write() as session:
                program = program_or_404(session, program_id)
                added = _add(session, program, typed, request.user.email, utcnow())
        except ValueError as refused:
            problem = i18n.gettext("Nobody was added: %(reason)s.", reason=refused)
            return _page(viewing, status_code=409, add_problem=problem, add_typed=data.emails)
        left = "\n".join(added.invalid + added.unknown)
        return _page(viewing, added=added, add_typed=left)


class Added(msgspec.Struct, kw_only=True):
    """What adding leads by hand did, address by address."""

    entered: list[str]
    already: list[str]
    unknown: list[str]
    invalid: list[str]
    without_consent: list[str]


def _add(session: Session, program: Program, typed: list[str], by: str, now: datetime) -> Added:
    invalid, wanted = [], []
    for address in typed:
        try:
            wanted.append(normalize_email(address))
        except InvalidAnswer:
            invalid.append(address)
    wanted = list(dict.fromkeys(wanted))
    rows = session.execute(
        select(Lead.email, Lead.id, Lead.consent_status).where(Lead.email.in_(wanted))
    )
    found = {email: (lead_id, consent) for email, lead_id, consent in rows}
    known = [email for email in wanted if email in found]
    entered = set(store.add_leads(session, program, [found[e][0] for e in known], by=by, now=now))
    return Added(
        entered=[email for email in known if found[email][0] in entered],
        already=[email for email in known if found[email][0] not in entered],
        unknown=[email for email in wanted if email not in found],
        invalid=invalid,
        without_consent=[
            email
            for email in known
            if found[email][0] in entered and found[email][1] != "confirmed"
        ],
    )


ROUTES: list[Any] = [ProgramPageController]
