"""What a visitor's words find: index terms per word, ranking, filters, snippets, "did you mean".

The text is read as plain words, never as query syntax. Every word is stemmed
once per language and looked up in that language's fields, weighted by where
it is found; assets with every word lead. Works on an open Whoosh searcher,
which ``SearchIndex.search`` provides.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import add, mul, truediv, truth
from typing import Any, Protocol

from whoosh.query import And, Query, Term
from whoosh.query.compound import PreloadedOr

from content.search.schema import (
    ANALYZERS,
    FIELD_BOOSTS,
    STEMMERS,
    STOP_WORDS,
    analysis_language,
)
from content.search.scoring import Clause, SegmentMemo, word_scores
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

    @property
    def asset_ids(self) -> list[int]:
        return [hit.asset_id for hit in self.hits]

    def snippets(self, asset_ids: Collection[int]) -> dict[int, str]:
        return {hit.asset_id: hit.snippet for hit in self.hits if hit.asset_id in asset_ids}


class Found(Protocol):
    """What the library needs of a search: every asset found, best first, and snippets for the
    few it shows (``SearchResults`` and ``Ranking`` both are)."""

    @property
    def asset_ids(self) -> Sequence[int]: ...

    @property
    def suggestion(self) -> str | None: ...

    def snippets(self, asset_ids: Collection[int]) -> dict[int, str]: ...


@dataclass(frozen=True)
class Ranking:
    """Every asset a search found, best first, with its score; a snippet is made only for the
    assets asked for (the page shown), from the searcher that ranked them."""

    asset_ids: list[int]
    scores: list[float]
    suggestion: str | None
    docnums: list[int]
    searcher: Any
    plan: QueryPlan

    @property
    def total(self) -> int:
        return len(self.asset_ids)

    def snippets(self, asset_ids: Collection[int]) -> dict[int, str]:
        """Summary and body around the first match of each asked asset that was found."""
        wanted = set(asset_ids)
        matchers: dict[str, Callable[[str], bool]] = {}
        snippets = {}
        for asset_id, docnum in zip(self.asset_ids, self.docnums, strict=True):
            if asset_id not in wanted:
                continue
            stored = self.searcher.stored_fields(docnum)
            language = analysis_language(str(stored.get("language", "")))
            if language not in matchers:
                matchers[language] = _word_matcher(self.plan.terms_in(language), language)
            snippets[asset_id] = _snippet(matchers[language], stored)
            if len(snippets) == len(wanted):
                break
        return snippets


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


def rank(searcher: Any, plan: QueryPlan, filters: SearchFilters, memo: SegmentMemo) -> Ranking:
    """Every asset a plan with words finds, best first, plus a suggestion; no snippets yet."""
    allowed = _allowed(searcher, filters)
    if allowed is not None and not allowed:
        return Ranking([], [], None, [], searcher, plan)
    scores = _scores(searcher, plan, allowed, memo)
    # Best first; among equal scores the document indexed first (as Whoosh's collector ranks):
    # the documents found in order, then (a stable sort, also reversed) by score.
    found = compress(range(len(scores)), scores)  # a score found is above 0.0
    docnums = sorted(found, key=scores.__getitem__, reverse=True)
    return Ranking(
        asset_ids=list(map(_asset_ids(searcher, memo).__getitem__, docnums)),
        scores=list(map(scores.__getitem__, docnums)),
        suggestion=_suggestion(searcher, plan, allowed),
        docnums=docnums,
        searcher=searcher,
        plan=plan,
    )


def find(
    searcher: Any, plan: QueryPlan, filters: SearchFilters, limit: int, memo: SegmentMemo
) -> SearchResults:
    """The best ``limit`` assets for a plan with words, each with its snippet, plus a suggestion."""
    ranking = rank(searcher, plan, filters, memo)
    best = ranking.asset_ids[: max(0, limit)]
    snippets = ranking.snippets(best)
    hits = [
        SearchHit(asset_id, score, snippets[asset_id])
        for asset_id, score in zip(best, ranking.scores, strict=False)
    ]
    return SearchResults(hits=hits, total=ranking.total, suggestion=ranking.suggestion)


def _clauses(reader: Any, terms: dict[str, frozenset[str]]) -> list[Clause]:
    """The (field, text, boost) of a word in every text field that holds it."""
    return [
        (field, text, boost)
        for language, texts in terms.items()
        for text in texts
        for part, boost in FIELD_BOOSTS.items()
        if (field := f"{part}_{language}", text) in reader
    ]


def _word_query(reader: Any, terms: dict[str, frozenset[str]]) -> Query | None:
    """Any text field containing the word, leaving out terms the index does not hold."""
    clauses = [Term(field, text, boost=boost) for field, text, boost in _clauses(reader, terms)]
    if len(clauses) < 2:
        return clauses[0] if clauses else None
    return PreloadedOr(clauses)  # scores every match at once: the fastest union in Whoosh


def _scores(
    searcher: Any, plan: QueryPlan, allowed: set[int] | None, memo: SegmentMemo
) -> list[float]:
    """Score per document (by number; 0.0: not found): the sum over words, scaled by the share
    of words it has.

    The scaling ("coordination") is what puts assets with every word first. Each word scores
    as ``searcher.search(_word_query(…))`` would, without its per-posting overhead. The words
    are combined a list at a time (C loops): adding a word's 0.0 leaves a sum as it was.
    """
    words = [terms for terms in plan.terms if terms]  # stop words do not count
    reader = searcher.reader()
    size = searcher.doc_count_all()
    per_word = []
    scored: dict[tuple[Clause, ...], list[float]] = {}  # "score" and "scoring": one stem
    for terms in words:
        clauses = tuple(_clauses(reader, terms))
        if clauses and clauses not in scored:
            scored[clauses] = word_scores(searcher, clauses, memo, size)
        if clauses:
            per_word.append(scored[clauses])
    if not per_word:
        return []
    totals = per_word[0]
    for found in per_word[1:]:
        totals = list(map(add, totals, found))
    if len(words) > 1:  # x * 1 / 1 == x
        # How many words each document has: a byte per document, 1 where a word is found,
        # added up as one big number per word (at most 12 words: no byte carries over).
        matched = sum(int.from_bytes(bytes(map(truth, found)), "little") for found in per_word)
        counts = matched.to_bytes(len(totals), "little")
        totals = list(map(truediv, map(mul, totals, counts), repeat(len(words))))
    if allowed is not None:
        totals = [score if docnum in allowed else 0.0 for docnum, score in enumerate(totals)]
    return totals


def _asset_ids(searcher: Any, memo: SegmentMemo) -> list[int]:
    """The asset id of every document, by top-level document number."""
    ids: list[int] = []
    for subsearcher, offset in searcher.leaf_searchers():
        del ids[offset:]
        ids.extend(memo.asset_ids(subsearcher.reader()))
    return ids


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
    cheaper than running the analyzer over every hit's text. A word seen before is a dict
    lookup alone (no Python call).
    """
    return _Matches(terms, language).__getitem__


class _Matches(dict[str, bool]):
    """Word → whether it is indexed as one of ``terms``, worked out on first asking."""

    def __init__(self, terms: frozenset[str], language: str) -> None:
        super().__init__()
        self.terms = terms
        self.stops, self.stem = STOP_WORDS[language], STEMMERS[language]

    def __missing__(self, word: str) -> bool:
        lowered = word.lower()
        found = len(lowered) >= 2 and lowered not in self.stops and self.stem(lowered) in self.terms
        self[word] = found
        return found


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
