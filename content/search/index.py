"""The search index folder: opened or created, one writer at a time, and the sequence it reflects.

``SearchIndex`` is what the rest of Leadshelf holds: ``content.indexer`` writes
to it (``apply``, ``rebuild``) and the portal searches it. Beside Whoosh's files
the folder keeps a small state file (the change-log sequence the index reflects
and its schema version) and a lock file for the single writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import CLEAR

from content.search.query import QueryPlan, Ranking, SearchFilters, SearchResults, find, rank
from content.search.schema import SCHEMA, SCHEMA_VERSION, SearchDocument, document_fields
from content.search.scoring import SegmentMemo

LOCK_WAIT_SECONDS = 30.0
POSTINGS_PER_BLOCK = 1024
_STATE_FILE = "leadshelf-state.json"
_SETTLED_NS = 1_000_000_000
"""A state file this old (ns) is remembered by its inode, mtime and size (``_read_state``)."""
_LOCK_FILE = "leadshelf-writer.lock"


def _codec() -> Any:
    """Whoosh's file format with postings in blocks of up to 1,024 instead of 128.

    Ranking reads every posting of a query's words (``content.search.scoring``); per block it
    pays a seek, a pickled header, zlib and a pickled body, so fewer, larger blocks read the
    postings of a common word in about 60 % of the time (and the index is smaller). Segments
    written before keep their blocks until merged; both read alike.
    """
    return W3Codec(blocklimit=POSTINGS_PER_BLOCK)


class IndexBusyError(RuntimeError):
    """Another writer (thread or process) holds the index's write lock."""


class SearchIndex:
    """A Whoosh index in ``path`` plus the change-log position it reflects.

    Any number of threads and processes may search. Writing (``apply``,
    ``rebuild``) takes an exclusive lock on the folder; ``writer_lock`` lets a
    caller hold it across reading the database and writing the index.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._lock_depth = 0
        self._lock_fd: int | None = None
        self._state_read: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._state_path = str(path / _STATE_FILE)  # a string: a Path's str() costs more than stat
        path.mkdir(parents=True, exist_ok=True)
        if not self._is_current():
            with self._exclusive():
                if not self._is_current():  # a new folder, or one from an older schema
                    whoosh_index.create_in(str(path), SCHEMA)
                    self._write_state(0)
        self._index = whoosh_index.open_dir(str(path), schema=SCHEMA)
        self._local = threading.local()
        self._memo = SegmentMemo()

    # Reading

    def search(
        self, query: str, filters: SearchFilters | None = None, limit: int = 1000
    ) -> SearchResults:
        """Assets with any of the words, ranked so that those with all of them lead.

        The query is read as plain words: quotes, operators, wildcards and
        ``field:value`` are no syntax here, just separators. It never raises on
        what a visitor types; an empty query finds nothing.
        """
        plan = QueryPlan.from_text(query)
        if not plan.words:
            return SearchResults(hits=[], total=0, suggestion=None)
        return find(self._searcher(), plan, filters or SearchFilters(), limit, self._memo)

    def rank(self, query: str, filters: SearchFilters | None = None) -> Ranking | SearchResults:
        """Like ``search``, every asset found, best first, without snippets: ``snippets(ids)``
        makes them for the page shown."""
        plan = QueryPlan.from_text(query)
        if not plan.words:
            return SearchResults(hits=[], total=0, suggestion=None)
        return rank(self._searcher(), plan, filters or SearchFilters(), self._memo)

    def _searcher(self) -> Any:
        """This thread's searcher, reopened only when the index has a newer generation.

        Opening one reads every segment's table of contents (milliseconds), so each thread keeps
        its own (a Whoosh searcher reads its files through one file position: not shared).
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._index.searcher()
        elif not searcher.up_to_date():
            searcher.close()  # this thread's previous request is done with it
            searcher = self._index.searcher()
            self._memo.keep_only(searcher)
        self._local.searcher = searcher
        return searcher

    def last_seq(self) -> int:
        """The content change-log sequence number this index has caught up to."""
        return int(self._read_state().get("last_seq", 0))

    def doc_count(self) -> int:
        return int(self._index.doc_count())

    # Writing

    def apply(
        self, upserts: Iterable[SearchDocument], removals: Iterable[int], last_seq: int
    ) -> None:
        """Remove and (re)index assets in one commit, then record ``last_seq``.

        An asset both removed and upserted ends up indexed.
        """
        with self._exclusive():
            writer = self._writer()
            changed = False
            try:
                for asset_id in removals:
                    writer.delete_by_term("asset_id", str(asset_id))
                    changed = True
                for document in upserts:
                    writer.update_document(**document_fields(document))
                    changed = True
            except BaseException:
                writer.cancel()
                raise
            if changed:
                writer.commit()
            else:
                writer.cancel()
            self._write_state(last_seq)

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        last_seq: int,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Replace the whole index by ``documents`` in one commit; searches see old or new."""
        count = 0
        with self._exclusive():
            writer = self._writer(limitmb=256)
            try:
                for document in documents:
                    writer.add_document(**document_fields(document))
                    count += 1
                    if progress is not None and count % 500 == 0:
                        progress(count)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=CLEAR)
            self._write_state(last_seq)
        if progress is not None:
            progress(count)
        return count

    @contextmanager
    def writer_lock(self, wait: float = 0.0) -> Iterator[bool]:
        """Hold this folder's single-writer lock; yields False (holding nothing) if it stays taken.

        Re-entrant within a thread. Between threads and processes it is an
        ``flock`` on a file in the folder, which the OS releases if the holder dies.
        """
        if not self._thread_lock.acquire(timeout=wait if wait > 0 else -1, blocking=wait > 0):
            yield False
            return
        try:
            if self._lock_depth == 0 and not self._lock_folder(wait):
                yield False
                return
            self._lock_depth += 1
            try:
                yield True
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0:
                    self._unlock_folder()
        finally:
            self._thread_lock.release()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self.writer_lock(wait=LOCK_WAIT_SECONDS) as mine:
            if not mine:
                raise IndexBusyError(f"another writer holds the search index in {self.path}")
            yield

    def _lock_folder(self, wait: float) -> bool:
        fd = os.open(self.path / _LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.05)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        return True

    def _unlock_folder(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _writer(self, **options: Any) -> Any:
        try:
            # Whoosh's own write lock as well, should anything else write this folder.
            return self._index.writer(timeout=5.0, codec=_codec(), **options)
        except whoosh_index.LockError:
            raise IndexBusyError(f"Whoosh's write lock in {self.path} is taken") from None

    # State beside the index: last_seq and schema version, replaced atomically.

    def _is_current(self) -> bool:
        return self._holds_index() and self._read_state().get("schema") == SCHEMA_VERSION

    def _holds_index(self) -> bool:
        """Whether the folder holds an index, opened with our schema rather than its pickled copy.

        That pickle names our classes by module, so an index written before they
        moved (``content.search.Stemmer``) would otherwise no longer open.
        """
        try:
            opened = whoosh_index.open_dir(str(self.path), schema=SCHEMA)
        except whoosh_index.EmptyIndexError:
            return False
        return bool(opened.latest_generation() > -1)

    def _read_state(self) -> dict[str, Any]:
        """The state file, parsed again only when it was replaced (a search page keys its
        shared bytes by ``last_seq`` on every request: a ``stat`` instead of a read and a
        parse). Every write replaces the file, and only a file older than a second is kept."""
        target = self._state_path
        try:
            stat = os.stat(target)
        except FileNotFoundError:
            return {}
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        read = self._state_read
        if read is not None and read[0] == key:
            return read[1]
        try:
            with open(target, encoding="utf-8") as file:
                state = json.load(file)
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(state, dict):
            return {}
        # A freed inode can come back with the same size and, within the clock's coarse step,
        # the same mtime: a file written this last second is read again until it is older
        # (as git treats its index), so a later file can never share its key.
        if time.time_ns() - stat.st_mtime_ns > _SETTLED_NS:
            self._state_read = (key, state)
        return state

    def _write_state(self, last_seq: int) -> None:
        target = Path(self._state_path)
        temporary = target.with_name(f".{_STATE_FILE}.{os.getpid()}.tmp")
        with temporary.open("w") as file:
            json.dump({"last_seq": last_seq, "schema": SCHEMA_VERSION}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
