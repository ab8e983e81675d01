"""What prospects see: only live assets, faceted browsing, search ranking, related and home."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from content import catalog
from content.catalog import PER_PAGE, BrowseQuery, FacetValue, browse
from content.editing import save_asset, validate_draft
from content.models import Asset
from content.publishing import archive, publish, schedule
from content.search.query import SearchFilters, SearchHit, SearchResults
from portal.db import Database

EDITOR = "editor@example.com"
BASE = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WEBINAR = {"webinar_starts_at": "2026-09-01T15:00:00+00:00"}

# slug: (kind, stage, topics, language, featured); published an hour apart in this order.
LIBRARY: dict[str, tuple[str, str, list[str], str, bool]] = {
    "a1": ("whitepaper", "awareness", ["lead-scoring", "abm"], "en", False),
    "a2": ("whitepaper", "consideration", ["lead-scoring"], "en", False),
    "a3": ("ebook", "awareness", ["abm"], "de", False),
    "a4": ("webinar", "consideration", ["lead-scoring", "nurturing"], "en", False),
    "a5": ("case_study", "decision", ["abm"], "en", True),
    "a6": ("checklist", "decision", ["lead-scoring"], "de", False),
    "a7": ("article", "awareness", ["nurturing"], "en", False),
    "a8": ("article", "awareness", ["lead-scoring", "nurturing", "abm"], "en", False),
    "a9": ("datasheet", "decision", [], "en", False),
    "a10": ("ebook", "consideration", ["nurturing"], "de", False),
}
NEVER_LIVE = ("draft-one", "archived-one", "scheduled-one")


def add(session: Session, slug: str, **overrides: Any) -> Asset:
    fields = {"title": f"Asset {slug}", "slug": slug, "kind": "article", "stage": "awareness"}
    fields |= overrides
    if fields["kind"] == "webinar":
        fields |= WEBINAR
    draft, errors = validate_draft(fields)
    assert draft is not None, errors
    return save_asset(session, draft, EDITOR)


@pytest.fixture
def library(db: Database) -> dict[str, int]:
    """Ten live assets, plus a draft, an archived one and one scheduled far ahead."""
    ids: dict[str, int] = {}
    with db.write() as session:
        for hour, (slug, (kind, stage, topics, language, featured)) in enumerate(LIBRARY.items()):
            asset = add(
                session, slug, kind=kind, stage=stage, topics=topics, language=language,
                featured=featured,
            )  # fmt: skip
            publish(session, asset, EDITOR, now=BASE + timedelta(hours=hour + 1))
            ids[slug] = asset.id
        never = {
            slug: add(session, slug, kind="whitepaper", topics=["lead-scoring"], featured=True)
            for slug in NEVER_LIVE
        }
        publish(session, never["archived-one"], EDITOR, now=BASE)
        archive(session, never["archived-one"], EDITOR)
        schedule(session, never["scheduled-one"], datetime(2099, 1, 1, tzinfo=UTC), EDITOR)
        ids |= {slug: asset.id for slug, asset in never.items()}
    return ids


def slugs(assets: list[Asset]) -> list[str]:
    return [asset.slug for asset in assets]


def counts(facet: list[FacetValue]) -> dict[str, int]:
    return {value.value: value.count for value in facet}


def selected(facet: list[FacetValue]) -> list[str]:
    return [value.value for value in facet if value.selected]


def test_browse_shows_only_live_assets_featured_first(
    db: Database, library: dict[str, int]
) -> None:
    with db.read() as session:
        result = browse(session, BrowseQuery())
    assert result.total == 10
    assert result.pages == 1
    assert slugs(result.items) == ["a5", "a10", "a9", "a8", "a7", "a6", "a4", "a3", "a2", "a1"]
    assert counts(result.facets["stage"]) == {"awareness": 4, "consideration": 3, "decision": 3}
    assert counts(result.facets["language"]) == {"en": 7, "de": 3}
    assert [v.label for v in result.facets["language"]] == ["English", "Deutsch"]
    assert not any(v.selected for facet in result.facets.values() for v in facet)


def test_facets_count_with_the_other_filters_but_not_their_own(
    db: Database, library: dict[str, int]
) -> None:
    with db.read() as session:
        by_stage = browse(session, BrowseQuery(stage="awareness"))
        both = browse(session, BrowseQuery(stage="awareness", kind="article"))
    assert slugs(by_stage.items) == ["a8", "a7", "a3", "a1"]
    assert counts(by_stage.facets["kind"]) == {"whitepaper": 1, "ebook": 1, "article": 2}
    assert counts(by_stage.facets["stage"]) == {"awareness": 4, "consideration": 3, "decision": 3}
    assert selected(by_stage.facets["stage"]) == ["awareness"]
    assert [v.label for v in by_stage.facets["stage"]] == [
        "Getting started", "Compare approaches", "Decide"
    ]  # fmt: skip

    assert slugs(both.items) == ["a8", "a7"]
    assert counts(both.facets["kind"]) == {"whitepaper": 1, "ebook": 1, "article": 2}
    assert selected(both.facets["kind"]) == ["article"]
    assert counts(both.facets["stage"]) == {"awareness": 2}
    assert [(v.value, v.count) for v in both.facets["topic"]] == [
        ("nurturing", 2), ("abm", 1), ("lead-scoring", 1)
    ]  # fmt: skip
    assert counts(both.facets["language"]) == {"en": 2}


def test_topic_filter(db: Database, library: dict[str, int]) -> None:
    with db.read() as session:
        result = browse(session, BrowseQuery(topic="nurturing"))
    assert slugs(result.items) == ["a10", "a8", "a7", "a4"]
    assert [(v.value, v.label, v.count) for v in result.facets["topic"]] == [
        ("lead-scoring", "Lead scoring", 5), ("abm", "ABM", 4), ("nurturing", "Nurturing", 4)
    ]  # fmt: skip
    assert selected(result.facets["topic"]) == ["nurturing"]
    assert counts(result.facets["kind"]) == {"webinar": 1, "article": 2, "ebook": 1}


def test_selected_value_without_results_stays_visible(
    db: Database, library: dict[str, int]
) -> None:
    with db.read() as session:
        result = browse(session, BrowseQuery(kind="video"))
    assert (result.items, result.total, result.pages) == ([], 0, 1)
    video = [v for v in result.facets["kind"] if v.value == "video"]
    assert video == [FacetValue("video", "Video", 0, True)]


def test_pagination_clamps_to_the_last_page(db: Database) -> None:
    with db.write() as session:
        for n in range(PER_PAGE + 2):
            publish(session, add(session, f"p{n:02d}"), EDITOR, now=BASE + timedelta(minutes=n))
    with db.read() as session:
        first = browse(session, BrowseQuery())
        second = browse(session, BrowseQuery(page=2))
        beyond = browse(session, BrowseQuery(page=99))
        before = browse(session, BrowseQuery(page=0))
    assert (first.total, first.pages, len(first.items)) == (PER_PAGE + 2, 2, PER_PAGE)
    assert slugs(first.items)[0] == f"p{PER_PAGE + 1:02d}"
    assert slugs(second.items) == ["p01", "p00"]
    assert set(slugs(first.items)).isdisjoint(slugs(second.items))
    assert (beyond.query.page, slugs(beyond.items)) == (2, ["p01", "p00"])
    assert (before.query.page, slugs(before.items)) == (1, slugs(first.items))


def test_browse_query_url_round_trip() -> None:
    query = BrowseQuery(q="lead scoring & ROI", kind="ebook", stage="awareness", page=3)
    assert BrowseQuery().url() == "/library"
    assert query.url(kind=None) == "/library?q=lead+scoring+%26+ROI&stage=awareness"
    assert query.url(topic="abm") == (
        "/library?q=lead+scoring+%26+ROI&kind=ebook&stage=awareness&topic=abm"
    )
    paged = query.url(page=2)
    assert paged.endswith("&page=2")
    params = dict(parse_qsl(urlsplit(paged).query))
    assert BrowseQuery(**{**params, "page": int(params["page"])}) == replace_page(query, 2)


def replace_page(query: BrowseQuery, page: int) -> BrowseQuery:
    return BrowseQuery(query.q, query.kind, query.stage, query.topic, query.language, page)


def test_search_results_keep_their_rank_snippets_and_suggestion(
    db: Database, library: dict[str, int]
) -> None:
    asked: list[tuple[str, SearchFilters | None]] = []
    ranked = ["a7", "a2", "draft-one", "a4"]

    def search(q: str, filters: SearchFilters | None) -> SearchResults:
        asked.append((q, filters))
        hits = [
            SearchHit(library[slug], 1.0 / (i + 1), f"<mark>{slug}</mark>")
            for i, slug in enumerate(ranked)
        ]
        hits.append(SearchHit(999_999, 0.01, "gone"))
        return SearchResults(hits=hits, total=len(hits), suggestion="lead scoring")

    with db.read() as session:
        result = browse(session, BrowseQuery(q="lead scorng"), search=search)
        narrowed = browse(
            session, BrowseQuery(q="lead scorng", stage="consideration"), search=search
        )
    assert asked[0][0] == "lead scorng"
    assert slugs(result.items) == ["a7", "a2", "a4"]
    assert result.total == 3
    assert result.snippets[library["a7"]] == "<mark>a7</mark>"
    assert result.suggestion == "lead scoring"
    assert counts(result.facets["stage"]) == {"awareness": 1, "consideration": 2}
    assert slugs(narrowed.items) == ["a2", "a4"]
    assert counts(narrowed.facets["stage"]) == {"awareness": 1, "consideration": 2}


def test_blank_search_shows_everything(db: Database, library: dict[str, int]) -> None:
    def search(q: str, filters: SearchFilters | None) -> SearchResults:
        raise AssertionError("a blank query must not search")

    with db.read() as session:
        assert browse(session, BrowseQuery(q="   "), search=search).total == 10


def test_related_ranks_by_shared_topics(db: Database, library: dict[str, int]) -> None:
    with db.read() as session:
        a8 = session.get(Asset, library["a8"])
        assert a8 is not None
        assert slugs(catalog.related(session, a8)) == ["a4", "a1", "a10"]
        everything = slugs(catalog.related(session, a8, limit=20))
        a9 = session.get(Asset, library["a9"])
        assert a9 is not None
        assert catalog.related(session, a9) == []
    assert everything == ["a4", "a1", "a10", "a7", "a6", "a5", "a3", "a2"]


def test_home_sections_group_live_assets_by_stage(db: Database, library: dict[str, int]) -> None:
    with db.read() as session:
        home = catalog.home_sections(session)
    assert slugs(home.featured) == ["a5", "a10", "a9", "a8", "a7", "a6"]
    assert [(name, label, slugs(items)) for name, label, items in home.by_stage] == [
        ("awareness", "Getting started", ["a8", "a7", "a3"]),
        ("consideration", "Compare approaches", ["a10", "a4", "a2"]),
        ("decision", "Decide", ["a9", "a6", "a5"]),
    ]
    assert [(t.value, t.count) for t in home.topics] == [
        ("lead-scoring", 5), ("abm", 4), ("nurturing", 4)
    ]  # fmt: skip


def test_find_live_and_current_slug(db: Database, library: dict[str, int]) -> None:
    with db.write() as session:
        asset = session.get(Asset, library["a1"])
        assert asset is not None
        draft, _ = validate_draft(
            {"title": asset.title, "slug": "a1-renamed", "kind": asset.kind, "stage": asset.stage}
        )
        assert draft is not None
        save_asset(session, draft, EDITOR, asset)
    with db.read() as session:
        for slug in NEVER_LIVE:
            assert catalog.find_live(session, slug) is None
        assert catalog.find_live(session, "a1") is None
        renamed = catalog.find_live(session, "a1-renamed")
        assert renamed is not None
        assert catalog.current_slug(session, "a1") == "a1-renamed"
        assert catalog.current_slug(session, "never-existed") is None
        live_ids = set(session.scalars(select(Asset.id).where(catalog.live())))
    assert live_ids == {library[slug] for slug in LIBRARY}
