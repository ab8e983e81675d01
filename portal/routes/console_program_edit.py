"""Console → Programs → a program as YAML: the whole definition (trigger, steps, mails, goals)
in one text, the same format ``leadshelf programs export`` writes. Saving parses it; a fault
is shown with where it is and what is wrong, and the typed text stays as typed. A saved edit
of a program that leads entered is a new version (they finish the one they started)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import exists, select

from content.orm import utcnow
from content.printable import unprintable_said
from content.words import N_, Said
from nurture.programs import merge, store
from nurture.programs.definition import DefinitionError, from_yaml, to_yaml
from nurture.programs.models import Enrollment
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_program_mail import block_help, fingerprint
from portal.routes.console_program_page import program_or_404
from portal.routes.console_program_views import versions_of

TEXT_MAX = 200_000


class YamlForm(msgspec.Struct, kw_only=True):
    text: str = ""
    based_on: str = ""
    """The fingerprint of the definition the editor was opened on (two editors at once)."""


def read_program(text: str) -> Any:
    """The one program a text holds, or ``DefinitionError`` saying where it is wrong."""
    if len(text) > TEXT_MAX:
        raise DefinitionError(
            "", Said(N_("the text is longer than %(max)s characters"), max=f"{TEXT_MAX:,}")
        )
    if problem := unprintable_said(text, multiline=True):
        raise DefinitionError("", Said(N_("the text contains %(problem)s"), problem=problem))
    found = from_yaml(text)
    if len(found) != 1:
        raise DefinitionError(
            "", Said(N_("one program here (import several with leadshelf programs import)"))
        )
    definition, status = found[0]
    if status is not None:
        raise DefinitionError(
            "status", Said(N_("change the status with the buttons on the program page"))
        )
    return definition


class YamlController(Controller):
    path = PROGRAMS.url
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/{program_id:int}/yaml", sync_to_thread=True)
    def editor(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        program_id: FromPath[int],
        version: FromQuery[int | None] = None,
    ) -> Template:
        """The current definition, or an older version's (saving it restores it as new)."""
        with database.read() as session:
            program = program_or_404(session, program_id)
            shown = program.version
            if version is not None and 0 < version < program.version:
                shown = version
            definition = store.definition(session, program.id, shown)
            based_on = fingerprint(store.current(session, program))
        return _page(
            request,
            database,
            program_id,
            YamlForm(text=to_yaml([(definition, None)]), based_on=based_on),
            shown_version=shown,
        )

    @post("/{program_id:int}/yaml", sync_to_thread=True)
    def save(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        program_id: FromPath[int],
        data: Annotated[YamlForm, FormBody],
    ) -> Response[Any]:
        try:
            definition = read_program(data.text)
        except DefinitionError as refused:
            return _page(request, database, program_id, data, status_code=422, fault=refused)
        with database.write() as session:
            program = program_or_404(session, program_id)
            if data.based_on and data.based_on != fingerprint(store.current(session, program)):
                conflict = DefinitionError(
                    "",
                    Said(
                        N_(
                            "someone saved this program while you edited it; "
                            "your text is kept: compare, then save again"
                        )
                    ),
                )
                saved = None
            else:
                conflict = None
                try:
                    saved = store.save(
                        session,
                        definition,
                        by=request.user.email,
                        now=utcnow(),
                        program=program,
                        note="edited as YAML",
                    )
                except ValueError as refused:
                    conflict = DefinitionError("name", refused.args[0])
        if saved is None:
            assert conflict is not None
            return _page(request, database, program_id, data, status_code=409, fault=conflict)
        return Redirect(
            f"{PROGRAMS.url}/{program_id}?done={saved.outcome}&version={saved.program.version}",
            status_code=303,
        )


def _page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    program_id: int,
    form: YamlForm,
    *,
    status_code: int = 200,
    fault: DefinitionError | None = None,
    shown_version: int | None = None,
) -> Template:
    with database.read() as session:
        program = program_or_404(session, program_id)
        entered = bool(session.scalar(select(exists().where(Enrollment.program_id == program.id))))
        versions = versions_of(session, program.id)
        session.expunge_all()
    page = console_page(
        request,
        "console/program_yaml.html",
        program=program,
        form=form,
        fault=fault,
        entered=entered,
        versions=versions,
        shown_version=shown_version or program.version,
        blocks=block_help(),
        fields=merge.FIELDS,
    )
    page.status_code = status_code
    return page


ROUTES: list[Any] = [YamlController]
