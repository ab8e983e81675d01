"""The reader's pages behind the links in mail: confirming a subscription (double opt-in),
unsubscribing, and the preference center. Each link carries a signed token
(``portal.mail.links``). The pages speak the lead's language (``i18n.prefer``: the language its
mail is written in), unless the reader chose one with the switch; a link that names no lead
speaks the request's (``Accept-Language``, else the site's).

Unsubscribing follows RFC 8058: a GET only shows a page with one button (link scanners and
previews open links; they must not unsubscribe anyone), and any POST to the link
unsubscribes. Mail clients send ``List-Unsubscribe=One-Click`` with no cookie and no CSRF
token, so that one route opts out of the CSRF check (``exclude_from_csrf``): the signed token
is what authorises it, and a forged request cannot carry one it never saw.

A confirmation does not identify the browser that clicks it (a mail may be opened anywhere):
identity comes only from the "continue on this device" link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anyio import to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromQuery
from litestar.response import Template
from litestar.utils.scope.state import ScopeState
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Topic
from content.orm import utcnow
from content.taxonomy import all_topics
from content.words import N_
from nurture.mail import subscriptions
from nurture.mail.models import MailMessage
from nurture.mail.subscriptions import FREQUENCIES, Change, Preferences
from portal import i18n
from portal.dependencies import PublicSite
from portal.mail.form_mails import Sent, confirm_subscription
from portal.mail.links import (
    OPT_IN_DAYS,
    BadLink,
    preferences_path,
    read_opt_in,
    read_preferences,
    read_unsubscribe,
)
from portal.routes.console import CSRF_COOKIE
from portal.routes.library import PERSONAL
from portal.signing import ExpiredToken
from portal.templating import topic_label
from portal.visitor import visitor_of
from portal.web import client_ip
from tracking.identity.consent import Confirmation, ConsentStatus, ConsentText
from tracking.models import Consent, Lead

FORM_MAX_BYTES = 16 * 1024
NO_INDEX = {**PERSONAL, "X-Robots-Tag": "noindex"}
"""Every email page names its reader: never cached, never indexed."""
ONE_CLICK = "One-Click"

SAVED = N_("Saved. Your choices apply from the next email we send.")
SAVED_UNSUBSCRIBED = N_("Saved. You're unsubscribed from all marketing email.")
SAVED_ASKED = N_(
    "Saved. We've sent an email to %(address)s: click the link in it to confirm your subscription."
)
ASKED = N_("We've sent an email to %(address)s: click the link in it to confirm your subscription.")
ALREADY_SUBSCRIBED = N_("You're subscribed to marketing email.")
SAVED_TOPICS = N_("Saved your topics.")
HELD = N_(
    "We sent several emails to %(address)s in the last hours, so we did not send another "
    "now: use the link in the last one, or try again later."
)
NOTICES = (SAVED, SAVED_UNSUBSCRIBED, SAVED_ASKED, ASKED, ALREADY_SUBSCRIBED, SAVED_TOPICS, HELD)
"""What the preference center says after a save (English; the page shows ``_(notice)``)."""


# --- rendering --------------------------------------------------------------------------------


def _page(template: str, status_code: int = 200, **context: Any) -> Template:
    """An email page in the language chosen for it (``i18n.prefer`` the lead's first)."""
    return Template(
        f"public/{template}", context=context, status_code=status_code, headers=NO_INDEX
    )


def _link_problem(state: str, status_code: int, **context: Any) -> Template:
    return _page("email_link.html", status_code, state=state, **context)


def _topic_choices(session: Session) -> list[tuple[str, str]]:
    """(slug, label) of every topic, labelled in the page's language where it has a label."""
    return [(topic.slug, topic_label(topic)) for topic in all_topics(session)]


def form_values(form: FormMultiDict, name: str) -> list[str]:
    """Every text value a form sent under ``name`` (checkboxes repeat their name)."""
    return [value for value in form.getall(name, []) if isinstance(value, str)]


# --- confirm ----------------------------------------------------------------------------------


@get("/email/confirm", include_in_schema=False, sync_to_thread=True)
def confirm(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Template:
    """Double opt-in: the click subscribes (``nurture.mail.subscriptions.confirm``) and keeps
    when and from where; the page lets the reader pick topics."""
    try:
        lead_id, consent_id = read_opt_in(site.signer, t)
    except ExpiredToken:
        i18n.prefer(_link_language(site, t))
        return _link_problem("expired", 410, days=OPT_IN_DAYS)
    except BadLink:
        return _link_problem("invalid", 400)
    if visitor_of(request).crawler:
        # A link previewer or a mail scanner fetched it: a bot's visit is no consent.
        i18n.prefer(_link_language(site, t))
        return _link_problem("browser", 200)
    with site.database.write() as session:
        outcome = subscriptions.confirm(
            session,
            lead_id,
            consent_id,
            now=utcnow(),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        lead = session.get(Lead, lead_id)
        if outcome is Confirmation.UNKNOWN or lead is None:
            return _link_problem("unknown", 404)
        i18n.prefer(_mail_language(site, lead))
        context: dict[str, Any] = {
            "state": outcome.value,
            "confirmed_at": _confirmed_at(session, lead_id),
            "preferences_url": preferences_path(site.signer, lead_id),
            "topics": _topic_choices(session),
            "ticked": subscriptions.shown_topics(lead.mail_topics or [], _slugs(session)),
        }
    return _page("email_confirm.html", **context)


def _link_language(site: PublicSite, token: str) -> str | None:
    """The language of the lead a genuine confirmation link (expired too) was sent to."""
    try:
        lead_id, _ = read_opt_in(site.signer, token, expired_ok=True)
    except (BadLink, ExpiredToken):
        return None
    with site.database.read() as session:
        lead = session.get(Lead, lead_id)
        return _mail_language(site, lead) if lead is not None else None


def _confirmed_at(session: Session, lead_id: int) -> datetime | None:
    return session.scalar(
        select(Consent.confirmed_at)
        .where(Consent.lead_id == lead_id, Consent.status == ConsentStatus.CONFIRMED.value)
        .order_by(Consent.confirmed_at.desc())
        .limit(1)
    )


def _slugs(session: Session) -> list[str]:
    return list(session.scalars(select(Topic.slug).order_by(Topic.slug)))


# --- unsubscribe ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reader:
    """Who an unsubscribe link speaks for, as its pages need it."""

    address: str
    lead_id: int | None
    lang: str
    """The lead's language, else the mail's ("": neither known)."""
    unsubscribed: bool
    """Nothing left to unsubscribe: no consent stands and the address is suppressed."""


def _reader(session: Session, address: str, message_id: int | None) -> Reader:
    lead = session.scalar(select(Lead).where(Lead.email == address))
    message_language = (
        session.scalar(select(MailMessage.language).where(MailMessage.id == message_id))
        if message_id is not None
        else None
    )
    lang = (lead.language if lead is not None else "") or message_language or ""
    consenting = lead is not None and lead.consent_status in (
        ConsentStatus.CONFIRMED.value,
        ConsentStatus.PENDING.value,
    )
    suppressed = address in subscriptions.suppressed_of(session, [address])
    return Reader(address, lead.id if lead else None, lang, suppressed and not consenting)


@get("/email/unsubscribe", include_in_schema=False, sync_to_thread=True)
def unsubscribe_page(site: NamedDependency[PublicSite], t: FromQuery[str] = "") -> Template:
    """The page with one button: a GET changes nothing."""
    try:
        address, message_id = read_unsubscribe(site.signer, t)
    except (BadLink, ExpiredToken):
        return _link_problem("invalid", 400)
    with site.database.read() as session:
        reader = _reader(session, address, message_id)
    i18n.prefer(reader.lang)
    return _page(
        "email_unsubscribe.html",
        state="already" if reader.unsubscribed else "ask",
        address=address,
        token=t,
        preferences_url=_preferences_of(site, reader),
    )


@post(
    "/email/unsubscribe",
    include_in_schema=False,
    request_max_body_size=FORM_MAX_BYTES,
    status_code=200,
    opt={"exclude_from_csrf": True},
)
async def unsubscribe(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Response[Any]:
    """Unsubscribe: at once and with no page for a mail client's one-click POST (RFC 8058),
    with the "You're unsubscribed" page for the button."""
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == ONE_CLICK
    try:
        address, message_id = read_unsubscribe(site.signer, t)
    except (BadLink, ExpiredToken):
        if one_click:
            return Response(
                "This unsubscribe link is not valid.\n",
                status_code=400,
                media_type=MediaType.TEXT,
                headers=NO_INDEX,
            )
        return _link_problem("invalid", 400)

    def work() -> tuple[Reader, subscriptions.Unsubscribed]:
        with site.database.write() as session:
            left = subscriptions.unsubscribe(session, address, now=utcnow(), message_id=message_id)
            return _reader(session, address, message_id), left

    reader, left = await to_thread.run_sync(work)
    if one_click:
        return Response(
            "Unsubscribed.\n", status_code=200, media_type=MediaType.TEXT, headers=NO_INDEX
        )
    undo = reader.lead_id is not None and _reuse_csrf_cookie(request)
    i18n.prefer(reader.lang)
    return _page(
        "email_unsubscribe.html",
        state="done",
        already=left.already,
        address=address,
        preferences_url=_preferences_of(site, reader),
        undo=undo,
    )


def _preferences_of(site: PublicSite, reader: Reader) -> str | None:
    return preferences_path(site.signer, reader.lead_id) if reader.lead_id else None


def _reuse_csrf_cookie(request: Request[Any, Any, Any]) -> bool:
    """Let this page's forms carry the browser's CSRF cookie as their token (what the CSRF
    middleware does on a GET; this route is exempt from it). False: no cookie to carry."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return False
    ScopeState.from_scope(request.scope).csrf_token = cookie
    return True


# --- preferences ------------------------------------------------------------------------------


@get("/email/preferences", include_in_schema=False, sync_to_thread=True)
def preferences_page(site: NamedDependency[PublicSite], t: FromQuery[str] = "") -> Template:
    """The preference center: topics, how often, language, or no marketing mail at all."""
    try:
        lead_id = read_preferences(site.signer, t)
    except (BadLink, ExpiredToken):
        return _link_problem("invalid", 400)
    with site.database.read() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return _link_problem("gone", 404)
        i18n.prefer(_mail_language(site, lead))
        context = _preferences_context(session, site, lead, t)
    return _page("email_preferences.html", **context)


@post(
    "/email/preferences",
    include_in_schema=False,
    request_max_body_size=FORM_MAX_BYTES,
    status_code=200,
)
async def save_preferences(
    request: Request[Any, Any, Any], site: NamedDependency[PublicSite], t: FromQuery[str] = ""
) -> Template:
    """Save the preference center (``action=save``), the confirmation page's topics
    (``action=topics``) or the unsubscribed page's undo (``action=resubscribe``)."""
    form = await request.form()
    try:
        lead_id = read_preferences(site.signer, t)
    except (BadLink, ExpiredToken):
        return _link_problem("invalid", 400)
    action = form.get("action")

    def work() -> dict[str, Any] | None:
        with site.database.write() as session:
            lead = session.get(Lead, lead_id, with_for_update=True)
            if lead is None:
                return None
            notice = _apply(session, site, lead, action, form)
            session.flush()
            # The language just chosen for mail, unless the reader switched the page's.
            i18n.prefer(_mail_language(site, lead))
            return {**_preferences_context(session, site, lead, t), "notice": notice}

    context = await to_thread.run_sync(work)
    if context is None:
        return _link_problem("gone", 404)
    return _page("email_preferences.html", **context)


def _apply(session: Session, site: PublicSite, lead: Lead, action: Any, form: FormMultiDict) -> str:
    """Make the change a preference form asks for; returns the notice (English message id)."""
    now = utcnow()
    wording = ConsentText(site.model.profiling.consent_version, site.model.profiling.consent_text)
    if action == "topics":
        subscriptions.set_topics(
            lead, subscriptions.chosen_topics(form_values(form, "topics"), _slugs(session))
        )
        return SAVED_TOPICS
    if action == "resubscribe":
        consent_id = subscriptions.resubscribe(session, lead, wording, now=now)
        confirm_subscription(session, site.settings, lead.id, consent_id, now)
        return ASKED if consent_id is not None else ALREADY_SUBSCRIBED
    chosen = Preferences(
        topics=tuple(subscriptions.chosen_topics(form_values(form, "topics"), _slugs(session))),
        frequency=subscriptions.choice(
            _one(form, "frequency"), FREQUENCIES, lead.mail_frequency or "all"
        ),
        language=subscriptions.choice(
            _one(form, "language"), i18n.LANGUAGES, _mail_language(site, lead)
        ),
        wants_mail=_one(form, "mail") != "no",
    )
    saved = subscriptions.save_preferences(session, lead, chosen, wording=wording, now=now)
    if saved.change is Change.RESUBSCRIBE:
        # Within the per-address limit of form mails: a forwarded newsletter's preference link
        # must not become a way to flood its reader with confirmation mails.
        mailed = confirm_subscription(
            session, site.settings, lead.id, saved.consent_to_confirm, now
        )
        return HELD if mailed is Sent.HELD else SAVED_ASKED
    if saved.change is Change.UNSUBSCRIBE:
        return SAVED_UNSUBSCRIBED
    return SAVED


def _one(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _preferences_context(
    session: Session, site: PublicSite, lead: Lead, token: str
) -> dict[str, Any]:
    slugs = _slugs(session)
    return {
        "address": lead.email,
        "token": token,
        "status": lead.consent_status,
        "subscribed": lead.consent_status
        in (ConsentStatus.CONFIRMED.value, ConsentStatus.PENDING.value),
        "topics": _topic_choices(session),
        "ticked": subscriptions.shown_topics(lead.mail_topics or [], slugs),
        "frequency": lead.mail_frequency or "all",
        "frequencies": FREQUENCIES,
        "language_choice": _mail_language(site, lead),
        "languages": i18n.LANGUAGES,
    }


def _mail_language(site: PublicSite, lead: Lead) -> str:
    """The language the lead's mail is written in: its own, else the site's."""
    return i18n.language(lead.language, site.settings.default_language)


ROUTES: list[Any] = [confirm, unsubscribe_page, unsubscribe, preferences_page, save_preferences]
