"""Importing translations and labels per language: ``translation_of`` in the front matter
(also naming an original that comes later in the folder), ``labels.yaml`` for topics and
personas; and the demo library, whose German assets are linked to their English versions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from content import translations
from content.files import FileStore
from content.importer import import_folder
from content.models import Asset, AssetRevision, Persona, Topic
from portal.cli import DEMO_LIBRARY
from portal.db import Database


def asset_file(slug: str, language: str, original: str | None = None) -> str:
    link = f"translation_of: {original}\n" if original is not None else ""
    return (
        f"---\ntitle: {slug.title()}\nslug: {slug}\nkind: article\nstage: awareness\n"
        f"topics: [lead-scoring]\npersonas: [sales-leader]\nlanguage: {language}\n{link}"
        "published: true\n---\nBody.\n"
    )


def write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def linked(db: Database) -> dict[str, str]:
    """Translation slug → its original's slug."""
    with db.read() as session:
        slugs = dict(session.execute(select(Asset.id, Asset.slug)).all())
        rows = session.execute(
            select(Asset.slug, Asset.translation_of_id).where(Asset.translation_of_id.is_not(None))
        )
        return {slug: slugs[original] for slug, original in rows}


def revisions(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AssetRevision)) or 0


def test_a_translation_names_its_original_before_or_after_it_in_the_folder(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write(
        folder,
        {
            "a-leitfaden.md": asset_file("leitfaden", "de", "z-guide"),  # original comes later
            "b-checklist.md": asset_file("checklist", "en"),
            "c-checkliste.md": asset_file("checkliste", "de", "checklist"),
            "z-guide.md": asset_file("z-guide", "en"),
        },
    )
    report = import_folder(db.write, store, folder)
    assert report.problems == []
    assert sorted(report.created) == ["checklist", "checkliste", "leitfaden", "z-guide"]
    assert linked(db) == {"leitfaden": "z-guide", "checkliste": "checklist"}

    before = revisions(db)
    again = import_folder(db.write, store, folder)
    assert sorted(again.unchanged) == ["checklist", "checkliste", "leitfaden", "z-guide"]
    assert revisions(db) == before


def test_a_link_the_rules_refuse_is_reported_with_its_file(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write(
        folder,
        {
            "guide.md": asset_file("guide", "en"),
            "same-language.md": asset_file("same-language", "en", "guide"),
            "nowhere.md": asset_file("nowhere", "de", "no-such-guide"),
        },
    )
    report = import_folder(db.write, store, folder)
    problems = {p.path.name: p.reason for p in report.problems}
    assert set(problems) == {"same-language.md", "nowhere.md"}
    assert "another language than its original" in problems["same-language.md"]
    assert problems["nowhere.md"] == ("translation_of: No asset has the address 'no-such-guide'.")
    assert linked(db) == {}


def test_without_the_key_a_reimport_keeps_a_link_made_in_the_editor(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write(folder, {"guide.md": asset_file("guide", "en"), "de.md": asset_file("de", "de")})
    import_folder(db.write, store, folder)
    with db.write() as session:
        german = session.scalar(select(Asset).where(Asset.slug == "de"))
        assert german is not None
        assert translations.link(session, german, "guide") is None
    import_folder(db.write, store, folder)
    assert linked(db) == {"de": "guide"}
    write(folder, {"de.md": asset_file("de", "de", "")})  # an empty key unlinks
    import_folder(db.write, store, folder)
    assert linked(db) == {}


def test_labels_yaml_gives_topics_and_personas_their_german_labels(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write(
        folder,
        {
            "guide.md": asset_file("guide", "en"),
            "labels.yaml": "topics:\n  lead-scoring: {de: Lead-Scoring}\n  unused: {de: X}\n"
            "personas:\n  sales-leader: {de: Vertriebsleitung}\n",
        },
    )
    report = import_folder(db.write, store, folder)
    assert report.problems == []
    with db.read() as session:
        topic = session.scalar(select(Topic).where(Topic.slug == "lead-scoring"))
        persona = session.scalar(select(Persona).where(Persona.slug == "sales-leader"))
        assert topic is not None
        assert persona is not None
        assert (topic.label, topic.labels) == ("Lead scoring", {"de": "Lead-Scoring"})
        assert persona.labels == {"de": "Vertriebsleitung"}
        assert session.scalar(select(Topic).where(Topic.slug == "unused")) is None


def test_a_bad_labels_file_is_reported(db: Database, store: FileStore, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    write(folder, {"guide.md": asset_file("guide", "en"), "labels.yaml": "topics: [a, b]\n"})
    report = import_folder(db.write, store, folder)
    assert [p.path.name for p in report.problems] == ["labels.yaml"]
    assert "topics" in report.problems[0].reason
    assert report.created == ["guide"]


def test_the_demo_library_links_its_german_assets_to_their_english_versions(
    db: Database, store: FileStore
) -> None:
    report = import_folder(db.write, store, DEMO_LIBRARY, publish_all=True)
    assert report.problems == []
    assert linked(db) == {
        "what-is-lead-scoring": "was-ist-lead-scoring",
        "gdpr-compliant-lead-nurturing": "dsgvo-konformes-lead-nurturing",
        "progressive-profiling-explained-video": "progressive-profiling-erklaert",
    }
    with db.read() as session:
        german = {
            slug: label.get("de")
            for slug, label in session.execute(select(Topic.slug, Topic.labels))
        }
        personas = dict(session.execute(select(Persona.slug, Persona.labels)).all())
    assert german["lead-scoring"] == "Lead-Scoring"
    assert all(german.values()), german  # every demo topic has its German label
    assert all(labels.get("de") for labels in personas.values()), personas
