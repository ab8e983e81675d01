"""Reading the text of attached PDFs, bounded and off the request path.

A small PDF can hold a content stream that inflates to megabytes of text operators
and keeps a reader busy for minutes and hundreds of MB. So the text is read in a
child process (``content.extraction_child``) with a wall-clock timeout, a memory
limit and caps on pages and characters, never in a request: an upload stores the
file and marks its text ``pending``; ``extract_pending_texts``, run by the
background tick, reads it and records the outcome for the editor and the search
index. The importer (a command, not a request) reads at once, within the same limits.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from content.extraction_child import EXIT_OUT_OF_MEMORY, EXIT_UNREADABLE
from content.files import FileStore
from content.indexer import record_change
from content.markdown import reading_minutes, word_count
from content.models import Asset, FileTextStatus
from content.orm import SessionSource, utcnow
from content.printable import printable_copy

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
CLAIM_MARGIN_SECONDS = 60
REASON_MAX = 300


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """What reading one PDF may cost: wall-clock seconds and memory of its child process,
    and how many pages and characters of its text are kept."""

    seconds: float = 30.0
    memory_mb: int = 512
    max_pages: int = 2_000
    max_chars: int = 1_000_000


DEFAULT_LIMITS = ExtractionLimits()


class Stopping(Protocol):
    """A stop request (``threading.Event`` fits): a reading in progress is given up."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Extraction:
    """The outcome of reading a PDF: its status, text and page count, and a note for the editor."""

    status: FileTextStatus
    text: str = ""
    pages: int | None = None
    reason: str = ""

    def asset_fields(self) -> dict[str, Any]:
        """The asset's file text fields, as ``save_asset`` takes them."""
        return {
            "file_text": self.text,
            "file_pages": self.pages,
            "file_text_status": self.status.value,
            "file_text_reason": str(printable_copy(self.reason))[:REASON_MAX],
        }


def extract_pdf_text(
    path: Path, limits: ExtractionLimits = DEFAULT_LIMITS, stopping: Stopping | None = None
) -> Extraction | None:
    """Read the PDF at ``path`` in a child process within ``limits``; None if ``stopping`` was set
    before it finished (nothing is known about the file then)."""
    settings = {
        "memory_mb": limits.memory_mb,
        "cpu_seconds": math.ceil(limits.seconds) + 5,  # a backstop should this process vanish
        "max_pages": limits.max_pages,
        "max_chars": limits.max_chars,
    }
    command = [sys.executable, "-m", "content.extraction_child", json.dumps(settings), str(path)]
    deadline = time.monotonic() + limits.seconds
    with subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        while True:
            try:
                out, err = child.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if stopping is not None and stopping.is_set():
                    _end(child)
                    return None
                if time.monotonic() >= deadline:
                    _end(child)
                    return _too_slow(limits)
    return _outcome(child.returncode, out, err, limits)


def _end(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.communicate()


def _too_slow(limits: ExtractionLimits) -> Extraction:
    return _not_indexed(f"Reading its text took longer than {limits.seconds:g} s.")


def _not_indexed(reason: str, pages: int | None = None) -> Extraction:
    return Extraction(FileTextStatus.NOT_INDEXED, pages=pages, reason=reason)


def _outcome(returncode: int, out: bytes, err: bytes, limits: ExtractionLimits) -> Extraction:
    if returncode == 0:
        try:
            return _read_result(json.loads(out), limits)
        except (ValueError, KeyError, TypeError):
            return _not_indexed("The PDF reader gave no usable answer.")
    if returncode == EXIT_OUT_OF_MEMORY or b"MemoryError" in err:
        return _not_indexed(f"Reading its text needs more than {limits.memory_mb} MB of memory.")
    if returncode == -signal.SIGXCPU:
        return _too_slow(limits)
    if returncode == EXIT_UNREADABLE:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        detail = f" ({lines[-1].strip()})" if lines else ""
        return _not_indexed(f"The PDF cannot be read: it is damaged or encrypted{detail}.")
    return _not_indexed(f"The PDF reader stopped unexpectedly (exit status {returncode}).")


def _read_result(result: dict[str, Any], limits: ExtractionLimits) -> Extraction:
    text, pages, pages_read = str(result["text"]), int(result["pages"]), int(result["pages_read"])
    if not text:
        return _not_indexed("The PDF has no text to index (scanned pages?).", pages or None)
    notes = []
    if pages_read < pages and not result["cut"]:
        notes.append(f"Only the first {pages_read} of {pages} pages are searchable.")
    if result["cut"]:
        notes.append(f"Only the first {limits.max_chars:,} characters are searchable.")
    return Extraction(FileTextStatus.INDEXED, text, pages, " ".join(notes))


def extract_pending_texts(
    database: SessionSource,
    store: FileStore,
    limits: ExtractionLimits = DEFAULT_LIMITS,
    *,
    stopping: Stopping | None = None,
    max_files: int = 10,
    budget_seconds: float = 10.0,
) -> int:
    """Read the text of PDFs waiting for it, one file at a time; returns how many were read.

    The PDF text job calls this. Each file is claimed for as long as its reading may
    take, so several processes share the work without reading a file twice; a claim
    left by a process that died expires. No new file is started after
    ``budget_seconds``, so a stop waits for one reading at most.
    """
    started = time.monotonic()
    done = 0
    while done < max_files and time.monotonic() - started < budget_seconds:
        if stopping is not None and stopping.is_set():
            break
        sha256 = _claim(database, limits)
        if sha256 is None:
            break
        extraction = _extract_stored(store, sha256, limits, stopping)
        if extraction is None:
            _release(database, sha256)
            break
        try:
            _store_text(database, sha256, extraction)
        except Exception:
            # Left pending, the file would be read again every time its claim expires.
            logger.exception("storing the text of file %s failed; marked not indexed", sha256)
            _store_text(database, sha256, _not_indexed("Its text could not be stored."))
        done += 1
    return done


def _waiting(limits: ExtractionLimits) -> ColumnElement[bool]:
    expired = utcnow() - timedelta(seconds=limits.seconds + CLAIM_MARGIN_SECONDS)
    return and_(
        Asset.file_text_status == FileTextStatus.PENDING.value,
        Asset.file_sha256.is_not(None),
        or_(Asset.file_text_claimed_at.is_(None), Asset.file_text_claimed_at < expired),
    )


def _claim(database: SessionSource, limits: ExtractionLimits) -> str | None:
    """The next file whose text is waiting, now claimed by this process; None if there is none."""
    with database.read() as session:  # most ticks find nothing: no write lock for that
        sha256 = session.scalar(
            select(Asset.file_sha256)
            .where(_waiting(limits))
            .order_by(Asset.updated_at, Asset.id)
            .limit(1)
        )
    if sha256 is None:
        return None
    with database.write() as session:
        # Only rows still unclaimed are taken: of two processes racing here, one gets the file.
        claimed = session.execute(
            update(Asset)
            .where(Asset.file_sha256 == sha256, _waiting(limits))
            .values(file_text_claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return sha256 if cast(CursorResult[Any], claimed).rowcount else None


def _extract_stored(
    store: FileStore, sha256: str, limits: ExtractionLimits, stopping: Stopping | None
) -> Extraction | None:
    path = store.path_for(sha256)
    if not path.is_file():
        return _not_indexed("The stored file is missing.")
    try:
        return extract_pdf_text(path, limits, stopping)
    except OSError as exc:  # the child could not be started
        return _not_indexed(f"The PDF reader could not be started: {exc}.")


def _store_text(database: SessionSource, sha256: str, extraction: Extraction) -> None:
    """Give every asset still waiting for this file its text, and tell the search index."""
    with database.write() as session:
        assets = session.scalars(
            select(Asset).where(
                Asset.file_sha256 == sha256,
                Asset.file_text_status == FileTextStatus.PENDING.value,
            )
        ).all()
        for asset in assets:
            for name, value in extraction.asset_fields().items():
                setattr(asset, name, value)
            asset.file_text_claimed_at = None
            asset.reading_minutes = reading_minutes(
                word_count(asset.body) + word_count(asset.summary), asset.file_pages
            )
            record_change(session, asset.id, "file_text")


def _release(database: SessionSource, sha256: str) -> None:
    """Hand a file back unread (this process is stopping); another round reads it."""
    with database.write() as session:
        session.execute(
            update(Asset)
            .where(
                Asset.file_sha256 == sha256, Asset.file_text_status == FileTextStatus.PENDING.value
            )
            .values(file_text_claimed_at=None)
            .execution_options(synchronize_session=False)
        )


def waiting_count(session: Session) -> int:
    """Uploaded PDFs whose text is still to be read (the job's backlog)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Asset)
            .where(Asset.file_text_status == FileTextStatus.PENDING.value)
        )
        or 0
    )
