"""Keeping the search index in step with the database, through the content change log.

Every change to an asset writes a ``content_change`` row in the same
transaction (``record_change``). Each app process owns a ``SearchIndex`` folder
and runs ``catch_up`` as a background job (every process, its own index): it
reads the rows after the index's ``last_seq`` and re-indexes or removes the
assets they name. The database is
the source of truth; an index can always be rebuilt from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session, selectinload

from content.models import Asset, ContentChange, Status
from content.orm import SessionSource
from content.search.index import SearchIndex
from content.search.schema import SearchDocument
from content.text import markdown_to_text

logger = logging.getLogger(__name__)

REBUILD_BATCH = 500


def record_change(session: Session, asset_id: int, action: str) -> None:
    """Log that an asset changed, in the caller's transaction, for every index to catch up on."""
    if session.get_bind().dialect.name == "postgresql":
        # A syncer remembers the highest seq it has read, so a row must never
        # become visible after a higher seq did. PostgreSQL hands out sequence
        # numbers at insert, not at commit: without this lock a transaction
        # holding seq 10 could commit after one holding seq 11 was already
        # synced, and seq 10 would be skipped for good. The lock conflicts only
        # with itself, so writers of the log queue until the holder commits,
        # while readers (ACCESS SHARE) are never blocked. SQLite needs nothing:
        # its write transactions (BEGIN IMMEDIATE) already run one at a time.
        session.execute(text("LOCK TABLE content_change IN SHARE ROW EXCLUSIVE MODE"))
    session.add(ContentChange(asset_id=asset_id, action=action))
    session.flush()


def document_for(asset: Asset) -> SearchDocument:
    """The search document of an asset (its body as plain text, topic and persona slugs)."""
    return SearchDocument(
        asset_id=asset.id,
        slug=asset.slug,
        title=asset.title,
        summary=asset.summary or "",
        body_text=markdown_to_text(asset.body or ""),
        file_text=asset.file_text or "",
        kind=asset.kind,
        stage=asset.stage,
        topics=tuple(topic.slug for topic in asset.topics),
        personas=tuple(persona.slug for persona in asset.personas),
        language=asset.language,
        published_at=asset.published_at or asset.updated_at,
    )


def sync(session: Session, index: SearchIndex, batch: int = 500) -> int:
    """Bring ``index`` up to the newest change; returns how many assets were touched.

    Skips the round (returns 0) while another thread or process writes this
    index. A fresh index, or one ahead of the log (a restored database), is
    rebuilt instead of replayed. Applying the same changes twice is harmless:
    each touched asset is indexed as it is now, or removed if it is not live.
    """
    with index.writer_lock() as mine:
        if not mine:
            return 0
        position = index.last_seq()
        head = _head(session)
        if head == position:
            return 0
        if position == 0 or head < position:
            return rebuild(session, index)
        touched: set[int] = set()
        while True:
            changes = session.execute(
                select(ContentChange.seq, ContentChange.asset_id)
                .where(ContentChange.seq > position)
                .order_by(ContentChange.seq)
                .limit(batch)
            ).all()
            if not changes:
                break
            asset_ids = {asset_id for _, asset_id in changes}
            live = _live_assets(session, asset_ids)
            position = changes[-1].seq
            index.apply(
                upserts=[document_for(asset) for asset in live],
                removals=sorted(asset_ids - {asset.id for asset in live}),
                last_seq=position,
            )
            touched |= asset_ids
            if len(changes) < batch:
                break
        return len(touched)


def rebuild(
    session: Session, index: SearchIndex, progress: Callable[[int, int], None] | None = None
) -> int:
    """Re-index every live asset from scratch; returns how many were indexed."""
    # The head is read first: a change committed while the assets are read is
    # then replayed by the next sync instead of being lost.
    head = _head(session)
    total = session.scalar(select(func.count()).select_from(Asset).where(_is_live())) or 0
    report = (lambda done: progress(done, total)) if progress is not None else None
    return index.rebuild(_all_live_documents(session), last_seq=head, progress=report)


def catch_up(database: SessionSource, index: SearchIndex) -> str | None:
    """One pass of the search index job (every process, its own index): apply the changes
    logged since the index's position. Says what it did, or None when there was nothing."""
    with database.read() as session:
        touched = sync(session, index)
    if not touched:
        return None
    logger.info("search index: %d asset(s) synced up to change %d", touched, index.last_seq())
    return f"{touched} asset(s) indexed, up to change {index.last_seq()}"


def backlog(session: Session, index: SearchIndex) -> tuple[int, datetime | None]:
    """Changes logged after the index's position, and when the oldest of them was logged."""
    position = index.last_seq()
    waiting, oldest = session.execute(
        select(func.count(), func.min(ContentChange.at)).where(ContentChange.seq > position)
    ).one()
    return int(waiting), oldest


def _is_live() -> ColumnElement[bool]:
    return Asset.status == Status.PUBLISHED.value


def _head(session: Session) -> int:
    return session.scalar(select(func.max(ContentChange.seq))) or 0


def _live_assets(session: Session, asset_ids: set[int]) -> list[Asset]:
    return list(
        session.scalars(
            select(Asset)
            .where(Asset.id.in_(asset_ids), _is_live())
            .options(selectinload(Asset.topics), selectinload(Asset.personas))
        )
    )


def _all_live_documents(session: Session) -> Iterator[SearchDocument]:
    last_id = 0
    while True:
        assets = session.scalars(
            select(Asset)
            .where(_is_live(), Asset.id > last_id)
            .order_by(Asset.id)
            .limit(REBUILD_BATCH)
            .options(selectinload(Asset.topics), selectinload(Asset.personas))
        ).all()
        for asset in assets:
            yield document_for(asset)
        if len(assets) < REBUILD_BATCH:
            return
        last_id = assets[-1].id
