"""Bulk import: a folder of Markdown files with YAML front matter, attachments beside them.

Each file is imported in its own transaction, so a bad file is reported (path
and reason) and the rest still import. Re-importing updates assets by slug.

A file may name the original it translates (``translation_of: SLUG``); an original imported
later in the same run is linked once every file is in. A ``labels.yaml`` beside the files
gives topics and personas their labels in other languages::

    topics:
      lead-scoring: {de: Lead-Scoring}
    personas:
      sales-leader: {de: Vertriebsleitung}
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.editing import (
    ContentError,
    link_translation,
    save_asset,
    store_attachment,
    validate_draft,
)
from content.extraction import DEFAULT_LIMITS
from content.files import FileStore, UploadError
from content.models import Asset, AssetRevision, AssetSlug, Persona, Status, Topic
from content.publishing import publish
from content.taxonomy import STAGE_NAMES, LabelError, set_labels, slugify

AUTHOR = "import"
KNOWN_KEYS = {
    "title", "slug", "kind", "stage", "topics", "personas", "gate", "summary", "file",
    "video_url", "webinar", "published", "language", "featured", "recording_url",
    "translation_of",
}  # fmt: skip
LABELS_FILE = "labels.yaml"
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True, slots=True)
class ImportProblem:
    path: Path
    reason: str


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def asset_files(folder: Path) -> list[Path]:
    """The Markdown files an import reads, in a stable order."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    return sorted(
        p
        for p in folder.rglob("*.md")
        if not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )


def import_folder(
    write: SessionFactory,
    store: FileStore,
    folder: Path,
    *,
    publish_all: bool = False,
    stages: tuple[str, ...] | None = None,
    progress: Callable[[Path], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    claimed: dict[str, Path] = {}  # slug → the file of this import that owns it
    later: list[tuple[Path, str, str]] = []  # (file, its slug, the original it translates)
    for path in asset_files(folder):
        try:
            _refuse_links_out(folder, path)
            outcome, slug = _import_file(write, store, path, publish_all, stages, claimed, later)
        except (ContentError, UploadError, ValueError, OSError, yaml.YAMLError) as exc:
            report.problems.append(ImportProblem(path, _reason(exc)))
        else:
            getattr(report, outcome).append(slug)
            claimed[slug] = path
        if progress is not None:
            progress(path)
    for path, slug, original in later:
        try:
            with write() as session:
                asset = _existing(session, slug)
                if asset is not None:
                    link_translation(session, asset, original, AUTHOR)
        except ContentError as exc:
            report.problems.append(ImportProblem(path, _reason(exc)))
    labels = folder / LABELS_FILE
    if labels.is_file():
        try:
            import_labels(write, labels)
        except (LabelError, ValueError, OSError, yaml.YAMLError) as exc:
            report.problems.append(ImportProblem(labels, _reason(exc)))
    return report


def import_labels(write: SessionFactory, path: Path) -> int:
    """Topic and persona labels per language from ``path`` (``labels.yaml``); how many
    changed. Slugs no asset uses yet are left for later."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"topics", "personas"}:
        raise ValueError("labels.yaml holds two mappings: topics and personas")
    changed = 0
    with write() as session:
        changed += set_labels(session, Topic, _labels(data, "topics"))
        changed += set_labels(session, Persona, _labels(data, "personas"))
    return changed


def _labels(data: dict[str, Any], key: str) -> dict[str, dict[str, str]]:
    entries = data.get(key) or {}
    if not isinstance(entries, dict) or not all(
        isinstance(v, dict) and all(isinstance(t, str) for t in v.values())
        for v in entries.values()
    ):
        raise ValueError(f"{key}: give each slug its labels, e.g. lead-scoring: {{de: …}}")
    return {slugify(str(slug)): dict(labels) for slug, labels in entries.items()}


def _refuse_links_out(folder: Path, path: Path) -> None:
    """A Markdown file that is a symbolic link must lead to a file inside the import folder."""
    target = path.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValueError(f"symbolic link to {target}, outside the import folder; not read")


def _reason(exc: Exception) -> str:
    if isinstance(exc, yaml.YAMLError):
        return f"front matter is not valid YAML: {str(exc).splitlines()[0]}"
    if isinstance(exc, ContentError):
        return "; ".join(f"{name}: {message}" for name, message in exc.errors.items())
    return str(exc)


def read_front_matter(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark
    if not text.startswith("---"):
        raise ValueError("no front matter: the file must start with a line '---'")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ValueError("front matter is not closed by a line '---'")
    meta = yaml.safe_load(parts[0][3:]) or {}
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping of keys to values")
    unknown = sorted(str(key) for key in meta if key not in KNOWN_KEYS)
    if unknown:
        raise ValueError(
            f"unknown front matter key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    return meta, body.lstrip("\n")


def _values(meta: dict[str, Any], body: str) -> dict[str, Any]:
    values = {k: v for k, v in meta.items() if k not in ("webinar", "file", "published")}
    webinar = meta.get("webinar")
    if webinar is not None:
        if not isinstance(webinar, dict):
            raise ValueError(
                "webinar must be a mapping like {starts_at: ..., duration_minutes: 45}"
            )
        starts_at = webinar.get("starts_at")
        values["webinar_starts_at"] = (
            starts_at.isoformat() if isinstance(starts_at, datetime) else starts_at
        )
        values["webinar_duration_minutes"] = webinar.get("duration_minutes")
    values["body"] = body
    return values


def _import_file(
    write: SessionFactory,
    store: FileStore,
    path: Path,
    publish_all: bool,
    stages: tuple[str, ...] | None,
    claimed: dict[str, Path],
    later: list[tuple[Path, str, str]],
) -> tuple[str, str]:
    meta, body = read_front_matter(path)
    draft, errors = validate_draft(_values(meta, body), stages or STAGE_NAMES, labelled=False)
    if draft is None:
        raise ContentError(errors)
    attachment = _attachment(store, path, meta.get("file"))
    slug = draft.slug or slugify(draft.title)
    if slug in claimed:
        raise ValueError(
            f"slug {slug!r} is already used by {claimed[slug]} in this import; "
            "give one of them its own slug in the front matter"
        )
    with write() as session:
        original = draft.translation_of
        if original and _existing(session, original) is None:
            later.append((path, slug, original))  # imported further on: linked at the end
            draft = replace(draft, translation_of=None)
        asset = _existing(session, slug)
        revisions_before = _revision_count(session, asset)
        asset = save_asset(
            session, replace(draft, slug=asset.slug if asset else slug), AUTHOR, asset, **attachment
        )
        if (publish_all or meta.get("published") is True) and asset.status != Status.ARCHIVED.value:
            publish(session, asset, AUTHOR)
        session.flush()
        if revisions_before is None:
            return "created", asset.slug
        changed = _revision_count(session, asset) != revisions_before
        return ("updated" if changed else "unchanged"), asset.slug


def _revision_count(session: Session, asset: Asset | None) -> int | None:
    if asset is None:
        return None
    return session.scalar(
        select(func.count()).select_from(AssetRevision).where(AssetRevision.asset_id == asset.id)
    )


def _existing(session: Session, slug: str) -> Asset | None:
    asset = session.scalar(select(Asset).where(Asset.slug == slug))
    if asset is None:
        alias = session.get(AssetSlug, slug)
        asset = session.get(Asset, alias.asset_id) if alias else None
    return asset


def _attachment(store: FileStore, path: Path, name: Any) -> dict[str, Any]:
    if not name:
        return {}
    file_path = (path.parent / str(name)).resolve()
    if path.parent.resolve() not in file_path.parents:
        raise ValueError(f"file {name!r} must sit beside the Markdown file")
    if not file_path.is_file():
        raise ValueError(f"file {name!r} not found beside {path.name}")
    return store_attachment(store, file_path.read_bytes(), file_path.name, extract=DEFAULT_LIMITS)
