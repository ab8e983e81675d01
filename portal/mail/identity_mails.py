"""The transactional mails of the public forms: "continue on this device" (a browser typed a
known lead's email), "your copy of …" (a gated download), and the Talk-to-sales
confirmation. All three answer the reader's own request: they go without marketing consent
and carry no marketing content (no recommendations, no news, no tracking pixel).

``queue_*`` write a mail in the caller's transaction, within the per-address limit of
``portal.mail.form_mails``; the ``CONTEXTS`` read what each mail shows at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from content.models import Asset
from portal.mail import form_mails
from portal.mail.form_mails import Sent
from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.links import CONTINUE_HOURS
from portal.routes.library import download_url
from portal.settings import Settings
from tracking.identity.demo_requests import DemoRequestResult
from tracking.identity.gate_forms import GateResult
from tracking.identity.unlocks import Unlocker
from tracking.lead_profile import profile
from tracking.models import IdentityClaim

CONTINUE = "continue"
ASSET_COPY = "asset_copy"
SALES_CONFIRMATION = "sales_confirmation"


def queue_continue(
    session: Session, settings: Settings, lead_id: int, claim_id: int, now: datetime
) -> Sent:
    """The "continue on this device" link of a claim, to the lead's address."""
    return form_mails.form_mail(
        session, settings, lead_id, CONTINUE, now=now, params={"claim": claim_id}
    )


def queue_asset_copy(
    session: Session, settings: Settings, lead_id: int, asset: Asset, now: datetime
) -> Sent:
    """ "Your copy of …" with a download link bound to the lead, once per lead and asset, when
    ``mail_gated_downloads`` is on and the asset has a file."""
    if not settings.mail_gated_downloads or not asset.file_sha256:
        return Sent.NOT_NEEDED
    return form_mails.form_mail(
        session,
        settings,
        lead_id,
        ASSET_COPY,
        now=now,
        params={"asset": asset.id, "days": settings.download_link_days},
        dedupe_key=f"asset-copy:{lead_id}:{asset.id}",
    )


def queue_sales_confirmation(
    session: Session, settings: Settings, lead_id: int, asset_id: int | None, now: datetime
) -> Sent:
    """What happens after a "Talk to sales" request."""
    return form_mails.form_mail(
        session, settings, lead_id, SALES_CONFIRMATION, now=now, params={"asset": asset_id}
    )


@dataclass(frozen=True, slots=True)
class FormMails:
    """What became of the mails a form asked for, for the page to say so."""

    continue_link: Sent = Sent.NOT_NEEDED
    """A claim's "continue on this device" link."""
    opt_in: Sent = Sent.NOT_NEEDED
    """The double opt-in confirmation (the box was ticked)."""


def queue_after_gate(
    session: Session, settings: Settings, asset: Asset, result: GateResult, now: datetime
) -> FormMails:
    """The mails of an accepted gate form: for a claim, the continue link; for the browser's
    lead, the opt-in confirmation (box ticked) and the copy of a first unlock's file."""
    if result.claim is not None:
        return FormMails(
            continue_link=queue_continue(
                session, settings, result.claim.lead_id, result.claim.claim_id, now
            )
        )
    assert result.lead_id is not None
    opt_in = form_mails.confirm_subscription(
        session, settings, result.lead_id, result.consent_to_confirm, now
    )
    if result.first_unlock:
        queue_asset_copy(session, settings, result.lead_id, asset, now)
    return FormMails(opt_in=opt_in)


def queue_after_demo_request(
    session: Session,
    settings: Settings,
    result: DemoRequestResult,
    asset_id: int | None,
    now: datetime,
) -> FormMails:
    """The mails of an accepted "Talk to sales" request: the confirmation, then for a claim the
    continue link, else the opt-in confirmation (box ticked)."""
    assert result.lead_id is not None
    queue_sales_confirmation(session, settings, result.lead_id, asset_id, now)
    if result.claim is not None:
        return FormMails(
            continue_link=queue_continue(
                session, settings, result.claim.lead_id, result.claim.claim_id, now
            )
        )
    opt_in = form_mails.confirm_subscription(
        session, settings, result.lead_id, result.consent_to_confirm, now
    )
    return FormMails(opt_in=opt_in)


def _first_name(context: KindContext) -> str:
    lead_id = context.message.lead_id
    return profile(context.session, lead_id).get("first_name", "") if lead_id else ""


def _asset(context: KindContext, asset_id: Any) -> Asset | None:
    return context.session.get(Asset, int(asset_id)) if asset_id is not None else None


def continue_here(context: KindContext) -> Mapping[str, Any]:
    """The claim's link (``params["claim"]``), signed now, and what the claim asked for."""
    claim = context.session.get(IdentityClaim, int(context.message.params["claim"]))
    if claim is None:
        raise LookupError("the claim of this mail is gone (its lead was erased)")
    asset = _asset(context, claim.asset_id)
    return {
        "continue_url": context.links.continue_here(claim.id, claim.lead_id),
        "hours": CONTINUE_HOURS,
        "asset_title": asset.title if asset is not None else "",
        "first_name": _first_name(context),
    }


def asset_copy(context: KindContext) -> Mapping[str, Any]:
    """The asset (``params["asset"]``) and its download link for the lead, signed now (it works
    ``params["days"]`` days, on any device)."""
    message = context.message
    asset = _asset(context, message.params["asset"])
    if asset is None or not asset.file_sha256 or message.lead_id is None:
        raise LookupError("the asset of this mail is gone or has no file")
    path = download_url(context.links.signer, asset, Unlocker(lead_id=message.lead_id))
    return {
        "asset_title": asset.title,
        "asset_url": context.links.url(f"/library/{asset.slug}"),
        "download_url": f"{context.links.base_url}{path}",
        "file_name": asset.file_name or "",
        "days": int(message.params.get("days") or 7),
        "first_name": _first_name(context),
    }


def sales_confirmation(context: KindContext) -> Mapping[str, Any]:
    """The name we know and the asset the request came from (``params["asset"]``, if any).
    What the person typed into the message is never repeated: the form is open to anyone, and
    the mail must not carry a stranger's text to someone else's inbox."""
    asset = _asset(context, context.message.params.get("asset"))
    return {
        "first_name": _first_name(context),
        "asset_title": asset.title if asset is not None else "",
    }


CONTEXTS: dict[str, ContextFunction] = {
    CONTINUE: continue_here,
    ASSET_COPY: asset_copy,
    SALES_CONFIRMATION: sales_confirmation,
}
