"""Console → Programs: nurture programs (list, build, preview, activate, review)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from nurture.programs.models import Program
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes.console import console_page


class ProgramsController(Controller):
    path = PROGRAMS.url
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Template:
        from sqlalchemy import select

        with database.read() as session:
            programs = list(session.scalars(select(Program).order_by(Program.name)))
            for program in programs:
                session.expunge(program)
        return console_page(request, "console/programs.html", programs=programs)


ROUTES: list[Any] = [ProgramsController]
