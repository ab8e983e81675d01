"""Content-addressed file store under the data dir: files are named by their SHA-256.

The folder is outside every static route; files reach visitors only through
the app, which decides who may read them. Uploads are checked by their first
bytes (not their name or the browser's claim) against an allowlist, and by size.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from content.words import N_, Said

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# (content type, extension, magic bytes at offset 0, extra check)
_SIGNATURES: tuple[tuple[str, str, bytes], ...] = (
    ("application/pdf", "pdf", b"%PDF-"),
    ("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", "jpg", b"\xff\xd8\xff"),
    ("image/gif", "gif", b"GIF8"),
)
FILE_NAME_MAX = 120
_EXTENSION_ALIASES = {"jpg": {"jpg", "jpeg"}}
# Control, format (bidi overrides, zero-width), surrogate, private-use and separator characters.
_NOT_IN_NAMES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class UploadError(ValueError):
    """An upload was refused; the message says why in words an editor understands (``said``
    in their language, ``str()`` in English)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str
    extension: str


def safe_file_name(name: str, extension: str | None = None, fallback: str = "file") -> str:
    """A file name fit to keep and to send in a header: no folders, no control or format
    characters (CR/LF, bidi overrides), at most ``FILE_NAME_MAX`` characters, ending in
    ``extension`` (the type its content was sniffed as) when one is given."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(c) in _NOT_IN_NAMES else c for c in name)
    name = " ".join(name.split()).strip(" .")
    stem, suffix = name, ""
    if extension is not None:
        before, dot, after = name.rpartition(".")
        if dot and after.lower() in _EXTENSION_ALIASES.get(extension, {extension}):
            stem, suffix = before, "." + after
        else:
            suffix = "." + extension
    stem = stem[: FILE_NAME_MAX - len(suffix)].rstrip(" .") or fallback
    return stem + suffix


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from a file's first bytes, or None if not allowed."""
    for content_type, extension, magic in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


class FileStore:
    """Put and find files by content hash; identical uploads are stored once."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def validate(self, data: bytes, name: str = "file") -> tuple[str, str]:
        if not data:
            raise UploadError(Said(N_("%(name)s is empty"), name=name))
        if len(data) > self.max_bytes:
            raise UploadError(
                Said(
                    N_("%(name)s is %(size)s; the limit is %(limit)s"),
                    name=name,
                    size=_megabytes(len(data)),
                    limit=_megabytes(self.max_bytes),
                )
            )
        sniffed = sniff_content_type(data[:16])
        if sniffed is None:
            raise UploadError(
                Said(
                    N_(
                        "%(name)s is not a PDF, PNG, JPEG, GIF or WebP file "
                        "(its content does not match any)"
                    ),
                    name=name,
                )
            )
        return sniffed

    def put(self, data: bytes, name: str = "file") -> StoredBlob:
        content_type, extension = self.validate(data, name)
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return StoredBlob(digest, len(data), content_type, extension)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
