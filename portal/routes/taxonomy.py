"""Topics and personas: editors give them the labels prospects read, in each language."""

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
from content.models import LANGUAGES, Persona, Topic
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import LIBRARY
from portal.db import Database
from portal.routes.console import FormBody, console_page

MODELS: dict[str, type[Topic] | type[Persona]] = {"topics": Topic, "personas": Persona}


class LabelForm(msgspec.Struct, kw_only=True):
    """A topic's or persona's new label (English) and its German one; a language not sent
    keeps its label."""

    label: str = ""
    label_de: str | None = None

    def translated(self) -> dict[str, str]:
        sent = {"de": self.label_de}
        return {lang: text for lang, text in sent.items() if text is not None}


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
            groups=[
                ("topics", i18n.gettext("Topics"), topics),
                ("personas", i18n.gettext("Personas"), personas),
            ],
            other_languages=[(lang, LANGUAGES[lang]) for lang in i18n.LANGUAGES[1:]],
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
        label, translated = data.label, data.translated()

        def work() -> str | None:
            try:
                with database.write() as session:
                    for asset_id in taxonomy.rename(session, table, slug, label, translated):
                        record_change(session, asset_id, "relabelled")  # cards and facets refresh
            except LookupError:
                return i18n.gettext("No such entry: %(slug)s", slug=slug)
            except taxonomy.LabelError as exc:
                return i18n.say(exc.said)
            return None

        problem = await to_thread.run_sync(work)
        saved = i18n.gettext("Saved “%(label)s”.", label=" ".join(label.split()))
        query = {"problem": problem} if problem else {"done": saved}
        return Redirect(f"/console/taxonomy?{urlencode(query)}", status_code=303)
