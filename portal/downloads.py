"""Serving stored files: byte ranges (PDF viewers seek), content type and disposition."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.response import Stream

from content.files import safe_file_name

CHUNK = 64 * 1024
# RFC 5987 attr-char beyond letters and digits (quote() keeps "_.-~" itself).
_ATTR_CHARS = "!#$&+^`|"
# What may stand in a quoted ASCII filename: printable ASCII but the quote, backslash and
# percent sign (some clients decode %XX there).
_NOT_PLAIN = re.compile(r'[^\x20-\x7e]|["\\%]')


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``bytes=`` range, None to send everything.

    Multi-range requests get the whole file (allowed by RFC 9110); a range
    outside the file raises ``RangeNotSatisfiable``.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header[len("bytes=") :].strip().partition("-")
    try:
        if first_text == "":
            suffix = int(last_text)
            if suffix <= 0:
                raise RangeNotSatisfiable
            return max(0, size - suffix), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size or first < 0 or last < first:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


def content_disposition(file_name: str, *, attachment: bool) -> str:
    """A Content-Disposition value (RFC 6266): the name as ``filename*`` (RFC 5987, UTF-8
    percent-encoded) and an ASCII ``filename`` for clients that do not read that.

    The name is cleaned again here (names kept before uploads were cleaned may hold CR/LF).
    """
    name = safe_file_name(file_name, fallback="download")
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
    plain_stem = _ascii(stem)
    fallback = (plain_stem if any(c.isalnum() for c in plain_stem) else "download") + dot
    fallback += _ascii(suffix)
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def _ascii(text: str) -> str:
    """Letters without their accents, other characters outside plain ASCII as "_"."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(_NOT_PLAIN.sub("_", plain).split())


def file_response(
    path: Path,
    *,
    content_type: str,
    file_name: str,
    attachment: bool,
    range_header: str | None,
    cache_control: str = "private, max-age=3600",
) -> Response[Any]:
    """Stream ``path`` (or the requested byte range) with the right headers."""
    size = path.stat().st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(file_name, attachment=attachment),
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        # Our own pages may show the file (the PDF viewer on the asset page); nobody else may.
        "Content-Security-Policy": "frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
    }
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
        )
    first, last = byte_range if byte_range else (0, size - 1)
    headers["Content-Length"] = str(last - first + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Stream(
        _read(path, first, last),
        status_code=206 if byte_range else 200,
        media_type=content_type,
        headers=headers,
    )


def _read(path: Path, first: int, last: int) -> Iterator[bytes]:
    remaining = last - first + 1
    with path.open("rb") as fh:
        fh.seek(first)
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
