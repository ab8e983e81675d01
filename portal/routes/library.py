"""The public library: home, browse and search, asset pages, files and calendar entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from content import catalog
from content.catalog import BrowseQuery
from content.files import FileStore
from content.markdown import render_markdown
from content.models import Asset, Gate, Kind
from content.orm import utcnow
from content.search.index import SearchIndex
from content.search.query import SearchFilters, SearchResults
from nurture.recommendations import Recommendation, recommend_for_lead, recommend_for_visitor
from portal.calendar import webinar_ics
from portal.db import Database
from portal.dependencies import PublicSite
from portal.downloads import content_disposition, file_response
from portal.recording import record_server_events
from portal.signing import Purpose, Signer
from portal.visitor import visitor_of
from tracking import events
from tracking.identity import unlocks
from tracking.identity.demo_requests import offers_sales
from tracking.identity.visitors import active_lead_id

EMBED_HOSTS = {"www.youtube-nocookie.com", "www.youtube.com", "player.vimeo.com"}


PERSONAL = {"Cache-Control": "private, no-store", "Vary": "Cookie"}
"""Responses that name the reader, carry their links or their recommendations: never cached
for another browser."""


def recommended(
    site: PublicSite, session: Session, visitor_id: str | None, exclude: str | None = None
) -> list[Recommendation]:
    """The next reads for this browser (its lead's, its own, or the non-personal list)."""
    return recommend_for_visitor(
        session, visitor_id, site.model, utcnow(), exclude=exclude, cache=site.audience_cache
    )


def recommended_for_lead(
    site: PublicSite, session: Session, lead_id: int, exclude: str | None = None
) -> list[Recommendation]:
    return recommend_for_lead(
        session, lead_id, site.model, utcnow(), exclude=exclude, cache=site.audience_cache
    )


@get("/", include_in_schema=False, sync_to_thread=True)
def home(request: Request[Any, Any, Any], site: NamedDependency[PublicSite]) -> Template:
    """Featured, by stage, by topic, and "Recommended for you" (personal once the browser has an
    id, so then never cached for another)."""
    visitor = visitor_of(request)
    with site.database.read() as session:
        sections = site.catalog_cache.home(session)
        recommendations = recommended(site, session, visitor.id)
    record_server_events(site.ingestor, request, events.PageView(path="/"))
    return Template(
        "public/home.html",
        context={
            "featured": sections.featured,
            "by_stage": sections.by_stage,
            "topics": sections.topics,
            "recommendations": recommendations,
        },
        headers=PERSONAL if visitor.id else {"Vary": "Cookie"},
    )


def _searcher(index: SearchIndex) -> catalog.Search:
    def search(query: str, filters: SearchFilters | None) -> SearchResults:
        return index.search(query, filters)

    return search


@get("/library", include_in_schema=False, sync_to_thread=True)
def library(
    request: HTMXRequest,
    site: NamedDependency[PublicSite],
    q: FromQuery[str] = "",
    kind: FromQuery[str | None] = None,
    stage: FromQuery[str | None] = None,
    topic: FromQuery[str | None] = None,
    language: FromQuery[str | None] = None,
    page: FromQuery[int] = 1,
) -> Template:
    """Browse and search; htmx requests get only the results fragment (same URL, same data)."""
    query = BrowseQuery(
        q=q.strip()[:200],
        kind=kind or None,
        stage=stage or None,
        topic=topic or None,
        language=language or None,
        page=page,
    )
    index = site.search
    with site.database.read() as session:
        result = site.catalog_cache.browse(
            session, query, _searcher(index), search_version=index.last_seq() if query.q else 0
        )
    record_server_events(
        site.ingestor,
        request,
        events.Search(query=query.q, results=result.total)
        if query.q
        else events.PageView(path="/library"),
    )
    context = {"result": result, "query": result.query}
    if request.htmx:
        return HTMXTemplate(
            template_name="partials/library_results.html",
            context=context,
            push_url=query.url(page=result.query.page),
        )
    return Template("public/library.html", context=context)


@get("/library/{slug:str}", include_in_schema=False, sync_to_thread=True)
def asset_page(
    slug: FromPath[str], request: Request[Any, Any, Any], site: NamedDependency[PublicSite]
) -> Response[Any]:
    """The asset: full content when open, soft or unlocked for this browser's lead; else a teaser.

    A locked page is the same for every browser; the gate form loads as a fragment.
    """
    visitor = visitor_of(request)
    with site.database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None:
            return _redirect_or_404(session, slug)
        related = catalog.related(session, asset)
        lead_id = unlocking_lead(session, asset, visitor.id)
        read_next = recommended(site, session, visitor.id, exclude=asset.slug)
    locked = asset.gate == Gate.GATED.value and lead_id is None
    record_server_events(site.ingestor, request, events.AssetView(asset_id=asset.id, locked=locked))
    shown = {r.slug for r in read_next}
    return Template(
        "public/asset.html",
        context={
            **asset_context(site.signer, asset, lead_id),
            "related": [a for a in related if a.slug not in shown],
            "read_next": read_next,
            "offer_sales": offers_sales(site.model, asset.stage),
        },
        # An unlocked page carries the lead's own download link, and "Read next" is personal
        # for any browser with an id: never cache either for another.
        headers=PERSONAL if lead_id or visitor.id else {"Vary": "Cookie"},
    )


def asset_context(signer: Signer, asset: Asset, lead_id: int | None) -> dict[str, Any]:
    """What the asset templates need; ``lead_id`` is the lead that unlocked a gated asset."""
    locked = asset.gate == Gate.GATED.value and lead_id is None
    has_file = bool(asset.file_sha256) and not locked
    return {
        "asset": asset,
        "body_html": render_markdown(asset.body) if not locked else "",
        "locked": locked,
        "embed_url": _embed(asset.video_url),
        "recording_embed_url": _embed(asset.recording_url),
        "webinar": _webinar(asset),
        "download_url": download_url(signer, asset, lead_id) if has_file else None,
        "view_url": f"/library/{asset.slug}/file" if has_file else None,
    }


def unlocking_lead(session: Session, asset: Asset, visitor_id: str | None) -> int | None:
    """The browser's lead when it has unlocked this gated asset (None for other gates)."""
    if asset.gate != Gate.GATED.value or not visitor_id:
        return None
    lead_id = active_lead_id(session, visitor_id)
    if lead_id is None or not unlocks.is_unlocked(session, lead_id, asset.id):
        return None
    return lead_id


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


def download_url(signer: Signer, asset: Asset, lead_id: int | None) -> str:
    """A signed download link bound to the asset's file and, for gated assets, to the lead."""
    token = signer.sign(Purpose.DOWNLOAD, {"a": asset.id, "f": asset.file_sha256, "l": lead_id})
    return f"/library/{asset.slug}/download?t={token}"


@get("/library/{slug:str}/file", include_in_schema=False, sync_to_thread=True)
def view_file(
    slug: FromPath[str], request: Request[Any, Any, Any], site: NamedDependency[PublicSite]
) -> Response[Any]:
    """The attachment shown in the browser (PDF viewer); gated files once the lead unlocked them."""
    asset = live_file_or_404(site.database, slug)
    if asset.gate == Gate.GATED.value:
        with site.database.read() as session:
            if unlocking_lead(session, asset, visitor_of(request).id) is None:
                raise PermissionDeniedException("unlock this asset to read the file")
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


ROUTES = [home, library, asset_page, view_file, calendar]
