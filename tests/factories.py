"""Factories for test data: assets made through the same services the app uses."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from sqlalchemy import func, select

from content.editing import save_asset, validate_draft
from content.extraction import extract_pending_texts
from content.files import FileStore
from content.models import Asset, ContentChange, FileTextStatus
from content.orm import utcnow
from content.publishing import publish
from content.text import pdf_text_and_pages
from portal.db import Database
from tests.pdfs import make_pdf
from tracking.models import AssetEngagement, Lead, Visitor

_numbers = itertools.count(1)


def make_asset(
    db: Database,
    *,
    published: bool = True,
    store: FileStore | None = None,
    pdf_pages: list[str] | None = None,
    published_at: datetime | None = None,
    **fields: Any,
) -> Asset:
    """A valid asset (published by default); keyword arguments override its form fields."""
    n = next(_numbers)
    values: dict[str, Any] = {
        # Five digits: a title like "Guide number 2003" reads as a year that has passed, and
        # content intelligence flags it as out of date (a worker makes thousands of assets).
        "title": f"Guide number {n:05d}",
        "kind": "article",
        "stage": "awareness",
        "summary": f"Summary of guide {n}.",
        "body": f"Body of guide {n}.",
        "topics": ["lead-scoring"],
        **fields,
    }
    draft, errors = validate_draft(values)
    assert draft is not None, errors
    attachment: dict[str, Any] = {}
    if pdf_pages is not None:
        assert store is not None, "pass store= to attach a PDF"
        data = make_pdf(pdf_pages)
        text, pages = pdf_text_and_pages(data)
        attachment = {
            "blob": store.put(data, "guide.pdf"),
            "file_name": "guide.pdf",
            "file_text": text,
            "file_pages": pages,
            "file_text_status": "indexed",
        }
    with db.write() as session:
        asset = save_asset(session, draft, "factory@example.com", **attachment)
        if published:
            publish(session, asset, "factory@example.com", now=published_at)
        session.flush()
        session.refresh(asset, ["topics", "personas"])
        session.expunge(asset)
    return asset


def extract_file_texts(db: Database, store: FileStore) -> None:
    """Read the text of every PDF waiting for it, as the app's pdf-text job does (that job
    may hold a file for a moment: then wait for it)."""
    deadline = time.monotonic() + 60
    while True:
        extract_pending_texts(db, store)
        with db.read() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Asset)
                .where(Asset.file_text_status == FileTextStatus.PENDING.value)
            )
        if not waiting:
            return
        assert time.monotonic() < deadline, "PDF text still not read"
        time.sleep(0.05)


def editor_form(**fields: str) -> dict[str, str]:
    """The console editor's fields for a valid open whitepaper, with ``fields`` changed."""
    return {
        "title": "Scoring Field Guide",
        "summary": "How to weigh fit and intent.",
        "body": "Short body.",
        "kind": "whitepaper",
        "stage": "consideration",
        "gate": "open",
        "language": "en",
        "timezone": "UTC",
        **fields,
    }


def catch_up_search(db: Database, app: Litestar) -> None:
    """Bring the app's search index up to the newest change now: one pass of its search-index
    job (which waits for a pass the job's own thread has in hand, so none is skipped)."""
    with db.read() as session:
        head = session.scalar(select(func.max(ContentChange.seq))) or 0
    app.state.runner.run_all_once(["search-index"])
    assert app.state.search.last_seq() >= head, "the search index did not catch up"


def make_reader(db: Database, email: str, stage: str, stage_days: int, read: dict[int, int]) -> int:
    """A lead at ``stage`` for ``stage_days`` that read each asset ``read[asset]`` days ago
    (its reading as ``asset_engagement`` rows of one browser): content intelligence's input."""
    now = utcnow()
    with db.write() as session:
        person = Lead(
            email=email,
            journey_stage=stage,
            stage_changed_at=now - timedelta(days=stage_days),
            created_at=now - timedelta(days=400),
            last_activity_at=now - timedelta(days=min(read.values(), default=300)),
        )
        session.add(person)
        session.flush()
        visitor = Visitor(id=f"{person.id:032d}", lead_id=person.id)
        session.add(visitor)
        session.flush()
        for asset_id, days in read.items():
            session.add(
                AssetEngagement(
                    visitor_id=visitor.id, asset_id=asset_id, lead_id=person.id,
                    engaged_seconds=120, first_at=now - timedelta(days=days + 1),
                    last_at=now - timedelta(days=days),
                )
            )  # fmt: skip
        return person.id
