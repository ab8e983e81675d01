"""What the index holds of an asset: its fields, their analysers, and how a document fills them.

Each language has its own fields and stemmer (``title_en`` …, ``title_de`` …),
so "scoring" finds "scores" in English assets and "Leitfäden" finds
"Leitfaden" in German ones. Where a word is found decides how much it counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from whoosh.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.lang import stemmer_for_language, stopwords_for_language

from content.search.scoring import ASSET_COLUMN
from content.text import WORD

SCHEMA_VERSION = 2  # 2: the asset id as a column too (``content.search.scoring``)
# Where a word is found decides how much it counts: title over summary over body over PDF.
FIELD_BOOSTS = {"title": 4.0, "summary": 2.0, "body": 1.0, "file": 0.5}
FALLBACK_LANGUAGE = "en"
EXCERPT_CHARS = 20_000


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
        ASSET_COLUMN: COLUMN(NumericColumn("q")),
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


def document_fields(document: SearchDocument) -> dict[str, Any]:
    """The index fields of one asset: its texts under its language's fields, filters, excerpts."""
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
        ASSET_COLUMN: document.asset_id,
        "language": document.language,
        "kind": document.kind,
        "stage": document.stage,
        "topics": ",".join(document.topics),
        "spell": f"{document.title}\n{document.summary}\n{document.body_text}",
        "excerpt": excerpt[:EXCERPT_CHARS],
        "file_excerpt": document.file_text[:EXCERPT_CHARS],
    }
