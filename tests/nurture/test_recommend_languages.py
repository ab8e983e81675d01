"""Recommendations in the reader's language (plain data): one version of each piece, the
reader's language first within a stage, the other language only to fill, a piece read in one
language read in all; and a job title matches a persona's label in either language."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from content.models import Persona
from nurture.ranking import (
    Audience,
    Candidate,
    Read,
    ReaderContext,
    personas_from_title,
    rank,
    versions_for,
)
from nurture.recommendations import load_catalog
from portal.db import Database
from tests.factories import make_asset
from tracking.rules.config import Model

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MODEL = Model()


def asset(slug: str, language: str = "en", piece: str = "", **fields: object) -> Candidate:
    values: dict[str, object] = {
        "title": slug,
        "kind": "article",
        "stage": "awareness",
        "published_at": NOW - timedelta(days=300),
        **fields,
    }
    return Candidate(slug=slug, language=language, piece=piece, **values)  # type: ignore[arg-type]


GUIDE = asset("guide")
LEITFADEN = asset("leitfaden", "de", piece="guide")
CHECKLIST = asset("checklist", kind="checklist")
WEBINAR_DE = asset("webinar-de", "de", kind="webinar")
LIBRARY = [GUIDE, LEITFADEN, CHECKLIST, WEBINAR_DE]


def slugs(found: list) -> list[str]:  # type: ignore[type-arg]
    return [r.slug for r in found]


def test_a_german_reader_gets_the_german_version_and_german_first() -> None:
    found = rank(LIBRARY, ReaderContext("awareness", language="de"), Audience(), MODEL, NOW, 5)
    assert slugs(found) == ["leitfaden", "webinar-de", "checklist"]
    assert [r.language for r in found] == ["de", "de", "en"]


def test_an_english_reader_gets_the_original_and_english_first() -> None:
    found = rank(LIBRARY, ReaderContext("awareness", language="en"), Audience(), MODEL, NOW, 5)
    assert slugs(found) == ["checklist", "guide", "webinar-de"]


def test_without_a_language_each_piece_is_offered_once_as_its_original() -> None:
    found = rank(LIBRARY, ReaderContext("awareness"), Audience(), MODEL, NOW, 5)
    assert sorted(slugs(found)) == ["checklist", "guide", "webinar-de"]


def test_a_piece_read_in_one_language_is_read_in_all() -> None:
    reader = ReaderContext("awareness", consumed=frozenset({"guide"}), language="de")
    assert "leitfaden" not in slugs(rank(LIBRARY, reader, Audience(), MODEL, NOW, 5))
    reader = ReaderContext("awareness", reads=(Read("leitfaden", "Leitfaden", 3.0),), language="en")
    assert "guide" not in slugs(rank(LIBRARY, reader, Audience(), MODEL, NOW, 5))


def test_the_reader_language_comes_first_within_a_stage_not_before_a_better_stage() -> None:
    decision_de = asset("entscheidung", "de", stage="decision")
    awareness_en = asset("basics", stage="awareness")
    found = rank(
        [decision_de, awareness_en],
        ReaderContext("awareness", language="de"),
        Audience(),
        MODEL,
        NOW,
        2,
    )
    assert slugs(found) == ["basics", "entscheidung"]  # a fitting stage beats the language


def test_a_reason_is_said_in_marked_words() -> None:
    reader = ReaderContext(
        "awareness", reads=(Read("basics", "Basics", 5.0, ("scoring",)),), language="de"
    )
    found = rank(
        [asset("scoring-de", "de", topics=("scoring",))], reader, Audience(), MODEL, NOW, 1
    )
    assert found[0].why.text == "Because you read '%(title)s'"
    assert found[0].why.values == {"title": "Basics"}
    assert found[0].reason == "Because you read 'Basics'"


@pytest.mark.parametrize("language", ["en", "de", "fr", None])
def test_every_order_of_the_library_gives_one_version_per_unread_piece(
    language: str | None,
) -> None:
    for order in itertools.permutations(LIBRARY):
        for consumed in (frozenset(), frozenset({"leitfaden"}), frozenset({"checklist"})):
            kept = versions_for(list(order), language, consumed)
            pieces = [c.original for c in kept]
            assert len(pieces) == len(set(pieces))
            read = {c.original for c in LIBRARY if c.slug in consumed}
            assert set(pieces) == {c.original for c in LIBRARY} - read
            for candidate in kept:
                wanted = [c for c in LIBRARY if c.original == candidate.original]
                if any(c.language == language for c in wanted):
                    assert candidate.language == language
                else:
                    assert candidate.slug == candidate.original  # the original


def test_a_german_job_title_matches_a_personas_german_label(db: Database) -> None:
    make_asset(db, personas=["sales-leader"])
    with db.write() as session:
        session.execute(
            update(Persona)
            .where(Persona.slug == "sales-leader")
            .values(labels={"de": "Vertriebsleitung"})
        )
    with db.read() as session:
        labels = load_catalog(session).persona_labels
    assert personas_from_title("Leiter Vertrieb DACH", labels) == {"sales-leader": 1.0}
    assert personas_from_title("Head of Sales", labels) == {"sales-leader": 1.0}
