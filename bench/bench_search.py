"""Search: index build time, index size and query latency, Whoosh (Leadshelf) next to SQLite FTS5.

A deterministic synthetic library (BENCH_ASSETS, default 10,000 assets of
150-600 words, about 70 % English and 30 % German, Zipf-distributed marketing
vocabulary) is indexed by ``content.search.SearchIndex`` and by SQLite FTS5
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

from content.search import SearchDocument, SearchIndex

ASSETS = int(os.environ.get("BENCH_ASSETS", "10000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "200"))
SEED = 20261123

ENGLISH = """
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
""".split()

GERMAN = """
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
""".split()

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


def fts_build(path: Path, documents: list[SearchDocument]) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    for language, tokenizer in FTS_TABLES.items():
        connection.execute(
            f"CREATE VIRTUAL TABLE docs_{language} USING fts5("
            f"title, summary, body, file_text, tokenize='{tokenizer}')"
        )
    with connection:
        for document in documents:
            connection.execute(
                f"INSERT INTO docs_{document.language}(rowid, title, summary, body, file_text) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    document.asset_id,
                    document.title,
                    document.summary,
                    document.body_text,
                    document.file_text,
                ),
            )
        for language in FTS_TABLES:
            connection.execute(f"INSERT INTO docs_{language}(docs_{language}) VALUES ('optimize')")
    return connection


def fts_search(connection: sqlite3.Connection, text: str, limit: int) -> int:
    """Ranked ids with snippets from both language tables (same boosts as Whoosh); the total."""
    match = " OR ".join('"' + word.replace('"', "") + '"' for word in text.split())
    hits: list[tuple[float, int, str]] = []
    total = 0
    for language in FTS_TABLES:
        table = f"docs_{language}"
        hits += connection.execute(
            f"SELECT bm25({table}, 4.0, 2.0, 1.0, 0.5) AS rank, rowid,"
            f" snippet({table}, 2, '<mark>', '</mark>', '…', 32)"
            f" FROM {table} WHERE {table} MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        ).fetchall()
        total += connection.execute(
            f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (match,)
        ).fetchone()[0]
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


def rows(
    documents: list[SearchDocument], texts: list[str], folder: Path
) -> Iterator[tuple[str, ...]]:
    index = SearchIndex(folder / "whoosh")
    build = timed(lambda: index.rebuild(documents, last_seq=1))
    whoosh_figures = [
        latencies(lambda q, n=n: whoosh_search(index, q, n), texts) for n in (20, 1000)
    ]
    updates = []
    for document in documents[:20]:
        updates.append(timed(lambda d=document: index.apply([d], [], last_seq=2)) * 1000)
    yield (
        "Whoosh (SearchIndex)",
        f"{build:.1f} s",
        f"{folder_size(folder / 'whoosh') / 1e6:.0f} MB",
        *(f"{p50:.1f} / {p99:.1f} ms" for p50, p99, _ in whoosh_figures),
        f"{whoosh_figures[0][2]:,.0f}",
        f"{statistics.median(updates):.0f} ms",
    )

    database = folder / "fts.sqlite"
    connection: sqlite3.Connection | None = None

    def build_fts() -> None:
        nonlocal connection
        connection = fts_build(database, documents)

    build = timed(build_fts)
    assert connection is not None
    fts = connection
    fts_figures = [latencies(lambda q, n=n: fts_search(fts, q, n), texts) for n in (20, 1000)]
    updates = []
    for document in documents[:20]:

        def update(d: SearchDocument = document) -> None:
            with fts:
                fts.execute(f"DELETE FROM docs_{d.language} WHERE rowid = ?", (d.asset_id,))
                fts.execute(
                    f"INSERT INTO docs_{d.language}(rowid, title, summary, body, file_text)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (d.asset_id, d.title, d.summary, d.body_text, d.file_text),
                )

        updates.append(timed(update) * 1000)
    fts.close()
    yield (
        "SQLite FTS5",
        f"{build:.1f} s",
        f"{database.stat().st_size / 1e6:.0f} MB",
        *(f"{p50:.1f} / {p99:.1f} ms" for p50, p99, _ in fts_figures),
        f"{fts_figures[0][2]:,.0f}",
        f"{statistics.median(updates):.0f} ms",
    )


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
    header = ("engine", "build", "size", "p50 / p99, 20 hits", "p50 / p99, 1000 hits", "matches")
    header += ("update 1",)
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory(prefix="leadshelf-bench-") as folder:
        for row in rows(documents, texts, Path(folder)):
            print("| " + " | ".join(row) + " |", flush=True)
    print(f"\n(total bench time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
