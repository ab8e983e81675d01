"""The home page: featured, by stage, by topic, and "Recommended for you" after it."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Template

from portal import i18n, pages
from portal.dependencies import PublicSite
from portal.pages import SharedPage
from portal.recording import record_page_events
from portal.routes.library import PERSONAL, SHARED, recommended
from portal.visitor import visitor_of
from tracking import events


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, Any], site: NamedDependency[PublicSite]) -> Response[Any]:
    """Featured, by stage, by topic, and "Recommended for you": for a browser with an id that
    list is personal, so it loads after the page (``/recommended``) and the page is shared."""
    visitor = visitor_of(request)
    page = await pages.shared_page(request, site.pages, "home", partial(_home_page, request, site))
    assert isinstance(page, SharedPage)
    await record_page_events(site.ingestor, request, events.PageView(path="/"))
    return pages.html(page.body, headers=PERSONAL if visitor.id else SHARED)


def _home_page(request: Request[Any, Any, Any], site: PublicSite, shared: bool) -> SharedPage:
    anonymous = visitor_of(request).id is None
    with site.database.read() as session:
        sections = site.catalog_cache.home(session, i18n.current())
        # Without an id the list is the non-personal one, the same for every such browser.
        recommendations = recommended(site, session, None) if anonymous else None
    context = {
        "featured": sections.featured,
        "by_stage": sections.by_stage,
        "topics": sections.topics,
        "recommendations": recommendations,
        "recommendations_url": None if anonymous else RECOMMENDED_URL,
    }
    return SharedPage(pages.render(request, "public/home.html", context, shared=shared))


RECOMMENDED_URL = "/recommended"


@get(RECOMMENDED_URL, include_in_schema=False, sync_to_thread=True, response_headers=PERSONAL)
def recommended_for_you(request: HTMXRequest, site: NamedDependency[PublicSite]) -> Template:
    """ "Recommended for you": the home page's personal part, loaded after it (htmx), or a page
    of its own (the home page's link without JavaScript)."""
    with site.database.read() as session:
        recommendations = recommended(site, session, visitor_of(request).id)
    context = {"recommendations": recommendations}
    if request.htmx:
        return HTMXTemplate(template_name="partials/recommended.html", context=context)
    return Template("public/recommended.html", context=context)


ROUTES = [home, recommended_for_you]
