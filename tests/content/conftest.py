"""Fixtures the content tests share: an empty file store and an empty search index folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.files import FileStore
from content.search.index import SearchIndex


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    return SearchIndex(tmp_path / "index")
