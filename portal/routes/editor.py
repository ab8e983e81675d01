"""The editor's console: list, create, edit, preview, publish, schedule, unpublish, archive."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from content import publishing, translations
from content.editing import (
    ContentError,
    Errors,
    parse_datetime,
    save_asset,
    store_attachment,
    validate_draft,
)
from content.files import FileStore, UploadError
from content.markdown import render_markdown
from content.models import LANGUAGES, Asset, Gate, Kind, Status
from content.taxonomy import DEFAULT_STAGES, all_personas, all_topics
from content.words import N_, Said
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import LIBRARY
from portal.db import Database
from portal.downloads import file_response
from portal.routes.console import FormBody, console_page
from portal.templating import gate_label, kind_label, stage_label

FORM_FIELDS = (
    "title", "slug", "summary", "body", "kind", "stage", "gate", "language", "video_url",
    "webinar_starts_at", "webinar_duration_minutes", "recording_url", "timezone", "new_topics",
    "translation_of",
)  # fmt: skip
STATUS_ACTIONS = {"publish", "schedule", "unpublish", "archive"}
MultipartBody = Body(media_type=RequestEncodingType.MULTI_PART)


class AssetForm(msgspec.Struct, kw_only=True):
    """The asset editor's form, sent as multipart: it may carry the file.

    Every field is text as typed; ``content.editing.validate_draft`` checks it, and a refused
    form is shown again with what was typed.
    """

    title: str = ""
    slug: str = ""
    summary: str = ""
    body: str = ""
    kind: str = ""
    stage: str = ""
    gate: str = ""
    language: str = ""
    video_url: str = ""
    webinar_starts_at: str = ""
    webinar_duration_minutes: str = ""
    recording_url: str = ""
    timezone: str = ""
    new_topics: str = ""
    """Topics that do not exist yet, comma-separated."""
    translation_of: str = ""
    """The slug of the original this asset translates; empty for an original."""
    topics: list[str] = []
    personas: list[str] = []
    featured: str = ""
    """``on`` when ticked."""
    file: UploadFile | None = None
    uploaded_sha256: str = ""
    """A valid upload sent with a form that had errors, kept by hash: no need to choose it
    again."""
    uploaded_name: str = ""
    action: str = "save"
    """``publish`` saves and publishes."""

    def values(self) -> dict[str, Any]:
        """The fields as ``validate_draft`` reads them and the form shows them again."""
        values: dict[str, Any] = {name: getattr(self, name) for name in FORM_FIELDS}
        values["topics"] = [*self.topics, *(t for t in self.new_topics.split(",") if t.strip())]
        values["personas"] = list(self.personas)
        values["featured"] = self.featured == "on"
        return values


class StatusForm(msgspec.Struct, kw_only=True):
    """A status change (one of ``STATUS_ACTIONS``); scheduling also sends when, and where."""

    action: str = ""
    publish_at: str = ""
    timezone: str = ""


def _choices(session: Session, asset: Asset | None = None) -> dict[str, Any]:
    """The editor's menus, labelled in the staff member's language, and the asset's other
    language versions."""
    others = translations.versions(session, asset, live_only=False) if asset else []
    return {
        "kinds": [(k.value, kind_label(k.value)) for k in Kind],
        "stages": [(s.name, stage_label(s.name)) for s in DEFAULT_STAGES],
        "gates": [(g.value, gate_label(g.value)) for g in Gate],
        "languages": list(LANGUAGES.items()),
        "all_topics": all_topics(session),
        "all_personas": all_personas(session),
        "originals": [
            (a.slug, a.title, a.language)
            for a in translations.originals(session, exclude=asset.id if asset else None)
        ],
        "versions": others,
    }


def _form_values(asset: Asset | None, original_slug: str = "") -> dict[str, Any]:
    if asset is None:
        return {"gate": "open", "language": "en", "topics": [], "personas": [], "timezone": "UTC"}
    values: dict[str, Any] = {
        name: getattr(asset, name, "") or "" for name in FORM_FIELDS if name != "translation_of"
    }
    values["translation_of"] = original_slug
    if asset.webinar_starts_at:
        values["webinar_starts_at"] = asset.webinar_starts_at.strftime("%Y-%m-%dT%H:%M")
    values["timezone"] = "UTC"
    values["topics"] = [t.slug for t in asset.topics]
    values["personas"] = [p.slug for p in asset.personas]
    values["featured"] = asset.featured
    return values


class EditorController(Controller):
    path = "/console/assets"
    guards = [requires_role(*LIBRARY.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
    ) -> Template:
        statement = (
            select(Asset).options(selectinload(Asset.topics)).order_by(Asset.updated_at.desc())
        )
        if status in {s.value for s in Status}:
            statement = statement.where(Asset.status == status)
        if q.strip():
            pattern = f"%{q.strip().lower()}%"
            statement = statement.where(
                or_(func.lower(Asset.title).like(pattern), Asset.slug.like(pattern))
            )
        with database.read() as session:
            assets = list(session.scalars(statement.limit(500)))
            by_status = select(Asset.status, func.count()).group_by(Asset.status)
            counts = {status_name: count for status_name, count in session.execute(by_status)}
        return console_page(
            request,
            "console/assets.html",
            assets=assets,
            status=status,
            q=q,
            counts=counts,
            statuses=[s.value for s in Status],
        )

    @get("/new", sync_to_thread=True)
    def new(
        self, request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
    ) -> Template:
        with database.read() as session:
            choices = _choices(session)
        return console_page(
            request,
            "console/asset_form.html",
            asset=None,
            values=_form_values(None),
            errors={},
            **choices,
        )

    @post("/new")
    async def create(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        files: NamedDependency[FileStore],
        data: Annotated[AssetForm, MultipartBody],
    ) -> Response[Any]:
        return await _save(request, database, files, data, asset_id=None)

    @get("/{asset_id:int}", sync_to_thread=True)
    def edit(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        asset_id: FromPath[int],
    ) -> Template:
        with database.read() as session:
            asset = _load(session, asset_id)
            choices = _choices(session, asset)
            values = _form_values(asset, _original_slug(session, asset))
            revisions = list(asset.revisions[:50])
        notice = {"saved": i18n.gettext("Saved."), "created": i18n.gettext("Asset created.")}.get(
            request.query_params.get("done", "")
        )
        return console_page(
            request,
            "console/asset_form.html",
            asset=asset,
            values=values,
            errors={},
            revisions=revisions,
            notice=notice,
            **choices,
        )

    @post("/{asset_id:int}")
    async def update(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        files: NamedDependency[FileStore],
        asset_id: FromPath[int],
        data: Annotated[AssetForm, MultipartBody],
    ) -> Response[Any]:
        return await _save(request, database, files, data, asset_id=asset_id)

    @post("/{asset_id:int}/status")
    async def change_status(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        asset_id: FromPath[int],
        data: Annotated[StatusForm, FormBody],
    ) -> Response[Any]:
        author = request.user.email

        def work() -> str | None:
            with database.write() as session:
                asset = _load(session, asset_id)
                try:
                    _apply_status(session, asset, data, author)
                except ContentError as exc:
                    return "; ".join(i18n.say(message) for message in exc.errors.values())
            return None

        problem = await to_thread.run_sync(work)
        if problem:
            return Redirect(
                f"/console/assets/{asset_id}?{urlencode({'problem': problem})}", status_code=303
            )
        return Redirect(f"/console/assets/{asset_id}?done=saved", status_code=303)

    @get("/{asset_id:int}/file", sync_to_thread=True)
    def file(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        files: NamedDependency[FileStore],
        asset_id: FromPath[int],
    ) -> Response[Any]:
        """The attached file of any asset, draft or not, for the editor's preview."""
        with database.read() as session:
            asset = _load(session, asset_id)
            stored = asset.file
            if stored is None or asset.file_sha256 is None:
                raise NotFoundException()
            name = asset.file_name or asset.slug
        return file_response(
            files.path_for(stored.sha256),
            content_type=stored.content_type,
            file_name=name,
            attachment=False,
            range_header=request.headers.get("range"),
            cache_control="no-store",
        )

    @get("/{asset_id:int}/preview", sync_to_thread=True)
    def preview(self, database: NamedDependency[Database], asset_id: FromPath[int]) -> Template:
        with database.read() as session:
            asset = _load(session, asset_id)
        return Template(
            "public/asset.html",
            context={
                "asset": asset,
                "body_html": render_markdown(asset.body),
                "related": [],
                "locked": False,
                "preview": True,
                "embed_url": None,
                "recording_embed_url": None,
                "webinar": None,
                "download_url": None,
                "view_url": f"/console/assets/{asset.id}/file" if asset.file_sha256 else None,
            },
        )


def _original_slug(session: Session, asset: Asset) -> str:
    original = session.get(Asset, asset.translation_of_id) if asset.translation_of_id else None
    return original.slug if original is not None else ""


def _load(session: Session, asset_id: FromPath[int]) -> Asset:
    asset = session.scalar(
        select(Asset)
        .where(Asset.id == asset_id)
        .options(
            selectinload(Asset.topics), selectinload(Asset.personas), selectinload(Asset.revisions)
        )
    )
    if asset is None:
        raise NotFoundException()
    return asset


def _apply_status(session: Session, asset: Asset, form: StatusForm, author: str) -> None:
    action = form.action
    if action == "publish":
        publishing.publish(session, asset, author)
    elif action == "schedule":
        errors: Errors = {}
        at = parse_datetime(
            {"publish_at": form.publish_at, "timezone": form.timezone}, "publish_at", errors
        )
        if at is None:
            raise ContentError(
                errors or {"publish_at": Said(N_("Pick the date and time to publish."))}
            )
        publishing.schedule(session, asset, at, author)
    elif action == "unpublish":
        publishing.unpublish(session, asset, author)
    elif action == "archive":
        publishing.archive(session, asset, author)
    else:
        raise ContentError({"action": Said(N_("Unknown action '%(action)s'."), action=action)})


def _attachment(
    store: FileStore, data: bytes, kept_sha256: str, file_name: str, errors: Errors
) -> dict[str, Any]:
    """The new upload, or the one kept from an earlier attempt, as ``save_asset`` arguments."""
    if not data and kept_sha256:
        try:
            data = store.read(kept_sha256)
        except (OSError, ValueError):
            errors["file"] = Said(N_("The file uploaded earlier is gone; choose it again."))
            return {}
    if not data:
        return {}
    try:
        return store_attachment(store, data, file_name)
    except UploadError as exc:
        errors["file"] = exc.said
        return {}


async def _save(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    store: FileStore,
    form: AssetForm,
    asset_id: int | None,
) -> Response[Any]:
    values = form.values()
    upload = form.file if form.file is not None and form.file.filename else None
    data = await upload.read() if upload is not None else b""
    file_name = upload.filename if upload is not None else None
    kept_sha256 = form.uploaded_sha256
    if not data and kept_sha256:
        file_name = form.uploaded_name or None
    action = form.action
    author = request.user.email

    def work() -> tuple[int | None, Errors, dict[str, str]]:
        draft, errors = validate_draft(values)
        attachment = _attachment(store, data, kept_sha256, file_name or "the file", errors)
        blob = attachment.get("blob")
        kept = {"sha256": blob.sha256, "name": attachment["file_name"]} if blob is not None else {}
        if draft is None or errors:
            return None, errors, kept
        try:
            with database.write() as session:
                asset = _load(session, asset_id) if asset_id is not None else None
                asset = save_asset(session, draft, author, asset, **attachment)
                if action == "publish":
                    publishing.publish(session, asset, author)
                return asset.id, {}, kept
        except ContentError as exc:
            return None, exc.errors, kept

    saved_id, errors, kept = await to_thread.run_sync(work)
    if saved_id is not None:
        done = "created" if asset_id is None else "saved"
        return Redirect(f"/console/assets/{saved_id}?done={done}", status_code=303)

    def reload() -> dict[str, Any]:
        with database.read() as session:
            asset = _load(session, asset_id) if asset_id is not None else None
            return {
                "asset": asset,
                "revisions": list(asset.revisions[:50]) if asset else [],
                **_choices(session, asset),
            }

    context = await to_thread.run_sync(reload)
    page = console_page(
        request, "console/asset_form.html", values=values, errors=errors, kept_file=kept, **context
    )
    page.status_code = 422
    return page
