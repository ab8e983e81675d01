"""Translations: which links the editor may make, and which version of a piece a reader sees."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from content import translations
from content.editing import ContentError, save_asset, validate_draft
from content.models import Asset
from content.publishing import archive, publish
from content.translations import (
    Version,
    hidden_versions,
    language_problem,
    link_problem,
    one_per_piece,
)
from portal.db import Database
from tests.factories import make_asset

EN = Version(1, "Lead scoring explained", "en")
DE = Version(2, "Lead-Scoring erklärt", "de")
DE_OTHER = Version(3, "Noch ein deutscher Leitfaden", "de")


def said(problem: object) -> str:
    assert problem is not None
    return str(problem)


# --- the rules of a link (pure) ----------------------------------------------------------------


def test_a_german_asset_may_translate_an_english_original() -> None:
    assert link_problem(DE, EN) is None
    assert link_problem(Version(None, "New", "de"), EN) is None  # a new asset, not saved yet


def test_an_asset_is_no_translation_of_itself() -> None:
    assert "itself" in said(link_problem(EN, EN))


def test_a_translation_is_in_another_language_than_its_original() -> None:
    problem = said(link_problem(DE_OTHER, DE))
    assert "“Lead-Scoring erklärt”" in problem
    assert "another language" in problem


def test_no_chains_link_to_the_first_original() -> None:
    translated = Version(2, "Lead-Scoring erklärt", "de", translation_of_id=1)
    french = Version(4, "Le lead scoring", "fr")
    problem = said(link_problem(french, translated, root=EN))
    assert problem == (
        "“Lead-Scoring erklärt” is itself a translation of “Lead scoring explained”: "
        "link to that one."
    )
    assert "its original" in said(link_problem(french, translated))


def test_an_original_with_translations_cannot_become_a_translation() -> None:
    original = Version(5, "Scoring guide", "en")
    problem = said(
        link_problem(original, Version(6, "Ein anderer Leitfaden", "de"), own_translations=[DE])
    )
    assert "“Lead-Scoring erklärt” translates this asset" in problem


def test_one_translation_per_language() -> None:
    problem = said(link_problem(DE_OTHER, EN, siblings=[DE]))
    assert problem == (
        "“Lead scoring explained” already has a translation in this language: "
        "“Lead-Scoring erklärt”."
    )
    # the translation itself, saved again, is no clash with itself
    assert link_problem(DE, EN, siblings=[DE]) is None


def test_an_original_keeps_a_language_none_of_its_translations_has() -> None:
    assert language_problem(EN, [DE]) is None
    problem = said(language_problem(Version(1, "Lead scoring explained", "de"), [DE]))
    assert "“Lead-Scoring erklärt” translates this asset" in problem


@pytest.mark.parametrize(
    ("asset", "original", "own", "siblings"),
    list(
        itertools.product(
            [EN, DE, DE_OTHER, Version(None, "Neu", "de")],
            [EN, DE, Version(7, "Übersetzt", "de", translation_of_id=1)],
            [(), (Version(8, "Traduit", "fr"),)],
            [(), (DE,)],
        )
    ),
)
def test_every_combination_is_allowed_only_when_no_rule_refuses(
    asset: Version, original: Version, own: tuple[Version, ...], siblings: tuple[Version, ...]
) -> None:
    """Exhaustively: a link is refused exactly when one of the five rules says so."""
    refused = (
        (asset.id is not None and asset.id == original.id)
        or original.translation_of_id is not None
        or bool(own)
        or asset.language == original.language
        or any(s.language == asset.language and s.id != asset.id for s in siblings)
    )
    problem = link_problem(asset, original, own_translations=own, siblings=siblings)
    assert (problem is not None) == refused, (asset, original, own, siblings, problem)


@dataclass(frozen=True)
class Card:
    slug: str
    language: str
    piece: str


def test_a_reader_sees_one_version_of_each_piece_in_their_language_else_the_original() -> None:
    shown = [
        Card("guide", "en", "guide"),
        Card("leitfaden", "de", "guide"),
        Card("checklist", "en", "checklist"),
        Card("webinar-de", "de", "webinar-de"),
    ]
    assert [c.slug for c in one_per_piece(shown, "de")] == [
        "leitfaden",
        "checklist",
        "webinar-de",
    ]
    assert [c.slug for c in one_per_piece(shown, "en")] == ["guide", "checklist", "webinar-de"]
    # no language known: the first of each piece in the order given
    assert [c.slug for c in one_per_piece(shown, None)] == ["guide", "checklist", "webinar-de"]


def test_one_version_per_piece_for_every_order_and_language() -> None:
    cards = [
        Card("a-en", "en", "a"),
        Card("a-de", "de", "a"),
        Card("b-en", "en", "b"),
        Card("c-de", "de", "c"),
    ]
    for order in itertools.permutations(cards):
        for language in ("en", "de", "fr", None):
            kept = one_per_piece(order, language)
            assert sorted(c.piece for c in kept) == ["a", "b", "c"]
            assert [c for c in order if c in kept] == kept  # the order is kept
            wanted = {c.piece for c in order if c.language == language}
            assert all(c.language == language for c in kept if c.piece in wanted)


def test_the_versions_hidden_from_a_reader_are_the_other_languages_of_their_pieces() -> None:
    # (id, original, language): 1 en original with 2 de; 3 de original with 4 en; 5 en alone
    live = [(1, None, "en"), (2, 1, "de"), (3, None, "de"), (4, 3, "en"), (5, None, "en")]
    assert hidden_versions(live, "de") == {1, 4}
    assert hidden_versions(live, "en") == {2, 3}
    assert hidden_versions(live, "fr") == set()
    for dropped in range(len(live)):  # a version not live hides nothing and is hidden by none
        rest = live[:dropped] + live[dropped + 1 :]
        for language in ("en", "de"):
            hidden = hidden_versions(rest, language)
            shown = [v for v in rest if v[0] not in hidden]
            pieces = [original or i for i, original, _ in shown]
            assert len(pieces) == len(set(pieces)) == len({o or i for i, o, _ in rest})
            for i, original, lang in shown:
                same = [v for v in rest if (v[1] or v[0]) == (original or i)]
                assert lang == language or all(v[2] != language for v in same)


# --- links saved with the asset (both backends) ------------------------------------------------


def _get(db: Database, asset_id: int) -> Asset:
    with db.read() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        session.expunge(asset)
        return asset


def _edit(db: Database, asset: Asset, **changes: object) -> None:
    values = {
        "title": asset.title,
        "kind": asset.kind,
        "stage": asset.stage,
        "language": asset.language,
        **changes,
    }
    draft, errors = validate_draft(values)
    assert draft is not None, errors
    with db.write() as session:
        save_asset(session, draft, "editor@example.com", session.get(Asset, asset.id))


def test_an_asset_is_linked_to_its_original_and_unlinked(db: Database) -> None:
    original = make_asset(db, title="Lead scoring explained", language="en")
    german = make_asset(
        db, title="Lead-Scoring erklärt", language="de", translation_of=original.slug
    )
    with db.read() as session:
        assert session.get(Asset, german.id).translation_of_id == original.id  # type: ignore[union-attr]
        assert [a.slug for a in translations.versions(session, original)] == [german.slug]
        assert [a.slug for a in translations.versions(session, german)] == [original.slug]
        originals = [a.slug for a in translations.originals(session)]
        assert original.slug in originals
        assert german.slug not in originals  # a translation is never offered as an original
    _edit(db, german, translation_of="")
    assert _get(db, german.id).translation_of_id is None
    with db.read() as session:
        assert translations.versions(session, original) == []


def test_a_refused_link_changes_nothing(db: Database) -> None:
    original = make_asset(db, title="Lead scoring explained", language="en")
    make_asset(db, title="Lead-Scoring erklärt", language="de", translation_of=original.slug)
    second = make_asset(db, title="Noch ein Leitfaden", language="de")
    with pytest.raises(ContentError) as caught:
        _edit(db, second, translation_of=original.slug, title="Renamed")
    assert "already has a translation in this language" in str(
        caught.value.errors["translation_of"]
    )
    with db.read() as session:
        kept = session.get(Asset, second.id)
        assert kept is not None
        assert (kept.title, kept.translation_of_id) == ("Noch ein Leitfaden", None)


def test_an_unknown_original_is_named(db: Database) -> None:
    asset = make_asset(db, language="de")
    with pytest.raises(ContentError) as caught:
        _edit(db, asset, translation_of="no-such-guide")
    assert str(caught.value.errors["translation_of"]) == (
        "No asset has the address 'no-such-guide'."
    )


def test_a_translation_cannot_take_its_originals_language(db: Database) -> None:
    original = make_asset(db, language="en")
    german = make_asset(db, language="de", translation_of=original.slug)
    with pytest.raises(ContentError) as caught:
        _edit(db, german, language="en")  # an import without translation_of keeps the link
    assert "in the language chosen here" in str(caught.value.errors["translation_of"])
    with pytest.raises(ContentError) as caught:
        _edit(db, original, language="de")
    assert "translates this asset into the language chosen here" in str(
        caught.value.errors["translation_of"]
    )


def test_the_link_is_kept_in_the_history(db: Database) -> None:
    original = make_asset(db, language="en")
    german = make_asset(db, language="de")
    _edit(db, german, translation_of=original.slug)
    with db.read() as session:
        asset = session.get(Asset, german.id)
        assert asset is not None
        assert asset.revisions[0].changes["translation_of_id"] == [None, original.id]


def test_a_reader_of_each_language_is_shown_one_live_version_per_piece(db: Database) -> None:
    guide = make_asset(db, title="Guide", language="en")
    leitfaden = make_asset(db, title="Leitfaden", language="de", translation_of=guide.slug)
    checklist = make_asset(db, title="Checklist", language="en")
    webinar = make_asset(db, title="Webinar", language="de")
    draft_de = make_asset(
        db, title="Checkliste", language="de", translation_of=checklist.slug, published=False
    )

    def shown(language: str) -> list[str]:
        with db.read() as session:
            rows = session.scalars(
                select(Asset.title)
                .where(translations.live(), translations.shown_in(session, language))
                .order_by(Asset.id)
            )
            return list(rows)

    assert shown("de") == ["Leitfaden", "Checklist", "Webinar"]
    assert shown("en") == ["Guide", "Checklist", "Webinar"]
    with db.write() as session:
        publish(session, session.merge(_get(db, draft_de.id)), "editor@example.com")
        archive(session, session.merge(_get(db, leitfaden.id)), "editor@example.com")
    assert shown("de") == ["Guide", "Webinar", "Checkliste"]
    assert webinar.title in shown("en")
