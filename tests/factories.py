"""Factories for test data: assets made through the same services the app uses."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from content.editing import save_asset, validate_draft
from content.files import FileStore
from content.models import Asset
from content.publishing import publish
from content.text import pdf_text_and_pages
from portal.db import Database
from tests.pdfs import make_pdf

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
        "title": f"Guide number {n}",
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
        }
    with db.write() as session:
        asset = save_asset(session, draft, "factory@example.com", **attachment)
        if published:
            publish(session, asset, "factory@example.com", now=published_at)
        session.flush()
        session.refresh(asset, ["topics", "personas"])
        session.expunge(asset)
    return asset
