"""Ranking without Whoosh's per-posting collector gives the very same order and scores; one
searcher per thread until the index changes; snippets only for the assets asked for."""

from __future__ import annotations

import heapq
import random
import threading
from datetime import UTC, datetime

import pytest

from content.search.index import SearchIndex
from content.search.query import QueryPlan, Ranking, SearchFilters, _word_query
from content.search.schema import SearchDocument

WORDS = {
    "en": str.split(
        "lead leads scoring scores nurturing pipeline webinar funnel budget intent account "
        "buyer journey content campaign attribution revenue the and of"
    ),
    "de": str.split(
        "leitfaden leitfäden kunde kunden vertrieb strategie studie studien webinar budget "
        "bericht berichte der die und"
    ),
}
QUERIES = ["lead", "scoring webinar", "kunden leitfaden", "budget", "the journey of a buyer",
           "webinar budget intent", "vertrieb studien", "scores nurturing xyz"]  # fmt: skip


def corpus(count: int, seed: int) -> list[SearchDocument]:
    rng = random.Random(seed)
    documents = []
    for asset_id in range(1, count + 1):
        language = rng.choice(["en", "en", "de"])
        words = WORDS[language]

        def text(low: int, high: int, words: list[str] = words) -> str:
            return " ".join(rng.choice(words) for _ in range(rng.randint(low, high)))

        documents.append(
            SearchDocument(
                asset_id=asset_id, slug=f"a{asset_id}", title=text(1, 5), summary=text(0, 12),
                body_text=text(0, 80), file_text=text(0, 20) if rng.random() < 0.3 else "",
                kind=rng.choice(["ebook", "webinar"]), stage="awareness", topics=("t",),
                personas=(), language=language, published_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )  # fmt: skip
    return documents


def collector_ranking(index: SearchIndex, text: str) -> tuple[list[int], list[float]]:
    """What Whoosh's own collector ranks: each word's ``PreloadedOr`` searched, summed per
    document, scaled by the share of words it has."""
    plan = QueryPlan.from_text(text)
    words = [terms for terms in plan.terms if terms]
    totals: dict[int, float] = {}
    matched: dict[int, int] = {}
    with index._index.searcher() as searcher:
        for terms in words:
            query = _word_query(searcher.reader(), terms)
            if query is None:
                continue
            for score, docnum in searcher.search(query, limit=None, optimize=False).top_n:
                totals[docnum] = totals.get(docnum, 0.0) + score
                matched[docnum] = matched.get(docnum, 0) + 1
        stored = {d: int(searcher.stored_fields(d)["asset_id"]) for d in totals}
    scores = {d: t * matched[d] / len(words) for d, t in totals.items()}
    best = heapq.nlargest(len(scores), scores.items(), key=lambda s: (s[1], -s[0]))
    return [stored[d] for d, _ in best], [s for _, s in best]


def ranking(index: SearchIndex, text: str) -> Ranking:
    found = index.rank(text)
    assert isinstance(found, Ranking)
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_ranks_exactly_as_whooshs_collector_also_across_segments_and_deletions(
    index: SearchIndex, seed: int
) -> None:
    documents = corpus(120, seed)
    index.rebuild(documents[:80], last_seq=1)
    # More segments, some documents replaced and some removed (deleted postings to skip).
    index.apply(documents[80:100], removals=[3, 7, 11], last_seq=2)
    index.apply([*documents[100:], documents[20], documents[40]], removals=[81], last_seq=3)
    for text in QUERIES:
        found = ranking(index, text)
        expected_ids, expected_scores = collector_ranking(index, text)
        assert (found.asset_ids, found.scores) == (expected_ids, expected_scores), text
        assert found.total == len(expected_ids) == index.search(text).total


def test_search_and_rank_agree_and_snippets_are_made_only_for_the_assets_asked(
    index: SearchIndex,
) -> None:
    index.rebuild(corpus(60, 3), last_seq=1)
    found = ranking(index, "scoring webinar")
    page = found.asset_ids[5:10]
    snippets = found.snippets(page)
    assert list(snippets) == page
    searched = index.search("scoring webinar", limit=10)
    assert [hit.asset_id for hit in searched.hits] == found.asset_ids[:10]
    assert {hit.asset_id: hit.snippet for hit in searched.hits[5:10]} == snippets
    assert found.snippets([]) == {}
    assert found.snippets([999_999]) == {}


def test_filters_narrow_the_ranking_as_they_narrow_a_search(index: SearchIndex) -> None:
    index.rebuild(corpus(60, 4), last_seq=1)
    webinars = SearchFilters(kind="webinar")
    found = index.rank("lead budget", webinars)
    assert list(found.asset_ids) == [
        hit.asset_id for hit in index.search("lead budget", webinars).hits
    ]
    assert list(found.asset_ids) == [
        asset_id
        for asset_id in ranking(index, "lead budget").asset_ids
        if asset_id in set(found.asset_ids)
    ]


def test_a_thread_keeps_its_searcher_until_the_index_changes(index: SearchIndex) -> None:
    documents = corpus(30, 5)
    index.rebuild(documents[:20], last_seq=1)
    first = index._searcher()
    index.search("lead")
    assert index._searcher() is first
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(index._searcher()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not first  # a searcher reads through one file position: per thread

    added = documents[20]
    index.apply([added], removals=[documents[0].asset_id], last_seq=2)
    assert added.asset_id in ranking(index, added.title).asset_ids
    assert documents[0].asset_id not in ranking(index, "lead webinar kunden budget").asset_ids
    assert index._searcher() is not first
    again = index._searcher()
    index.search("lead")
    assert index._searcher() is again


def test_an_empty_index_and_an_empty_query_find_nothing(index: SearchIndex) -> None:
    assert list(index.rank("lead").asset_ids) == []
    index.rebuild(corpus(5, 6), last_seq=1)
    assert list(index.rank("   ").asset_ids) == []
