"""The index folder: writes and rebuilds, its change-log position, one writer, upgrades."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import content.search
from content.search.index import SearchIndex
from content.search.query import SearchResults
from content.search.schema import SearchDocument, Stemmer

PUBLISHED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[2]


def document(asset_id: int, title: str) -> SearchDocument:
    """A live English asset with a title only: these tests are about what the folder holds."""
    return SearchDocument(
        asset_id=asset_id,
        slug=f"asset-{asset_id}",
        title=title,
        summary="",
        body_text="",
        file_text="",
        kind="whitepaper",
        stage="awareness",
        topics=(),
        personas=("marketing-ops",),
        language="en",
        published_at=PUBLISHED,
    )


def ids(results: SearchResults) -> list[int]:
    return [hit.asset_id for hit in results.hits]


def test_apply_removes_and_replaces_documents(index: SearchIndex) -> None:
    index.apply([document(1, "Lead scoring"), document(2, "Lead routing")], [], 1)
    index.apply([document(2, "Territory planning")], [1], 2)

    assert index.search("lead").total == 0
    assert ids(index.search("territory")) == [2]
    assert index.doc_count() == 1
    assert index.last_seq() == 2


def test_rebuild_replaces_everything(index: SearchIndex) -> None:
    index.apply([document(1, "Old guide"), document(2, "Old checklist")], [], 5)
    seen: list[int] = []

    count = index.rebuild(
        (document(n, f"New guide {n}") for n in range(10, 13)), last_seq=9, progress=seen.append
    )

    assert count == 3
    assert seen[-1] == 3
    assert index.search("old").total == 0
    assert sorted(ids(index.search("new"))) == [10, 11, 12]
    assert index.doc_count() == 3
    assert index.last_seq() == 9


def test_a_failed_rebuild_keeps_the_old_index(index: SearchIndex) -> None:
    index.apply([document(1, "Old guide")], [], 5)

    def broken() -> list[SearchDocument]:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild((d for d in [document(2, "New guide"), *broken()]), last_seq=9)

    assert ids(index.search("guide")) == [1]
    assert index.last_seq() == 5


def test_last_seq_and_documents_survive_reopening(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "index")
    assert first.last_seq() == 0
    first.apply([document(1, "Lead scoring")], [], last_seq=42)

    reopened = SearchIndex(tmp_path / "index")

    assert reopened.last_seq() == 42
    assert reopened.doc_count() == 1
    assert ids(reopened.search("scoring")) == [1]


def test_only_one_writer_holds_an_index_folder(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "index")
    second = SearchIndex(tmp_path / "index")

    with first.writer_lock() as mine:
        with second.writer_lock() as theirs:
            assert mine is True
            assert theirs is False
        with first.writer_lock() as again:
            assert again is True  # re-entrant for the holder
    with second.writer_lock() as theirs:
        assert theirs is True


def test_a_writer_in_another_process_keeps_this_one_out(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "index")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from content.search.index import SearchIndex\n"
            "with SearchIndex(Path(sys.argv[1])).writer_lock() as mine:\n"
            "    print('locked' if mine else 'busy', flush=True); sys.stdin.read()",
            str(tmp_path / "index"),
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with index.writer_lock() as mine:
            assert mine is False
    finally:
        holder.communicate("", timeout=60)

    with index.writer_lock() as mine:
        assert mine is True


def test_an_index_from_an_older_schema_is_started_afresh(tmp_path: Path) -> None:
    SearchIndex(tmp_path / "index").apply([document(1, "Lead scoring")], [], last_seq=42)
    state = tmp_path / "index" / "leadshelf-state.json"
    state.write_text(json.dumps({"last_seq": 42, "schema": 0}))

    reopened = SearchIndex(tmp_path / "index")

    assert reopened.last_seq() == 0  # so the next sync rebuilds it from the database
    assert reopened.doc_count() == 0


def test_an_index_written_before_the_search_classes_moved_still_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whoosh pickles the schema into the folder, naming the stemmer by module:
    # releases before the content.search package wrote ``content.search.Stemmer``.
    monkeypatch.setattr(Stemmer, "__module__", "content.search")
    monkeypatch.setattr(content.search, "Stemmer", Stemmer, raising=False)
    SearchIndex(tmp_path / "index").apply([document(1, "Lead scoring")], [], last_seq=42)
    monkeypatch.undo()

    reopened = SearchIndex(tmp_path / "index")

    assert reopened.last_seq() == 42
    assert ids(reopened.search("scoring")) == [1]


def test_the_position_follows_every_write_even_another_processs_within_a_second(
    tmp_path: Path,
) -> None:
    """``last_seq`` is remembered between writes (a search page asks on every request), yet
    a state written by another process, even rewritten in place at the same size within the
    file clock's step, is seen at once."""
    index = SearchIndex(tmp_path / "index")
    index.apply([document(1, "Pricing")], [], last_seq=41)
    assert index.last_seq() == 41
    index.apply([], [], last_seq=42)  # this process's write
    assert index.last_seq() == 42
    state = tmp_path / "index" / "leadshelf-state.json"
    before = state.read_text()
    state.write_text(before.replace('"last_seq": 42', '"last_seq": 43'))  # same inode and size
    assert len(state.read_text()) == len(before)
    assert index.last_seq() == 43
    assert index.last_seq() == 43
