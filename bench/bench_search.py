"""Search: index build time, index size and query latency, Whoosh (Leadshelf) next to SQLite FTS5.

A deterministic synthetic library (BENCH_ASSETS, default 10,000 assets of
150-600 words, about 70 % English and 30 % German, Zipf-distributed marketing
vocabulary) is indexed by ``content.search.index.SearchIndex`` and by SQLite FTS5
(``porter unicode61`` for English, ``unicode61`` for German, which FTS5
cannot stem). Then BENCH_QUERIES (default 200) queries of 1-3 words run on
both, returning ranked ids, a highlighted snippet per hit and the total, once
with 20 hits (one page) and once with 1,000 (what the library view asks for).

Run: make bench   (or .venv/bin/python bench/bench_search.py)
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from content.search.index import SearchIndex
from content.search.schema import SearchDocument

ASSETS = int(os.environ.get("BENCH_ASSETS", "10000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "200"))
SEED = 20261123

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


def latencies(run: Callable[[str], int], texts: list[str]) -> tuple[float, float, float]:
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
    print(f"\n(total bench time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
