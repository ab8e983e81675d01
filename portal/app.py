"""The application factory: everything is built from the ``Settings`` it is given."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from content.catalog import CatalogCache
from content.files import FileStore
from content.search.index import SearchIndex
from nurture.recommendations import AudienceCache
from portal import __version__, console_words, errors, i18n, jobs, models
from portal.accounts import service as account_service
from portal.accounts.guards import StaffSessionMiddleware
from portal.batched import BatchedReads
from portal.csrf import csrf_middleware
from portal.db import Database
from portal.dependencies import DEPENDENCIES
from portal.language import LanguageMiddleware
from portal.migrate import upgrade_to_head
from portal.pages import PageCache
from portal.printable_urls import PrintableUrlMiddleware
from portal.ratelimit import TokenBuckets
from portal.recording import AssetIds
from portal.resources import resource_path
from portal.routes import (
    console_accounts,
    console_attribution,
    console_experiments,
    console_intelligence,
    console_kpis,
    console_mail,
    console_mailbox,
    console_program_review,
    console_programs,
    email_continue,
    email_links,
    email_pages,
    gate,
    home,
    library,
    public,
    sales,
    site_pages,
    track,
)
from portal.routes.api import api_router, openapi_components
from portal.routes.console import CSRF_COOKIE, ConsoleController
from portal.routes.console_leads import LeadsController
from portal.routes.console_reports import ReportsController, dashboard_snapshots
from portal.routes.editor import EditorController
from portal.routes.library import EMBED_HOSTS
from portal.routes.site_pages import SitePagesController
from portal.routes.system import HealthCache, SystemController
from portal.routes.taxonomy import TaxonomyController
from portal.routes.webhooks import WebhooksController
from portal.settings import Settings
from portal.signing import Signer, load_secret_keys
from portal.templating import template_helpers
from portal.visitor import VisitorMiddleware
from portal.web import HTMX_INTEGRITY, HTMX_PATH, static_url
from tracking.identity import unlocks
from tracking.pipeline.group_commit import Ingestor
from tracking.pipeline.writer_process import WriterProcess
from tracking.rules.config_file import load_model

SITE_NAME = "Leadshelf"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "frame-src 'self' " + " ".join(f"https://{host}" for host in sorted(EMBED_HOSTS))
)

logger = logging.getLogger("leadshelf")


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> Litestar:
    """Build the portal. ``migrate`` brings the database to head at start-up."""
    settings = settings or Settings.from_env()
    state = app_state(settings, migrate=migrate)
    return build_app(Shell.of(settings, state.signer), state)


def app_state(settings: Settings, *, migrate: bool = True) -> State:
    """The app's long-lived objects (database, caches, runner …), built from ``settings``.

    Handlers, middleware and the start-up and shutdown hooks read them from ``app.state`` on
    each request or event, never from the shell, so one shell serves any state whose settings
    give the same ``Shell`` (the test suite builds one app a process and a state a test).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    account_service.dummy_hash()  # now, rather than on the first sign-in with an unknown email
    model = load_model(settings.model)
    signer = Signer(load_secret_keys(settings))
    database = Database(settings.resolved_database_url)
    files = FileStore(settings.files_dir, max_bytes=settings.max_upload_mb * 1024 * 1024)
    search = SearchIndex(settings.search_dir)
    ingestor = Ingestor(database, model=model, process=writer_process(settings))
    audience = AudienceCache()
    dashboards = dashboard_snapshots(database, model)
    parts = jobs.Parts(settings, database, model, search, files, ingestor, audience, signer)
    runner = jobs.runner_for(parts, jobs.for_web, refresh_dashboards=dashboards.refresh)
    return State(
        {
            "settings": settings,
            "migrate": migrate,
            "model": model,
            "db": database,
            "signer": signer,
            "files": files,
            "search": search,
            "catalog_cache": CatalogCache(),
            "audience_cache": audience,
            "dashboards": dashboards,
            "runner": runner,
            "health": HealthCache(),
            "ingestor": ingestor,
            "asset_ids": AssetIds(database),
            "beacon_buckets": TokenBuckets(settings.beacon_per_minute),
            "pages": PageCache(database),
            "unlocks": BatchedReads(database, unlocks.unlockers),
        }
    )


@dataclass(frozen=True, slots=True)
class Shell:
    """The few settings the app's routes, middleware and templates are built with once.

    Everything else the app reads from ``app.state`` while it runs. A setting the shell is
    built from belongs here, so two apps with equal shells behave alike given equal states.
    """

    csrf_secrets: tuple[str, ...]
    """The CSRF middleware's secrets, newest first (derived from the secret keys)."""
    secure_cookies: bool
    """Served over https: Secure cookies and HSTS."""
    max_body_bytes: int
    """The largest request body (an upload and its form around it)."""
    privacy_url: str
    """The privacy policy every page's footer links to (a template global)."""

    @classmethod
    def of(cls, settings: Settings, signer: Signer) -> Shell:
        return cls(
            csrf_secrets=signer.derive_all("csrf"),
            secure_cookies=settings.secure_cookies,
            max_body_bytes=(settings.max_upload_mb + 1) * 1024 * 1024,
            privacy_url=settings.privacy_url,
        )


def writer_process(settings: Settings) -> WriterProcess | None:
    """The event writer process of a web process, unless ``event_writer_process`` is off."""
    if not settings.event_writer_process:
        return None
    return WriterProcess(
        partial(models.database, settings.resolved_database_url),
        partial(load_model, settings.model),
    )


def _on_startup(app: Litestar) -> None:
    state = app.state
    if state.migrate and upgrade_to_head(state.db):
        logger.info("database migrated to head")
    state.runner.start()
    # Everything loaded so far lives as long as the process: keep it out of the
    # collector's full passes, which otherwise pause request handling for milliseconds.
    gc.freeze()


def _on_shutdown(app: Litestar) -> None:
    app.state.runner.stop()
    app.state.db.dispose()


def build_app(shell: Shell, state: State) -> Litestar:
    """The portal's routes, middleware and templates, serving from ``state`` (``app_state``)."""
    console = Router(
        path="/",
        route_handlers=[
            ConsoleController,
            EditorController,
            TaxonomyController,
            WebhooksController,
            LeadsController,
            ReportsController,
            SitePagesController,
            SystemController,
            *console_accounts.ROUTES,
            *console_mail.ROUTES,
            *console_mailbox.ROUTES,
            *console_programs.ROUTES,
            *console_program_review.ROUTES,
            *console_attribution.ROUTES,
            *console_intelligence.ROUTES,
            *console_experiments.ROUTES,
            *console_kpis.ROUTES,
        ],
        middleware=[DefineMiddleware(StaffSessionMiddleware)],
        response_headers={"Cache-Control": "no-store"},
    )
    return Litestar(
        route_handlers=[
            Router(
                path="/",
                route_handlers=[
                    *home.ROUTES,
                    *library.ROUTES,
                    *gate.ROUTES,
                    *sales.ROUTES,
                    *track.ROUTES,
                    *site_pages.ROUTES,
                    *email_pages.ROUTES,
                    *email_continue.ROUTES,
                    *email_links.ROUTES,
                ],
                middleware=[VisitorMiddleware()],
            ),
            public.healthz,
            public.favicon,
            console,
            api_router(),
            create_static_files_router(
                path="/static",
                directories=[resource_path("static")],
                cache_control=None,
                include_in_schema=False,
                send_as_attachment=False,
            ),
        ],
        state=state,
        dependencies=DEPENDENCIES,
        request_max_body_size=shell.max_body_bytes,
        on_startup=[_on_startup],
        on_shutdown=[_on_shutdown],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(
            directory=resource_path("templates"),
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: _configure_templates(engine, shell.privacy_url),
        ),
        middleware=[
            PrintableUrlMiddleware(),  # NUL & co. in a URL: 404/400, never a 500
            LanguageMiddleware(),  # before anything renders: every page speaks its reader's
            csrf_middleware(
                shell.csrf_secrets,
                cookie_name=CSRF_COOKIE,
                cookie_secure=shell.secure_cookies,
                cookie_samesite="lax",
                # Bearer-authenticated API calls and the JSON beacon carry no cookie authority.
                exclude=[r"^/api/", r"^/t$"],
            ),
        ],
        openapi_config=OpenAPIConfig(
            title="Leadshelf API",
            version=__version__,
            # Served to users at /api/v1/openapi.json (portal/routes/api.py); this
            # internal path keeps the plugin's own 404 page out of /api/v1.
            path="/api/v1/schema",
            render_plugins=[JsonRenderPlugin()],
            components=openapi_components(),
            description="Leads, their trails and the library for CRM and marketing-automation "
            'integrations. Every error answers `{"error": str, "detail": …}`.',
        ),
        exception_handlers={
            HTTPException: errors.handle_http_exception,
            Exception: errors.handle_server_error,
        },
        before_send=[security_headers(https=shell.secure_cookies)],
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for ASGI servers (``uvicorn --factory portal.app:create_app_from_env``)."""
    return create_app(Settings.from_env())


def _configure_templates(engine: JinjaTemplateEngine, privacy_url: str) -> None:
    # Templates ship with the code: no stat() of every template file on every render.
    engine.engine.auto_reload = False
    i18n.install(engine.engine)
    engine.engine.globals.update(
        site_name=SITE_NAME,
        privacy_url=privacy_url,
        static=static_url,
        htmx_path=HTMX_PATH,
        htmx_integrity=HTMX_INTEGRITY,
        **template_helpers(),
        **console_words.template_helpers(),
    )


def security_headers(*, https: bool) -> BeforeMessageSendHookHandler:
    """A ``before_send`` hook adding the security headers every response carries.

    A hook rather than a middleware, so routing errors (404, 405) get them too.
    """
    extra: list[tuple[bytes, bytes]] = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if https:
        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers: list[Any] = list(message.get("headers", []))
            present = {bytes(name).lower() for name, _ in headers}
            headers.extend(h for h in extra if h[0] not in present)
            message["headers"] = headers

    return add_headers
