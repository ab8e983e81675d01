"""The file store checks uploads by content and size; byte ranges parse as viewers send them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from content.files import FileStore, UploadError, safe_file_name
from portal.downloads import RangeNotSatisfiable, content_disposition, parse_range

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32

ALLOWED = "PDF, PNG, JPEG, GIF or WebP"


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension"),
    [
        (PDF, "guide.pdf", "application/pdf", "pdf"),
        (PDF, "guide.PNG", "application/pdf", "pdf"),
        (PNG, "chart.png", "image/png", "png"),
        (PNG, "chart", "image/png", "png"),
        (JPEG, "photo.jpg", "image/jpeg", "jpg"),
        (JPEG, "photo.pdf", "image/jpeg", "jpg"),
        (GIF, "anim.gif", "image/gif", "gif"),
        (WEBP, "pic.webp", "image/webp", "webp"),
        (WEBP, "pic.exe", "image/webp", "webp"),
    ],
)
def test_allowed_types_are_recognised_by_content_whatever_the_name(
    store: FileStore, data: bytes, name: str, content_type: str, extension: str
) -> None:
    blob = store.put(data, name=name)
    assert (blob.content_type, blob.extension) == (content_type, extension)
    assert blob.size == len(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert store.path_for(blob.sha256).read_bytes() == data
    assert store.read(blob.sha256) == data


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, id="exe"
        ),
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 32, id="zip"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', id="svg"),
        pytest.param(b" %PDF-1.4 not at the start", id="pdf-magic-not-first"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16, id="wav"),
    ],
)
def test_other_content_renamed_pdf_is_refused(store: FileStore, data: bytes) -> None:
    with pytest.raises(UploadError) as caught:
        store.put(data, name="whitepaper.pdf")
    message = str(caught.value)
    assert "whitepaper.pdf" in message
    assert ALLOWED in message
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_empty_file_is_refused(store: FileStore) -> None:
    with pytest.raises(UploadError, match=r"guide\.pdf is empty"):
        store.put(b"", name="guide.pdf")


def test_oversize_file_is_refused_with_both_sizes(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", max_bytes=2 * 1024 * 1024)
    data = PDF + b"\x00" * (3 * 1024 * 1024)
    with pytest.raises(UploadError) as caught:
        store.put(data, name="huge.pdf")
    message = str(caught.value)
    assert "huge.pdf" in message
    assert "3.0 MB" in message
    assert "2.0 MB" in message


def test_file_exactly_at_the_limit_is_accepted(tmp_path: Path) -> None:
    data = PDF + b"\x00" * (1024 - len(PDF))
    store = FileStore(tmp_path / "files", max_bytes=1024)
    assert store.put(data).size == 1024


def test_identical_content_is_stored_once(store: FileStore) -> None:
    first = store.put(PDF, name="a.pdf")
    second = store.put(PDF, name="b.pdf")
    other = store.put(PNG, name="c.png")
    assert first == second
    assert other.sha256 != first.sha256
    stored = sorted(p for p in store.root.rglob("*") if p.is_file())
    assert stored == sorted([store.path_for(first.sha256), store.path_for(other.sha256)])
    assert store.path_for(first.sha256).parent.name == first.sha256[:2]


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "../" + "a" * 61,
        "a" * 63,
        "a" * 65,
        "A" * 64,
        "g" * 64,
        "/" + "a" * 63,
        "",
    ],
)
def test_path_for_refuses_anything_but_a_hex_digest(store: FileStore, name: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.path_for(name)
    with pytest.raises(ValueError, match="SHA-256"):
        store.read(name)


def test_path_for_stays_under_the_root(store: FileStore) -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert store.path_for(digest) == store.root / digest[:2] / digest


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-50", (950, 999)),
        ("bytes=999-999", (999, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=0-0", (0, 0)),
    ],
)
def test_single_range(header: str, expected: tuple[int, int]) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=0-99,200-299",
        "bytes=0-1, 5-6",
        "garbage",
        "items=0-9",
        "bytes=a-b",
        "bytes=-",
    ],
)
def test_whole_file_when_no_usable_range(header: str | None) -> None:
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1200", "bytes=50-10", "bytes=-0"])
def test_range_outside_the_file_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_any_range_on_an_empty_file_is_not_satisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


@pytest.mark.parametrize(
    ("name", "extension", "kept"),
    [
        ("guide.pdf", "pdf", "guide.pdf"),
        ("Guide.PDF", "pdf", "Guide.PDF"),
        ("evil\r\nSet-Cookie: a=1.pdf", "pdf", "evil Set-Cookie: a=1.pdf"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("C:\\Users\\me\\photo.jpeg", "jpg", "photo.jpeg"),
        ("report", "pdf", "report.pdf"),
        ("page.html", "pdf", "page.html.pdf"),
        ("invoice\u202efdp.exe", "pdf", "invoice fdp.exe.pdf"),
        ("...", "png", "file.png"),
        ("Prüfbericht \u2013 März.pdf", "pdf", "Prüfbericht \u2013 März.pdf"),
        ("a" * 300 + ".pdf", "pdf", "a" * 116 + ".pdf"),
        ("tab\there", None, "tab here"),
    ],
)
def test_file_names_are_cleaned_to_something_safe_to_keep_and_send(
    name: str, extension: str | None, kept: str
) -> None:
    assert safe_file_name(name, extension) == kept


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guide.pdf", "attachment; filename=\"guide.pdf\"; filename*=UTF-8''guide.pdf"),
        (
            "Prüfbericht \u2013 März.pdf",
            'attachment; filename="Prufbericht _ Marz.pdf"; '
            "filename*=UTF-8''Pr%C3%BCfbericht%20%E2%80%93%20M%C3%A4rz.pdf",
        ),
        (
            "報告.pdf",
            "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf",
        ),
        (
            'say "100%" (v2).pdf',
            'attachment; filename="say _100__ (v2).pdf"; '
            "filename*=UTF-8''say%20%22100%25%22%20%28v2%29.pdf",
        ),
        (
            "old\r\nname.pdf",
            "attachment; filename=\"old name.pdf\"; filename*=UTF-8''old%20name.pdf",
        ),
    ],
)
def test_content_disposition_is_rfc_6266_with_an_ascii_fallback(name: str, expected: str) -> None:
    assert content_disposition(name, attachment=True) == expected
