"""The app's long-lived objects, handed to route handlers by Litestar's dependency injection.

``create_app`` builds them once and keeps them in the app's ``state``; a handler names the one
it needs as a parameter (``database: NamedDependency[Database]``) and gets it typed, instead
of reading an untyped ``state`` attribute. Every provider is one attribute read, so none runs
in a worker thread (``sync_to_thread=False``): a thread hop would cost more than the read.

A test, or one router, can replace a provider by the same key (Litestar's layered
``dependencies``) without touching the app's state.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from content.catalog import CatalogCache
from content.files import FileStore
from content.search.index import SearchIndex
from nurture.recommendations import AudienceCache
from portal.db import Database
from portal.ratelimit import TokenBuckets
from portal.recording import AssetIds
from portal.routes.console_reports import DashboardView
from portal.settings import Settings
from portal.signing import Signer
from portal.snapshots import Snapshots
from tracking.pipeline.ingest import Ingestor
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


def provide_search(state: State) -> SearchIndex:
    """This node's search index (a derived copy of the library, kept in sync off-request)."""
    search: SearchIndex = state.search
    return search


def provide_catalog_cache(state: State) -> CatalogCache:
    """The library's cached facets and listings, refreshed when content changes."""
    catalog_cache: CatalogCache = state.catalog_cache
    return catalog_cache


def provide_audience_cache(state: State) -> AudienceCache:
    """The recommendations' shared catalog and co-reading aggregates (one per process)."""
    audience_cache: AudienceCache = state.audience_cache
    return audience_cache


def provide_dashboards(state: State) -> Snapshots[int, DashboardView]:
    """The funnel dashboard per period (days), computed off the request path."""
    dashboards: Snapshots[int, DashboardView] = state.dashboards
    return dashboards


def provide_ingestor(state: State) -> Ingestor:
    """The tracking pipeline's group-commit queue: events are acknowledged once committed."""
    ingestor: Ingestor = state.ingestor
    return ingestor


def provide_asset_ids(state: State) -> AssetIds:
    """Live asset ids by slug, cached for the beacon."""
    asset_ids: AssetIds = state.asset_ids
    return asset_ids


def provide_beacon_buckets(state: State) -> TokenBuckets:
    """Per-visitor token buckets that rate-limit the beacon."""
    beacon_buckets: TokenBuckets = state.beacon_buckets
    return beacon_buckets


DEPENDENCIES: dict[str, Provide] = {
    "database": Provide(provide_database, sync_to_thread=False),
    "model": Provide(provide_model, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "signer": Provide(provide_signer, sync_to_thread=False),
    "files": Provide(provide_files, sync_to_thread=False),
    "search": Provide(provide_search, sync_to_thread=False),
    "catalog_cache": Provide(provide_catalog_cache, sync_to_thread=False),
    "audience_cache": Provide(provide_audience_cache, sync_to_thread=False),
    "dashboards": Provide(provide_dashboards, sync_to_thread=False),
    "ingestor": Provide(provide_ingestor, sync_to_thread=False),
    "asset_ids": Provide(provide_asset_ids, sync_to_thread=False),
    "beacon_buckets": Provide(provide_beacon_buckets, sync_to_thread=False),
}
"""For ``Litestar(dependencies=DEPENDENCIES)``: each key is the parameter name handlers use."""
