"""The publishing workflow: draft → scheduled/published → archived, each step a revision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.editing import ContentError, add_revision
from content.indexer import record_change
from content.models import Asset, Status
from content.orm import utcnow
from content.words import N_, Said

SCHEDULER = "scheduler"


def publish(session: Session, asset: Asset, author: str, now: datetime | None = None) -> None:
    """Make the asset live now (keeping an earlier publication date when republishing)."""
    now = now or utcnow()
    if asset.status == Status.PUBLISHED.value:
        return
    keep_date = asset.published_at is not None and asset.published_at <= now
    _move(session, asset, Status.PUBLISHED, author, asset.published_at if keep_date else now)


def schedule(
    session: Session, asset: Asset, at: datetime, author: str, now: datetime | None = None
) -> None:
    """Publish automatically at ``at`` (which must be in the future)."""
    if at <= (now or utcnow()):
        raise ContentError({"publish_at": Said(N_("Pick a time in the future, or publish now."))})
    _move(session, asset, Status.SCHEDULED, author, at)


def unpublish(session: Session, asset: Asset, author: str) -> None:
    """Back to draft: the asset leaves the library and the search index."""
    _move(session, asset, Status.DRAFT, author, None)


def archive(session: Session, asset: Asset, author: str) -> None:
    """Retire the asset; it stays in the console and its history, not on the portal."""
    _move(session, asset, Status.ARCHIVED, author, asset.published_at)


def publish_due(session: Session, now: datetime | None = None) -> list[str]:
    """Publish every scheduled asset whose time has come; returns their slugs."""
    now = now or utcnow()
    due = session.scalars(
        select(Asset)
        .where(Asset.status == Status.SCHEDULED.value, Asset.published_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for asset in due:
        _move(session, asset, Status.PUBLISHED, SCHEDULER, asset.published_at)
    return [asset.slug for asset in due]


def _move(
    session: Session, asset: Asset, status: Status, author: str, published_at: datetime | None
) -> None:
    changes: dict[str, list[str | None]] = {}
    if asset.status != status.value:
        changes["status"] = [asset.status, status.value]
    if asset.published_at != published_at:
        changes["published_at"] = [_iso(asset.published_at), _iso(published_at)]
    if not changes:
        return
    asset.status = status.value
    asset.published_at = published_at
    asset.updated_at = utcnow()
    session.flush()
    add_revision(session, asset, author, status.value, changes)
    record_change(session, asset.id, status.value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
