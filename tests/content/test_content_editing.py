"""Editing assets: validation, slugs and aliases, revisions, and the publishing workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from content import catalog
from content.editing import AssetDraft, ContentError, save_asset, validate_draft
from content.models import Asset, AssetRevision, ContentChange, Persona, Status, Topic
from content.publishing import SCHEDULER, archive, publish, publish_due, schedule, unpublish
from portal.db import Database

EDITOR = "editor@example.com"


def values(**overrides: Any) -> dict[str, Any]:
    return {"title": "Lead scoring guide", "kind": "whitepaper", "stage": "awareness"} | overrides


def make_draft(**overrides: Any) -> AssetDraft:
    draft, errors = validate_draft(values(**overrides))
    assert errors == {}
    assert draft is not None
    return draft


def create(db: Database, **overrides: Any) -> int:
    with db.write() as session:
        return save_asset(session, make_draft(**overrides), EDITOR).id


def load(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    assert asset is not None
    return asset


def edit(db: Database, asset_id: int, author: str = EDITOR, **overrides: Any) -> Asset:
    with db.write() as session:
        return save_asset(session, make_draft(**overrides), author, load(session, asset_id))


def step(db: Database, asset_id: int, action: Callable[[Session, Asset], object]) -> None:
    """One workflow action in its own transaction, as an editor's click would run it."""
    with db.write() as session:
        action(session, load(session, asset_id))


def revisions(session: Session, asset_id: int) -> list[AssetRevision]:
    statement = select(AssetRevision).where(AssetRevision.asset_id == asset_id)
    return list(session.scalars(statement.order_by(AssetRevision.number)))


# --- validation (pure) ---


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": ""}, "title", "title"),
        ({"title": "   "}, "title", "title"),
        ({"title": "x" * 201}, "title", "201"),
        ({"kind": "podcast"}, "kind", "'podcast'"),
        ({"kind": ""}, "kind", "Whitepaper"),
        ({"stage": "nurture"}, "stage", "'nurture'"),
        ({"gate": "locked"}, "gate", "'locked'"),
        ({"language": "fr"}, "language", "'fr'"),
        ({"slug": "Hello World"}, "slug", "hello-world"),
        ({"slug": "guide_2026"}, "slug", "guide-2026"),
        ({"kind": "webinar"}, "webinar_starts_at", "start"),
        ({"kind": "video"}, "video_url", "URL"),
        ({"kind": "video", "video_url": "http://example.com/v"}, "video_url", "https://"),
        ({"kind": "video", "video_url": "javascript:alert(1)"}, "video_url", "https://"),
        ({"kind": "video", "video_url": "https:///no-host"}, "video_url", "https://"),
        ({"recording_url": "ftp://example.com/rec.mp4"}, "recording_url", "https://"),
        ({"kind": "webinar", "webinar_starts_at": "next tuesday"}, "webinar_starts_at", "2027"),
        ({"kind": "webinar", "webinar_starts_at": "2027-02-30T10:00"}, "webinar_starts_at", "2027"),
        (
            {
                "kind": "webinar",
                "webinar_starts_at": "2027-02-10T16:00",
                "timezone": "Mars/Olympus",
            },
            "timezone",
            "Mars/Olympus",
        ),
        (
            {"kind": "webinar", "webinar_starts_at": "2027-02-10T16:00", "timezone": "../../etc/x"},
            "timezone",
            "../../etc/x",
        ),
        ({"webinar_duration_minutes": "an hour"}, "webinar_duration_minutes", "whole number"),
        ({"webinar_duration_minutes": "2"}, "webinar_duration_minutes", "5 to 600"),
        ({"summary": "s" * 601}, "summary", "601"),
    ],
)
def test_invalid_values_are_reported_by_field(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    draft, errors = validate_draft(values(**overrides))
    assert draft is None
    assert field in errors
    assert words in str(errors[field])


def test_all_errors_are_reported_at_once() -> None:
    draft, errors = validate_draft({"title": "", "kind": "podcast", "stage": "x"})
    assert draft is None
    assert set(errors) == {"title", "kind", "stage"}


def test_naive_webinar_time_is_read_in_the_given_timezone_and_kept_in_utc(db: Database) -> None:
    draft = make_draft(
        kind="webinar", webinar_starts_at="2027-02-10T16:00", timezone="Europe/Berlin"
    )
    expected = datetime(2027, 2, 10, 15, 0, tzinfo=UTC)
    assert draft.webinar_starts_at == expected
    assert draft.webinar_duration_minutes == 45
    with db.write() as session:
        asset_id = save_asset(session, draft, EDITOR).id
    with db.read() as session:
        stored = session.get(Asset, asset_id)
        assert stored is not None
        assert stored.webinar_starts_at == expected


def test_summer_time_and_explicit_offsets() -> None:
    summer = make_draft(
        kind="webinar", webinar_starts_at="2027-07-01T16:00", timezone="Europe/Berlin"
    )
    assert summer.webinar_starts_at == datetime(2027, 7, 1, 14, 0, tzinfo=UTC)
    offset = make_draft(kind="webinar", webinar_starts_at="2027-07-01T16:00+02:00", timezone="UTC")
    assert offset.webinar_starts_at == datetime(2027, 7, 1, 14, 0, tzinfo=UTC)


def test_valid_form_values_are_cleaned() -> None:
    draft = make_draft(
        title="  Lead   scoring\r\nguide ",
        body="line one\r\nline two",
        topics="Lead Scoring, ABM, lead-scoring",
        featured="on",
        kind="video",
        video_url="https://video.example.com/embed/1",
    )
    assert draft.title == "Lead scoring guide"
    assert draft.body == "line one\nline two"
    assert draft.topics == ("Lead Scoring", "ABM")  # as written, one per slug (a new label)
    assert draft.featured is True
    assert (draft.gate, draft.language) == ("open", "en")


# --- saving ---


def test_create_derives_slug_and_records_revision_one(db: Database) -> None:
    first = create(
        db, title="Leitfäden für B2B", topics=["lead-scoring"], personas=["marketing-ops"]
    )
    second = create(db, title="Leitfäden für B2B")
    with db.read() as session:
        asset = load(session, first)
        assert asset.slug == "leitfaeden-fuer-b2b"
        assert asset.status == Status.DRAFT.value
        assert load(session, second).slug == "leitfaeden-fuer-b2b-2"
        (revision,) = revisions(session, first)
        assert (revision.number, revision.action, revision.author) == (1, "created", EDITOR)
        assert [t.slug for t in session.scalars(select(Topic))] == ["lead-scoring"]
        assert [(p.slug, p.label) for p in session.scalars(select(Persona))] == [
            ("marketing-ops", "Marketing ops")
        ]


def test_editing_the_title_keeps_the_slug(db: Database) -> None:
    asset_id = create(db, title="Old title")
    assert edit(db, asset_id, title="A much better title").slug == "old-title"


def test_changing_the_slug_keeps_the_old_one_as_an_alias(db: Database) -> None:
    asset_id = create(db, title="Lead scoring guide")
    edit(db, asset_id, slug="lead-scoring-buyers-guide")
    with db.read() as session:
        assert catalog.current_slug(session, "lead-scoring-guide") == "lead-scoring-buyers-guide"
    with pytest.raises(ContentError) as caught, db.write() as session:
        save_asset(session, make_draft(title="Another", slug="lead-scoring-guide"), EDITOR)
    assert "slug" in caught.value.errors
    # A new asset with the same title does not take over the old address either.
    with db.write() as session:
        other = save_asset(session, make_draft(title="Lead scoring guide"), EDITOR)
        assert other.slug == "lead-scoring-guide-2"


def test_taking_back_a_former_slug_removes_the_alias(db: Database) -> None:
    asset_id = create(db, title="First name")
    edit(db, asset_id, slug="second-name")
    assert edit(db, asset_id, slug="first-name").slug == "first-name"
    with db.read() as session:
        assert catalog.current_slug(session, "first-name") is None
        assert catalog.current_slug(session, "second-name") == "first-name"


def test_slug_of_another_asset_is_refused(db: Database) -> None:
    create(db, title="Taken")
    other = create(db, title="Other")
    with pytest.raises(ContentError) as caught:
        edit(db, other, title="Other", slug="taken")
    assert "taken" in str(caught.value.errors["slug"])


def test_revisions_list_changed_fields_with_old_and_new_values(db: Database) -> None:
    asset_id = create(db, title="Guide", topics=["lead-scoring"], gate="open")
    edit(
        db,
        asset_id,
        "other@example.com",
        title="Guide v2",
        topics=["lead-scoring", "abm"],
        gate="gated",
    )
    with db.read() as session:
        latest = revisions(session, asset_id)[-1]
    assert (latest.number, latest.action, latest.author) == (2, "edited", "other@example.com")
    assert latest.changes["title"] == ["Guide", "Guide v2"]
    assert latest.changes["gate"] == ["open", "gated"]
    old_topics, new_topics = latest.changes["topics"]
    assert (old_topics, sorted(new_topics)) == (["lead-scoring"], ["abm", "lead-scoring"])
    assert set(latest.changes) == {"title", "gate", "topics"}


def test_a_save_without_changes_adds_no_revision(db: Database) -> None:
    fields = {"title": "Same", "topics": ["abm", "lead-scoring"], "body": "Hello *world*"}
    asset_id = create(db, **fields)
    edit(db, asset_id, **fields)
    with db.read() as session:
        assert [r.number for r in revisions(session, asset_id)] == [1]


# --- publishing ---

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def publish_now(session: Session, asset: Asset) -> None:
    publish(session, asset, EDITOR, now=NOW)


def test_publish_sets_the_date_and_makes_it_live(db: Database) -> None:
    step(db, create(db, title="Go live"), publish_now)
    with db.read() as session:
        live = catalog.find_live(session, "go-live")
        assert live is not None
        assert (live.status, live.published_at) == ("published", NOW)


def test_schedule_in_the_past_is_refused(db: Database) -> None:
    asset_id = create(db, title="Too late")
    past = NOW - timedelta(minutes=1)
    with pytest.raises(ContentError) as caught:
        step(db, asset_id, lambda s, a: schedule(s, a, past, EDITOR, now=NOW))
    assert "publish_at" in caught.value.errors
    with db.read() as session:
        assert load(session, asset_id).status == "draft"


def test_scheduled_asset_goes_live_when_due(db: Database) -> None:
    asset_id = create(db, title="Launch")
    at = NOW + timedelta(days=1)
    step(db, asset_id, lambda s, a: schedule(s, a, at, EDITOR, now=NOW))
    with db.write() as session:
        assert publish_due(session, now=at - timedelta(seconds=1)) == []
    with db.read() as session:
        assert catalog.find_live(session, "launch") is None
    with db.write() as session:
        assert publish_due(session, now=at + timedelta(seconds=1)) == ["launch"]
    with db.read() as session:
        live = catalog.find_live(session, "launch")
        assert live is not None
        assert live.published_at == at
        latest = revisions(session, asset_id)[-1]
        assert (latest.author, latest.action) == (SCHEDULER, "published")
        assert latest.changes["status"] == ["scheduled", "published"]
    with db.write() as session:
        assert publish_due(session, now=at + timedelta(days=1)) == []


@pytest.mark.parametrize(("retire", "status"), [(unpublish, "draft"), (archive, "archived")])
def test_unpublish_and_archive_hide_from_the_library(
    db: Database, retire: Any, status: str
) -> None:
    asset_id = create(db, title="Retire me")
    step(db, asset_id, publish_now)
    step(db, asset_id, lambda s, a: retire(s, a, EDITOR))
    with db.read() as session:
        assert catalog.find_live(session, "retire-me") is None
        assert load(session, asset_id).status == status


def test_every_transition_is_logged_in_order(db: Database) -> None:
    asset_id = create(db, title="Busy")
    step(db, asset_id, publish_now)
    step(db, asset_id, publish_now)  # already live: no change, no log row
    step(db, asset_id, lambda s, a: unpublish(s, a, EDITOR))
    step(db, asset_id, lambda s, a: schedule(s, a, NOW + timedelta(days=2), EDITOR, now=NOW))
    step(db, asset_id, lambda s, a: archive(s, a, EDITOR))
    expected = ["created", "published", "draft", "scheduled", "archived"]
    with db.read() as session:
        logged = list(session.scalars(select(ContentChange).order_by(ContentChange.seq)))
        assert [r.action for r in revisions(session, asset_id)] == expected
    assert [row.action for row in logged] == expected
    assert {row.asset_id for row in logged} == {asset_id}
    seqs = [row.seq for row in logged]
    assert seqs == sorted(set(seqs))


def test_republishing_keeps_the_first_publication_date(db: Database) -> None:
    asset_id = create(db, title="Evergreen")
    step(db, asset_id, publish_now)
    step(db, asset_id, lambda s, a: archive(s, a, EDITOR))
    step(db, asset_id, lambda s, a: publish(s, a, EDITOR, now=NOW + timedelta(days=30)))
    with db.read() as session:
        assert load(session, asset_id).published_at == NOW
