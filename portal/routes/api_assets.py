"""Assets in the JSON API: the published library with stage, topics, gate and engagement."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from content import catalog, translations
from content.models import Asset, Topic
from portal.db import Database
from portal.routes.api_common import (
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    error_responses,
)
from portal.settings import Settings
from tracking.reporting.asset_stats import AssetStats, asset_stats

Kind = Literal[
    "whitepaper", "ebook", "webinar", "case_study", "checklist", "video", "article", "datasheet"
]


class AssetEngagementRead(msgspec.Struct):
    """How readers engaged with the asset, all time: unique visitors are the browsers that
    opened it (never more than the views); time and completion are per unique visitor."""

    views: int
    unique_visitors: int
    unlocks: int
    downloads: int
    average_engaged_seconds: float
    completion_rate: float


class AssetVersionRead(msgspec.Struct):
    """The same asset in another language (a published translation, or the original)."""

    slug: str
    language: str
    url: str


class AssetRead(msgspec.Struct):
    """A published asset: what it is, where it sits in the journey, and how it is read;
    ``translations`` are its published versions in other languages, ``translation_of`` the
    slug of the original it translates (null for an original)."""

    slug: str
    title: str
    kind: str
    stage: str
    gate: Literal["open", "gated", "soft"]
    topics: list[str]
    personas: list[str]
    language: str
    summary: str
    url: str
    published_at: datetime | None
    updated_at: datetime
    engagement: AssetEngagementRead
    translation_of: str | None = None
    translations: list[AssetVersionRead] = []


class AssetList(msgspec.Struct):
    """A page of assets in a stable order; pass ``next_cursor`` back for the next page."""

    items: list[AssetRead]
    next_cursor: str | None


def _asset_read(asset: Asset, stats: AssetStats, base_url: str, versions: list[Asset]) -> AssetRead:
    original = next((v for v in versions if v.id == asset.translation_of_id), None)
    return AssetRead(
        slug=asset.slug,
        title=asset.title,
        kind=asset.kind,
        stage=asset.stage,
        gate=asset.gate,  # type: ignore[arg-type]  # the column only holds Gate values
        topics=[topic.slug for topic in asset.topics],
        personas=[persona.slug for persona in asset.personas],
        language=asset.language,
        summary=asset.summary,
        url=f"{base_url.rstrip('/')}/library/{asset.slug}",
        published_at=asset.published_at,
        updated_at=asset.updated_at,
        engagement=AssetEngagementRead(
            views=stats.views,
            unique_visitors=stats.unique_visitors,
            unlocks=stats.unlocks,
            downloads=stats.downloads,
            average_engaged_seconds=stats.average_engaged_seconds,
            completion_rate=stats.completion_rate,
        ),
        translation_of=original.slug if original is not None else None,
        translations=[
            AssetVersionRead(v.slug, v.language, f"{base_url.rstrip('/')}/library/{v.slug}")
            for v in versions
        ],
    )


def _reads(session: Session, assets: list[Asset], base_url: str) -> list[AssetRead]:
    stats = asset_stats(session, [asset.id for asset in assets])
    versions = translations.versions_by_asset(session, assets)
    return [
        _asset_read(asset, stats[asset.id], base_url, versions.get(asset.id, []))
        for asset in assets
    ]


@get(
    "/assets",
    sync_to_thread=True,
    summary="Published assets, filtered",
    responses=error_responses(),
)
def list_assets(
    database: NamedDependency[Database],
    settings: NamedDependency[Settings],
    stage: FromQuery[str | None] = None,
    kind: FromQuery[Kind | None] = None,
    topic: FromQuery[str | None] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AssetList:
    """Published assets in the order they were created; filters combine;
    ``next_cursor`` pages on."""
    query = (
        select(Asset)
        .where(catalog.live(), Asset.id > decode_cursor(cursor))
        .options(selectinload(Asset.topics), selectinload(Asset.personas))
        .order_by(Asset.id)
        .limit(limit + 1)
    )
    if stage:
        query = query.where(Asset.stage == stage)
    if kind:
        query = query.where(Asset.kind == kind)
    if topic:
        query = query.where(Asset.topics.any(Topic.slug == topic))
    with database.read() as session:
        found = list(session.scalars(query))
        items = _reads(session, found[:limit], settings.base_url)
    more = len(found) > limit
    return AssetList(items=items, next_cursor=encode_cursor(found[limit - 1].id) if more else None)


@get(
    "/assets/{slug:str}",
    sync_to_thread=True,
    summary="One published asset",
    responses=error_responses(404),
)
def get_asset(
    slug: FromPath[str], database: NamedDependency[Database], settings: NamedDependency[Settings]
) -> AssetRead:
    """The asset with its engagement figures as they stand now."""
    with database.read() as session:
        asset = catalog.find_live(session, slug)
        if asset is None:
            raise NotFoundException(f"no published asset {slug!r}")
        return _reads(session, [asset], settings.base_url)[0]


ROUTES = [list_assets, get_asset]
