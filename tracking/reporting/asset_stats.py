"""Engagement per asset, from the per visitor-and-asset aggregates and the unlocks.

What an integrator (or a report) wants to know of an asset: how often it was
viewed and by how many browsers, how long they read, how many read it to the
end, and how many unlocked or downloaded it. A unique visitor is a browser that
opened the asset (an ``asset_view``), as in the console's content analytics, so
views are never fewer than unique visitors: a form sent from the asset (a
"Talk to sales" request) or a reading beacon makes nobody a visitor of it.
Two grouped queries for any number of assets; raw events are never scanned, so
the figures survive event retention.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tracking.models import AssetEngagement, Unlock

COMPLETED_DEPTH = 0.9
"""A browser that scrolled this far through an asset has read it to the end."""


@dataclass(frozen=True, slots=True)
class AssetStats:
    """Engagement with one asset; rates and averages are over its unique visitors."""

    views: int = 0
    unique_visitors: int = 0
    """Browsers that opened the asset at least once."""
    unlocks: int = 0
    downloads: int = 0
    average_engaged_seconds: float = 0.0
    """Engaged seconds of every browser, per unique visitor."""
    completion_rate: float = 0.0
    """Share (0 to 1) of the unique visitors that read to ``COMPLETED_DEPTH``."""


def asset_stats(session: Session, asset_ids: Collection[int]) -> dict[int, AssetStats]:
    """Stats for each asset id asked for (assets nobody touched get zeros)."""
    if not asset_ids:
        return {}
    ids = sorted(set(asset_ids))
    engagement = AssetEngagement
    opened = engagement.views > 0
    touched = session.execute(
        select(
            engagement.asset_id,
            func.coalesce(func.sum(engagement.views), 0),
            func.sum(case((opened, 1), else_=0)),
            func.coalesce(func.sum(engagement.downloads), 0),
            func.coalesce(func.sum(engagement.engaged_seconds), 0.0),
            func.sum(case((opened & (engagement.max_depth >= COMPLETED_DEPTH), 1), else_=0)),
        )
        .where(engagement.asset_id.in_(ids))
        .group_by(engagement.asset_id)
    )
    unlocked = session.execute(
        select(Unlock.asset_id, func.count())
        .where(Unlock.asset_id.in_(ids))
        .group_by(Unlock.asset_id)
    )
    unlocks: dict[int, int] = {asset_id: int(count) for asset_id, count in unlocked}
    found = {asset_id: AssetStats(unlocks=unlocks.get(asset_id, 0)) for asset_id in ids}
    for asset_id, views, visitors, downloads, seconds, completed in touched:
        found[asset_id] = AssetStats(
            views=int(views),
            unique_visitors=int(visitors or 0),
            unlocks=unlocks.get(asset_id, 0),
            downloads=int(downloads),
            average_engaged_seconds=round(float(seconds) / visitors, 1) if visitors else 0.0,
            completion_rate=round(int(completed or 0) / visitors, 4) if visitors else 0.0,
        )
    return found
