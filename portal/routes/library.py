"""The public library: browse and search, asset pages, files and calendar entries."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from anyio import to_thread
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from content import catalog, translations
from content.catalog import BrowseQuery
from content.files import FileStore
from content.markdown import render_markdown
from content.models import Asset, Gate, Kind
from content.orm import utcnow
from content.search.index import SearchIndex
from content.search.query import Found, SearchFilters
from content.words import N_
from nurture.intelligence import experiments
from nurture.recommendations import Recommendation, recommend_for_lead, recommend_for_visitor
from portal import i18n, pages
from portal.calendar import webinar_ics
from portal.db import Database
from portal.dependencies import PublicSite
from portal.downloads import content_disposition, file_response
from portal.mail.form_mails import Sent
from portal.pages import SharedPage
from portal.recording import record_page_events, record_server_events
from portal.signing import Purpose, Signer
from portal.visitor import visitor_of
from tracking import events
from tracking.identity import unlocks
from tracking.identity.demo_requests import offers_sales
from tracking.identity.identify import known_lead
from tracking.identity.unlocks import Unlocker

EMBED_HOSTS = {"www.youtube-nocookie.com", "www.youtube.com", "player.vimeo.com"}


PERSONAL = {"Cache-Control": "private, no-store", "Vary": "Cookie, Accept-Language"}
"""Responses that name the reader, carry their links or their recommendations: never cached
for another browser."""

SHARED = {"Vary": "Cookie, Accept-Language"}
"""Pages the same for every browser of one language (the cookie holds the chosen language, the
browser's ``Accept-Language`` the one it reads)."""


def recommended(
    site: PublicSite, session: Session, visitor_id: str | None, exclude: str | None = None
) -> list[Recommendation]:
    """The next reads for this browser (its lead's, its own, or the non-personal list)."""
    return recommend_for_visitor(
        session,
        visitor_id,
        site.model,
        utcnow(),
        exclude=exclude,
        cache=site.audience_cache,
        language=i18n.current(),
    )


def recommended_for_lead(
    site: PublicSite, session: Session, lead_id: int, exclude: str | None = None
) -> list[Recommendation]:
    return recommend_for_lead(
        session,
        lead_id,
        site.model,
        utcnow(),
        exclude=exclude,
        cache=site.audience_cache,
        language=i18n.current(),
    )


def _searcher(index: SearchIndex) -> catalog.Search:
    def search(query: str, filters: SearchFilters | None) -> Found:
        return index.rank(query, filters)  # every hit ranked; snippets for the page shown

    return search


@get("/library", include_in_schema=False)
async def library(
    request: HTMXRequest,
    site: NamedDependency[PublicSite],
    q: FromQuery[str] = "",
    kind: FromQuery[str | None] = None,
    stage: FromQuery[str | None] = None,
    topic: FromQuery[str | None] = None,
    language: FromQuery[str | None] = None,
    page: FromQuery[int] = 1,
) -> Response[Any]:
    """Browse and search; htmx requests get only the results fragment (same URL, same data).
    The full page is the same for every browser of a language: its bytes are shared."""
    query = BrowseQuery(
        q=q.strip()[:200],
        kind=kind or None,
        stage=stage or None,
        topic=topic or None,
        language=language or None,
        page=page,
        reader=i18n.current(),  # one version of each asset, the page's language first
    )
    if request.htmx:
        result = await to_thread.run_sync(_browse, site, query)
        await record_page_events(site.ingestor, request, _library_event(query, result.total))
        return HTMXTemplate(
            template_name="partials/library_results.html",
            context={"result": result, "query": result.query},
            push_url=query.url(page=result.query.page),
            headers=SHARED,
        )
    name = f"library:{site.search.last_seq()}" if query.q else "library"
    shown = await pages.shared_page(
        request, site.pages, name, partial(_library_page, request, site, query)
    )
    assert isinstance(shown, SharedPage)
    total = shown.facts["total"]
    await record_page_events(site.ingestor, request, _library_event(query, total))
    return pages.html(shown.body, headers=SHARED)


def _browse(site: PublicSite, query: BrowseQuery) -> catalog.BrowseResult:
    index = site.search
    with site.database.read() as session:
        return site.catalog_cache.browse(
            session, query, _searcher(index), search_version=index.last_seq() if query.q else 0
        )


def _library_page(
    request: Request[Any, Any, Any], site: PublicSite, query: BrowseQuery, shared: bool
) -> SharedPage:
    result = _browse(site, query)
    context = {"result": result, "query": result.query}
    body = pages.render(request, "public/library.html", context, shared=shared)
    return SharedPage(body, {"total": result.total})


def _library_event(query: BrowseQuery, total: int) -> events.TrackedEvent:
    if query.q:
        return events.Search(query=query.q, results=total)
    return events.PageView(path="/library")


NOTES = {
    "continued": N_("Welcome back — this browser now continues where you left off."),
    "continue-sent": N_(
        "Unlocked on this browser only. Open the link we have emailed you to continue on this "
        "device with your profile."
    ),
    "continue-held": N_(
        "Unlocked on this browser only. We emailed you a link to continue on this device a "
        "short while ago — please use that one."
    ),
    "opt-in-sent": N_(
        "To get our emails, confirm your subscription with the link we have just sent to your "
        "inbox."
    ),
    "opt-in-held": N_(
        "To get our emails, confirm your subscription with the link we sent to your inbox a "
        "short while ago."
    ),
}
"""Short notices a redirect may ask the asset page to show (``?note=``): after a "continue on
this device" link, after a claim without JavaScript, and after a ticked consent box (double
opt-in: nothing is subscribed until the link in that mail is clicked). Fixed text: nothing
is echoed. Each is said in the reader's language where it is shown."""

CONTINUED_BY_NAME = N_("Welcome back, %(name)s — this browser now continues where you left off.")
CLAIMED_WEBINAR = N_(
    "One more step: open the link we have emailed you to confirm it is you, and your seat is saved."
)
CLAIMED_WEBINAR_HELD = N_(
    "One more step: open the link we emailed you a short while ago to confirm it is you, and "
    "your seat is saved."
)


def claim_note(continue_mail: Sent) -> str:
    """The asset page's notice (``NOTES``) for a browser that claimed a known lead's email:
    the continue link was mailed, or one went a short while ago (the per-address limit)."""
    return "continue-held" if continue_mail is Sent.HELD else "continue-sent"


def opt_in_note(opt_in: Sent) -> str | None:
    """The asset page's notice (``NOTES``) after a form whose consent box was ticked."""
    return {Sent.QUEUED: "opt-in-sent", Sent.HELD: "opt-in-held"}.get(opt_in)


def opt_in_notice(opt_in: Sent) -> str | None:
    """The notice after a ticked consent box, in the reader's language."""
    note = opt_in_note(opt_in)
    return i18n.gettext(NOTES[note]) if note else None


def claim_notice(continue_mail: Sent, webinar: bool = False) -> str:
    """The notice after a claim, in the reader's language."""
    if webinar:
        return i18n.gettext(CLAIMED_WEBINAR_HELD if continue_mail is Sent.HELD else CLAIMED_WEBINAR)
    return i18n.gettext(NOTES[claim_note(continue_mail)])


@get("/library/{slug:str}", include_in_schema=False)
async def asset_page(
    slug: FromPath[str],
    request: Request[Any, Any, Any],
    site: NamedDependency[PublicSite],
    note: FromQuery[str] = "",
) -> Response[Any]:
    """The asset: full content when open, soft or unlocked for this browser (its lead's unlock,
    or its own claim); else a teaser.

    A locked, open or soft page is the same for every browser (its bytes are shared): the gate
    form and "Read next" load as fragments. An unlocked page (the reader's own download link)
    and one with a notice are rendered for this browser alone.
    """
    visitor = visitor_of(request)
    if note:
        return await to_thread.run_sync(_personal_asset_page, request, site, slug, note)
    build = partial(_shared_asset_page, request, site, slug)
    shown = await pages.shared_page(request, site.pages, "asset", build)
    if not isinstance(shown, SharedPage):
        return shown  # not found, or moved to a new slug
    facts = shown.facts
    if facts["gated"] and visitor.id and not visitor.is_new:  # a new id has unlocked nothing
        unlocked = await site.unlocks.get((visitor.id, facts["asset_id"]))
        if unlocked is not None:
            return await to_thread.run_sync(_personal_asset_page, request, site, slug, note)
    locked = facts["gated"]
    await record_page_events(
        site.ingestor, request, events.AssetView(asset_id=facts["asset_id"], locked=locked)
    )
    return pages.html(shown.body, headers=PERSONAL if visitor.id else SHARED)


def _shared_asset_page(
    request: Request[Any, Any, Any], site: PublicSite, slug: str, shared: bool
) -> SharedPage | Response[Any]:
    """The asset page as every browser sees it while it is locked (or open, or soft): without
    an id "Read next" is the non-personal list, with one it loads after the page."""
    anonymous = visitor_of(request).id is None
    with site.database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None:
            return _redirect_or_404(session, slug)
        i18n.prefer(asset.language)  # the reader's own choice still wins
        read_next = recommended(site, session, None, exclude=asset.slug) if anonymous else None
        context = {
            **_asset_page_context(session, site, asset, None, read_next),
            "read_next_url": None if anonymous else read_next_url(asset.slug),
            "unlocked_notice": None,
        }
        body = pages.render(request, "public/asset.html", context, shared=shared)
    gated = asset.gate == Gate.GATED.value
    return SharedPage(body, {"asset_id": asset.id, "gated": gated})


def _personal_asset_page(
    request: Request[Any, Any, Any], site: PublicSite, slug: str, note: str
) -> Response[Any]:
    """The asset page for this browser alone: unlocked for it, or with a notice."""
    visitor = visitor_of(request)
    with site.database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None:
            return _redirect_or_404(session, slug)
        i18n.prefer(asset.language)  # the reader's own choice still wins
        unlocked_by = unlocking(session, asset, visitor.id)
        read_next = recommended(site, session, visitor.id, exclude=asset.slug)
        context = _asset_page_context(session, site, asset, unlocked_by, read_next)
        notice = _notice(session, note, visitor.id)
    locked = asset.gate == Gate.GATED.value and unlocked_by is None
    record_server_events(site.ingestor, request, events.AssetView(asset_id=asset.id, locked=locked))
    return Template(
        "public/asset.html",
        context={**context, "unlocked_notice": notice if not locked else None},
        # An unlocked page carries the reader's own download link, and "Read next" is personal
        # for any browser with an id: never cache either for another.
        headers=PERSONAL if unlocked_by or visitor.id else SHARED,
    )


def _asset_page_context(
    session: Session,
    site: PublicSite,
    asset: Asset,
    unlocked_by: Unlocker | None,
    read_next: list[Recommendation] | None,
) -> dict[str, Any]:
    """What an asset page shows whoever reads it (in the language the caller preferred):
    the asset, related assets not offered under "Read next", its other language versions and
    whether to offer a talk with sales."""
    related = catalog.related(session, asset, reader=i18n.current())
    return {
        **asset_context(site.signer, asset, unlocked_by),
        "related": _not_in(related, read_next or []),
        "read_next": read_next,
        "translations": translations.versions(session, asset),
        "offer_sales": offers_sales(site.model, asset.stage),
    }


def _not_in(related: list[Asset], read_next: list[Recommendation]) -> list[Asset]:
    """Related assets not already offered under "Read next"."""
    shown = {r.slug for r in read_next}
    return [a for a in related if a.slug not in shown]


def read_next_url(slug: str) -> str:
    return f"/library/{slug}/next"


@get(
    "/library/{slug:str}/next",
    include_in_schema=False,
    sync_to_thread=True,
    response_headers=PERSONAL,
)
def read_next(
    slug: FromPath[str], request: HTMXRequest, site: NamedDependency[PublicSite]
) -> Response[Any]:
    """ "Read next" for this browser: the asset page's personal part, loaded after it (htmx;
    the page's related list then drops what is offered here), or a page of its own (the
    asset page's link without JavaScript)."""
    visitor = visitor_of(request)
    with site.database.read() as session:
        # The asset and its related list are every reader's (of a language): kept per version.
        key = ("read-next", slug, i18n.current(), i18n.is_explicit())
        found = site.pages.remembered(key, partial(_with_related, session, slug))
        if found is None:
            raise NotFoundException()
        asset, related = found
        i18n.prefer(asset.language)
        offered = recommended(site, session, visitor.id, exclude=asset.slug)
    context = {"asset": asset, "read_next": offered, "related": _not_in(related, offered)}
    if request.htmx:
        return HTMXTemplate(template_name="partials/read_next.html", context=context)
    return Template("public/read_next.html", context=context)


def _with_related(session: Session, slug: str) -> tuple[Asset, list[Asset]] | None:
    """The live asset and its related assets in the reader's language (None: no such asset)."""
    asset = catalog.find_live(session, slug)
    if asset is None:
        return None
    i18n.prefer(asset.language)
    return asset, catalog.related(session, asset, reader=i18n.current())


def _notice(session: Session, note: str, visitor_id: str | None) -> str | None:
    """The ``NOTES`` text asked for, in the reader's language; "continued" only on a browser
    that speaks for a lead."""
    text = NOTES.get(note)
    if text is None or note != "continued":
        return i18n.gettext(text) if text else None
    lead = known_lead(session, visitor_id)
    if lead is None:
        return None
    if lead.first_name:
        return i18n.gettext(CONTINUED_BY_NAME, name=lead.first_name)
    return i18n.gettext(text)


def asset_context(signer: Signer, asset: Asset, unlocked_by: Unlocker | None) -> dict[str, Any]:
    """What the asset templates need; ``unlocked_by`` holds the unlock of a gated asset."""
    locked = asset.gate == Gate.GATED.value and unlocked_by is None
    has_file = bool(asset.file_sha256) and not locked
    return {
        "asset": asset,
        "body_html": render_markdown(asset.body) if not locked else "",
        "locked": locked,
        "embed_url": _embed(asset.video_url),
        "recording_embed_url": _embed(asset.recording_url),
        "webinar": _webinar(asset),
        "download_url": download_url(signer, asset, unlocked_by) if has_file else None,
        "view_url": f"/library/{asset.slug}/file" if has_file else None,
    }


def unlocking(session: Session, asset: Asset, visitor_id: str | None) -> Unlocker | None:
    """Who unlocked this gated asset on this browser: its lead, or its own claim (None for
    other gates, and while it is locked)."""
    if asset.gate != Gate.GATED.value:
        return None
    return unlocks.unlocker(session, visitor_id, asset.id)


def _redirect_or_404(session: Any, slug: str) -> Response[Any]:
    current = catalog.current_slug(session, slug)
    if current is None:
        raise NotFoundException()
    return Redirect(f"/library/{current}", status_code=301)


def _embed(url: str | None) -> str | None:
    """Only embed players from known video hosts (the CSP allows exactly these frames)."""
    if url and urlsplit(url).hostname in EMBED_HOSTS:
        return url
    return None


def _webinar(asset: Asset) -> dict[str, Any] | None:
    if asset.kind != Kind.WEBINAR.value or asset.webinar_starts_at is None:
        return None
    ends_at = asset.webinar_starts_at + timedelta(minutes=asset.webinar_duration_minutes or 45)
    return {"starts_at": asset.webinar_starts_at, "ends_at": ends_at, "past": ends_at < utcnow()}


def download_url(signer: Signer, asset: Asset, unlocked_by: Unlocker | None) -> str:
    """A signed download link bound to the asset's file and to who unlocked it: the lead (the
    link works on any device, also in a mail), or for a claim the browser's visitor id."""
    claims: dict[str, Any] = {
        "a": asset.id,
        "f": asset.file_sha256,
        "l": unlocked_by.lead_id if unlocked_by else None,
    }
    if unlocked_by is not None and unlocked_by.visitor_id:
        claims["v"] = unlocked_by.visitor_id
    return f"/library/{asset.slug}/download?t={signer.sign(Purpose.DOWNLOAD, claims)}"


@get("/library/{slug:str}/file", include_in_schema=False, sync_to_thread=True)
def view_file(
    slug: FromPath[str], request: Request[Any, Any, Any], site: NamedDependency[PublicSite]
) -> Response[Any]:
    """The attachment shown in the browser (PDF viewer); gated files once the lead unlocked them."""
    asset = live_file_or_404(site.database, slug)
    if asset.gate == Gate.GATED.value:
        with site.database.read() as session:
            visitor_id = visitor_of(request).id
            if unlocking(session, asset, visitor_id) is None and not experiments.sees_open(
                session, asset.id, visitor_id
            ):
                i18n.prefer(asset.language)
                raise PermissionDeniedException(i18n.gettext("Unlock this asset to read the file."))
    return send_file(site.files, asset, request, attachment=False)


def live_file_or_404(database: Database, slug: str) -> Asset:
    with database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None or not asset.file_sha256 or asset.file is None:
            raise NotFoundException()
        session.expunge(asset)
    return asset


def send_file(
    files: FileStore, asset: Asset, request: Request[Any, Any, Any], *, attachment: bool
) -> Response[Any]:
    assert asset.file_sha256 is not None
    assert asset.file is not None
    path = files.path_for(asset.file_sha256)
    if not path.exists():
        raise NotFoundException()
    return file_response(
        path,
        content_type=asset.file.content_type,
        file_name=asset.file_name or asset.slug,
        attachment=attachment,
        range_header=request.headers.get("range"),
    )


@get("/library/{slug:str}/calendar.ics", include_in_schema=False, sync_to_thread=True)
def calendar(slug: FromPath[str], site: NamedDependency[PublicSite]) -> Response[bytes]:
    """An "add to calendar" file for a webinar."""
    with site.database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None or asset.kind != Kind.WEBINAR.value or asset.webinar_starts_at is None:
            raise NotFoundException()
        body = webinar_ics(asset, site.settings.base_url)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": content_disposition(f"{asset.slug}.ics", attachment=True)},
    )


ROUTES = [library, asset_page, read_next, view_file, calendar]
