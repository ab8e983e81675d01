"""The editor's console: list, create, edit, preview, publish, schedule, unpublish, archive."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from content import publishing
from content.editing import (
    ContentError,
    parse_datetime,
    save_asset,
    store_attachment,
    validate_draft,
)
from content.files import FileStore, UploadError
from content.markdown import render_markdown
from content.models import GATE_LABELS, KIND_LABELS, LANGUAGES, Asset, Gate, Kind, Status
from content.taxonomy import DEFAULT_STAGES, all_personas, all_topics
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import LIBRARY
from portal.db import Database
from portal.downloads import file_response
from portal.routes.console import console_page

FORM_FIELDS = (
    "title", "slug", "summary", "body", "kind", "stage", "gate", "language", "video_url",
    "webinar_starts_at", "webinar_duration_minutes", "recording_url", "timezone", "new_topics",
)  # fmt: skip
STATUS_ACTIONS = {"publish", "schedule", "unpublish", "archive"}


def _choices(session: Session) -> dict[str, Any]:
    return {
        "kinds": [(k.value, KIND_LABELS[k]) for k in Kind],
        "stages": [(s.name, s.label) for s in DEFAULT_STAGES],
        "gates": [(g.value, GATE_LABELS[g]) for g in Gate],
        "languages": list(LANGUAGES.items()),
        "all_topics": all_topics(session),
        "all_personas": all_personas(session),
    }


def _form_values(asset: Asset | None) -> dict[str, Any]:
    if asset is None:
        return {"gate": "open", "language": "en", "topics": [], "personas": [], "timezone": "UTC"}
    values: dict[str, Any] = {name: getattr(asset, name, "") or "" for name in FORM_FIELDS}
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
        state: State,
        status: FromQuery[str] = "",
        q: FromQuery[str] = "",
    ) -> Template:
        database: Database = state.db
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
    def new(self, request: Request[StaffPrincipal, Any, Any], state: State) -> Template:
        database: Database = state.db
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
        self, request: Request[StaffPrincipal, Any, Any], state: State
    ) -> Response[Any]:
        return await _save(request, state, asset_id=None)

    @get("/{asset_id:int}", sync_to_thread=True)
    def edit(
        self, request: Request[StaffPrincipal, Any, Any], state: State, asset_id: FromPath[int]
    ) -> Template:
        database: Database = state.db
        with database.read() as session:
            asset = _load(session, asset_id)
            choices = _choices(session)
            revisions = list(asset.revisions[:50])
        notice = {"saved": "Saved.", "created": "Asset created."}.get(
            request.query_params.get("done", "")
        )
        return console_page(
            request,
            "console/asset_form.html",
            asset=asset,
            values=_form_values(asset),
            errors={},
            revisions=revisions,
            notice=notice,
            **choices,
        )

    @post("/{asset_id:int}")
    async def update(
        self, request: Request[StaffPrincipal, Any, Any], state: State, asset_id: FromPath[int]
    ) -> Response[Any]:
        return await _save(request, state, asset_id=asset_id)

    @post("/{asset_id:int}/status")
    async def change_status(
        self, request: Request[StaffPrincipal, Any, Any], state: State, asset_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        action = str(form.get("action", ""))
        database: Database = state.db
        author = request.user.email

        def work() -> str | None:
            with database.write() as session:
                asset = _load(session, asset_id)
                try:
                    _apply_status(session, asset, action, form, author)
                except ContentError as exc:
                    return "; ".join(exc.errors.values())
            return None

        problem = await to_thread.run_sync(work)
        if problem:
            return Redirect(
                f"/console/assets/{asset_id}?{urlencode({'problem': problem})}", status_code=303
            )
        return Redirect(f"/console/assets/{asset_id}?done=saved", status_code=303)

    @get("/{asset_id:int}/file", sync_to_thread=True)
    def file(
        self, state: State, request: Request[StaffPrincipal, Any, Any], asset_id: FromPath[int]
    ) -> Response[Any]:
        """The attached file of any asset, draft or not, for the editor's preview."""
        database: Database = state.db
        with database.read() as session:
            asset = _load(session, asset_id)
            stored = asset.file
            if stored is None or asset.file_sha256 is None:
                raise NotFoundException()
            name = asset.file_name or asset.slug
        store: FileStore = state.files
        return file_response(
            store.path_for(stored.sha256),
            content_type=stored.content_type,
            file_name=name,
            attachment=False,
            range_header=request.headers.get("range"),
            cache_control="no-store",
        )

    @get("/{asset_id:int}/preview", sync_to_thread=True)
    def preview(
        self, request: Request[StaffPrincipal, Any, Any], state: State, asset_id: FromPath[int]
    ) -> Template:
        database: Database = state.db
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


def _apply_status(session: Session, asset: Asset, action: str, form: Any, author: str) -> None:
    if action == "publish":
        publishing.publish(session, asset, author)
    elif action == "schedule":
        errors: dict[str, str] = {}
        at = parse_datetime(
            {"publish_at": form.get("publish_at"), "timezone": form.get("timezone")},
            "publish_at",
            errors,
        )
        if at is None:
            raise ContentError(errors or {"publish_at": "Pick the date and time to publish."})
        publishing.schedule(session, asset, at, author)
    elif action == "unpublish":
        publishing.unpublish(session, asset, author)
    elif action == "archive":
        publishing.archive(session, asset, author)
    else:
        raise ContentError({"action": f"Unknown action {action!r}."})


def _attachment(
    store: FileStore, data: bytes, kept_sha256: str, file_name: str, errors: dict[str, str]
) -> dict[str, Any]:
    """The new upload, or the one kept from an earlier attempt, as ``save_asset`` arguments."""
    if not data and kept_sha256:
        try:
            data = store.read(kept_sha256)
        except (OSError, ValueError):
            errors["file"] = "The file uploaded earlier is gone; choose it again."
            return {}
    if not data:
        return {}
    try:
        return store_attachment(store, data, file_name)
    except UploadError as exc:
        errors["file"] = str(exc)
        return {}


async def _save(
    request: Request[StaffPrincipal, Any, Any], state: State, asset_id: int | None
) -> Response[Any]:
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, "") or "") for name in FORM_FIELDS}
    values["topics"] = [str(t) for t in form.getall("topics", [])] + [
        t for t in values["new_topics"].split(",") if t.strip()
    ]
    values["personas"] = [str(p) for p in form.getall("personas", [])]
    values["featured"] = form.get("featured") == "on"
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) and upload.filename else b""
    file_name = upload.filename if isinstance(upload, UploadFile) and upload.filename else None
    # A valid upload sent with a form that had errors is kept by hash: no need to choose it again.
    kept_sha256 = str(form.get("uploaded_sha256", "") or "")
    if not data and kept_sha256:
        file_name = str(form.get("uploaded_name", "") or "") or None
    action = str(form.get("action", "save"))
    database: Database = state.db
    store: FileStore = state.files
    author = request.user.email

    def work() -> tuple[int | None, dict[str, str], dict[str, str]]:
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
                **_choices(session),
            }

    context = await to_thread.run_sync(reload)
    page = console_page(
        request, "console/asset_form.html", values=values, errors=errors, kept_file=kept, **context
    )
    page.status_code = 422
    return page
