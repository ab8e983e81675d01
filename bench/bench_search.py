"""Search: index build time, index size and query latency, Whoosh (Leadshelf) next to SQLite FTS5.

A deterministic synthetic library (BENCH_ASSETS, default 10,000 assets of
150-600 words, about 70 % English and 30 % German, Zipf-distributed marketing
vocabulary) is indexed by ``content.search.index.SearchIndex`` and by SQLite FTS5
(``porter unicode61`` for English, ``unicode61`` for German, which FTS5
cannot stem). Then BENCH_QUERIES (default 200) queries of 1-3 words run on
both, returning ranked ids, a highlighted snippet per hit and the total, once
with 20 hits (one page) and once with 1,000. Beside them, in the same run, Whoosh's own
per-posting collector (how Leadshelf ranked before issue 19), which ranks the same.

A second table times a whole library search page cold (no catalog cache): ranking, the
page's snippets, the facet counts and the total, on a SQLite database holding the same
assets: as ``content.catalog.browse_page`` does it now (``SearchIndex.rank``, counts from the
in-memory shelf) and as it did before (the collector's best 1,000 hits, each with its snippet,
then four facet GROUP BYs and the matching ids with the hits as an IN list), and the views
without words (/library, a kind, a topic) both ways.

Run: make bench   (or .venv/bin/python bench/bench_search.py)
"""

from __future__ import annotations

import heapq
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from content import catalog
from content.catalog import BrowseQuery, browse_page
from content.facets import Shelf
from content.models import Asset, ContentChange, Status, Topic, asset_topic
from content.search.index import SearchIndex
from content.search.query import (
    QueryPlan,
    SearchHit,
    SearchResults,
    _snippet,
    _word_matcher,
    _word_query,
)
from content.search.schema import SearchDocument, analysis_language
from content.translations import shown_in, with_versions
from portal.db import Database
from portal.migrate import upgrade_to_head

ASSETS = int(os.environ.get("BENCH_ASSETS", "10000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "200"))
SEED = 20261123
Q = TypeVar("Q")

ENGLISH_WORDS = """
lead leads scoring scored scores score nurturing nurture nurtured pipeline pipelines revenue
marketing marketer marketers campaign campaigns conversion conversions convert converting
funnel funnels buyer buyers buying journey journeys content strategy strategies persona
personas segment segments segmentation engagement engaged engaging webinar webinars ebook
ebooks whitepaper whitepapers checklist checklists benchmark benchmarks report reports
analytics attribution attributed forecast forecasting demand generation generate generated
account accounts based intent signal signals sales team teams handoff qualified qualify
qualification opportunity opportunities customer customers retention churn loyalty upsell
growth growing grow brand brands awareness consideration decision evaluate evaluation
pricing price budget budgets authority need needs timeframe roi value proposition
positioning messaging email emails newsletter automation automated workflow workflows crm
integration integrations data dataset insight insights dashboard dashboards metric metrics
kpi kpis optimize optimization optimizing test testing experiment experiments landing page
pages form forms gated ungated download downloads reader readers audience audiences
partner partners channel channels social search organic paid advertising ads budgeting
planning plan plans quarter quarterly annual review reviews case study studies success
story stories onboarding adoption enterprise midmarket smb saas platform platforms tool
tools stack process processes playbook playbooks framework frameworks guide guides best
practice practices lesson lessons mistake mistakes trend trends research survey surveys
the and of to in for with on by from that this is are be as at or an it your our their
"""

GERMAN_WORDS = """
leitfaden leitfäden vertrieb vertriebs kunde kunden kundin marketing kampagne kampagnen
strategie strategien zielgruppe zielgruppen bewertung bewertungen umsatz umsätze
interessent interessenten anfrage anfragen angebot angebote entscheidung entscheidungen
beratung berater unternehmen mittelstand branche branchen markt märkte wachstum
automatisierung prozess prozesse daten analyse analysen bericht berichte studie studien
praxis beispiel beispiele erfahrung erfahrungen erfolg erfolge ziel ziele planung
budget budgets preis preise wert werte nutzen lösung lösungen plattform plattformen
werkzeug werkzeuge integration schnittstelle schnittstellen mitarbeiter team teams
führung führungskraft führungskräfte kennzahl kennzahlen messung webinar webinare
checkliste checklisten whitepaper handbuch handbücher anleitung anleitungen
der die das und mit für von zu im den des ein eine ist sind wie auf bei aus
"""
ENGLISH = ENGLISH_WORDS.split()
GERMAN = GERMAN_WORDS.split()

KINDS = ("whitepaper", "ebook", "webinar", "case_study", "checklist", "video", "article")
STAGES = ("awareness", "consideration", "decision", "customer")
TOPICS = tuple(f"topic-{n}" for n in range(24))


def zipf_weights(words: list[str]) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(len(words))]


def words(rng: random.Random, vocabulary: list[str], weights: list[float], count: int) -> str:
    return " ".join(rng.choices(vocabulary, weights=weights, k=count))


def corpus() -> list[SearchDocument]:
    rng = random.Random(SEED)
    vocabularies = {"en": (ENGLISH, zipf_weights(ENGLISH)), "de": (GERMAN, zipf_weights(GERMAN))}
    documents = []
    for asset_id in range(1, ASSETS + 1):
        language = "de" if rng.random() < 0.3 else "en"
        vocabulary, weights = vocabularies[language]
        sentences = [
            words(rng, vocabulary, weights, rng.randint(8, 20)).capitalize() + "."
            for _ in range(rng.randint(150, 600) // 14)
        ]
        documents.append(
            SearchDocument(
                asset_id=asset_id,
                slug=f"asset-{asset_id}",
                title=words(rng, vocabulary, weights, rng.randint(3, 8)).title(),
                summary=words(rng, vocabulary, weights, rng.randint(15, 30)),
                body_text="\n\n".join(
                    " ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)
                ),
                file_text="",
                kind=rng.choice(KINDS),
                stage=rng.choice(STAGES),
                topics=tuple(rng.sample(TOPICS, rng.randint(1, 3))),
                personas=(),
                language=language,
                published_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return documents


def queries() -> list[str]:
    rng = random.Random(SEED + 1)
    content_words = {
        "en": [w for w in ENGLISH if len(w) > 3],
        "de": [w for w in GERMAN if len(w) > 3],
    }
    made = []
    for _ in range(QUERIES):
        pool = content_words["de" if rng.random() < 0.3 else "en"]
        made.append(" ".join(rng.sample(pool, rng.randint(1, 3))))
    return made


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def latencies(run: Callable[[Q], int], texts: Sequence[Q]) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, mean total) of running every query once (after one warm-up)."""
    run(texts[0])
    times, totals = [], []
    for text in texts:
        started = time.perf_counter()
        totals.append(run(text))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99, statistics.fmean(totals)


# SQLite FTS5

FTS_TABLES = {"en": "porter unicode61", "de": "unicode61 remove_diacritics 2"}


def fts_sql(language: str) -> dict[str, str]:
    """The statements for one language's FTS5 table (names from FTS_TABLES, never input)."""
    table = f"docs_{language}"
    columns = "rowid, title, summary, body, file_text"
    return {
        "create": f"CREATE VIRTUAL TABLE {table} USING fts5("
        f"title, summary, body, file_text, tokenize='{FTS_TABLES[language]}')",
        "insert": f"INSERT INTO {table}({columns}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608
        "delete": f"DELETE FROM {table} WHERE rowid = ?",  # noqa: S608
        "optimize": f"INSERT INTO {table}({table}) VALUES ('optimize')",  # noqa: S608
        # Same field weights as Whoosh; snippet from the body column.
        "search": f"SELECT bm25({table}, 4.0, 2.0, 1.0, 0.5) AS rank, rowid,"  # noqa: S608
        f" snippet({table}, 2, '<mark>', '</mark>', '…', 32)"
        f" FROM {table} WHERE {table} MATCH ? ORDER BY rank LIMIT ?",
        "count": f"SELECT count(*) FROM {table} WHERE {table} MATCH ?",  # noqa: S608
    }


SQL = {language: fts_sql(language) for language in FTS_TABLES}


def fts_row(document: SearchDocument) -> tuple[object, ...]:
    return (
        document.asset_id,
        document.title,
        document.summary,
        document.body_text,
        document.file_text,
    )


def fts_build(path: Path, documents: list[SearchDocument]) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    for language in FTS_TABLES:
        connection.execute(SQL[language]["create"])
    with connection:
        for document in documents:
            connection.execute(SQL[document.language]["insert"], fts_row(document))
        for language in FTS_TABLES:
            connection.execute(SQL[language]["optimize"])
    return connection


def fts_update(connection: sqlite3.Connection, document: SearchDocument) -> None:
    with connection:
        connection.execute(SQL[document.language]["delete"], (document.asset_id,))
        connection.execute(SQL[document.language]["insert"], fts_row(document))


def fts_search(connection: sqlite3.Connection, text: str, limit: int) -> int:
    """Ranked ids with snippets from both language tables, merged; returns the total."""
    match = " OR ".join('"' + word.replace('"', "") + '"' for word in text.split())
    hits: list[tuple[float, int, str]] = []
    total = 0
    for language in FTS_TABLES:
        hits += connection.execute(SQL[language]["search"], (match, limit)).fetchall()
        total += connection.execute(SQL[language]["count"], (match,)).fetchone()[0]
    hits.sort()
    del hits[limit:]
    return total


# Whoosh (content.search)


def whoosh_search(index: SearchIndex, text: str, limit: int) -> int:
    return index.search(text, limit=limit).total


def collector_search(index: SearchIndex, text: str, limit: int) -> SearchResults:
    """How ``SearchIndex.search`` ranked before issue 19: each word's query through Whoosh's
    collector (a matcher call per posting), then the stored fields and a snippet per hit."""
    plan = QueryPlan.from_text(text)
    with index._index.searcher() as searcher:
        totals: dict[int, float] = {}
        matched: dict[int, int] = {}
        words = [terms for terms in plan.terms if terms]
        for terms in words:
            query = _word_query(searcher.reader(), terms)
            if query is None:
                continue
            for score, docnum in searcher.search(query, limit=None, optimize=False).top_n:
                totals[docnum] = totals.get(docnum, 0.0) + score
                matched[docnum] = matched.get(docnum, 0) + 1
        scores = {d: t * matched[d] / len(words) for d, t in totals.items()}
        best = heapq.nlargest(limit, scores.items(), key=lambda s: (s[1], -s[0]))
        matchers = {lang: _word_matcher(plan.terms_in(lang), lang) for lang in ("en", "de")}
        hits = []
        for docnum, score in best:
            stored = searcher.stored_fields(docnum)
            is_match = matchers[analysis_language(str(stored.get("language", "")))]
            hits.append(SearchHit(int(stored["asset_id"]), score, _snippet(is_match, stored)))
    return SearchResults(hits=hits, total=len(scores), suggestion=None)


# A library search page: the index, the facet counts and the page (content.catalog)

PAGE = 20  # the page of 20 hits (the library shows 12)


def bench_database(folder: Path, documents: list[SearchDocument]) -> Database:
    """A SQLite database at head holding the corpus as live assets with their topics."""
    database = Database(f"sqlite:///{folder / 'library.sqlite'}")
    upgrade_to_head(database)
    with database.write() as session:
        session.execute(insert(Topic), [{"slug": t, "label": t.title()} for t in TOPICS])
        topic_ids = {
            slug: topic_id for slug, topic_id in session.execute(select(Topic.slug, Topic.id))
        }
        session.execute(
            insert(Asset),
            [
                {
                    "id": d.asset_id, "slug": d.slug, "title": d.title[:200], "kind": d.kind,
                    "stage": d.stage, "language": d.language, "status": Status.PUBLISHED.value,
                    "published_at": d.published_at, "featured": d.asset_id % 500 == 0,
                }
                for d in documents
            ],
        )  # fmt: skip
        session.execute(
            insert(asset_topic),
            [
                {"asset_id": d.asset_id, "topic_id": topic_ids[t]}
                for d in documents
                for t in d.topics
            ],
        )
        session.execute(
            insert(ContentChange),
            [{"asset_id": d.asset_id, "action": "published"} for d in documents],
        )
    return database


def page_before(session: Session, query: BrowseQuery, index: SearchIndex) -> int:
    """A library view as ``browse_page`` computed it before issue 19 (SQL for the counts)."""
    base: list[ColumnElement[bool]] = [Asset.status == Status.PUBLISHED.value]
    ranking = None
    if query.q:
        ranking = [hit.asset_id for hit in collector_search(index, query.q, 1000).hits]
        if query.reader:
            ranking = with_versions(session, ranking)
        base.append(Asset.id.in_(ranking))
    one_each = [shown_in(session, query.reader)] if query.reader else []
    chosen: list[ColumnElement[bool]] = []
    if query.kind:
        chosen.append(Asset.kind == query.kind)
    if query.topic:
        topic = select(asset_topic.c.asset_id).join(Topic).where(Topic.slug == query.topic)
        chosen.append(Asset.id.in_(topic))
    for name, column in (
        ("kind", Asset.kind),
        ("stage", Asset.stage),
        ("language", Asset.language),
    ):
        shown = base + (one_each if name != "language" else []) + chosen
        session.execute(select(column, func.count(Asset.id)).where(*shown).group_by(column)).all()
    counted = (
        select(asset_topic.c.topic_id, func.count(Asset.id).label("n"))
        .join(Asset, Asset.id == asset_topic.c.asset_id)
        .where(*base, *one_each, *chosen)
        .group_by(asset_topic.c.topic_id)
        .subquery()
    )
    session.execute(select(Topic.slug, Topic.label, counted.c.n).join(counted)).all()
    matching = select(Asset.id).where(*base, *one_each, *chosen)
    if ranking is not None:
        position = {asset_id: i for i, asset_id in enumerate(ranking)}
        return len(sorted(session.scalars(matching), key=position.__getitem__))
    session.scalars(
        matching.order_by(Asset.featured.desc(), Asset.published_at.desc()).limit(PAGE)
    ).all()
    return (
        session.scalar(select(func.count()).select_from(Asset).where(*base, *one_each, *chosen))
        or 0
    )


def page_now(session: Session, query: BrowseQuery, index: SearchIndex, shelf: Shelf | None) -> int:
    """A library view as ``browse_page`` computes it now (no catalog cache)."""
    search = index.rank if query.q else None
    return browse_page(session, query, search, shelf).total


def library_rows(
    documents: list[SearchDocument], texts: list[str], folder: Path, index: SearchIndex
) -> Iterator[tuple[str, ...]]:
    database = bench_database(folder, documents)
    catalog.PER_PAGE = PAGE
    shelf = Shelf()
    searches = [BrowseQuery(q=text, reader="en") for text in texts]
    views = [
        BrowseQuery(reader="en"),
        BrowseQuery(kind=KINDS[1], reader="en"),
        BrowseQuery(topic=TOPICS[3], reader="en"),
    ] * max(1, len(texts) // 3)
    connection = fts_build(folder / "fts-page.sqlite", documents)
    with database.read() as session:
        shelf.snapshot(session, catalog.content_version(session))  # as the process keeps it
        variants: list[tuple[str, Sequence[BrowseQuery | str], Callable[[Any], int]]] = [
            ("SQLite FTS5, 20 hits with snippets and the total", texts,
             lambda text: fts_search(connection, text, PAGE)),
            ("search page, now", searches, lambda q: page_now(session, q, index, shelf)),
            ("search page, before", searches, lambda q: page_before(session, q, index)),
            ("view without words, now", views, lambda q: page_now(session, q, index, shelf)),
            ("view without words, now, shelf read afresh", views,
             lambda q: page_now(session, q, index, None)),
            ("view without words, before", views, lambda q: page_before(session, q, index)),
        ]  # fmt: skip
        figures = side_by_side([(run, items) for _, items, run in variants])
    fts_wall, fts_cpu = figures[0][0][1], figures[0][1][1]
    for (label, _, _), (wall, cpu, total) in zip(variants, figures, strict=True):
        yield (
            label,
            f"{wall[0]:.1f} / {wall[1]:.1f} ms",
            f"{cpu[0]:.1f} / {cpu[1]:.1f} ms",
            f"{total:,.0f}",
            f"{wall[1] / fts_wall:.2f} / {cpu[1] / fts_cpu:.2f}",
        )
    connection.close()
    database.dispose()


def side_by_side(
    variants: list[tuple[Callable[[Any], int], Sequence[Any]]],
) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """Per variant ((wall p50, p99), (CPU p50, p99), mean total), in ms: the variants take
    turns query by query, so a busy moment of the machine falls on all of them alike."""
    for run, items in variants:
        run(items[0])  # warm-up
    walls: list[list[float]] = [[] for _ in variants]
    cpus: list[list[float]] = [[] for _ in variants]
    totals: list[list[int]] = [[] for _ in variants]
    for i in range(max(len(items) for _, items in variants)):
        for n, (run, items) in enumerate(variants):
            if i >= len(items):
                continue
            wall, cpu = time.perf_counter(), time.thread_time()
            totals[n].append(run(items[i]))
            cpus[n].append((time.thread_time() - cpu) * 1000)
            walls[n].append((time.perf_counter() - wall) * 1000)
    return [
        (_p50_p99(walls[n]), _p50_p99(cpus[n]), statistics.fmean(totals[n]))
        for n in range(len(variants))
    ]


def _p50_p99(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def table_row(
    engine: str,
    build: float,
    size: int,
    search: Callable[[str, int], int],
    update: Callable[[SearchDocument], object],
    documents: list[SearchDocument],
    texts: list[str],
) -> tuple[str, ...]:
    figures = [latencies(lambda text, n=n: search(text, n), texts) for n in (20, 1000)]
    updates = [timed(lambda d=document: update(d)) * 1000 for document in documents[:20]]
    return (
        engine,
        f"{build:.1f} s",
        f"{size / 1e6:.1f} MB",
        *(f"{p50:.1f} / {p99:.1f} ms" for p50, p99, _ in figures),
        f"{figures[0][2]:,.0f}",
        f"{statistics.median(updates):.0f} ms",
    )


def rows(
    documents: list[SearchDocument], texts: list[str], folder: Path
) -> Iterator[tuple[str, ...]]:
    index = SearchIndex(folder / "whoosh")
    build = timed(lambda: index.rebuild(documents, last_seq=1))
    yield table_row(
        "Whoosh (SearchIndex)",
        build,
        folder_size(folder / "whoosh"),
        lambda text, limit: whoosh_search(index, text, limit),
        lambda document: index.apply([document], [], last_seq=2),
        documents,
        texts,
    )

    yield (
        "Whoosh, its own collector (before)",
        "—",
        "—",
        *(
            f"{p50:.1f} / {p99:.1f} ms"
            for p50, p99, _ in (
                latencies(lambda text, n=n: collector_search(index, text, n).total, texts)
                for n in (20, 1000)
            )
        ),
        "—",
        "—",
    )

    started = time.perf_counter()
    connection = fts_build(folder / "fts.sqlite", documents)
    build = time.perf_counter() - started
    yield table_row(
        "SQLite FTS5",
        build,
        (folder / "fts.sqlite").stat().st_size,
        lambda text, limit: fts_search(connection, text, limit),
        lambda document: fts_update(connection, document),
        documents,
        texts,
    )
    connection.close()


def load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    started = time.perf_counter()
    documents = corpus()
    texts = queries()
    word_count = sum(len(d.body_text.split()) for d in documents)
    german = sum(d.language == "de" for d in documents)
    print(
        f"{len(documents):,} assets ({len(documents) - german:,} en, {german:,} de), "
        f"{word_count / len(documents):,.0f} body words on average; "
        f"{len(texts)} queries of 1-3 words; SQLite {sqlite3.sqlite_version}"
    )
    header = ("engine", "build", "size", "p50 / p99, 20 hits", "p50 / p99, 1000 hits")
    header += ("mean matches", "update 1 asset")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory(prefix="leadshelf-bench-") as folder:
        for row in rows(documents, texts, Path(folder)):
            print("| " + " | ".join(row) + " |", flush=True)
        print(f"\nA library page, cold (no catalog cache), {PAGE} per page, reader en:\n")
        header = (
            "view",
            "wall p50 / p99",
            "CPU p50 / p99",
            "mean total",
            "p99 ÷ FTS5's (wall / CPU)",
        )
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        index = SearchIndex(Path(folder) / "whoosh")
        for row in library_rows(documents, texts, Path(folder), index):
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"\n(total bench time {time.perf_counter() - started:.0f} s; load {load()})")


if __name__ == "__main__":
    main()
