"""Small web helpers shared by every router: safe redirects, client address, static URLs."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

from portal.resources import resource_path

HTMX_PATH = "vendor/htmx-2.0.8.min.js"
HTMX_SHA256 = "22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313"
HTMX_INTEGRITY = "sha384-/TgkGk7p307TH7EXJDuUlgG3Ce1UVolAOFopFekQkkXihi5u/6OCvVKyz1W+idaz"


def safe_next(target: str | None, default: str = "/console") -> str:
    """Accept only same-site relative paths ("/console/x?y"), never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


@cache
def _static_version(path: str) -> str:
    file = resource_path("static") / path
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static_url(path: str) -> str:
    """URL of a file under static/, with a content hash so browsers may cache it for a year."""
    return f"/static/{path}?v={_static_version(path)}"
