"""What a search finds and shows: ranking by field and language, filters, snippets,
suggestions, and whatever anyone types (``content.search.query`` via ``SearchIndex.search``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from content.search.index import SearchIndex
from content.search.query import SearchFilters, SearchResults
from content.search.schema import SearchDocument
from tests.support import html

PUBLISHED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def document(
    asset_id: int,
    title: str,
    body: str = "",
    *,
    summary: str = "",
    file_text: str = "",
    kind: str = "whitepaper",
    stage: str = "awareness",
    topics: tuple[str, ...] = (),
    language: str = "en",
) -> SearchDocument:
    return SearchDocument(
        asset_id=asset_id,
        slug=f"asset-{asset_id}",
        title=title,
        summary=summary,
        body_text=body,
        file_text=file_text,
        kind=kind,
        stage=stage,
        topics=topics,
        personas=("marketing-ops",),
        language=language,
        published_at=PUBLISHED,
    )


def ids(results: SearchResults) -> list[int]:
    return [hit.asset_id for hit in results.hits]


def test_a_title_match_outranks_a_body_match(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "Quarterly planning", "Attribution, attribution and more attribution."),
            document(2, "Attribution for B2B teams", "Where the pipeline comes from."),
        ],
        [],
        last_seq=2,
    )

    assert ids(index.search("attribution")) == [2, 1]


def test_summary_counts_more_than_body_and_body_more_than_pdf(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "Guide one", file_text="Benchmarks for webinar attendance."),
            document(2, "Guide two", "Benchmarks for webinar attendance."),
            document(3, "Guide three", summary="Benchmarks for webinar attendance."),
        ],
        [],
        last_seq=3,
    )

    assert ids(index.search("benchmarks")) == [3, 2, 1]


def test_english_stemming_finds_other_forms_of_a_word(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "How leads are scored", "Scores decay over time."),
            document(2, "Nurture tracks", "Emails that convert."),
        ],
        [],
        last_seq=1,
    )

    results = index.search("scoring")

    assert ids(results) == [1]
    marked = [node.text() for node in html(results.hits[0].snippet).css("mark")]
    assert marked == ["Scores"]


def test_german_stemming_finds_singular_from_plural(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "Leitfaden für den Vertrieb", "Wie Kunden kaufen.", language="de"),
            document(2, "Sales playbook", "How customers buy.", language="en"),
        ],
        [],
        last_seq=1,
    )

    assert ids(index.search("Leitfäden")) == [1]
    assert ids(index.search("kunde")) == [1]


def test_a_word_only_in_the_pdf_finds_the_asset_and_shows_the_pdf_text(
    index: SearchIndex,
) -> None:
    index.apply(
        [
            document(
                1, "Datasheet", "Short intro.", file_text="Appendix: multi-touch attribution."
            ),
            document(2, "Other", "Unrelated words."),
        ],
        [],
        last_seq=1,
    )

    results = index.search("multi-touch")

    assert ids(results) == [1]
    assert [node.text() for node in html(results.hits[0].snippet).css("mark")] == ["multi", "touch"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(), [1, 2, 3, 4]),
        (SearchFilters(kind="webinar"), [2]),
        (SearchFilters(stage="decision"), [3]),
        (SearchFilters(topic="lead-scoring"), [1, 3]),
        (SearchFilters(topic="attribution"), [3]),
        (SearchFilters(language="de"), [4]),
        (SearchFilters(kind="whitepaper", topic="lead-scoring"), [1, 3]),
        (SearchFilters(kind="webinar", topic="lead-scoring"), []),
    ],
)
def test_filters_narrow_the_results(
    index: SearchIndex, filters: SearchFilters, expected: list[int]
) -> None:
    index.apply(
        [
            document(1, "Pipeline one", topics=("lead-scoring",)),
            document(2, "Pipeline two", kind="webinar", topics=("events",)),
            document(3, "Pipeline three", stage="decision", topics=("lead-scoring", "attribution")),
            document(4, "Pipeline vier", language="de"),
        ],
        [],
        last_seq=1,
    )

    results = index.search("pipeline", filters)

    assert sorted(ids(results)) == expected
    assert results.total == len(expected)


def test_snippet_marks_matches_and_escapes_the_content(index: SearchIndex) -> None:
    body = 'Scoring tips <script>alert(1)</script> & <b onclick="x">more</b> scoring.'
    index.apply([document(1, "Tips", body)], [], last_seq=1)

    snippet = index.search("scoring").hits[0].snippet
    parsed = html(snippet)

    assert parsed.css("script") == []
    assert parsed.css("b") == []
    assert [node.text() for node in parsed.css("mark")] == ["Scoring", "scoring"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert parsed.body is not None
    assert parsed.body.text() == body


def test_snippet_is_a_window_around_the_first_match(index: SearchIndex) -> None:
    filler = " ".join(f"word{n}" for n in range(200))
    index.apply([document(1, "Long read", f"{filler} the attribution model {filler}")], [], 1)

    snippet = index.search("attribution").hits[0].snippet

    assert snippet.startswith("\u2026 ")
    assert snippet.endswith(" \u2026")
    assert "<mark>attribution</mark> model" in snippet
    assert len(snippet) < 400


def test_snippet_without_a_text_match_shows_the_summary(index: SearchIndex) -> None:
    index.apply(
        [document(1, "Attribution <basics>", "Body words.", summary="What it is & why.")], [], 1
    )

    assert index.search("attribution").hits[0].snippet == "What it is &amp; why. Body words."


def test_a_misspelt_word_gets_a_suggestion_from_the_library(index: SearchIndex) -> None:
    index.apply(
        [document(1, "Lead scoring", "A scoring model."), document(2, "Leads", "lead lists")],
        [],
        1,
    )

    misspelt = index.search("lead scorng")
    correct = index.search("lead scoring")

    assert misspelt.suggestion == "lead scoring"
    assert correct.suggestion is None
    assert index.search("scoring").suggestion is None
    assert index.search("xqzzy").suggestion is None


def test_words_of_removed_assets_are_never_suggested(index: SearchIndex) -> None:
    index.apply([document(1, "Confidential roadmap", "Unannounced roadmap.")], [], 1)
    index.apply([], [1], 2)

    results = index.search("roadmp")

    assert results.total == 0
    assert results.suggestion is None


def test_suggestion_respects_the_current_filters(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "Webinar on scoring", kind="webinar"),
            document(2, "Pricing checklist", kind="checklist"),
        ],
        [],
        1,
    )

    assert index.search("scorng", SearchFilters(kind="webinar")).suggestion == "scoring"
    assert index.search("scorng", SearchFilters(kind="checklist")).suggestion is None


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   \t\n",
        '"',
        '"lead scoring',
        "(",
        "(lead OR",
        ")",
        "title:x",
        "kind:webinar",
        "*",
        "scor*",
        "?",
        "AND",
        "lead AND",
        "OR NOT",
        "NOT",
        "[a TO",
        "{}",
        "^2",
        "~",
        "lead~2",
        "\\",
        "a" * 500,
        "lead " * 100,
        "<script>alert(1)</script>",
        "\x00",
        "😀",
    ],
)
def test_hostile_queries_never_raise(index: SearchIndex, query: str) -> None:
    index.apply([document(1, "Lead scoring", "Scoring leads AND titles.")], [], 1)

    results = index.search(query)

    assert isinstance(results, SearchResults)
    assert results.total >= len(results.hits)


@pytest.mark.parametrize("query", ["", "   ", '""', "()", "*", "-"])
def test_an_empty_query_searches_nothing(index: SearchIndex, query: str) -> None:
    index.apply([document(1, "Lead scoring")], [], 1)

    assert index.search(query) == SearchResults(hits=[], total=0, suggestion=None)


def test_query_syntax_is_read_as_plain_words(index: SearchIndex) -> None:
    index.apply([document(1, "Lead scoring"), document(2, "Webinar list")], [], 1)

    assert ids(index.search("title:scoring")) == [1]
    assert sorted(ids(index.search('"lead" OR (webinar)'))) == [1, 2]
    assert ids(index.search("NOT lead")) == [1]


def test_assets_with_every_word_come_first(index: SearchIndex) -> None:
    index.apply(
        [
            document(1, "Report", "Lead lead lead lead lead lists."),
            document(2, "Report", "Lead nurturing in practice."),
            document(3, "Report", "Nurturing nurturing nurturing emails."),
        ],
        [],
        1,
    )

    results = index.search("lead nurturing")

    assert ids(results)[0] == 2
    assert results.total == 3


def test_total_counts_every_match_beyond_the_limit(index: SearchIndex) -> None:
    index.apply([document(n, f"Checklist {n}") for n in range(1, 31)], [], 1)

    results = index.search("checklist", limit=5)

    assert len(results.hits) == 5
    assert results.total == 30
