"""Gates: the progressive-profiling form, its submission, "Not you?", and signed downloads.

The form is its own fragment (``GET /library/{slug}/gate``) so the asset page
stays the same for every browser. Without JavaScript the same URL is a page
of its own and the submission answers with a redirect; with htmx the answer
is swapped in place. Spam is held off without a CAPTCHA: a honeypot field,
a minimum fill time (a signed start time in the form) and a per-address limit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from content import catalog
from content.models import Asset, Gate
from content.orm import utcnow
from content.words import N_, Said
from nurture.intelligence import experiments
from portal import i18n, ratelimit
from portal.dependencies import PublicSite
from portal.form_words import consent_shown, errors_shown
from portal.mail.identity_mails import FormMails, queue_after_gate
from portal.recording import record_server_events
from portal.routes.library import (
    PERSONAL,
    SHARED,
    asset_context,
    claim_note,
    claim_notice,
    download_url,
    live_file_or_404,
    opt_in_note,
    opt_in_notice,
    recommended,
    recommended_for_lead,
    send_file,
)
from portal.signing import InvalidToken, Purpose, Signer
from portal.visitor import VisitorContext, visitor_of
from portal.web import client_ip, safe_next
from tracking import events
from tracking.identity import unlocks
from tracking.identity.forget import forget as forget_browser
from tracking.identity.gate_forms import GateForm, GateResult, gate_form, submit_gate
from tracking.identity.unlocks import Unlocker
from tracking.identity.visitors import new_visitor_id
from tracking.lead_profile import profile
from tracking.rules.config import Model
from tracking.rules.profiling import clean_answers

HONEYPOT_FIELD = "hp_website"
STARTED_FIELD = "_started"
REGISTERED = N_("You are registered. Add the webinar to your calendar below.")
UNLOCKED = N_("Unlocked — enjoy the read.")
TOO_FAST = N_(
    "That was quicker than we expected — please check your answers and send the form again."
)
AUTOCOMPLETE = {
    "email": "email",
    "first_name": "given-name",
    "last_name": "family-name",
    "company": "organization",
    "job_title": "organization-title",
    "country": "country-name",
    "phone": "tel",
}

FORM_MAX_BYTES = 16 * 1024
"""A gate form is a few short answers; anything bigger is refused before it is parsed."""


Answers = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _gate_asset(session: Session, slug: str) -> Asset:
    """A live asset that has a gate (gated or soft); anything else is not found. Its form
    speaks the asset's language, as its page does (unless the reader chose one)."""
    asset = catalog.find_live(session, slug)
    if asset is None or asset.gate == Gate.OPEN.value:
        raise NotFoundException()
    i18n.prefer(asset.language)
    return asset


def _form_context(
    site: PublicSite,
    asset: Asset,
    form: GateForm,
    *,
    errors: Mapping[str, Said | str] | None = None,
    values: Mapping[str, str] | None = None,
    notice: str | None = None,
    started: str = "",
) -> dict[str, Any]:
    """What the form templates need; ``errors`` are said in the reader's language here,
    ``notice`` comes said, ``started`` is the form's start time as it was posted."""
    return {
        **asset_context(site.signer, asset, None),
        "form": form,
        "errors": errors_shown(errors or {}),
        "values": values or {},
        "notice": notice,
        "started": form_started(site.signer, started),
        "consent_text": consent_shown(site.model.profiling).text,
        "autocomplete": AUTOCOMPLETE,
    }


def _render_form(
    request: HTMXRequest, context: dict[str, Any], status_code: int = 200
) -> Response[Any]:
    """The form fragment for htmx, the form page otherwise."""
    if request.htmx:
        return HTMXTemplate(
            template_name="partials/gate_form.html",
            context=context,
            status_code=status_code,
            re_target="#gate",
            re_swap="outerHTML",
        )
    return Template("public/gate.html", context=context, status_code=status_code)


@get(
    "/library/{slug:str}/gate",
    include_in_schema=False,
    sync_to_thread=True,
    response_headers=PERSONAL,
)
def gate(
    slug: FromPath[str], request: HTMXRequest, site: NamedDependency[PublicSite]
) -> Response[Any]:
    """The gate form this browser should see (only the questions still unknown)."""
    visitor = visitor_of(request)
    with site.database.read() as session:
        asset = _gate_asset(session, slug)
        form = gate_form(session, asset, visitor.id, site.model)
        seen = experiments.shown(
            session, asset.id, _experiment_browser(request, visitor), passed_gate=form.unlocked
        )
        session.expunge(asset)
    if seen is not None and seen.to_record:
        assert visitor.id is not None
        with site.database.write() as session:
            experiments.expose(session, seen, visitor.id, utcnow())
    if form.unlocked and asset.gate == Gate.GATED.value:
        holder = Unlocker(lead_id=form.lead.id) if form.lead else Unlocker(visitor_id=visitor.id)
        return _unlocked(request, site, asset, holder, None)
    if seen is not None and seen.open:
        return _open_arm(request, site, asset, visitor)
    record_server_events(
        site.ingestor,
        request,
        events.GateView(asset_id=asset.id, asked=tuple(f.name for f in form.fields)),
    )
    return _render_form(request, _form_context(site, asset, form))


def _experiment_browser(request: HTMXRequest, visitor: VisitorContext) -> str | None:
    """The browser a gate experiment may assign an arm: a tracked one that came back with its
    id, loading the form as the page's fragment (a page without JavaScript keeps the gate and
    stays out of the comparison)."""
    if not request.htmx or not visitor.tracking or visitor.is_new or visitor.crawler:
        return None
    return visitor.id


def _open_arm(
    request: HTMXRequest, site: PublicSite, asset: Asset, visitor: VisitorContext
) -> Response[Any]:
    """The open arm of a gate experiment: a gated asset's content and file as if it were open
    (swapped over the teaser), a soft asset without its form."""
    if asset.gate == Gate.GATED.value:
        return _unlocked(request, site, asset, Unlocker(visitor_id=visitor.id), None)
    return HTMXTemplate(
        template_name="partials/gate_none.html",
        context={},
        re_target=".soft-gate",
        re_swap="outerHTML",
    )


@post(
    "/library/{slug:str}/unlock",
    include_in_schema=False,
    sync_to_thread=True,
    request_max_body_size=FORM_MAX_BYTES,
    response_headers=PERSONAL,
)
def unlock(
    slug: FromPath[str], request: HTMXRequest, site: NamedDependency[PublicSite], data: Answers
) -> Response[Any]:
    """A gate form submission: checked, then the browser is identified (or, for a known lead's
    email on a browser that does not speak for it, claims) and the asset unlocked."""
    model = site.model
    visitor = visitor_of(request)
    answers = {k: v for k, v in data.items() if isinstance(v, str)}
    if answers.get(HONEYPOT_FIELD) or visitor.crawler:
        return Template(
            "public/error.html",
            context={
                "status_code": 400,
                "title": i18n.gettext("We couldn't accept this form"),
                "message": i18n.gettext("Please reload the page and try again."),
            },
            status_code=400,
        )
    with site.database.write() as session:
        verdict = form_rate_verdict(session, request, model)
        asset = _gate_asset(session, slug)
        form = gate_form(session, asset, visitor.id, model)
        if not verdict.allowed:
            context = _form_context(
                site,
                asset,
                form,
                values=answers,
                notice=too_many_notice(verdict),
                started=answers.get(STARTED_FIELD, ""),
            )
            response = _render_form(request, context, status_code=429)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        # A one-click form has nothing to fill in (and only a known lead's browser sees it).
        min_seconds = model.profiling.min_fill_seconds if form.fields else 0.0
        # Mistakes are named first (submit_gate refuses them); only a valid form is timed.
        _, mistakes = clean_answers(answers, form.fields)
        if not mistakes and too_fast(site.signer, answers.get(STARTED_FIELD, ""), min_seconds):
            context = _form_context(
                site,
                asset,
                form,
                values=answers,
                notice=i18n.gettext(TOO_FAST),
                started=answers.get(STARTED_FIELD, ""),
            )
            return _render_form(request, context, status_code=422)
        result = submit_gate(
            session,
            asset,
            visitor.id,
            answers,
            consent_ticked=bool(answers.get("consent_marketing")),
            model=model,
            accept_free_mail=site.settings.free_mail == "accept",
            language=i18n.current(),
        )
        if not result.accepted:
            context = _form_context(
                site,
                asset,
                result.form,
                errors=result.errors,
                values=result.values,
                started=answers.get(STARTED_FIELD, ""),
            )
            return _render_form(request, context, status_code=422)
        mails = queue_after_gate(session, site.settings, asset, result, utcnow())
        session.expunge(asset)
    return _accepted(request, site, asset, result, visitor, mails)


def form_rate_verdict(
    session: Session, request: Request[Any, Any, Any], model: Model
) -> ratelimit.Verdict:
    """Count one public form submission (gate or "Talk to sales") against the address's limit;
    every public form shares it, so a bot cannot spread its tries across forms."""
    limit = ratelimit.Limit(model.profiling.submissions_per_ip, model.profiling.rate_window_seconds)
    return ratelimit.hit(session, f"gate:{client_ip(request)}", limit)


def too_many_notice(verdict: ratelimit.Verdict) -> str:
    """Said in the reader's language (it is shown as it is)."""
    minutes = -(-verdict.retry_after // 60)
    return i18n.ngettext(
        "Too many forms sent from your network. Please try again in %(num)s minute.",
        "Too many forms sent from your network. Please try again in %(num)s minutes.",
        minutes,
    )


def form_started(signer: Signer, posted: str = "") -> str:
    """The signed start time a form carries: the one it was posted with, so a person who fixes
    a mistake is timed from when they first opened the form (not from the error), else now."""
    if posted:
        try:
            signer.unsign(Purpose.FORM_STARTED, posted, max_age=24 * 3600)
        except InvalidToken:
            pass
        else:
            return posted
    return signer.sign(Purpose.FORM_STARTED, time.time())


def too_fast(signer: Signer, started_token: str, min_seconds: float) -> bool:
    """True when the form came back faster than a person fills it in (or without a start time)."""
    try:
        started = signer.unsign(Purpose.FORM_STARTED, started_token, max_age=24 * 3600)
    except InvalidToken:
        return True
    if not isinstance(started, int | float):
        return True
    return time.time() - float(started) < min_seconds


def _accepted(
    request: HTMXRequest,
    site: PublicSite,
    asset: Asset,
    result: GateResult,
    visitor: VisitorContext,
    mails: FormMails,
) -> Response[Any]:
    continue_mail = mails.continue_link
    if result.visitor_id:
        visitor.rotate(result.visitor_id)
    claim = result.claim
    if not request.htmx:
        note = claim_note(continue_mail) if claim is not None else opt_in_note(mails.opt_in)
        return Redirect(f"/library/{asset.slug}{f'?note={note}' if note else ''}", status_code=303)
    holder = (
        Unlocker(visitor_id=claim.visitor_id)
        if claim is not None
        else Unlocker(lead_id=result.lead_id)
    )
    if asset.gate == Gate.GATED.value:
        return _unlocked(request, site, asset, holder, result, mails)
    with site.database.read() as session:
        if claim is not None:  # not personalised: what any anonymous browser would be shown
            read_next = recommended(site, session, claim.visitor_id, exclude=asset.slug)
            first_name = None
        else:
            assert result.lead_id is not None
            read_next = recommended_for_lead(site, session, result.lead_id, exclude=asset.slug)
            first_name = result.values.get("first_name") or profile(session, result.lead_id).get(
                "first_name"
            )
    return HTMXTemplate(
        template_name="partials/gate_done.html",
        context={
            "read_next": read_next,
            "asset": asset,
            "first_name": first_name,
            "download_url": download_url(site.signer, asset, holder) if asset.file_sha256 else None,
            "link_days": site.settings.download_link_days,
            "claim_notice": claim_notice(continue_mail) if claim is not None else None,
            "opt_in_notice": opt_in_notice(mails.opt_in),
        },
    )


def _unlocked(
    request: HTMXRequest,
    site: PublicSite,
    asset: Asset,
    holder: Unlocker,
    result: GateResult | None,
    mails: FormMails | None = None,
) -> Response[Any]:
    """The unlocked asset content, swapped over the teaser (or the asset page without htmx)."""
    if not request.htmx:
        return Redirect(f"/library/{asset.slug}", status_code=303)
    if result is not None:
        # The content replaces the form: a view of the asset (under the browser's fresh id),
        # as the page a browser without JavaScript is redirected to records one.
        record_server_events(site.ingestor, request, events.AssetView(asset_id=asset.id))
    context = asset_context(site.signer, asset, holder)
    notice = None
    if result is not None:
        upcoming = context["webinar"] is not None and not context["webinar"]["past"]
        mails = mails or FormMails()
        if result.claim is not None:
            notice = claim_notice(mails.continue_link, webinar=upcoming)
        else:
            notice = i18n.gettext(REGISTERED if upcoming else UNLOCKED)
            if opt_in_notice(mails.opt_in):
                notice = f"{notice} {opt_in_notice(mails.opt_in)}"
    return HTMXTemplate(
        template_name="partials/asset_content.html",
        context={**context, "unlocked_notice": notice},
        re_target="#asset-content",
        re_swap="outerHTML",
    )


EXPIRED_LINK = N_("This download link has expired or is not valid.")
EXPIRED_LINK_FORM = N_(
    "This download link has expired or is not valid. Send the form below and you get a fresh "
    "one right away."
)

ForgetForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/forget", include_in_schema=False, sync_to_thread=False)
def forget_page(next: FromQuery[str] = "/") -> Template:
    """ "Not you?" as a page with the button (old links, no JavaScript); a GET changes nothing."""
    return Template(
        "public/forget.html", context={"next": safe_next(next, default="/")}, headers=SHARED
    )


@post("/forget", include_in_schema=False, sync_to_thread=True, request_max_body_size=16 * 1024)
def forget(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], data: ForgetForm
) -> Response[Any]:
    """ "Not you?": this browser forgets who it was; the next person starts anonymous."""
    target = str(data.get("next") or "/")
    visitor = visitor_of(request)
    if visitor.id and not visitor.is_new:
        with site.database.write() as session:
            forget_browser(session, visitor.id)
    if visitor.tracking:
        visitor.rotate(new_visitor_id())
    else:
        visitor.discard()
        visitor.id = None  # an untracked browser gets no new id (opt-in, DNT, GPC)
    return Redirect(safe_next(target, default="/"), status_code=303)


@get("/library/{slug:str}/download", include_in_schema=False, sync_to_thread=True)
def download(
    slug: FromPath[str],
    request: HTMXRequest,
    site: NamedDependency[PublicSite],
    t: FromQuery[str] = "",
) -> Response[Any]:
    """The attachment for a valid signed link; a forged or expired one gets a fresh-link page."""
    asset = live_file_or_404(site.database, slug)
    lead_id = _download_lead(site, asset, t)
    if lead_id is False:
        return _expired_link_page(request, site, asset)
    record_server_events(
        site.ingestor, request, events.Download(lead_id=lead_id or None, asset_id=asset.id)
    )
    return send_file(site.files, asset, request, attachment=True)


def _download_lead(site: PublicSite, asset: Asset, token: str) -> int | Literal[False] | None:
    """The lead a valid link was issued to (None for open files and a claim's link), or False
    for a bad link. A gated file needs the lead's unlock, or the claim of the browser the link
    was issued to (``v``)."""
    try:
        claims = site.signer.unsign(
            Purpose.DOWNLOAD, token, max_age=site.settings.download_link_days * 24 * 3600
        )
    except InvalidToken:
        return False
    if (
        not isinstance(claims, dict)
        or claims.get("a") != asset.id
        or claims.get("f") != asset.file_sha256
    ):
        return False
    lead_id = claims.get("l")
    lead_id = lead_id if isinstance(lead_id, int) and not isinstance(lead_id, bool) else None
    if asset.gate != Gate.GATED.value:
        return lead_id
    claimed_by = claims.get("v")
    with site.database.read() as session:
        if lead_id is not None:
            return lead_id if unlocks.is_unlocked(session, lead_id, asset.id) else False
        if isinstance(claimed_by, str) and (
            unlocks.is_claimed(session, claimed_by, asset.id)
            or experiments.sees_open(session, asset.id, claimed_by)
        ):
            return None
    return False


def _expired_link_page(request: HTMXRequest, site: PublicSite, asset: Asset) -> Response[Any]:
    """A friendly page for a bad link: the form (or one click) for a fresh one, never the file."""
    i18n.prefer(asset.language)
    notice = i18n.gettext(EXPIRED_LINK)
    form = None
    if asset.gate != Gate.OPEN.value:
        with site.database.read() as session:
            form = gate_form(session, asset, visitor_of(request).id, site.model)
        notice = i18n.gettext(EXPIRED_LINK_FORM)
    context = (
        _form_context(site, asset, form, notice=notice)
        if form is not None
        else {"asset": asset, "form": None, "notice": notice}
    )
    return Template("public/gate.html", context=context, status_code=403)


ROUTES = [gate, unlock, forget_page, forget, download]
