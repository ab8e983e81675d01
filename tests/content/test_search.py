"""The search index alone: ranking, stemming, filters, snippets, suggestions, hostile queries."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from content.search import SearchDocument, SearchFilters, SearchIndex, SearchResults
from content.text import markdown_to_text, pdf_text_and_pages
from tests.conftest import html

PUBLISHED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def index(tmp_path: Path) -> SearchIndex:
    return SearchIndex(tmp_path / "index")


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
            "import sys; from pathlib import Path; from content.search import SearchIndex\n"
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


def test_markdown_becomes_plain_text() -> None:
    source = (
        "# Lead *scoring*\n\nRead [the guide](https://example.com/x) ![chart](c.png)\n\n"
        "- one\n- `two`\n\n<b>raw</b>\n"
    )

    assert markdown_to_text(source) == (
        "Lead scoring\n\nRead the guide chart\n\none\n\ntwo\n\n<b>raw</b>"
    )


def _pdf(*lines: str) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    shown = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_text_and_page_count_are_extracted() -> None:
    assert pdf_text_and_pages(_pdf("Attribution for mar-", "keting teams")) == (
        "Attribution for marketing teams",
        2,
    )


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", b"not a pdf", _pdf("x")[:300]])
def test_a_broken_pdf_gives_no_text_instead_of_an_error(data: bytes) -> None:
    assert pdf_text_and_pages(data) == ("", 0)
