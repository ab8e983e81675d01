""" "Talk to sales": the built-in demo-request form that puts a lead on the sales fast lane.

Held off against spam exactly like the gate form (``portal.routes.gate``): a
honeypot field, a signed start time for the minimum fill time, and the same
per-address limit. Works without JavaScript (303 to a thank-you page) and with
htmx (the thank-you fragment replaces the form).

A request with the email of a known lead this browser does not speak for still reaches
sales, but the browser is not greeted and its answers wait on a claim
(``tracking.identity.demo_requests``); the lead gets the confirmation and the "continue on
this device" link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from content import catalog
from content.models import Asset
from content.orm import utcnow
from content.printable import unprintable
from content.words import N_, Said
from portal import i18n
from portal.dependencies import PublicSite
from portal.form_words import consent_shown, errors_shown
from portal.mail.form_mails import Sent
from portal.mail.identity_mails import queue_after_demo_request
from portal.routes.gate import (
    AUTOCOMPLETE,
    FORM_MAX_BYTES,
    HONEYPOT_FIELD,
    STARTED_FIELD,
    TOO_FAST,
    Answers,
    form_rate_verdict,
    form_started,
    too_fast,
    too_many_notice,
)
from portal.routes.library import PERSONAL, SHARED, opt_in_notice
from portal.visitor import visitor_of
from tracking.identity import identify
from tracking.identity.demo_requests import (
    clean_demo_request,
    demo_request_form,
    submit_demo_request,
)

PATH = "/talk-to-sales"
SPAM = N_("We couldn't accept this form. Please check your answers and send it again.")


def _context_asset(session: Session, slug: str | None) -> Asset | None:
    """The published asset the visitor came from (``?asset=SLUG``), if it exists; the form
    speaks its language, as its page did (unless the reader chose one)."""
    if not slug or unprintable(slug):  # such a slug names no asset (and cannot be queried)
        return None
    asset = catalog.find_live(session, slug[:120])
    if asset is not None:
        session.expunge(asset)
        i18n.prefer(asset.language)
    return asset


def _context(
    site: PublicSite,
    asset: Asset | None,
    *,
    known: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, Said | str] | None = None,
    notice: str | None = None,
    started: str = "",
) -> dict[str, Any]:
    """What the form templates need; ``errors`` are said in the reader's language here,
    ``notice`` comes said, ``started`` is the form's start time as it was posted."""
    model = site.model
    form = demo_request_form(model)
    return {
        "form": form,
        "required": {spec.name for spec in form.required},
        "asset": asset,
        "values": values or dict(known or {}),
        "errors": errors_shown(errors or {}),
        "notice": notice,
        "started": form_started(site.signer, started),
        "consent_text": consent_shown(model.profiling).text,
        "autocomplete": AUTOCOMPLETE,
    }


def _render(request: HTMXRequest, context: dict[str, Any], status_code: int = 200) -> Response[Any]:
    if request.htmx:
        return HTMXTemplate(
            template_name="partials/sales_form.html",
            context=context,
            status_code=status_code,
            re_target="#sales-form",
            re_swap="outerHTML",
        )
    return Template("public/talk_to_sales.html", context=context, status_code=status_code)


@get(PATH, include_in_schema=False, sync_to_thread=True, response_headers=PERSONAL)
def talk_to_sales(
    request: HTMXRequest, site: NamedDependency[PublicSite], asset: FromQuery[str | None] = None
) -> Response[Any]:
    """The form, with the asset the visitor came from as context."""
    with site.database.read() as session:
        context_asset = _context_asset(session, asset)
        lead = identify.known_lead(session, visitor_of(request).id)
    # A returning prospect finds what we know already filled in (they may still correct it).
    known = {"email": lead.email, **lead.profile} if lead else None
    return _render(request, _context(site, context_asset, known=known))


@post(
    PATH,
    include_in_schema=False,
    sync_to_thread=True,
    request_max_body_size=FORM_MAX_BYTES,
    response_headers=PERSONAL,
    status_code=200,
)
def request_demo(
    request: HTMXRequest, site: NamedDependency[PublicSite], data: Answers
) -> Response[Any]:
    """A demo request: checked like a gate form, then the lead goes straight to sales."""
    model = site.model
    visitor = visitor_of(request)
    answers = {k: v for k, v in data.items() if isinstance(v, str)}
    with site.database.write() as session:
        asset = _context_asset(session, answers.get("asset"))
        verdict = form_rate_verdict(session, request, model)
        if not verdict.allowed:
            context = _context(
                site,
                asset,
                values=answers,
                notice=too_many_notice(verdict),
                started=answers.get(STARTED_FIELD, ""),
            )
            response = _render(request, context, status_code=429)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        if answers.get(HONEYPOT_FIELD) or visitor.crawler:
            context = _context(site, asset, values=answers, notice=i18n.gettext(SPAM))
            return _render(request, context, 400)
        # Mistakes are named first (submit_demo_request refuses them); only a valid form is timed.
        _, mistakes = clean_demo_request(answers, demo_request_form(model))
        if not mistakes and too_fast(
            site.signer, answers.get(STARTED_FIELD, ""), model.profiling.min_fill_seconds
        ):
            context = _context(
                site,
                asset,
                values=answers,
                notice=i18n.gettext(TOO_FAST),
                started=answers.get(STARTED_FIELD, ""),
            )
            return _render(request, context, 422)
        result = submit_demo_request(
            session,
            visitor.id,
            answers,
            consent_ticked=bool(answers.get("consent_marketing")),
            asset=asset,
            model=model,
            accept_free_mail=site.settings.free_mail == "accept",
            language=i18n.current(),
        )
        if not result.accepted:
            context = _context(
                site,
                asset,
                values=result.values,
                errors=result.errors,
                started=answers.get(STARTED_FIELD, ""),
            )
            return _render(request, context, status_code=422)
        mails = queue_after_demo_request(
            session, site.settings, result, asset.id if asset else None, utcnow()
        )
    continue_mail = mails.continue_link
    if result.visitor_id:
        visitor.rotate(result.visitor_id)
    claimed = result.claim is not None
    if request.htmx:
        return HTMXTemplate(
            template_name="partials/sales_thanks.html",
            context={
                # A claim is not greeted: the name typed is not proven to be this browser's.
                "first_name": None if claimed else result.values.get("first_name"),
                "continue_mail": continue_mail.value if claimed else "",
                "opt_in_notice": opt_in_notice(mails.opt_in),
            },
            re_target="#sales-form",
            re_swap="outerHTML",
        )
    note = f"?sent={continue_mail.value}" if claimed else ""
    return Redirect(f"{PATH}/thanks{note}", status_code=303)


@get(f"{PATH}/thanks", include_in_schema=False, sync_to_thread=False)
def thanks(sent: FromQuery[str] = "") -> Template:
    """Where the form lands without JavaScript (``?sent=``: a claim's continue mail went, or
    was held by the per-address limit)."""
    shown = sent if sent in (Sent.QUEUED.value, Sent.HELD.value) else ""
    return Template(
        "public/sales_thanks.html",
        context={"first_name": None, "continue_mail": shown},
        headers=SHARED,
    )


ROUTES = [talk_to_sales, request_demo, thanks]
