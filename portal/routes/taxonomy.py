"""Topics and personas: editors give them the labels prospects read."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State
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
from portal.routes.console import console_page

MODELS: dict[str, type[Topic] | type[Persona]] = {"topics": Topic, "personas": Persona}


class TaxonomyController(Controller):
    path = "/console/taxonomy"
    guards = [requires_role(*LIBRARY.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(self, request: Request[StaffPrincipal, Any, Any], state: State) -> Template:
        database: Database = state.db
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
        request: Request[StaffPrincipal, Any, Any],
        state: State,
        group: FromPath[str],
        slug: FromPath[str],
    ) -> Response[Any]:
        model = MODELS.get(group)
        if model is None:
            raise NotFoundException()
        form = await request.form()
        label = str(form.get("label", ""))
        database: Database = state.db

        def work() -> str | None:
            try:
                with database.write() as session:
                    for asset_id in taxonomy.rename(session, model, slug, label):
                        record_change(session, asset_id, "relabelled")  # cards and facets refresh
            except LookupError:
                return f"No such entry: {slug}"
            except ValueError as exc:
                return str(exc)
            return None

        problem = await to_thread.run_sync(work)
        query = {"problem": problem} if problem else {"done": f"Saved “{label.strip()}”."}
        return Redirect(f"/console/taxonomy?{urlencode(query)}", status_code=303)
