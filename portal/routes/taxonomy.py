"""Topics and personas: editors give them the labels prospects read."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from content import taxonomy
from content.indexer import record_change
from content.models import Persona, Topic
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import LIBRARY
from portal.db import Database
from portal.routes.console import FormBody, console_page

MODELS: dict[str, type[Topic] | type[Persona]] = {"topics": Topic, "personas": Persona}


class LabelForm(msgspec.Struct, kw_only=True):
    """A topic's or persona's new label."""

    label: str = ""


class TaxonomyController(Controller):
    path = "/console/taxonomy"
    guards = [requires_role(*LIBRARY.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Template:
        with database.read() as session:
            topics = taxonomy.all_topics(session)
            personas = taxonomy.all_personas(session)
        notice = request.query_params.get("done")
        problem = request.query_params.get("problem")
        return console_page(
            request,
            "console/taxonomy.html",
            groups=[("topics", "Topics", topics), ("personas", "Personas", personas)],
            notice=notice,
            problem=problem,
        )

    @post("/{group:str}/{slug:str}")
    async def relabel(
        self,
        database: NamedDependency[Database],
        group: FromPath[str],
        slug: FromPath[str],
        data: Annotated[LabelForm, FormBody],
    ) -> Response[Any]:
        table = MODELS.get(group)
        if table is None:
            raise NotFoundException()
        label = data.label

        def work() -> str | None:
            try:
                with database.write() as session:
                    for asset_id in taxonomy.rename(session, table, slug, label):
                        record_change(session, asset_id, "relabelled")  # cards and facets refresh
            except LookupError:
                return f"No such entry: {slug}"
            except ValueError as exc:
                return str(exc)
            return None

        problem = await to_thread.run_sync(work)
        query = {"problem": problem} if problem else {"done": f"Saved “{label.strip()}”."}
        return Redirect(f"/console/taxonomy?{urlencode(query)}", status_code=303)
