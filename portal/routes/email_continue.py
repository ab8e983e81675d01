""" "Continue on this device": ``GET /email/continue?t=`` links the browser that opens the link
to the lead whose inbox received it (``tracking.identity.claims.verify``).

The token (``portal.mail.links.Links.continue_here``) names the claim and the lead and works
``CONTINUE_HOURS``. A click links this browser as an identification does (its anonymous
history stitched, a fresh visitor id in its cookie), applies the claim's answers only where
the lead has none, unlocks the claimed asset for the lead, and asks the consent when the
claim's box was ticked (the double opt-in mail goes; the click proves the inbox, not the
wish to subscribe). Then it redirects to the asset with a short notice, or shows a page when
the claim had no asset (Talk to sales).

Link previewers and other bots that fetch the link change nothing: they get a page asking
to open the link in a browser. An expired, forged or erased link gets a page that says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from content import catalog
from content.models import Asset
from content.orm import utcnow
from portal import i18n
from portal.dependencies import PublicSite
from portal.mail import form_mails
from portal.mail.identity_mails import queue_asset_copy
from portal.mail.links import CONTINUE_HOURS, read_continue
from portal.routes.library import PERSONAL
from portal.visitor import visitor_of
from tracking.identity import claims
from tracking.identity.claims import Continued
from tracking.models import Lead


def _page(state: str, lead_language: str | None, status_code: int) -> Template:
    """The page of a link that does not lead to an asset: in the lead's language when the link
    named one (unless the reader switched), else the request's."""
    i18n.prefer(lead_language)
    return Template(
        "public/email_continue.html",
        context={"state": state, "hours": CONTINUE_HOURS},
        status_code=status_code,
        headers=PERSONAL,
    )


@get("/email/continue", include_in_schema=False, sync_to_thread=True)
def continue_here(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Response[Any]:
    """Link this browser to the lead of a valid link, then go to what the claim asked for."""
    found = read_continue(site.signer, t)
    if isinstance(found, str):
        return _page(found, None, 410 if found == "expired" else 400)
    claim_id, lead_id = found
    visitor = visitor_of(request)
    if visitor.crawler:  # a link previewer or scanner: it must not become the lead's browser
        return _page("browser", None, 200)
    now = utcnow()
    with site.database.write() as session:
        done = claims.verify(
            session, claim_id, lead_id, visitor_id=visitor.id, now=now, model=site.model
        )
        if done is None:
            return _page("invalid", None, 400)
        lang = _mail_after_click(session, site, done, now)
        target = _live_asset_slug(session, done.asset_id)
    visitor.rotate(done.visitor_id)
    if target is not None:
        return Redirect(f"/library/{target}?note=continued", status_code=303)
    return _page("continued", lang, 200)


def _mail_after_click(session: Session, site: PublicSite, done: Continued, now: datetime) -> str:
    """The mails the click asks for (no per-address limit: the reader's own click from the
    inbox); returns the lead's language for the page ("": the site's)."""
    form_mails.confirm_subscription(
        session, site.settings, done.lead_id, done.consent_to_confirm, now, limit=None
    )
    asset = session.get(Asset, done.asset_id) if done.asset_id is not None else None
    if done.first_unlock and asset is not None:
        queue_asset_copy(session, site.settings, done.lead_id, asset, now)
    lead = session.get(Lead, done.lead_id)
    return lead.language if lead is not None else ""


def _live_asset_slug(session: Session, asset_id: int | None) -> str | None:
    if asset_id is None:
        return None
    asset = session.get(Asset, asset_id)
    if asset is None or catalog.find_live(session, asset.slug) is None:
        return None
    return asset.slug


ROUTES = [continue_here]
