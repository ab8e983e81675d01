"""Creating and changing assets: validation (pure), slugs, revisions and the change log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import translations
from content.choices import Choice, choice_problem, menu
from content.extraction import ExtractionLimits, extract_pdf_text
from content.files import FileStore, StoredBlob, safe_file_name
from content.indexer import record_change
from content.markdown import reading_minutes, word_count
from content.models import (
    GATE_LABELS,
    KIND_LABELS,
    LANGUAGES,
    Asset,
    AssetRevision,
    AssetSlug,
    FileTextStatus,
    Gate,
    Kind,
    StoredFile,
)
from content.orm import utcnow
from content.printable import unprintable_said
from content.taxonomy import (
    STAGE_LABELS,
    STAGE_NAMES,
    ensure_personas,
    ensure_topics,
    slugify,
)
from content.words import N_, Said

TITLE_MAX = 200
SUMMARY_MAX = 600
_TRACKED_FIELDS = (
    "title", "slug", "summary", "body", "kind", "stage", "gate", "language", "featured",
    "video_url", "webinar_starts_at", "webinar_duration_minutes", "recording_url", "file_name",
    "translation_of_id",
)  # fmt: skip


Errors = dict[str, Said]
"""Form field → what is wrong with it (a marked text the portal says in the reader's
language; ``str()`` of it is the English)."""


class ContentError(ValueError):
    """Input that cannot be saved; ``errors`` maps form fields to messages."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class AssetDraft:
    """Validated asset fields, from the editor form or an import file."""

    title: str
    kind: str
    stage: str
    slug: str = ""
    summary: str = ""
    body: str = ""
    gate: str = Gate.OPEN.value
    language: str = "en"
    topics: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    featured: bool = False
    video_url: str | None = None
    webinar_starts_at: datetime | None = None
    webinar_duration_minutes: int | None = None
    recording_url: str | None = None
    translation_of: str | None = None
    """The slug of the original this asset translates; "" for none (an original), None to
    leave the link as it is (an import file without the key)."""
    extra: dict[str, Any] = field(default_factory=dict)


KIND = (
    N_("Choose a type: %(options)s."),
    N_("'%(value)s' is not a type we offer. Choose %(options)s."),
)
STAGE = (
    N_("Choose a stage: %(options)s."),
    N_("'%(value)s' is not a stage we offer. Choose %(options)s."),
)
ACCESS = (
    N_("Choose an access: %(options)s."),
    N_("'%(value)s' is not an access we offer. Choose %(options)s."),
)
LANGUAGE = (
    N_("Choose a language: %(options)s."),
    N_("'%(value)s' is not a language we offer. Choose %(options)s."),
)
"""What a menu field says when empty, and when it holds a value not on the menu."""


def validate_draft(
    values: Mapping[str, Any], stages: tuple[str, ...] = STAGE_NAMES, *, labelled: bool = True
) -> tuple[AssetDraft | None, Errors]:
    """Check raw values (form strings or YAML values): (draft, {}) or (None, errors by field).

    Messages name choices by the labels the editor's menus show; ``labelled=False`` names
    them by the values an import file spells out instead.
    """
    errors: Errors = {}
    title = _text(values.get("title"))
    if not title:
        errors["title"] = Said(N_("Give the asset a title."))
    elif len(title) > TITLE_MAX:
        errors["title"] = Said(
            N_("Keep the title under %(limit)s characters (it has %(count)s)."),
            limit=TITLE_MAX,
            count=len(title),
        )
    slug = _text(values.get("slug"))
    if slug and slugify(slug) != slug:
        errors["slug"] = Said(
            N_("Use lower-case letters, digits and dashes, e.g. %(example)s."),
            example=slugify(slug) or "my-guide",
        )
    kinds = menu(KIND_LABELS, Kind, labelled=labelled)
    kind = _choice(values, Choice("kind", *KIND, kinds), errors)
    stages_menu = menu(STAGE_LABELS, stages, labelled=labelled)
    stage = _choice(values, Choice("stage", *STAGE, stages_menu), errors)
    gates = menu(GATE_LABELS, Gate, labelled=labelled)
    gate = _choice(values, Choice("gate", *ACCESS, gates, Gate.OPEN.value), errors)
    languages = menu(LANGUAGES, LANGUAGES, labelled=labelled)
    language = _choice(values, Choice("language", *LANGUAGE, languages, "en"), errors)
    summary = _text(values.get("summary"))
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = Said(
            N_("Keep the summary under %(limit)s characters (it has %(count)s)."),
            limit=SUMMARY_MAX,
            count=len(summary),
        )
    video_url = _url(values, "video_url", errors)
    recording_url = _url(values, "recording_url", errors)
    starts_at = parse_datetime(values, "webinar_starts_at", errors)
    duration = _int(values, "webinar_duration_minutes", errors, low=5, high=600)
    if kind == Kind.WEBINAR.value and starts_at is None and "webinar_starts_at" not in errors:
        errors["webinar_starts_at"] = Said(N_("A webinar needs its start date and time."))
    if kind == Kind.VIDEO.value and not video_url and "video_url" not in errors:
        errors["video_url"] = Said(N_("A video needs the URL of its embed."))
    topics = _list(values.get("topics"), "topics", errors)
    personas = _list(values.get("personas"), "personas", errors)
    errors.update(_unprintable_fields(values))  # over other messages: fix this character first
    if errors:
        return None, errors
    return AssetDraft(
        title=title,
        slug=slug,
        kind=kind,
        stage=stage,
        gate=gate,
        language=language,
        summary=summary,
        body=str(values.get("body") or "").replace("\r\n", "\n"),
        topics=topics,
        personas=personas,
        featured=_bool(values.get("featured")),
        video_url=video_url,
        recording_url=recording_url,
        webinar_starts_at=starts_at,
        webinar_duration_minutes=duration or (45 if kind == Kind.WEBINAR.value else None),
        translation_of=_translation_of(values),
    ), {}


def _translation_of(values: Mapping[str, Any]) -> str | None:
    """The original's slug as given ("" for none), or None when the values do not say."""
    if "translation_of" not in values:
        return None
    return _text(values.get("translation_of"))


def _unprintable_fields(values: Mapping[str, Any]) -> Errors:
    """Fields holding a character that cannot be kept (a control character, a lone surrogate),
    each with its message. Tabs and line breaks are ordinary whitespace in every field here:
    the body keeps them, single-line fields collapse them."""
    errors: Errors = {}
    for name, value in values.items():
        texts = value if isinstance(value, list | tuple) else [value]
        problems = (unprintable_said(t, multiline=True) for t in texts if isinstance(t, str))
        problem = next((p for p in problems if p), None)
        if problem:
            errors[name] = Said(N_("Remove %(problem)s."), problem=problem)
    return errors


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _choice(values: Mapping[str, Any], choice: Choice, errors: Errors) -> str:
    value = _text(values.get(choice.field)) or choice.default
    problem = choice_problem(choice, value)
    if problem:
        errors[choice.field] = problem
    return value


def _url(values: Mapping[str, Any], name: str, errors: Errors) -> str | None:
    value = _text(values.get(name))
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        errors[name] = Said(N_("Use a full https:// address."))
    return value


def parse_datetime(values: Mapping[str, Any], name: str, errors: Errors) -> datetime | None:
    raw = values.get(name)
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        parsed = raw
    else:
        try:
            parsed = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            errors[name] = Said(N_("Use a date and time like 2027-02-10T16:00."))
            return None
    if parsed.tzinfo is None:
        zone_name = _text(values.get("timezone")) or "UTC"
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = Said(N_("Unknown time zone '%(zone)s'."), zone=zone_name)
            return None
    return parsed.astimezone(UTC)


def _int(
    values: Mapping[str, Any], name: str, errors: Errors, *, low: int, high: int
) -> int | None:
    raw = values.get(name)
    if raw in (None, ""):
        return None
    try:
        number = int(str(raw).strip())
    except ValueError:
        errors[name] = Said(N_("Use a whole number."))
        return None
    if not low <= number <= high:
        errors[name] = Said(N_("Use a number from %(low)s to %(high)s."), low=low, high=high)
    return number


def _list(value: Any, name: str, errors: Errors) -> tuple[str, ...]:
    """Names from "a, b" or ["a", "b"], as written (a new topic's label keeps the editor's
    capitalisation), one per slug; anything else is reported on the field."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        errors[name] = Said(N_("Give a list of names, e.g. [lead-scoring, email-nurturing]."))
        return ()
    if not all(isinstance(item, str) for item in items):
        errors[name] = Said(N_("Every entry must be a name, e.g. lead-scoring."))
        return ()
    named: dict[str, str] = {}
    for item in items:
        if slugify(item):
            named.setdefault(slugify(item), " ".join(item.split()))
    return tuple(named.values())


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def store_attachment(
    store: FileStore, data: bytes, file_name: str, *, extract: ExtractionLimits | None = None
) -> dict[str, Any]:
    """Store a file under a clean name (``safe_file_name``); keyword arguments for ``save_asset``.

    A PDF's text is left ``pending`` for the background job (uploads stay fast), or read
    now within ``extract``'s limits (the importer, which is no request).
    """
    blob = store.put(data, name=safe_file_name(file_name))
    fields: dict[str, Any] = {"blob": blob, "file_name": safe_file_name(file_name, blob.extension)}
    if blob.content_type != "application/pdf":
        return fields
    if extract is None:
        return {**fields, "file_text_status": FileTextStatus.PENDING.value}
    extraction = extract_pdf_text(store.path_for(blob.sha256), extract)
    assert extraction is not None  # nothing asks it to stop
    return {**fields, **extraction.asset_fields()}


def unique_slug(session: Session, wanted: str, asset_id: int | None) -> str:
    """``wanted``, or ``wanted-2``, ``-3``… if another asset has (or had) it."""
    base = wanted or "asset"
    candidate, n = base, 1
    while _slug_owner(session, candidate) not in (None, asset_id):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _slug_owner(session: Session, slug: str) -> int | None:
    owner = session.scalar(select(Asset.id).where(Asset.slug == slug))
    if owner is None:
        owner = session.scalar(select(AssetSlug.asset_id).where(AssetSlug.slug == slug))
    return owner


def save_asset(
    session: Session,
    draft: AssetDraft,
    author: str,
    asset: Asset | None = None,
    *,
    blob: StoredBlob | None = None,
    file_name: str | None = None,
    file_text: str = "",
    file_pages: int | None = None,
    file_text_status: str | None = None,
    file_text_reason: str = "",
) -> Asset:
    """Create or update an asset, keeping a revision (who, when, what) and logging the change."""
    creating = asset is None
    if asset is None:
        asset = Asset(status="draft")  # added once its fields are set (queries below autoflush)
    before = _snapshot(asset) if not creating else {}
    with session.no_autoflush:
        new_slug = _resolve_slug(session, draft, asset, creating)
    if not creating and new_slug != asset.slug:
        session.add(AssetSlug(slug=asset.slug, asset_id=asset.id))
        old_alias = session.get(AssetSlug, new_slug)
        if old_alias is not None:
            session.delete(old_alias)
    asset.slug = new_slug
    for name in (
        "title", "summary", "body", "kind", "stage", "gate", "language", "featured",
        "video_url", "webinar_starts_at", "webinar_duration_minutes", "recording_url",
    ):  # fmt: skip
        setattr(asset, name, getattr(draft, name))
    session.add(asset)
    _link_translation(session, asset, draft.translation_of)
    asset.topics = ensure_topics(session, draft.topics)
    asset.personas = ensure_personas(session, draft.personas)
    if blob is not None:
        if session.get(StoredFile, blob.sha256) is None:
            session.add(
                StoredFile(sha256=blob.sha256, size=blob.size, content_type=blob.content_type)
            )
        asset.file_sha256 = blob.sha256
        asset.file_name = file_name or f"{asset.slug}.{blob.extension}"
        asset.file_text = file_text
        asset.file_pages = file_pages
        asset.file_text_status = file_text_status
        asset.file_text_reason = file_text_reason
        asset.file_text_claimed_at = None
    asset.reading_minutes = reading_minutes(
        word_count(asset.body) + word_count(asset.summary), asset.file_pages
    )
    asset.updated_at = utcnow()
    session.flush()
    changes = _changes(before, asset) if not creating else {"created": [None, asset.title]}
    if creating or changes:
        add_revision(session, asset, author, "created" if creating else "edited", changes)
        record_change(session, asset.id, "created" if creating else "edited")
    return asset


def link_translation(session: Session, asset: Asset, original_slug: str, author: str) -> None:
    """Link a saved asset to the original at ``original_slug`` ("": unlink), with a revision
    and a change (an import links an original imported after its translation this way)."""
    before = asset.translation_of_id
    _link_translation(session, asset, original_slug)
    if asset.translation_of_id != before:
        asset.updated_at = utcnow()
        session.flush()
        changes = {"translation_of_id": [before, asset.translation_of_id]}
        add_revision(session, asset, author, "edited", changes)
        record_change(session, asset.id, "edited")


def _link_translation(session: Session, asset: Asset, original_slug: str | None) -> None:
    """Link the asset to the original it translates (None: keep the link it has, checked
    again as its language may have changed)."""
    if original_slug is None:
        current = session.get(Asset, asset.translation_of_id) if asset.translation_of_id else None
        original_slug = current.slug if current is not None else ""
    problem = translations.link(session, asset, original_slug)
    if problem is not None:
        raise ContentError({"translation_of": problem})


def _resolve_slug(session: Session, draft: AssetDraft, asset: Asset, creating: bool) -> str:
    if draft.slug:
        owner = _slug_owner(session, draft.slug)
        if owner is not None and owner != asset.id:
            raise ContentError(
                {"slug": Said(N_("Another asset already uses '%(slug)s'."), slug=draft.slug)}
            )
        return draft.slug
    if not creating:
        return asset.slug
    return unique_slug(session, slugify(draft.title), None)


def _snapshot(asset: Asset) -> dict[str, Any]:
    values = {name: getattr(asset, name) for name in _TRACKED_FIELDS}
    values["topics"] = sorted(t.slug for t in asset.topics)
    values["personas"] = sorted(p.slug for p in asset.personas)
    return values


def _changes(before: dict[str, Any], asset: Asset) -> dict[str, list[Any]]:
    after = _snapshot(asset)
    changes: dict[str, list[Any]] = {}
    for name, old in before.items():
        new = after[name]
        if old != new:
            changes[name] = [_jsonable(old), _jsonable(new)]
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    return value


def add_revision(
    session: Session, asset: Asset, author: str, action: str, changes: dict[str, Any]
) -> AssetRevision:
    number = (
        session.scalar(
            select(AssetRevision.number)
            .where(AssetRevision.asset_id == asset.id)
            .order_by(AssetRevision.number.desc())
            .limit(1)
        )
        or 0
    ) + 1
    revision = AssetRevision(
        asset_id=asset.id, number=number, author=author, action=action, changes=changes
    )
    session.add(revision)
    return revision
