"""The plain text the index is fed: Markdown bodies and PDFs as words (``content.text``)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from content.text import markdown_to_text, pdf_text_and_pages


def test_markdown_becomes_plain_text() -> None:
    source = (
        "# Lead *scoring*\n\nRead [the guide](https://example.com/x) ![chart](c.png)\n\n"
        "- one\n- `two`\n\n<b>raw</b>\n"
    )

    assert markdown_to_text(source) == (
        "Lead scoring\n\nRead the guide chart\n\none\n\ntwo\n\n<b>raw</b>"
    )


def _pdf(*lines: str) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    shown = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_text_and_page_count_are_extracted() -> None:
    assert pdf_text_and_pages(_pdf("Attribution for mar-", "keting teams")) == (
        "Attribution for marketing teams",
        2,
    )


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", b"not a pdf", _pdf("x")[:300]])
def test_a_broken_pdf_gives_no_text_instead_of_an_error(data: bytes) -> None:
    assert pdf_text_and_pages(data) == ("", 0)
