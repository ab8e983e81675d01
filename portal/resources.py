"""Locate the folders shipped beside the Python packages (templates, static, migrations)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Return the path of a shipped resource folder or file.

    In a wheel the folders live in ``portal/_resources``; in a source checkout
    (editable install, tests) they sit at the repository's top level.
    """
    packaged = _PACKAGE_DIR / "_resources" / name
    if packaged.exists():
        return packaged
    return _PACKAGE_DIR.parent / name
