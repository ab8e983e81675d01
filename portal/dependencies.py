"""The app's long-lived objects, handed to route handlers by Litestar's dependency injection.

``create_app`` builds them once and keeps them in the app's ``state``; a handler names what it
needs as a parameter and gets it typed, instead of reading an untyped ``state`` attribute:
console and API handlers take each object by name (``database: NamedDependency[Database]``),
the public site's handlers take them all as one ``site: NamedDependency[PublicSite]`` (see
``PublicSite`` for why). Every provider only reads attributes, so none runs in a worker thread
(``sync_to_thread=False``): a thread hop would cost more than the read.

A test, or one router, can replace a provider by the same key (Litestar's layered
``dependencies``) without touching the app's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import State
from litestar.di import Provide

from content.catalog import CatalogCache
from content.files import FileStore
from content.search.index import SearchIndex
from nurture.recommendations import AudienceCache
from portal.background import Runner
from portal.batched import BatchedReads
from portal.db import Database
from portal.pages import PageCache
from portal.ratelimit import TokenBuckets
from portal.recording import AssetIds
from portal.routes.console_reports import DashboardView
from portal.routes.system import HealthCache
from portal.settings import Settings
from portal.signing import Signer
from portal.snapshots import Snapshots
from tracking.identity.unlocks import Unlocker
from tracking.pipeline.group_commit import Ingestor
from tracking.rules.config import Model


def provide_database(state: State) -> Database:
    """The database: engine and read/write sessions."""
    database: Database = state.db
    return database


def provide_model(state: State) -> Model:
    """The journey and scoring model (stages, points, thresholds) the app was started with."""
    model: Model = state.model
    return model


def provide_settings(state: State) -> Settings:
    """The settings the app was built from."""
    settings: Settings = state.settings
    return settings


def provide_signer(state: State) -> Signer:
    """Signs and verifies cookies, links and tokens with the rotating secret keys."""
    signer: Signer = state.signer
    return signer


def provide_files(state: State) -> FileStore:
    """The content-addressed store of uploaded files."""
    files: FileStore = state.files
    return files


def provide_audience_cache(state: State) -> AudienceCache:
    """The recommendations' shared catalog and co-reading aggregates (one per process)."""
    audience_cache: AudienceCache = state.audience_cache
    return audience_cache


def provide_dashboards(state: State) -> Snapshots[int, DashboardView]:
    """The funnel dashboard per period (days), computed off the request path."""
    dashboards: Snapshots[int, DashboardView] = state.dashboards
    return dashboards


@dataclass(frozen=True, slots=True)
class PublicSite:
    """What the public pages, the gate and sales forms and the beacon work with, as one dependency.

    Litestar resolves two or more dependencies of a handler concurrently in an anyio task group
    (litestar#4563, open): three cost about 90 µs a request more than one on a bare handler, and
    the beacon taking three lost a sixth of its throughput (``bench/ingest.py``, 100 clients).
    One dependency costs about 5 µs, so these handlers take ``site`` alone.
    """

    database: Database
    model: Model
    settings: Settings
    signer: Signer
    files: FileStore
    search: SearchIndex
    """This node's search index (a derived copy of the library, kept in sync off-request)."""
    catalog_cache: CatalogCache
    """The library's cached facets and listings, refreshed when content changes."""
    audience_cache: AudienceCache
    ingestor: Ingestor
    """The tracking pipeline's group commit: an event is acknowledged once committed."""
    asset_ids: AssetIds
    """Live asset ids by slug, cached for the beacon."""
    beacon_buckets: TokenBuckets
    """Per-visitor token buckets that rate-limit the beacon."""
    pages: PageCache
    """The shared bytes of home, library and asset pages, per content version."""
    unlocks: BatchedReads[tuple[str, int], Unlocker | None]
    """Who unlocked a gated asset for a browser (visitor id, asset id), read in batches."""


def provide_runner(state: State) -> Runner:
    """This process's background runner: its jobs, their states, the whole catalogue."""
    runner: Runner = state.runner
    return runner


def provide_health(state: State) -> HealthCache:
    """The background jobs' verdict, reused for a moment (``/healthz``)."""
    health: HealthCache = state.health
    return health


def provide_site(state: State) -> PublicSite:
    """The public site's objects, typed (built per request: a dozen attribute reads)."""
    return PublicSite(
        database=state.db,
        model=state.model,
        settings=state.settings,
        signer=state.signer,
        files=state.files,
        search=state.search,
        catalog_cache=state.catalog_cache,
        audience_cache=state.audience_cache,
        ingestor=state.ingestor,
        asset_ids=state.asset_ids,
        beacon_buckets=state.beacon_buckets,
        pages=state.pages,
        unlocks=state.unlocks,
    )


DEPENDENCIES: dict[str, Provide] = {
    "database": Provide(provide_database, sync_to_thread=False),
    "model": Provide(provide_model, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "signer": Provide(provide_signer, sync_to_thread=False),
    "files": Provide(provide_files, sync_to_thread=False),
    "audience_cache": Provide(provide_audience_cache, sync_to_thread=False),
    "dashboards": Provide(provide_dashboards, sync_to_thread=False),
    "site": Provide(provide_site, sync_to_thread=False),
    "runner": Provide(provide_runner, sync_to_thread=False),
    "health": Provide(provide_health, sync_to_thread=False),
}
"""For ``Litestar(dependencies=DEPENDENCIES)``: each key is the parameter name handlers use."""
