"""PDF text is read in a child process under a time and memory limit, with page and text caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.extraction import ExtractionLimits, extract_pdf_text
from content.models import FileTextStatus
from tests.pdfs import make_pdf, make_pdf_bomb


def pdf_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.pdf"
    path.write_bytes(data)
    return path


def test_a_normal_pdf_gives_its_text_and_page_count(tmp_path: Path) -> None:
    pdf = pdf_file(tmp_path, make_pdf(["Cover", "Chapter one on scoring", "Chapter two"]))
    extraction = extract_pdf_text(pdf)
    assert extraction is not None
    assert extraction.status == FileTextStatus.INDEXED
    assert "Chapter one on scoring" in extraction.text
    assert (extraction.pages, extraction.reason) == (3, "")


def test_a_pdf_whose_text_takes_too_long_is_not_indexed(tmp_path: Path) -> None:
    # 25 KB on disk, 8 MB of text operators once inflated: over half a minute of reading.
    pdf = pdf_file(tmp_path, make_pdf_bomb(8))
    extraction = extract_pdf_text(pdf, ExtractionLimits(seconds=1))
    assert extraction is not None
    assert extraction.status == FileTextStatus.NOT_INDEXED
    assert extraction.text == ""
    assert "longer than 1 s" in extraction.reason


def test_a_pdf_whose_text_needs_too_much_memory_is_not_indexed(tmp_path: Path) -> None:
    pdf = pdf_file(tmp_path, make_pdf_bomb(70))  # inflates to 70 MB at once
    extraction = extract_pdf_text(pdf, ExtractionLimits(seconds=60, memory_mb=100))
    assert extraction is not None
    assert extraction.status == FileTextStatus.NOT_INDEXED
    assert "more than 100 MB of memory" in extraction.reason


def test_pages_past_the_page_cap_are_left_out_and_the_editor_is_told(tmp_path: Path) -> None:
    pdf = pdf_file(tmp_path, make_pdf(["alpha words", "beta words", "gamma words"]))
    extraction = extract_pdf_text(pdf, ExtractionLimits(max_pages=2))
    assert extraction is not None
    assert extraction.status == FileTextStatus.INDEXED
    assert "beta" in extraction.text
    assert "gamma" not in extraction.text
    assert extraction.pages == 3
    assert "first 2 of 3 pages" in extraction.reason


def test_text_past_the_character_cap_is_cut_and_the_editor_is_told(tmp_path: Path) -> None:
    pdf = pdf_file(tmp_path, make_pdf(["a" * 50, "b" * 50, "c" * 50]))
    extraction = extract_pdf_text(pdf, ExtractionLimits(max_chars=60))
    assert extraction is not None
    assert extraction.status == FileTextStatus.INDEXED
    assert len(extraction.text) <= 60
    assert "c" not in extraction.text
    assert "first 60 characters" in extraction.reason


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage", make_pdf(["x"])[:300]])
def test_an_unreadable_pdf_is_not_indexed_with_a_reason(tmp_path: Path, data: bytes) -> None:
    extraction = extract_pdf_text(pdf_file(tmp_path, data))
    assert extraction is not None
    assert extraction.status == FileTextStatus.NOT_INDEXED
    assert "cannot be read" in extraction.reason


def test_a_pdf_without_a_text_layer_is_not_indexed(tmp_path: Path) -> None:
    extraction = extract_pdf_text(pdf_file(tmp_path, make_pdf(["", ""])))
    assert extraction is not None
    assert (extraction.status, extraction.pages) == (FileTextStatus.NOT_INDEXED, 2)
    assert "no text" in extraction.reason


def test_a_stop_request_ends_the_extraction_at_once(tmp_path: Path) -> None:
    class Stopped:
        def is_set(self) -> bool:
            return True

    pdf = pdf_file(tmp_path, make_pdf_bomb(8))
    assert extract_pdf_text(pdf, ExtractionLimits(seconds=60), stopping=Stopped()) is None
