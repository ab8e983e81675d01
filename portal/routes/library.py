"""The public library: home, browse and search, asset pages, files and calendar entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template

from content import catalog
from content.catalog import BrowseQuery
from content.markdown import render_markdown
from content.models import Asset, Gate, Kind
from content.orm import utcnow
from content.search import SearchFilters, SearchIndex, SearchResults
from portal.calendar import webinar_ics
from portal.db import Database
from portal.downloads import file_response
from portal.signing import InvalidToken, Purpose, Signer

DOWNLOAD_TOKEN_MAX_AGE = 24 * 3600
EMBED_HOSTS = {"www.youtube-nocookie.com", "www.youtube.com", "player.vimeo.com"}


@get("/", include_in_schema=False, sync_to_thread=True)
def home(state: State) -> Template:
    database: Database = state.db
    cache: catalog.CatalogCache = state.catalog_cache
    with database.read() as session:
        sections = cache.home(session)
    return Template(
        "public/home.html",
        context={
            "featured": sections.featured,
            "by_stage": sections.by_stage,
            "topics": sections.topics,
        },
    )


def _searcher(state: State) -> catalog.Search:
    index: SearchIndex = state.search

    def search(query: str, filters: SearchFilters | None) -> SearchResults:
        return index.search(query, filters)

    return search


@get("/library", include_in_schema=False, sync_to_thread=True)
def library(
    request: HTMXRequest,
    state: State,
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
    database: Database = state.db
    cache: catalog.CatalogCache = state.catalog_cache
    with database.read() as session:
        index: SearchIndex = state.search
        result = cache.browse(
            session, query, _searcher(state), search_version=index.last_seq() if query.q else 0
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
def asset_page(slug: FromPath[str], state: State) -> Response[Any]:
    database: Database = state.db
    with database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None:
            return _redirect_or_404(session, slug)
        related = catalog.related(session, asset)
    signer: Signer = state.signer
    return Template(
        "public/asset.html",
        context={
            "asset": asset,
            "body_html": render_markdown(asset.body),
            "related": related,
            "locked": asset.gate == Gate.GATED.value,
            "embed_url": _embed(asset.video_url),
            "recording_embed_url": _embed(asset.recording_url),
            "webinar": _webinar(asset),
            "download_url": _download_url(signer, asset) if asset.file_sha256 else None,
            "view_url": f"/library/{asset.slug}/file" if asset.file_sha256 else None,
        },
    )


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


def _download_url(signer: Signer, asset: Asset) -> str | None:
    if asset.gate == Gate.GATED.value:
        return None  # unlocking (identity and gates) issues the token
    token = signer.sign(Purpose.DOWNLOAD, {"a": asset.id, "f": asset.file_sha256})
    return f"/library/{asset.slug}/download?t={token}"


@get("/library/{slug:str}/file", include_in_schema=False, sync_to_thread=True)
def view_file(slug: FromPath[str], state: State, request: Request[Any, Any, Any]) -> Response[Any]:
    """The attachment shown in the browser (PDF viewer); open and soft-gated assets only."""
    asset = _live_or_404(state, slug)
    if asset.gate == Gate.GATED.value:
        raise PermissionDeniedException("unlock this asset to read the file")
    return _send(state, asset, request, attachment=False)


@get("/library/{slug:str}/download", include_in_schema=False, sync_to_thread=True)
def download(
    slug: FromPath[str], state: State, request: Request[Any, Any, Any], t: FromQuery[str] = ""
) -> Response[Any]:
    """The attachment as a download; the link is signed and expires after a day."""
    asset = _live_or_404(state, slug)
    signer: Signer = state.signer
    try:
        claims = signer.unsign(Purpose.DOWNLOAD, t, max_age=DOWNLOAD_TOKEN_MAX_AGE)
    except InvalidToken:
        raise PermissionDeniedException(
            "This download link has expired or is not valid. "
            "Open the asset page again for a fresh link."
        ) from None
    if (
        not isinstance(claims, dict)
        or claims.get("a") != asset.id
        or claims.get("f") != asset.file_sha256
    ):
        raise PermissionDeniedException("This download link belongs to another file.")
    return _send(state, asset, request, attachment=True)


def _live_or_404(state: State, slug: str) -> Asset:
    database: Database = state.db
    with database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None or not asset.file_sha256 or asset.file is None:
            raise NotFoundException()
        session.expunge(asset)
    return asset


def _send(
    state: State, asset: Asset, request: Request[Any, Any, Any], *, attachment: bool
) -> Response[Any]:
    assert asset.file_sha256 is not None
    assert asset.file is not None
    path = state.files.path_for(asset.file_sha256)
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
def calendar(slug: FromPath[str], state: State) -> Response[bytes]:
    """An "add to calendar" file for a webinar."""
    database: Database = state.db
    settings = state.settings
    with database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None or asset.kind != Kind.WEBINAR.value or asset.webinar_starts_at is None:
            raise NotFoundException()
        body = webinar_ics(asset, settings.base_url)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{asset.slug}.ics"'},
    )


ROUTES = [home, library, asset_page, view_file, download, calendar]
