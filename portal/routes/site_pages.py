"""The built-in privacy page every public form links to, and its editor in the console."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response, Template

from content.markdown import render_markdown
from content.site_pages import PRIVACY, body_problem, page_text, restore_built_in, save_page
from content.words import N_
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PRIVACY_POLICY
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.settings import Settings

PRIVACY_PATH = "/privacy"
"""The built-in page (``LEADSHELF_PRIVACY_URL``'s default)."""


class PolicyForm(msgspec.Struct, kw_only=True):
    """The privacy policy editor: the Markdown text, or the button that restores the built-in."""

    body: str = ""
    restore: str = ""
    """``built-in`` when the admin asked for the built-in text back."""


@get(PRIVACY_PATH, include_in_schema=False, sync_to_thread=True)
def privacy_page(database: NamedDependency[Database]) -> Template:
    """The privacy policy in the reader's language: the admin's text, or the built-in one until
    they write their own."""
    with database.read() as session:
        text = page_text(session, PRIVACY, i18n.current())
    return Template(
        "public/privacy.html",
        context={"policy_html": render_markdown(text.body)},
        headers={"Vary": "Cookie, Accept-Language"},
    )


class SitePagesController(Controller):
    """Admins write the privacy policy (Markdown, sanitized like asset bodies)."""

    path = PRIVACY_POLICY.url
    guards = [requires_role(*PRIVACY_POLICY.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def edit(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
    ) -> Template:
        with database.read() as session:
            text = page_text(session, PRIVACY)
        saved = request.query_params.get("done")
        return _editor(request, settings, text.body, built_in=text.built_in, notice=saved)

    @post("/")
    async def save(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        data: Annotated[PolicyForm, FormBody],
    ) -> Response[Any]:
        body = data.body.replace("\r\n", "\n")
        restore = data.restore == "built-in"
        problem = None if restore else body_problem(body)
        if problem:
            response = _editor(request, settings, body, built_in=False, problem=problem)
            response.status_code = 422
            return response
        author = request.user.email

        def work() -> None:
            with database.write() as session:
                if restore:
                    restore_built_in(session, PRIVACY)
                else:
                    save_page(session, PRIVACY, body, author)

        await to_thread.run_sync(work)
        done = "restored" if restore else "saved"
        return Redirect(f"{PRIVACY_POLICY.url}?done={done}", status_code=303)


NOTICES = {
    "saved": N_("Saved: the privacy page shows your text."),
    "restored": N_("The privacy page shows the built-in text again."),
}


def _editor(
    request: Request[StaffPrincipal, Any, Any],
    settings: Settings,
    body: str,
    *,
    built_in: bool,
    notice: str | None = None,
    problem: str | None = None,
) -> Template:
    return console_page(
        request,
        "console/privacy.html",
        body=body,
        built_in=built_in,
        notice=i18n.gettext(NOTICES[notice]) if notice in NOTICES else None,
        problem=problem,
        linked_elsewhere=settings.privacy_url != PRIVACY_PATH,
        privacy_url=settings.privacy_url,
    )


ROUTES = [privacy_page]
