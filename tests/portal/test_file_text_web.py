"""An uploaded PDF is stored at once; its text is read later, bounded, by one process at a time;
the editor sees when it could not be read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content import extraction
from content.extraction import Extraction, ExtractionLimits, extract_pending_texts
from content.files import FileStore
from content.models import Asset, FileTextStatus, StoredFile
from content.orm import utcnow
from portal.accounts import service
from portal.accounts.models import Role
from portal.db import Database
from portal.settings import Settings
from tests.factories import catch_up_search, editor_form, extract_file_texts, make_asset
from tests.pdfs import make_pdf, make_pdf_bomb
from tests.support import STAFF_PASSWORD, StaffActions, app_for, csrf_token_from, html

EDITOR = "editor@example.com"


def add_editor(db: Database) -> None:
    with db.write() as session:
        service.create_user(session, EDITOR, Role.EDITOR, STAFF_PASSWORD)


@contextmanager
def signed_in(settings: Settings, db: Database) -> Iterator[TestClient[Litestar]]:
    """A running app (its own background tick) with an editor signed in."""
    with app_for(settings) as built, TestClient(built) as client:
        response = StaffActions(client, db).login(EDITOR)
        assert getattr(response, "status_code", None) == 303
        yield client


def upload(client: TestClient[Litestar], name: str, data: bytes, **form: str) -> Any:
    token = csrf_token_from(client.get("/console/assets/new").text)
    return client.post(
        "/console/assets/new",
        data={
            **editor_form(title="Intent Data Field Guide", summary="How to read intent."),
            **form,
            "_csrf_token": token,
        },
        files={"file": (name, data, "application/pdf")},
        follow_redirects=False,
    )


def the_asset(db: Database) -> Asset:
    with db.read() as session:
        asset = session.scalar(select(Asset))
        assert asset is not None
        return asset


def test_a_pdf_too_slow_to_read_is_saved_and_marked_text_not_indexed(
    settings: Settings, db: Database
) -> None:
    add_editor(db)
    with signed_in(settings, db) as client:
        response = upload(client, "huge-text.pdf", make_pdf_bomb(8))
        assert response.status_code == 303
        asset = the_asset(db)
        assert asset.file_sha256 is not None
        assert asset.file_name == "huge-text.pdf"
        # Saved before its text is read: the request never reads the PDF.
        assert asset.file_text_status == FileTextStatus.PENDING
        assert asset.file_text == ""
    # The app has stopped (any round of its own is given up and the file handed back).
    store = FileStore(settings.files_dir)
    assert extract_pending_texts(db, store, ExtractionLimits(seconds=1)) == 1
    asset = the_asset(db)
    assert asset.file_text_status == FileTextStatus.NOT_INDEXED
    assert "longer than 1 s" in asset.file_text_reason

    with signed_in(settings, db) as client:
        row = html(client.get("/console/assets").text).css_first("tbody tr")
        assert "Text not indexed" in row.text()
        form = html(client.get(f"/console/assets/{asset.id}").text)
        marker = form.css_first(".file-text-status")
        assert marker is not None
        assert "Text not indexed" in marker.text()
        assert "longer than 1 s" in marker.text()
        # The file itself is kept and served.
        served = client.get(f"/console/assets/{asset.id}/file")
        assert served.status_code == 200
        assert served.content.startswith(b"%PDF-")


def test_a_normal_pdf_becomes_searchable_by_its_text(settings: Settings, db: Database) -> None:
    add_editor(db)
    pdf = make_pdf(["The Intent Field Guide", "Chapter two: the quorbitmatrix of intent signals."])
    with signed_in(settings, db) as client:
        response = upload(client, "intent-guide.pdf", pdf, action="publish")
        assert response.status_code == 303
        extract_file_texts(db, FileStore(settings.files_dir))
        asset = the_asset(db)
        assert asset.file_text_status == FileTextStatus.INDEXED
        assert asset.file_pages == 2
        assert "quorbitmatrix" in asset.file_text

        catch_up_search(db, client.app)
        results = html(client.get("/library", params={"q": "quorbitmatrix"}).text)
        titles = [node.text(strip=True) for node in results.css("#results h3 a, #results h2 a")]
        assert "Intent Data Field Guide" in titles
        form = html(client.get(f"/console/assets/{asset.id}").text)
        assert form.css_first(".file-text-status") is None


def pending_pdf(db: Database, store: FileStore, data: bytes, claimed_at: datetime | None) -> int:
    """An asset whose PDF waits for its text, claimed by some process at ``claimed_at``."""
    blob = store.put(data, "guide.pdf")
    asset = make_asset(db)
    with db.write() as session:
        row = session.get(Asset, asset.id)
        assert row is not None
        session.add(StoredFile(sha256=blob.sha256, size=blob.size, content_type=blob.content_type))
        row.file_sha256 = blob.sha256
        row.file_text_status = FileTextStatus.PENDING.value
        row.file_text_claimed_at = claimed_at
    return asset.id


def stored(db: Database, asset_id: int) -> Asset:
    """The asset as the database holds it now."""
    with db.read() as session:
        row = session.get(Asset, asset_id)
        assert row is not None
        return row


def test_a_file_another_process_reads_is_left_to_it_until_its_claim_expires(
    db: Database, tmp_path: Path
) -> None:
    store = FileStore(tmp_path / "files")
    asset_id = pending_pdf(db, store, make_pdf(["claimed words"]), claimed_at=utcnow())
    assert extract_pending_texts(db, store) == 0
    with db.write() as session:
        row = session.get(Asset, asset_id)
        assert row is not None
        row.file_text_claimed_at = utcnow() - timedelta(minutes=5)  # that process died
    assert extract_pending_texts(db, store) == 1
    row = stored(db, asset_id)
    assert row.file_text_status == FileTextStatus.INDEXED
    assert row.file_text == "claimed words"
    assert row.file_text_claimed_at is None


def test_a_reading_given_up_at_shutdown_hands_the_file_back(db: Database, tmp_path: Path) -> None:
    class StopDuringReading:
        calls = 0

        def is_set(self) -> bool:
            self.calls += 1
            return self.calls > 1  # not before the file is claimed, at once while it is read

    store = FileStore(tmp_path / "files")
    asset_id = pending_pdf(db, store, make_pdf_bomb(8), claimed_at=None)
    assert extract_pending_texts(db, store, stopping=StopDuringReading()) == 0
    row = stored(db, asset_id)
    assert row.file_text_status == FileTextStatus.PENDING
    assert row.file_text_claimed_at is None


def test_a_reason_holding_a_control_character_is_stored(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader's error output ends up in the reason; PostgreSQL refuses NUL in a text."""
    store = FileStore(tmp_path / "files")
    asset_id = pending_pdf(db, store, make_pdf(["words"]), claimed_at=None)
    reason = "The PDF cannot be read (bad \x00 byte)."
    broken = Extraction(FileTextStatus.NOT_INDEXED, reason=reason)
    monkeypatch.setattr(extraction, "extract_pdf_text", lambda *args, **kwargs: broken)

    assert extract_pending_texts(db, store) == 1

    row = stored(db, asset_id)
    assert row.file_text_status == FileTextStatus.NOT_INDEXED
    assert row.file_text_reason == "The PDF cannot be read (bad \ufffd byte)."
    assert row.file_text_claimed_at is None


def test_a_text_that_cannot_be_stored_is_not_read_again_and_again(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "files")
    asset_id = pending_pdf(db, store, make_pdf(["words"]), claimed_at=None)
    real_record_change = extraction.record_change
    failures = iter([RuntimeError("disk full")])

    def record_change_failing_once(*args: Any, **kwargs: Any) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_record_change(*args, **kwargs)

    monkeypatch.setattr(extraction, "record_change", record_change_failing_once)

    assert extract_pending_texts(db, store) == 1

    row = stored(db, asset_id)
    assert row.file_text_status == FileTextStatus.NOT_INDEXED
    assert row.file_text_reason == "Its text could not be stored."
    assert extract_pending_texts(db, store) == 0
