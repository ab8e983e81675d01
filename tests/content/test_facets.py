"""Library views counted in memory (``content.facets``) count what the database counts, and a
shelf kept from the change log holds what a fresh read holds, through publishing, unpublishing,
translating and editing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from content import catalog
from content.catalog import BrowseQuery, browse, browse_page
from content.editing import save_asset, validate_draft
from content.facets import Shelf, Snapshot, count_view, read_order, read_rows
from content.indexer import sync
from content.models import Asset, Status, Topic, asset_topic
from content.publishing import archive, publish, unpublish
from content.search.index import SearchIndex
from content.search.query import Found, SearchFilters
from content.translations import shown_in
from portal.db import Database
from tests.factories import make_asset

FACETS = ("kind", "stage", "topic", "language")
READERS = (None, "en", "de")


def sql_counts(session: Session, reader: str | None) -> dict[str, Counter[str | int]]:
    """Each facet's counts over the live assets a reader is shown, by GROUP BY in the database
    (the language facet without the one-version rule)."""
    live = Asset.status == Status.PUBLISHED.value
    one_each: list[ColumnElement[bool]] = [shown_in(session, reader)] if reader else []
    counts: dict[str, Counter[str | int]] = {}
    for name, column in (
        ("kind", Asset.kind),
        ("stage", Asset.stage),
        ("language", Asset.language),
    ):
        shown = [live, *(one_each if name != "language" else [])]
        rows = session.execute(select(column, func.count()).where(*shown).group_by(column))
        counts[name] = Counter({value: count for value, count in rows})
    topics = session.execute(
        select(asset_topic.c.topic_id, func.count())
        .join(Asset, Asset.id == asset_topic.c.asset_id)
        .where(live, *one_each)
        .group_by(asset_topic.c.topic_id)
    )
    counts["topic"] = Counter({topic_id: count for topic_id, count in topics})
    return counts


def memory_counts(snapshot: Snapshot, reader: str | None) -> dict[str, Counter[str | int]]:
    counts = count_view(snapshot, {}, reader, reader, None, FACETS).counts
    return {facet: Counter(values) for facet, values in counts.items()}


def assert_shelf_counts_as_the_database(db: Database, shelf: Shelf) -> None:
    with db.read() as session:
        head = catalog.content_version(session)
        kept = shelf.snapshot(session, head)
        assert kept.seq == head
        assert kept.rows == read_rows(session, None)  # the same as reading everything again
        assert list(kept.live_rows) == read_order(session)
        for reader in READERS:
            assert memory_counts(kept, reader) == sql_counts(session, reader), reader


def edit(db: Database, asset_id: int, **changes: object) -> None:
    with db.write() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        fields = {
            "title": asset.title, "slug": asset.slug, "kind": asset.kind, "stage": asset.stage,
            "language": asset.language, "topics": [t.slug for t in asset.topics], **changes,
        }  # fmt: skip
        draft, errors = validate_draft(fields)
        assert draft is not None, errors
        save_asset(session, draft, "editor@example.com", asset)


def test_a_kept_shelf_counts_as_the_database_through_every_kind_of_change(db: Database) -> None:
    guide = make_asset(db, slug="guide", language="en", kind="whitepaper", topics=["abm"])
    make_asset(db, slug="checklist", kind="checklist", stage="decision", topics=["abm", "crm"])
    draft = make_asset(db, slug="draft", published=False, topics=["crm"])
    shelf = Shelf()
    assert_shelf_counts_as_the_database(db, shelf)

    # translated, published, unpublished, archived, edited: each logs a change
    make_asset(db, slug="leitfaden", language="de", kind="whitepaper", translation_of="guide")
    make_asset(db, slug="artikel", language="de", topics=["crm", "nurturing"])
    with db.write() as session:
        publish(session, session.get_one(Asset, draft.id), "editor@example.com")
    assert_shelf_counts_as_the_database(db, shelf)

    with db.write() as session:
        unpublish(session, session.get_one(Asset, guide.id), "editor@example.com")
    assert_shelf_counts_as_the_database(db, shelf)
    edit(db, draft.id, kind="ebook", stage="consideration", topics=["nurturing"])
    with db.write() as session:
        checklist = session.scalars(select(Asset).where(Asset.slug == "checklist")).one()
        archive(session, checklist, "editor@example.com")
        publish(session, session.get_one(Asset, guide.id), "editor@example.com")
    assert_shelf_counts_as_the_database(db, shelf)


def test_a_view_of_a_shelf_equals_a_view_read_afresh(db: Database) -> None:
    for n in range(5):
        make_asset(
            db, slug=f"a{n}", kind=["ebook", "article"][n % 2], topics=["abm", "crm"][: n % 3]
        )
    shelf = Shelf()
    queries = [BrowseQuery(), BrowseQuery(kind="ebook"), BrowseQuery(topic="abm", reader="de")]
    with db.read() as session:
        for query in queries:
            assert browse_page(session, query, shelf=shelf) == browse_page(session, query)
    make_asset(db, slug="late", kind="ebook", topics=["abm"])
    with db.read() as session:
        kept = browse_page(session, BrowseQuery(kind="ebook"), shelf=shelf)
        assert kept == browse_page(session, BrowseQuery(kind="ebook"))
        assert kept.total == 4
        topics = dict(session.execute(select(Topic.slug, Topic.id)).all())
    assert "abm" in topics


@pytest.mark.parametrize("reader", READERS)
def test_an_unknown_topic_matches_nothing_and_stays_selected(
    db: Database, reader: str | None
) -> None:
    make_asset(db, slug="one", topics=["abm"])
    with db.read() as session:
        page = browse_page(session, BrowseQuery(topic="no-such-topic", reader=reader))
    assert (page.total, page.page_ids) == (0, [])
    assert [(v.value, v.count, v.selected) for v in page.facets["topic"]] == [
        ("abm", 1, False), ("no-such-topic", 0, True)
    ]  # fmt: skip


def test_a_search_page_is_what_the_thousand_snippets_gave_with_snippets_for_the_page_alone(
    db: Database, index: SearchIndex
) -> None:
    words = ["scoring", "pipeline", "webinar", "budget"]
    for n in range(catalog.PER_PAGE * 2 + 3):
        make_asset(
            db, slug=f"s{n}", title=f"{words[n % 4]} guide {n}", language=["en", "de"][n % 2],
            body=" ".join(words[: 1 + n % 4] * (1 + n % 3)), kind=["ebook", "article"][n % 2],
        )  # fmt: skip
    make_asset(db, slug="leitfaden", title="Scoring Leitfaden", language="de", translation_of="s0")
    with db.read() as session:
        sync(session, index)
    asked: list[list[int]] = []

    class Spy:
        """The index's ranking, noting which assets it is asked snippets for."""

        def __init__(self, found: Found) -> None:
            self.found = found
            self.asset_ids = found.asset_ids
            self.suggestion = found.suggestion

        def snippets(self, asset_ids: Collection[int]) -> dict[int, str]:
            asked.append(list(asset_ids))
            return self.found.snippets(asset_ids)

    def ranked(q: str, filters: SearchFilters | None) -> Found:
        return Spy(index.rank(q, filters))

    def thousand(q: str, filters: SearchFilters | None) -> Found:  # what the page asked before
        return index.search(q, filters, limit=1000)

    for query in [
        BrowseQuery(q="scoring budget"), BrowseQuery(q="scoring budget", page=2),
        BrowseQuery(q="pipeline", reader="de"), BrowseQuery(q="webinar", kind="ebook"),
        BrowseQuery(q="scorng"),
    ]:  # fmt: skip
        asked.clear()
        with db.read() as session:
            now = browse(session, query, ranked)
            before = browse(session, query, thousand)
        assert (now.items, now.total, now.snippets, now.suggestion) == (
            before.items, before.total, before.snippets, before.suggestion
        ), query  # fmt: skip
        assert asked == [[asset.id for asset in now.items]]  # the page shown, nothing else
        assert set(now.snippets) <= {asset.id for asset in now.items}
