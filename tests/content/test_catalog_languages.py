"""The library for a reader of one language: one version of each piece (theirs, else the
original), their language first, the other only where theirs has nothing; a picked language
shows all of it; topics named in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from content import catalog
from content.catalog import BrowseQuery, FacetValue, browse
from content.models import Asset, Topic
from content.publishing import publish
from content.search.query import SearchFilters, SearchHit, SearchResults
from portal.db import Database
from tests.factories import make_asset

BASE = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


# slug: (language, published hour or None, kind, stage, topic, translation of)
PIECES: dict[str, tuple[str, int | None, str, str, str, str]] = {
    "guide": ("en", 1, "whitepaper", "consideration", "lead-scoring", ""),
    "leitfaden": ("de", 2, "whitepaper", "consideration", "lead-scoring", "guide"),
    "checklist": ("en", 3, "checklist", "decision", "lead-scoring", ""),
    "artikel": ("de", 0, "article", "awareness", "nurturing", ""),
    "checkliste": ("de", None, "checklist", "decision", "lead-scoring", "checklist"),
}


@pytest.fixture
def pieces(db: Database) -> dict[str, int]:
    """An English guide with its German translation, an English checklist alone, a German
    article alone, and a German draft translation of the checklist (not live)."""
    ids: dict[str, int] = {}
    for slug, (language, hour, kind, stage, topic, original) in PIECES.items():
        asset = make_asset(
            db, slug=slug, title=slug.title(), language=language, kind=kind, stage=stage,
            topics=[topic], translation_of=original, published=False,
        )  # fmt: skip
        if hour is not None:
            with db.write() as session:
                live = session.get(Asset, asset.id)
                assert live is not None
                publish(session, live, "editor@example.com", now=BASE + timedelta(hours=hour))
        ids[slug] = asset.id
    with db.write() as session:
        session.execute(
            update(Topic).where(Topic.slug == "lead-scoring").values(labels={"de": "Lead-Scoring"})
        )
    return ids


def slugs(assets: list[Asset]) -> list[str]:
    return [a.slug for a in assets]


def counts(facet: list[FacetValue]) -> dict[str, int]:
    return {v.value: v.count for v in facet}


def test_a_german_reader_sees_german_first_and_never_two_versions(
    db: Database, pieces: dict[str, int]
) -> None:
    with db.read() as session:
        german = browse(session, BrowseQuery(reader="de"))
        english = browse(session, BrowseQuery(reader="en"))
        everyone = browse(session, BrowseQuery())
    assert slugs(german.items) == ["leitfaden", "artikel", "checklist"]
    assert slugs(english.items) == ["checklist", "guide", "artikel"]
    assert german.total == english.total == 3
    assert slugs(everyone.items) == ["checklist", "leitfaden", "guide", "artikel"]
    # the counts are those of what is listed …
    assert counts(german.facets["kind"]) == {"whitepaper": 1, "checklist": 1, "article": 1}
    # … except the language filter's: what picking a language would show
    assert counts(german.facets["language"]) == {"en": 2, "de": 2}


def test_a_picked_language_shows_all_of_it(db: Database, pieces: dict[str, int]) -> None:
    with db.read() as session:
        english = browse(session, BrowseQuery(language="en", reader="de"))
    assert slugs(english.items) == ["checklist", "guide"]
    assert [v.value for v in english.facets["language"] if v.selected] == ["en"]


def test_topics_are_named_in_the_readers_language(db: Database, pieces: dict[str, int]) -> None:
    with db.read() as session:
        german = browse(session, BrowseQuery(reader="de"))
        english = browse(session, BrowseQuery(reader="en"))
        home_de = catalog.home_sections(session, reader="de")
    assert {v.value: v.label for v in german.facets["topic"]}["lead-scoring"] == "Lead-Scoring"
    assert {v.value: v.label for v in english.facets["topic"]}["lead-scoring"] == "Lead scoring"
    assert {v.value: v.label for v in home_de.topics}["lead-scoring"] == "Lead-Scoring"
    assert {v.value: v.count for v in home_de.topics} == {"lead-scoring": 2, "nurturing": 1}


def test_home_shows_one_version_per_piece_the_readers_first(
    db: Database, pieces: dict[str, int]
) -> None:
    with db.read() as session:
        home = catalog.CatalogCache().home(session, "de")
        home_en = catalog.CatalogCache().home(session, "en")
    assert slugs(home.featured) == ["leitfaden", "artikel", "checklist"]
    assert {name: slugs(items) for name, _, items in home.by_stage} == {
        "awareness": ["artikel"],
        "consideration": ["leitfaden"],
        "decision": ["checklist"],
    }
    assert slugs(home_en.featured) == ["checklist", "guide", "artikel"]


def test_search_finds_one_version_of_a_piece_in_its_rank(
    db: Database, pieces: dict[str, int]
) -> None:
    order = ["guide", "leitfaden", "checklist"]

    def search(query: str, filters: SearchFilters | None) -> SearchResults:
        hits = [SearchHit(pieces[slug], 1.0 - i / 10, slug) for i, slug in enumerate(order)]
        return SearchResults(hits, len(hits), None)

    with db.read() as session:
        german = browse(session, BrowseQuery(q="scoring", reader="de"), search)
        english = browse(session, BrowseQuery(q="scoring", reader="en"), search)
    assert slugs(german.items) == ["leitfaden", "checklist"]
    assert slugs(english.items) == ["guide", "checklist"]


def test_a_search_matching_only_the_english_words_shows_the_german_version(
    db: Database, pieces: dict[str, int]
) -> None:
    def search(query: str, filters: SearchFilters | None) -> SearchResults:
        hits = [SearchHit(pieces["guide"], 1.0, "guide"), SearchHit(pieces["artikel"], 0.5, "a")]
        return SearchResults(hits, len(hits), None)

    with db.read() as session:
        german = browse(session, BrowseQuery(q="guide", reader="de"), search)
        english = browse(session, BrowseQuery(q="guide", reader="en"), search)
        picked = browse(session, BrowseQuery(q="guide", reader="de", language="en"), search)
    assert slugs(german.items) == ["leitfaden", "artikel"]
    assert slugs(english.items) == ["guide", "artikel"]
    assert slugs(picked.items) == ["guide"]


def test_related_never_lists_a_version_of_the_asset_itself(
    db: Database, pieces: dict[str, int]
) -> None:
    with db.read() as session:
        guide = session.scalar(select(Asset).where(Asset.slug == "guide"))
        leitfaden = session.scalar(select(Asset).where(Asset.slug == "leitfaden"))
        assert guide is not None
        assert leitfaden is not None
        assert slugs(catalog.related(session, guide, reader="en")) == ["checklist"]
        assert slugs(catalog.related(session, leitfaden, reader="de")) == ["checklist"]
        assert "leitfaden" not in slugs(catalog.related(session, guide))


def test_the_cache_keeps_each_language_apart(db: Database, pieces: dict[str, int]) -> None:
    cache = catalog.CatalogCache()
    with db.read() as session:
        german = cache.browse(session, BrowseQuery(reader="de"), None)
        english = cache.browse(session, BrowseQuery(reader="en"), None)
        again = cache.browse(session, BrowseQuery(reader="de"), None)
    assert slugs(german.items) == slugs(again.items) == ["leitfaden", "artikel", "checklist"]
    assert slugs(english.items)[0] == "checklist"
