"""Full-text search over live assets: a Whoosh index in a folder, behind a narrow interface.

The index is a derived cache (``content.indexer`` keeps it in step with the
database). Only this module knows Whoosh: callers hand in ``SearchDocument``
values and get ``SearchResults`` back, so another engine could replace it.

Each language has its own fields with its own stemmer (``title_en`` …,
``title_de`` …); a query is analysed once per language, so "scoring" finds
"scores" in English assets and "Leitfäden" finds "Leitfaden" in German ones.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import (
    Analyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.query import And, Or, Query, Term
from whoosh.writing import CLEAR

from content.text import lead_html, snippet_html

SCHEMA_VERSION = 1
LANGUAGE_FALLBACK = "en"
# Where a word is found decides how much it counts: title over summary over body over PDF.
FIELD_BOOSTS = {"title": 4.0, "summary": 2.0, "body": 1.0, "file": 0.5}
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 60
EXCERPT_CHARS = 20_000
LOCK_WAIT_SECONDS = 30.0
_STATE_FILE = "leadshelf-state.json"
_LOCK_FILE = "leadshelf-writer.lock"
_QUERY_WORD = re.compile(r"\w+(?:\.\w+)*")


@dataclass(frozen=True)
class SearchDocument:
    """What the index knows of one live asset (texts already plain: no Markdown, no HTML)."""

    asset_id: int
    slug: str
    title: str
    summary: str
    body_text: str
    file_text: str
    kind: str
    stage: str
    topics: tuple[str, ...]
    personas: tuple[str, ...]
    language: str
    published_at: datetime


@dataclass(frozen=True)
class SearchFilters:
    """Narrow a search to one kind, stage, topic (slug) and/or language; None means any."""

    kind: str | None = None
    stage: str | None = None
    topic: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """One matching asset; ``snippet`` is safe HTML (escaped text, matches in ``<mark>``)."""

    asset_id: int
    score: float
    snippet: str


@dataclass(frozen=True)
class SearchResults:
    """Hits best first, how many assets matched in all, and a corrected query if one helps."""

    hits: list[SearchHit]
    total: int
    suggestion: str | None


class IndexBusyError(RuntimeError):
    """Another writer (thread or process) holds the index's write lock."""


def _language_analyzer(language: str) -> Analyzer:
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | StopFilter(lang=language)
        | StemFilter(lang=language, cachesize=100_000)
    )


ANALYZERS: dict[str, Analyzer] = {
    language: _language_analyzer(language) for language in ("en", "de")
}
# Unstemmed words of titles, summaries and bodies: the vocabulary for "did you mean".
_SPELL_ANALYZER = (
    RegexTokenizer() | LowercaseFilter() | StopFilter(stoplist=frozenset(), minsize=3, maxsize=30)
)


def _schema() -> Schema:
    fields: dict[str, Any] = {
        "asset_id": ID(stored=True, unique=True),
        "language": ID(stored=True),
        "kind": ID(),
        "stage": ID(),
        "topics": KEYWORD(commas=True, scorable=False),
        "spell": TEXT(analyzer=_SPELL_ANALYZER, phrase=False),
        "excerpt": STORED(),
        "file_excerpt": STORED(),
    }
    for language, analyzer in ANALYZERS.items():
        for part in FIELD_BOOSTS:
            fields[f"{part}_{language}"] = TEXT(analyzer=analyzer, phrase=False)
    return Schema(**fields)


def analysis_language(language: str) -> str:
    """The stemmer an asset's text goes through: its own language, or English if unsupported."""
    return language if language in ANALYZERS else LANGUAGE_FALLBACK


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
        path.mkdir(parents=True, exist_ok=True)
        if not self._is_current():
            with self.writer_lock(wait=LOCK_WAIT_SECONDS) as mine:
                if not mine:
                    raise IndexBusyError(f"cannot create the search index in {path}: it is locked")
                if not self._is_current():
                    whoosh_index.create_in(str(path), _schema())
                    self._write_state(0)
        self._index = whoosh_index.open_dir(str(path))

    # Reading

    def search(
        self, query: str, filters: SearchFilters | None = None, limit: int = 1000
    ) -> SearchResults:
        """Live assets matching any of the words, all-words matches first; never raises on syntax.

        The query is read as plain words: quotes, operators, wildcards and
        ``field:value`` are not syntax here, just separators.
        """
        plan = QueryPlan.from_text(query)
        if plan.query is None:
            return SearchResults(hits=[], total=0, suggestion=None)
        only = _filter_query(filters or SearchFilters())
        with self._searcher() as searcher:
            results = searcher.search(plan.query, limit=max(1, limit), filter=only)
            hits = [
                SearchHit(int(hit["asset_id"]), float(hit.score), _snippet(plan, hit.fields()))
                for hit in results
            ]
            total = len(results)
            suggestion = _suggestion(searcher, plan, only)
        return SearchResults(hits=hits, total=total, suggestion=suggestion)

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
                    writer.update_document(**_fields(document))
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
        """Replace the whole index by ``documents`` in one commit; searchers see old or new."""
        count = 0
        with self._exclusive():
            writer = self._writer(limitmb=256)
            try:
                for document in documents:
                    writer.add_document(**_fields(document))
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

        Re-entrant within one thread. Across threads and processes it is an
        ``flock`` on a lock file, released by the OS if the holder dies.
        """
        acquired = (
            self._thread_lock.acquire(timeout=wait)
            if wait > 0
            else self._thread_lock.acquire(False)
        )
        if not acquired:
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
                raise IndexBusyError(
                    f"the search index in {self.path} is being written by another process"
                )
            yield

    def _lock_folder(self, wait: float) -> bool:
        fd = os.open(self.path / _LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
            else:
                self._lock_fd = fd
                return True

    def _unlock_folder(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _writer(self, **options: Any) -> Any:
        try:
            # Whoosh's own write lock too, in case something else writes this folder.
            return self._index.writer(timeout=5.0, **options)
        except whoosh_index.LockError:
            raise IndexBusyError(f"Whoosh's write lock in {self.path} is taken") from None

    @contextmanager
    def _searcher(self) -> Iterator[Any]:
        # A commit in another process may delete a segment between reading the
        # table of contents and opening the segment; the next try sees the new one.
        for attempt in range(3):
            try:
                searcher = self._index.searcher()
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
                time.sleep(0.02)
        with searcher:
            yield searcher

    # State: last_seq and schema version, beside the index, replaced atomically.

    def _is_current(self) -> bool:
        exists = whoosh_index.exists_in(str(self.path))
        return bool(exists) and self._read_state().get("schema") == SCHEMA_VERSION

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.path / _STATE_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, last_seq: int) -> None:
        target = self.path / _STATE_FILE
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


@dataclass(frozen=True)
class QueryPlan:
    """A prospect's text as plain words, the Whoosh query for them, and their terms per language."""

    words: tuple[str, ...]
    query: Query | None
    terms: dict[str, frozenset[str]]

    @classmethod
    def from_text(cls, text: str) -> QueryPlan:
        words = query_words(text)
        per_word = [word_query(word) for word in words]
        queries = [query for query, _ in per_word if query is not None]
        terms = {
            language: frozenset(
                t for _, word_terms in per_word for t in word_terms.get(language, ())
            )
            for language in ANALYZERS
        }
        if not queries:
            return cls(words, None, terms)
        if len(queries) == 1:
            return cls(words, queries[0], terms)
        # Or for recall; the And clause doubles the score of assets that have every word.
        return cls(words, Or([Or(queries), And(queries)]), terms)


def query_words(text: str) -> tuple[str, ...]:
    """Lower-cased distinct words of a query, in order; everything else is a separator."""
    found = _QUERY_WORD.findall(text[:MAX_QUERY_CHARS].lower())
    words = [word for word in dict.fromkeys(found) if len(word) <= MAX_WORD_CHARS]
    return tuple(words[:MAX_QUERY_WORDS])


def word_query(word: str) -> tuple[Query | None, dict[str, set[str]]]:
    """Any text field in either language containing the word (stemmed per language)."""
    clauses: list[Query] = []
    terms: dict[str, set[str]] = {}
    for language, analyzer in ANALYZERS.items():
        for text in {token.text for token in analyzer(word, mode="query")}:
            terms.setdefault(language, set()).add(text)
            clauses.extend(
                Term(f"{part}_{language}", text, boost=boost)
                for part, boost in FIELD_BOOSTS.items()
            )
    return (Or(clauses) if clauses else None), terms


def _filter_query(filters: SearchFilters) -> Query | None:
    wanted = {
        "kind": filters.kind,
        "stage": filters.stage,
        "topics": filters.topic,
        "language": filters.language,
    }
    terms: list[Query] = [Term(field, value) for field, value in wanted.items() if value]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(terms)


def _fields(document: SearchDocument) -> dict[str, str]:
    language = analysis_language(document.language)
    texts = {
        "title": document.title,
        "summary": document.summary,
        "body": document.body_text,
        "file": document.file_text,
    }
    fields = {f"{part}_{language}": text for part, text in texts.items()}
    excerpt = f"{document.summary}\n\n{document.body_text}".strip()
    return fields | {
        "asset_id": str(document.asset_id),
        "language": document.language,
        "kind": document.kind,
        "stage": document.stage,
        "topics": ",".join(document.topics),
        "spell": f"{document.title}\n{document.summary}\n{document.body_text}",
        "excerpt": excerpt[:EXCERPT_CHARS],
        "file_excerpt": document.file_text[:EXCERPT_CHARS],
    }


def _snippet(plan: QueryPlan, stored: dict[str, Any]) -> str:
    """Summary and body around the first match, else the PDF text's, else the summary's start."""
    language = analysis_language(str(stored.get("language", "")))
    terms = plan.terms[language]
    excerpt = str(stored.get("excerpt", ""))
    file_excerpt = str(stored.get("file_excerpt", ""))
    return (
        snippet_html(excerpt, _matches(excerpt, terms, language))
        or snippet_html(file_excerpt, _matches(file_excerpt, terms, language))
        or lead_html(excerpt or file_excerpt)
    )


def _matches(text: str, terms: frozenset[str], language: str) -> Iterator[tuple[int, int]]:
    """Character spans of the words in ``text`` that the index would file under ``terms``."""
    if not terms:
        return
    for token in ANALYZERS[language](text, chars=True, mode="index"):
        if token.text in terms:
            yield token.startchar, token.endchar


def _suggestion(searcher: Any, plan: QueryPlan, only: Query | None) -> str | None:
    """The query with unknown words replaced by the closest indexed word that finds something."""
    corrected = [
        _correction(searcher, word, only) if _is_unknown(searcher, word) else None
        for word in plan.words
    ]
    if not any(corrected):
        return None
    return " ".join(fix or word for fix, word in zip(corrected, plan.words, strict=True))


def _is_unknown(searcher: Any, word: str) -> bool:
    if len(word) < 3 or not word.isalpha():
        return False
    reader = searcher.reader()
    if ("spell", word) in reader:
        return False
    _, terms = word_query(word)
    if not terms:  # a stop word in every language
        return False
    return not any(
        (f"{part}_{language}", text) in reader
        for language, texts in terms.items()
        for text in texts
        for part in FIELD_BOOSTS
    )


def _correction(searcher: Any, word: str, only: Query | None) -> str | None:
    reader = searcher.reader()
    for distance in (1,) if len(word) <= 4 else (1, 2):
        candidates: set[str] = set()
        for leaf, _base in reader.leaf_readers():
            candidates.update(leaf.terms_within("spell", word, distance, prefix=1))
        candidates.discard(word)
        ranked = sorted(candidates, key=lambda c: (-reader.doc_frequency("spell", c), c))
        for candidate in ranked[:5]:
            # Words of removed assets linger in the vocabulary until segments merge:
            # only suggest what finds a live asset in the current view.
            query, _ = word_query(candidate)
            if query is not None and not searcher.search(query, limit=1, filter=only).is_empty():
                return candidate
    return None
