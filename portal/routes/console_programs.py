"""Console → Programs: the list of nurture programs with their figures, new programs (from a
built-in template, or a blank draft), and the guard rails that hold across all programs.

The program page, the editors and the preview are in ``console_program_page``,
``console_program_edit`` and ``console_program_mail``; ``ROUTES`` lists them all.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import select

from content.orm import utcnow
from content.printable import unprintable_said
from nurture.programs import store
from nurture.programs.definition import NAME_MAX, Definition, DefinitionError, parse
from nurture.programs.models import Program, ProgramSettings
from nurture.programs.templates import TEMPLATES, template
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes import console_program_edit, console_program_mail, console_program_page
from portal.routes.console import FormBody, console_page
from portal.routes.console_program_views import current_definitions, program_rows, stage_labeler
from tracking.rules.config import Model

CAP_MAX = 50
FIRST_MAIL = (
    "Hi {{ first_name | there }},\n\n"
    "one sentence on why you write, then the reads picked for this lead:\n\n"
    "{{ next_best_content 3 }}\n"
)


class TemplateForm(msgspec.Struct, kw_only=True):
    """New programs from a built-in template (``nurture.programs.templates``)."""

    template: str = ""


class NewForm(msgspec.Struct, kw_only=True):
    """A blank draft: only its name is asked; the rest is edited on its page."""

    name: str = ""


class GuardRailsForm(msgspec.Struct, kw_only=True):
    """The guard rails of all programs, as typed (checked by ``guard_rails_problems``)."""

    paused: str = ""
    weekly_cap: str = ""
    quiet_start: str = ""
    quiet_end: str = ""


@cache
def template_programs(name: str) -> tuple[str, ...]:
    """The names of the programs a template creates (stage-tracks makes several)."""
    return tuple(definition.name for definition in template(name))


def blank(name: str) -> Definition:
    """A minimal valid program: added by hand only, one mail with the next-best content."""
    return parse(
        {
            "name": name,
            "trigger": {"kind": "manual"},
            "steps": [
                {
                    "id": "first-mail",
                    "send": {
                        "subjects": ["{{ first_name | Hello }}, three reads for you"],
                        "body": FIRST_MAIL,
                    },
                }
            ],
        }
    )


def name_problem(name: str) -> str | None:
    """What is wrong with a new program's name, in the reader's language; None: nothing."""
    if problem := unprintable_said(name):
        return i18n.gettext("The name contains %(problem)s.", problem=i18n.say(problem))
    if not name.strip():
        return i18n.gettext(
            "Give the program a name (marketers see it here and in the weekly review)."
        )
    if len(name.strip()) > NAME_MAX:
        return i18n.gettext("Keep the name within %(max)s characters.", max=NAME_MAX)
    return None


def created_notice(names: list[str], template_name: str) -> str:
    """What a template created, and which of its programs stayed as they were."""
    notice = i18n.gettext("Created as drafts: %(names)s.", names=", ".join(sorted(names)))
    if template_name in TEMPLATES:
        left = [name for name in template_programs(template_name) if name not in names]
        if left:
            notice += " " + i18n.gettext(
                "Left as they were (the names are taken): %(names)s.", names=", ".join(left)
            )
    return notice


def _hour(typed: str) -> int | None:
    text = typed.strip()
    return int(text) if text.isdigit() and int(text) <= 23 else None


def guard_rails_problems(form: GuardRailsForm) -> dict[str, str]:
    """What is wrong with each typed guard rail, by field name."""
    problems = {}
    cap = form.weekly_cap.strip()
    if not cap.isdigit() or int(cap) > CAP_MAX:
        problems["weekly_cap"] = i18n.gettext(
            "Give a whole number from 0 (no cap) to %(max)s.", max=CAP_MAX
        )
    for name in ("quiet_start", "quiet_end"):
        if _hour(getattr(form, name)) is None:
            problems[name] = i18n.gettext(
                "Give an hour from 0 to 23 (the same hour twice: no quiet hours)."
            )
    return problems


def _form_of(rails: ProgramSettings) -> GuardRailsForm:
    return GuardRailsForm(
        paused="yes" if rails.paused else "",
        weekly_cap=str(rails.weekly_cap),
        quiet_start=str(rails.quiet_start),
        quiet_end=str(rails.quiet_end),
    )


class ProgramsController(Controller):
    """The list, new programs and the guard rails: marketers and admins."""

    path = PROGRAMS.url
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        created: FromQuery[str] = "",
        template: FromQuery[str] = "",
        saved: FromQuery[str] = "",
    ) -> Template:
        ids = [int(part) for part in created.split(",")[:20] if part.isdigit() and len(part) < 10]
        with database.read() as session:
            names = list(session.scalars(select(Program.name).where(Program.id.in_(ids))))
        notice = None
        if names:
            notice = created_notice(names, template)
        elif saved == "guard-rails":
            notice = i18n.gettext(
                "Guard rails saved. They hold for every program from the next step on."
            )
        return _page(request, database, model, notice=notice)

    @post("/from-template", sync_to_thread=True)
    def from_template(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        data: Annotated[TemplateForm, FormBody],
    ) -> Response[Any]:
        if data.template not in TEMPLATES:
            return _page(
                request,
                database,
                model,
                status_code=400,
                problem=i18n.gettext(
                    "Choose one of the templates: %(names)s.", names=", ".join(TEMPLATES)
                ),
            )
        now = utcnow()
        with database.write() as session:
            taken = set(session.scalars(select(Program.name)))
            created = [
                store.save(
                    session,
                    definition,
                    by=request.user.email,
                    now=now,
                    note=f"template {data.template}",
                ).program.id
                for definition in template(data.template)
                if definition.name not in taken
            ]
        if not created:
            names = ", ".join(template_programs(data.template))
            return _page(
                request,
                database,
                model,
                status_code=409,
                problem=i18n.gettext(
                    "Programs named %(names)s exist already: open them below, or rename them "
                    "first to create fresh copies.",
                    names=names,
                ),
            )
        if len(created) == 1 and len(template_programs(data.template)) == 1:
            return Redirect(f"{PROGRAMS.url}/{created[0]}?done=created", status_code=303)
        ids = ",".join(map(str, created))
        return Redirect(f"{PROGRAMS.url}?created={ids}&template={data.template}", status_code=303)

    @post("/new", sync_to_thread=True)
    def new(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        data: Annotated[NewForm, FormBody],
    ) -> Response[Any]:
        name = " ".join(data.name.split())
        problem = name_problem(data.name)
        status_code = 422
        if problem is None:
            with database.write() as session:
                if session.scalar(select(Program.id).where(Program.name == name)) is not None:
                    problem = i18n.gettext("A program named “%(name)s” exists already.", name=name)
                    status_code = 409
                else:
                    try:
                        saved = store.save(
                            session,
                            blank(name),
                            by=request.user.email,
                            now=utcnow(),
                            note="created blank",
                        )
                    except DefinitionError as refused:
                        problem = i18n.say(refused.said)
                    else:
                        return Redirect(
                            f"{PROGRAMS.url}/{saved.program.id}?done=created", status_code=303
                        )
        return _page(
            request,
            database,
            model,
            status_code=status_code,
            new_problem=problem,
            new_name=data.name,
        )

    @post("/guard-rails", sync_to_thread=True)
    def guard_rails(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        data: Annotated[GuardRailsForm, FormBody],
    ) -> Response[Any]:
        problems = guard_rails_problems(data)
        if problems:
            return _page(
                request, database, model, status_code=422, rails_form=data, rails_problems=problems
            )
        with database.write() as session:
            rails = store.guard_rails(session)
            rails.paused = data.paused == "yes"
            rails.weekly_cap = int(data.weekly_cap.strip())
            rails.quiet_start = int(data.quiet_start.strip())
            rails.quiet_end = int(data.quiet_end.strip())
            rails.updated_at = utcnow()
            rails.updated_by = request.user.email
        return Redirect(f"{PROGRAMS.url}?saved=guard-rails#guard-rails", status_code=303)


def _page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    model: Model,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    now = utcnow()
    with database.read() as session:
        rows = program_rows(session, now, current_definitions(session), stage_labeler(model))
        rails = session.get(ProgramSettings, 1) or ProgramSettings(
            paused=False, weekly_cap=3, quiet_start=21, quiet_end=8, updated_by=""
        )
        for row in rows:
            session.expunge(row.program)
        if rails in session:
            session.expunge(rails)
    context.setdefault("rails_form", _form_of(rails))
    page = console_page(
        request,
        "console/programs.html",
        rows=rows,
        rails=rails,
        rails_problems=context.pop("rails_problems", {}),
        templates=[
            (name, i18n.gettext(words), template_programs(name))
            for name, words in TEMPLATES.items()
        ],
        existing={row.program.name for row in rows},
        **context,
    )
    page.status_code = status_code
    return page


ROUTES: list[Any] = [
    ProgramsController,
    *console_program_page.ROUTES,
    *console_program_edit.ROUTES,
    *console_program_mail.ROUTES,
]
