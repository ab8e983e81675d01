"""Bulk import of a Markdown folder: good files land, bad ones are reported, re-import is idle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fpdf import FPDF
from sqlalchemy import func, select

from content import catalog, importer
from content.extraction import ExtractionLimits
from content.files import FileStore
from content.importer import ImportReport, import_folder
from content.models import Asset, AssetRevision, FileTextStatus
from portal.db import Database
from tests.pdfs import make_pdf_bomb

GOOD = {
    "guide.md": """---
title: Lead scoring guide
slug: lead-scoring-guide
kind: whitepaper
stage: consideration
topics: [lead-scoring, pipeline]
personas: [marketing-ops]
gate: gated
summary: How to score leads.
file: guide.pdf
---
# Why score

Because sales time is scarce.
""",
    "webinar.md": """---
title: Nurturing live
kind: webinar
stage: awareness
topics: [nurturing]
webinar: {starts_at: 2027-03-01T15:00:00+01:00, duration_minutes: 60}
---
Join us.
""",
    "de/checkliste.md": """---
title: Checkliste für Leads
kind: checklist
stage: decision
language: de
published: true
---
- Punkt eins
""",
}
BAD = {
    "bad-kind.md": "---\ntitle: Podcast\nkind: podcast\nstage: awareness\n---\nBody\n",
    "no-front-matter.md": "# Just a heading\n\nNo front matter here.\n",
    "broken-yaml.md": "---\ntitle: [unclosed\nkind: article\n---\nBody\n",
    "typo-key.md": "---\ntitle: Typo\nkind: article\nstage: awareness\ntopcis: [abm]\n---\n",
    "missing-file.md": "---\ntitle: Missing\nkind: ebook\nstage: awareness\nfile: nope.pdf\n---\n",
}
REASONS = {
    "bad-kind.md": ["kind", "podcast"],
    "no-front-matter.md": ["front matter"],
    "broken-yaml.md": ["YAML"],
    "typo-key.md": ["topcis"],
    "missing-file.md": ["nope.pdf", "not found"],
}
GOOD_SLUGS = {"lead-scoring-guide", "nurturing-live", "checkliste-fuer-leads"}
IGNORED = {
    "_draft.md": "---\ntitle: Draft only\nkind: article\nstage: awareness\n---\n",
    ".hidden/secret.md": "---\ntitle: Secret\nkind: article\nstage: awareness\n---\n",
    "_drafts/later.md": "---\ntitle: Later\nkind: article\nstage: awareness\n---\n",
}


def tiny_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Scoring leads with intent data")
    return bytes(pdf.output())


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    write_files(folder, GOOD | BAD | IGNORED)
    (folder / "guide.pdf").write_bytes(tiny_pdf())
    return folder


def run(db: Database, store: FileStore, folder: Path, **options: bool) -> ImportReport:
    return import_folder(db.write, store, folder, **options)


def revision_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AssetRevision)) or 0


def test_good_files_import_and_bad_ones_are_reported(
    db: Database, store: FileStore, folder: Path
) -> None:
    seen: list[Path] = []
    report = run(db, store, folder, progress=seen.append)

    assert set(report.created) == GOOD_SLUGS
    assert (report.updated, report.unchanged) == ([], [])
    problems = {
        problem.path.relative_to(folder).as_posix(): problem.reason for problem in report.problems
    }
    assert set(problems) == set(BAD)
    for name, words in REASONS.items():
        for word in words:
            assert word in problems[name], f"{name}: {problems[name]!r} does not mention {word!r}"
    assert sorted(p.relative_to(folder).as_posix() for p in seen) == sorted(GOOD | BAD)
    assert len(seen) == len(set(seen))

    with db.read() as session:
        assert set(session.scalars(select(Asset.slug))) == GOOD_SLUGS
        guide = session.scalar(select(Asset).where(Asset.slug == "lead-scoring-guide"))
        assert guide is not None
        assert (guide.kind, guide.stage, guide.gate, guide.status) == (
            "whitepaper", "consideration", "gated", "draft"
        )  # fmt: skip
        assert sorted(t.slug for t in guide.topics) == ["lead-scoring", "pipeline"]
        assert [p.slug for p in guide.personas] == ["marketing-ops"]
        assert guide.body.startswith("# Why score")
        assert (guide.file_name, guide.file_pages) == ("guide.pdf", 1)
        assert "intent data" in guide.file_text
        assert guide.reading_minutes == 3
        assert guide.file_sha256 is not None
        assert store.read(guide.file_sha256) == (folder / "guide.pdf").read_bytes()
        webinar = session.scalar(select(Asset).where(Asset.slug == "nurturing-live"))
        assert webinar is not None
        assert webinar.webinar_starts_at == datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
        assert webinar.webinar_duration_minutes == 60
        assert catalog.find_live(session, "checkliste-fuer-leads") is not None
        assert catalog.find_live(session, "lead-scoring-guide") is None


def test_reimport_of_the_same_folder_changes_nothing(
    db: Database, store: FileStore, folder: Path
) -> None:
    run(db, store, folder)
    revisions = revision_count(db)
    again = run(db, store, folder)
    assert set(again.unchanged) == GOOD_SLUGS
    assert (again.created, again.updated) == ([], [])
    assert len(again.problems) == len(BAD)
    assert revision_count(db) == revisions


def test_reimport_ignores_the_order_topics_are_listed_in(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write_files(
        folder,
        {"a.md": "---\ntitle: A\nkind: ebook\nstage: awareness\ntopics: [pipeline, abm]\n---\n"},
    )
    run(db, store, folder)
    again = run(db, store, folder)
    assert (again.unchanged, again.updated) == (["a"], [])
    assert revision_count(db) == 1


def test_changed_title_updates_that_asset_only(
    db: Database, store: FileStore, folder: Path
) -> None:
    run(db, store, folder)
    guide = folder / "guide.md"
    guide.write_text(guide.read_text().replace("Lead scoring guide", "The lead scoring guide"))
    report = run(db, store, folder)
    assert report.updated == ["lead-scoring-guide"]
    assert set(report.unchanged) == GOOD_SLUGS - {"lead-scoring-guide"}
    assert report.created == []
    with db.read() as session:
        asset = session.scalar(select(Asset).where(Asset.slug == "lead-scoring-guide"))
        assert asset is not None
        assert asset.title == "The lead scoring guide"
        assert asset.revisions[0].changes["title"] == [
            "Lead scoring guide",
            "The lead scoring guide",
        ]
        assert session.scalar(select(func.count()).select_from(Asset)) == len(GOOD_SLUGS)


def test_publish_all_publishes_every_imported_asset(
    db: Database, store: FileStore, folder: Path
) -> None:
    report = run(db, store, folder, publish_all=True)
    with db.read() as session:
        assert {slug for slug in report.created if catalog.find_live(session, slug)} == GOOD_SLUGS


def test_ignored_files_are_not_read(db: Database, store: FileStore, folder: Path) -> None:
    report = run(db, store, folder)
    with db.read() as session:
        titles = set(session.scalars(select(Asset.title)))
    assert titles.isdisjoint({"Draft only", "Secret", "Later"})
    reported = {p.path.name for p in report.problems}
    assert reported.isdisjoint({"_draft.md", "secret.md", "later.md"})


@pytest.mark.parametrize("attachment", ["../outside.pdf", "../../etc/passwd", "/etc/passwd"])
def test_attachment_outside_the_folder_is_refused(
    db: Database, store: FileStore, tmp_path: Path, attachment: str
) -> None:
    (tmp_path / "outside.pdf").write_bytes(tiny_pdf())
    folder = tmp_path / "escape"
    write_files(
        folder,
        {"leak.md": f"---\ntitle: Leak\nkind: ebook\nstage: awareness\nfile: {attachment}\n---\n"},
    )
    report = run(db, store, folder)
    assert report.created == []
    (problem,) = report.problems
    assert problem.path == folder / "leak.md"
    assert "beside" in problem.reason
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_attachment_of_a_refused_type_is_reported(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    write_files(
        folder, {"a.md": "---\ntitle: A\nkind: ebook\nstage: awareness\nfile: a.pdf\n---\n"}
    )
    (folder / "a.pdf").write_bytes(b"<html><script>alert(1)</script></html>")
    report = run(db, store, folder)
    assert report.created == []
    assert "PDF, PNG, JPEG, GIF or WebP" in report.problems[0].reason


@pytest.mark.parametrize(
    "odd_line",
    ["topics: 42", "topics: true", "2026: report"],
    ids=["topics-number", "topics-bool", "number-key"],
)
def test_a_wrongly_typed_value_is_reported_not_fatal(
    db: Database, store: FileStore, tmp_path: Path, odd_line: str
) -> None:
    folder = tmp_path / "lib"
    odd = f"---\ntitle: Odd\nkind: ebook\nstage: awareness\n{odd_line}\n---\n"
    fine = "---\ntitle: Fine\nkind: ebook\nstage: awareness\n---\n"
    write_files(folder, {"a-odd.md": odd, "b-fine.md": fine})
    report = run(db, store, folder)
    assert report.created == ["fine"]
    assert [p.path.name for p in report.problems] == ["a-odd.md"]


def test_two_files_with_the_same_title_do_not_overwrite_each_other(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    same = "---\ntitle: Pricing checklist\nkind: checklist\nstage: decision\n---\n"
    write_files(
        folder, {"en/pricing.md": same + "English body\n", "us/pricing.md": same + "US body\n"}
    )
    report = run(db, store, folder)
    with db.read() as session:
        bodies = sorted(session.scalars(select(Asset.body)))
    # Either both become assets, or the second is reported: never one silently replacing the other.
    assert bodies == ["English body\n", "US body\n"] or len(report.problems) == 1


def test_a_symlinked_markdown_file_leading_out_of_the_folder_is_refused(
    db: Database, store: FileStore, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    write_files(
        outside,
        {"notes.md": "---\ntitle: Private notes\nkind: article\nstage: awareness\n---\nSecret.\n"},
    )
    folder = tmp_path / "lib"
    write_files(
        folder,
        {
            "fine.md": "---\ntitle: Fine\nkind: article\nstage: awareness\n---\n",
            "_drafts/kept.md": "---\ntitle: Kept draft\nkind: article\nstage: awareness\n---\n",
        },
    )
    (folder / "absolute.md").symlink_to(outside / "notes.md")
    (folder / "relative.md").symlink_to(Path("..") / "private" / "notes.md")
    (folder / "inside.md").symlink_to(folder / "_drafts" / "kept.md")  # stays in the folder: fine
    report = run(db, store, folder)
    assert sorted(report.created) == ["fine", "kept-draft"]
    assert {p.path.name for p in report.problems} == {"absolute.md", "relative.md"}
    for problem in report.problems:
        assert "outside the import folder" in problem.reason
    with db.read() as session:
        assert "Private notes" not in set(session.scalars(select(Asset.title)))


def test_a_pdf_too_slow_to_read_is_imported_with_its_text_not_indexed(
    db: Database, store: FileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "DEFAULT_LIMITS", ExtractionLimits(seconds=1))
    folder = tmp_path / "lib"
    write_files(
        folder, {"big.md": "---\ntitle: Big\nkind: ebook\nstage: awareness\nfile: big.pdf\n---\n"}
    )
    (folder / "big.pdf").write_bytes(make_pdf_bomb(8))
    report = run(db, store, folder)
    assert (report.created, report.problems) == (["big"], [])
    with db.read() as session:
        asset = session.scalar(select(Asset).where(Asset.slug == "big"))
        assert asset is not None
        assert asset.file_text_status == FileTextStatus.NOT_INDEXED
        assert "longer than 1 s" in asset.file_text_reason
