"""What a visitor's words find: index terms per word, ranking, filters, snippets, "did you mean".

The text is read as plain words, never as query syntax. Every word is stemmed
once per language and looked up in that language's fields, weighted by where
it is found; assets with every word lead. Works on an open Whoosh searcher,
which ``SearchIndex.search`` provides.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whoosh.query import And, Query, Term
from whoosh.query.compound import PreloadedOr

from content.search.schema import (
    ANALYZERS,
    FIELD_BOOSTS,
    STEMMERS,
    STOP_WORDS,
    analysis_language,
)
from content.text import WORD, lead_html, snippet_html

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 12
MAX_WORD_CHARS = 60


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


def find(searcher: Any, plan: QueryPlan, filters: SearchFilters, limit: int) -> SearchResults:
    """The best ``limit`` assets for a plan with words, each with its snippet, plus a suggestion."""
    allowed = _allowed(searcher, filters)
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
