"""Keeping the search index in step with the database through the content change log."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from content.indexer import backlog, catch_up, document_for, rebuild, record_change, sync
from content.models import Asset, ContentChange, Persona, Status, Topic
from content.orm import utcnow
from content.search.index import SearchIndex
from content.search.query import SearchFilters
from portal.background import Job, Runner
from portal.db import Database

REPO_ROOT = Path(__file__).resolve().parents[2]


def add_asset(
    db: Database,
    title: str,
    body: str = "",
    *,
    status: Status = Status.PUBLISHED,
    language: str = "en",
    topics: tuple[str, ...] = (),
    file_text: str = "",
) -> int:
    """An asset written straight to the database, with its change-log row."""
    with db.write() as session:
        asset = Asset(
            slug=f"asset-{time.perf_counter_ns()}",
            title=title,
            body=body,
            kind="whitepaper",
            stage="awareness",
            language=language,
            status=status.value,
            published_at=utcnow() if status == Status.PUBLISHED else None,
            file_text=file_text,
            topics=[_topic(session, slug) for slug in topics],
        )
        session.add(asset)
        session.flush()
        record_change(session, asset.id, "created")
        return asset.id


def _topic(session: Session, slug: str) -> Topic:
    existing = session.scalar(select(Topic).where(Topic.slug == slug))
    return existing or Topic(slug=slug, label=slug.title())


def set_status(db: Database, asset_id: int, status: Status) -> None:
    with db.write() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        asset.status = status.value
        asset.published_at = utcnow() if status == Status.PUBLISHED else asset.published_at
        record_change(session, asset_id, status.value)


def run_sync(db: Database, index: SearchIndex) -> int:
    with db.read() as session:
        return sync(session, index)


def found(index: SearchIndex, query: str, filters: SearchFilters | None = None) -> list[int]:
    return sorted(hit.asset_id for hit in index.search(query, filters).hits)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_published_asset_is_found_after_sync(db: Database, index: SearchIndex) -> None:
    first = add_asset(db, "Lead scoring playbook", "How to **score** leads.", topics=("scoring",))

    assert found(index, "scoring") == []
    assert run_sync(db, index) == 1
    assert found(index, "scoring", SearchFilters(topic="scoring")) == [first]

    second = add_asset(db, "Scoring webinar")  # caught up incrementally this time
    assert run_sync(db, index) == 1
    assert found(index, "scoring") == [first, second]
    with db.read() as session:
        assert index.last_seq() == session.scalar(select(func.max(ContentChange.seq)))


@pytest.mark.parametrize("status", [Status.DRAFT, Status.ARCHIVED, Status.SCHEDULED])
def test_an_asset_that_leaves_the_library_leaves_the_index(
    db: Database, index: SearchIndex, status: Status
) -> None:
    leaving = add_asset(db, "Attribution guide")
    staying = add_asset(db, "Attribution checklist")
    run_sync(db, index)

    set_status(db, leaving, status)
    assert run_sync(db, index) == 1

    assert found(index, "attribution") == [staying]
    assert index.doc_count() == 1


def test_a_deleted_asset_leaves_the_index(db: Database, index: SearchIndex) -> None:
    gone = add_asset(db, "Attribution guide")
    run_sync(db, index)
    with db.write() as session:
        session.execute(delete(Asset).where(Asset.id == gone))
        record_change(session, gone, "deleted")

    run_sync(db, index)

    assert found(index, "attribution") == []


def test_syncing_again_changes_nothing(db: Database, index: SearchIndex) -> None:
    add_asset(db, "Nurture tracks")
    assert run_sync(db, index) == 1
    position, count = index.last_seq(), index.doc_count()

    assert run_sync(db, index) == 0
    assert (index.last_seq(), index.doc_count()) == (position, count)


def test_replaying_changes_already_applied_is_harmless(db: Database, index: SearchIndex) -> None:
    asset = add_asset(db, "Nurture tracks")
    run_sync(db, index)
    set_status(db, asset, Status.DRAFT)
    set_status(db, asset, Status.PUBLISHED)
    run_sync(db, index)

    index.apply([], [], last_seq=1)  # as if the last round's position had not been saved
    run_sync(db, index)

    assert found(index, "nurture") == [asset]
    assert index.doc_count() == 1


def test_a_draft_never_enters_the_index(db: Database, index: SearchIndex) -> None:
    draft = add_asset(db, "Secret pricing", status=Status.DRAFT)
    add_asset(db, "Public pricing")
    run_sync(db, index)
    with db.write() as session:
        asset = session.get(Asset, draft)
        assert asset is not None
        asset.title = "Secret pricing, revised"
        record_change(session, draft, "edited")
    run_sync(db, index)

    assert len(found(index, "pricing")) == 1
    assert found(index, "secret") == []
    assert index.search("secrt").suggestion is None


def test_an_edit_is_reindexed(db: Database, index: SearchIndex) -> None:
    asset = add_asset(db, "Lead routing")
    run_sync(db, index)
    with db.write() as session:
        row = session.get(Asset, asset)
        assert row is not None
        row.title = "Territory planning"
        record_change(session, asset, "edited")

    run_sync(db, index)

    assert found(index, "routing") == []
    assert found(index, "territory") == [asset]


def test_german_assets_are_stemmed_as_german(db: Database, index: SearchIndex) -> None:
    german = add_asset(db, "Leitfaden für Einkäufer", language="de")
    add_asset(db, "Buyer guide", language="en")
    run_sync(db, index)

    assert found(index, "Leitfäden") == [german]
    assert found(index, "leitfaden", SearchFilters(language="en")) == []


def test_pdf_text_is_searchable(db: Database, index: SearchIndex) -> None:
    asset = add_asset(db, "Datasheet", file_text="Appendix on pipeline velocity.")
    run_sync(db, index)

    assert found(index, "velocity") == [asset]


def test_two_indexes_on_one_database_both_catch_up(db: Database, tmp_path: Path) -> None:
    node_a = SearchIndex(tmp_path / "node-a")
    node_b = SearchIndex(tmp_path / "node-b")
    add_asset(db, "Intent data primer")
    run_sync(db, node_a)
    run_sync(db, node_b)

    new = add_asset(db, "Intent signals webinar")
    run_sync(db, node_a)
    assert found(node_a, "signals") == [new]
    assert found(node_b, "signals") == []  # each node has its own index

    run_sync(db, node_b)
    assert found(node_b, "signals") == [new]


def test_another_process_catches_up_on_its_own_index(db: Database, tmp_path: Path) -> None:
    add_asset(db, "Account-based marketing")
    run_sync(db, SearchIndex(tmp_path / "this-process"))
    new = add_asset(db, "Account-based advertising")
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from content.indexer import sync
        from content.search.index import SearchIndex
        from portal.db import Database

        database = Database(sys.argv[1])
        with database.read() as session:
            print(sync(session, SearchIndex(Path(sys.argv[2]))))
        database.dispose()
        """
    )
    other_dir = tmp_path / "other-process"

    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            db.url.render_as_string(hide_password=False),
            str(other_dir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "2"
    assert found(SearchIndex(other_dir), "advertising") == [new]


def test_sync_skips_a_round_while_another_writer_holds_the_index(
    db: Database, tmp_path: Path
) -> None:
    asset = add_asset(db, "Churn signals")
    holder = SearchIndex(tmp_path / "index")
    syncer_view = SearchIndex(tmp_path / "index")

    with holder.writer_lock() as mine:
        assert mine
        assert run_sync(db, syncer_view) == 0
    assert found(syncer_view, "churn") == []

    assert run_sync(db, syncer_view) == 1
    assert found(holder, "churn") == [asset]


def test_a_change_committed_late_is_not_skipped(db: Database, index: SearchIndex) -> None:
    """A slow transaction that logged its change first must not be overtaken by a faster one."""
    run_sync(db, index)
    second_done = threading.Event()
    second: list[int] = []

    def publish_second() -> None:
        second.append(add_asset(db, "Second forecast"))
        second_done.set()

    with db.write() as session:
        slow = Asset(slug="slow", title="First forecast", kind="ebook", stage="decision")
        slow.status, slow.published_at = Status.PUBLISHED.value, utcnow()
        session.add(slow)
        session.flush()
        record_change(session, slow.id, "created")
        other = threading.Thread(target=publish_second)
        other.start()
        # The second writer must wait for this transaction, whatever the backend.
        assert not second_done.wait(0.5)
        run_sync(db, index)
        assert found(index, "forecast") == []
    other.join(30)

    run_sync(db, index)

    assert found(index, "forecast") == sorted([slow.id, *second])


def test_rebuild_indexes_every_live_asset_and_reports_progress(
    db: Database, index: SearchIndex
) -> None:
    live = [add_asset(db, f"Benchmark report {n}") for n in range(3)]
    add_asset(db, "Benchmark draft", status=Status.DRAFT)
    index.apply([], [], last_seq=10_000)  # an index ahead of a restored database
    steps: list[tuple[int, int]] = []

    with db.read() as session:
        assert (
            rebuild(session, index, progress=lambda done, total: steps.append((done, total))) == 3
        )

    assert found(index, "benchmark") == live
    assert steps[-1] == (3, 3)
    assert index.last_seq() < 10_000


def test_an_index_ahead_of_the_log_is_rebuilt(db: Database, index: SearchIndex) -> None:
    asset = add_asset(db, "Restored from backup")
    index.apply([], [], last_seq=10_000)

    run_sync(db, index)

    assert found(index, "restored") == [asset]


def test_document_for_gives_plain_text_and_slugs(db: Database) -> None:
    with db.write() as session:
        asset = Asset(
            slug="guide",
            title="Guide",
            body="## Why\n\nRead **this** [now](https://example.com).",
            kind="ebook",
            stage="consideration",
            language="de",
            topics=[Topic(slug="lead-scoring", label="Lead scoring")],
            personas=[Persona(slug="cmo", label="CMO")],
        )
        session.add(asset)
        session.flush()

        document = document_for(asset)

    assert document.body_text == "Why\n\nRead this now."
    assert document.topics == ("lead-scoring",)
    assert document.personas == ("cmo",)
    assert (document.kind, document.stage, document.language) == ("ebook", "consideration", "de")


def test_catch_up_applies_the_changes_and_says_what_it_did(
    db: Database, index: SearchIndex
) -> None:
    asset = add_asset(db, "Demand generation")
    with db.read() as session:
        waiting, oldest = backlog(session, index)
    assert waiting >= 1
    assert oldest is not None

    said = catch_up(db, index)

    assert said == f"1 asset(s) indexed, up to change {index.last_seq()}"
    assert found(index, "demand") == [asset]
    assert catch_up(db, index) is None  # nothing new
    with db.read() as session:
        assert backlog(session, index) == (0, None)


def test_the_search_index_job_keeps_going_after_a_failed_pass(db: Database, tmp_path: Path) -> None:
    class FlakyDatabase:
        def __init__(self) -> None:
            self.rounds = 0

        def read(self) -> AbstractContextManager[Session]:
            self.rounds += 1
            if self.rounds == 1:
                raise ConnectionError("database restarting")
            return db.read()

        def write(self) -> AbstractContextManager[Session]:
            return db.write()

    index = SearchIndex(tmp_path / "index")
    asset = add_asset(db, "Retention playbook")
    flaky = FlakyDatabase()
    runner = Runner([Job("search-index", 0.05, lambda _: catch_up(flaky, index))])
    runner.start()
    try:
        assert wait_until(lambda: found(index, "retention") == [asset])
    finally:
        runner.stop()

    state = runner.state("search-index")
    assert state.last_error is not None
    assert "database restarting" in state.last_error
    assert state.failures == 0  # the later passes succeeded
    assert state.passes >= 2
