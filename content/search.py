"""Full-text search over live assets: a Whoosh index in a folder, behind a narrow interface.

The index is a derived cache (``content.indexer`` keeps it in step with the
database). Only this module knows Whoosh: callers hand in ``SearchDocument``
values and get ``SearchResults`` back, so another engine could replace it.

Each language has its own fields and stemmer (``title_en`` …, ``title_de`` …);
every query word is stemmed once per language, so "scoring" finds "scores" in
English assets and "Leitfäden" finds "Leitfaden" in German ones.
"""

from __future__ import annotations

import fcntl
import functools
import heapq
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.query import And, Query, Term
from whoosh.query.compound import PreloadedOr
from whoosh.writing import CLEAR

from content.text import WORD, lead_html, snippet_html

SCHEMA_VERSION = 1
# Where a word is found decides how much it counts: title over summary over body over PDF.
FIELD_BOOSTS = {"title": 4.0, "summary": 2.0, "body": 1.0, "file": 0.5}
FALLBACK_LANGUAGE = "en"
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 60
EXCERPT_CHARS = 20_000
LOCK_WAIT_SECONDS = 30.0
_STATE_FILE = "leadshelf-state.json"
_LOCK_FILE = "leadshelf-writer.lock"


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


class Stemmer:
    """A language's Snowball stemmer behind a thread-safe cache (Whoosh's own cache is not).

    Pickled by language name, since Whoosh stores the schema with the index.
    """

    def __init__(self, language: str) -> None:
        self.language = language
        self._stem = functools.lru_cache(maxsize=200_000)(stemmer_for_language(language))

    def __call__(self, word: str) -> str:
        return str(self._stem(word))

    def __reduce__(self) -> tuple[type[Stemmer], tuple[str]]:
        return Stemmer, (self.language,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stemmer) and other.language == self.language

    def __hash__(self) -> int:
        return hash(self.language)


STEMMERS = {language: Stemmer(language) for language in ("en", "de")}
STOP_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(stopwords_for_language(language)) for language in STEMMERS
}
ANALYZERS: dict[str, Analyzer] = {
    language: RegexTokenizer(WORD)
    | LowercaseFilter()
    | StopFilter(stoplist=STOP_WORDS[language], minsize=2)
    | StemFilter(stemfn=STEMMERS[language], cachesize=None)
    for language in STEMMERS
}
# Unstemmed words of titles, summaries and bodies: the vocabulary for "did you mean".
_SPELLING = (
    RegexTokenizer(WORD) | LowercaseFilter() | StopFilter(stoplist=(), minsize=3, maxsize=30)
)


def _schema() -> Schema:
    fields: dict[str, Any] = {
        "asset_id": ID(stored=True, unique=True),
        "language": ID(stored=True),
        "kind": ID(),
        "stage": ID(),
        "topics": KEYWORD(commas=True, scorable=False),
        "spell": TEXT(analyzer=_SPELLING, phrase=False),
        "excerpt": STORED(),
        "file_excerpt": STORED(),
    }
    for language, analyzer in ANALYZERS.items():
        for part in FIELD_BOOSTS:
            fields[f"{part}_{language}"] = TEXT(analyzer=analyzer, phrase=False)
    return Schema(**fields)


SCHEMA = _schema()


def analysis_language(language: str) -> str:
    """The stemmer an asset's text goes through: its own language's, or English."""
    return language if language in ANALYZERS else FALLBACK_LANGUAGE


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
            with self._exclusive():
                if not self._is_current():  # a new folder, or one from an older schema
                    whoosh_index.create_in(str(path), SCHEMA)
                    self._write_state(0)
        self._index = whoosh_index.open_dir(str(path), schema=SCHEMA)

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
        with self._index.searcher() as searcher:
            allowed = _allowed(searcher, filters or SearchFilters())
            if allowed is not None and not allowed:
                return SearchResults(hits=[], total=0, suggestion=None)
            scores = _scores(searcher, plan, allowed)
            best = heapq.nlargest(max(0, limit), scores.items(), key=lambda s: (s[1], -s[0]))
            matchers = {lang: _word_matcher(plan.terms_in(lang), lang) for lang in ANALYZERS}
            hits = []
            for docnum, score in best:
                stored = searcher.stored_fields(docnum)
                is_match = matchers[analysis_language(str(stored.get("language", "")))]
                hits.append(SearchHit(int(stored["asset_id"]), score, _snippet(is_match, stored)))
            suggestion = _suggestion(searcher, plan, allowed)
        return SearchResults(hits=hits, total=len(scores), suggestion=suggestion)

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
        """Replace the whole index by ``documents`` in one commit; searches see old or new."""
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
            return self._index.writer(timeout=5.0, **options)
        except whoosh_index.LockError:
            raise IndexBusyError(f"Whoosh's write lock in {self.path} is taken") from None

    # State beside the index: last_seq and schema version, replaced atomically.

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
    """A visitor's text as plain words, and each word's index terms per language."""

    words: tuple[str, ...]
    terms: tuple[dict[str, frozenset[str]], ...]

    @classmethod
    def from_text(cls, text: str) -> QueryPlan:
        found = WORD.findall(text[:MAX_QUERY_CHARS].lower())
        words = tuple(w for w in dict.fromkeys(found) if len(w) <= MAX_WORD_CHARS)
        words = words[:MAX_QUERY_WORDS]
        return cls(words, tuple(word_terms(word) for word in words))

    def terms_in(self, language: str) -> frozenset[str]:
        return frozenset().union(*(terms.get(language, frozenset()) for terms in self.terms))


def word_terms(word: str) -> dict[str, frozenset[str]]:
    """The index terms of one query word in each language (none for a stop word)."""
    by_language = {
        language: frozenset(token.text for token in analyzer(word, mode="query"))
        for language, analyzer in ANALYZERS.items()
    }
    return {language: terms for language, terms in by_language.items() if terms}


def _word_query(reader: Any, terms: dict[str, frozenset[str]]) -> Query | None:
    """Any text field containing the word, leaving out terms the index does not hold."""
    clauses = [
        Term(field, text, boost=boost)
        for language, texts in terms.items()
        for text in texts
        for part, boost in FIELD_BOOSTS.items()
        if (field := f"{part}_{language}", text) in reader
    ]
    if len(clauses) < 2:
        return clauses[0] if clauses else None
    return PreloadedOr(clauses)  # scores every match at once: the fastest union in Whoosh


def _scores(searcher: Any, plan: QueryPlan, allowed: set[int] | None) -> dict[int, float]:
    """Score per matching document: the sum over words, scaled by the share of words it has.

    The scaling ("coordination") is what puts assets with every word first.
    """
    totals: dict[int, float] = {}
    matched: dict[int, int] = {}
    words = [terms for terms in plan.terms if terms]  # stop words do not count
    for terms in words:
        query = _word_query(searcher.reader(), terms)
        if query is None:
            continue
        results = searcher.search(query, limit=None, filter=allowed, optimize=False)
        for score, docnum in results.top_n:
            totals[docnum] = totals.get(docnum, 0.0) + score
            matched[docnum] = matched.get(docnum, 0) + 1
    return {docnum: total * matched[docnum] / len(words) for docnum, total in totals.items()}


def _allowed(searcher: Any, filters: SearchFilters) -> set[int] | None:
    """Document numbers the filters let through, or None when there are no filters."""
    wanted = {
        "kind": filters.kind,
        "stage": filters.stage,
        "topics": filters.topic,
        "language": filters.language,
    }
    terms: list[Query] = [Term(field, value) for field, value in wanted.items() if value]
    if not terms:
        return None
    return set(searcher.docs_for_query(And(terms)))


def _fields(document: SearchDocument) -> dict[str, str]:
    language = analysis_language(document.language)
    texts = {
        "title": document.title,
        "summary": document.summary,
        "body": document.body_text,
        "file": document.file_text,
    }
    excerpt = f"{document.summary}\n\n{document.body_text}".strip()
    return {f"{part}_{language}": text for part, text in texts.items()} | {
        "asset_id": str(document.asset_id),
        "language": document.language,
        "kind": document.kind,
        "stage": document.stage,
        "topics": ",".join(document.topics),
        "spell": f"{document.title}\n{document.summary}\n{document.body_text}",
        "excerpt": excerpt[:EXCERPT_CHARS],
        "file_excerpt": document.file_text[:EXCERPT_CHARS],
    }


def _snippet(is_match: Callable[[str], bool], stored: dict[str, Any]) -> str:
    """Summary and body around the first match, else the PDF text's, else the summary's start."""
    excerpt, file_excerpt = str(stored.get("excerpt", "")), str(stored.get("file_excerpt", ""))
    return (
        snippet_html(excerpt, is_match)
        or snippet_html(file_excerpt, is_match)
        or lead_html(excerpt or file_excerpt)
    )


def _word_matcher(terms: frozenset[str], language: str) -> Callable[[str], bool]:
    """Whether a word of a text in ``language`` is indexed as one of ``terms``.

    The analyzer's steps applied word by word, remembered per word: much
    cheaper than running the analyzer over every hit's text.
    """
    stops, stem = STOP_WORDS[language], STEMMERS[language]
    seen: dict[str, bool] = {}

    def is_match(word: str) -> bool:
        found = seen.get(word)
        if found is None:
            lowered = word.lower()
            found = len(lowered) >= 2 and lowered not in stops and stem(lowered) in terms
            seen[word] = found
        return found

    return is_match


def _suggestion(searcher: Any, plan: QueryPlan, allowed: set[int] | None) -> str | None:
    """The query with unknown words replaced by the closest indexed word that finds something."""
    reader = searcher.reader()
    corrected = [
        _correction(searcher, word, allowed)
        if len(word) >= 3 and word.isalpha() and _is_unknown(reader, word, terms)
        else None
        for word, terms in zip(plan.words, plan.terms, strict=True)
    ]
    if not any(corrected):
        return None
    return " ".join(fix or word for fix, word in zip(corrected, plan.words, strict=True))


def _is_unknown(reader: Any, word: str, terms: dict[str, frozenset[str]]) -> bool:
    return bool(terms) and ("spell", word) not in reader and _word_query(reader, terms) is None


def _correction(searcher: Any, word: str, allowed: set[int] | None) -> str | None:
    reader = searcher.reader()
    for distance in (1,) if len(word) <= 4 else (1, 2):
        candidates: set[str] = set()
        for leaf, _base in reader.leaf_readers():
            candidates.update(leaf.terms_within("spell", word, distance, prefix=1))
        candidates.discard(word)
        ranked = sorted(candidates, key=lambda c: (-reader.doc_frequency("spell", c), c))
        for candidate in ranked[:5]:
            # Words of removed assets stay in the vocabulary until segments merge,
            # so only suggest a word that finds a live asset in the current view.
            query = _word_query(reader, word_terms(candidate))
            if query is not None and not searcher.search(query, limit=1, filter=allowed).is_empty():
                return candidate
    return None
