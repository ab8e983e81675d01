"""The editor's console: create, validate, upload, publish, schedule, archive; roles and CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.models import Asset, AssetRevision
from portal.accounts.models import Role
from portal.db import Database
from tests.factories import extract_file_texts
from tests.pdfs import make_pdf
from tests.portal.console_forms import GOOD_FORM, send_asset_form
from tests.support import StaffActions, csrf_token_from, html


def test_editor_creates_a_draft_with_a_pdf(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    pdf = make_pdf(["Cover", "Chapter one on scoring", "Chapter two"])
    response = send_asset_form(
        client,
        "/console/assets/new",
        {**GOOD_FORM, "action": "save"},
        files={"file": ("field-guide.pdf", pdf, "application/pdf")},
    )
    assert response.status_code == 303
    extract_file_texts(db, client.app.state.files)
    with db.read() as session:
        asset = session.scalar(select(Asset).where(Asset.slug == "lead-scoring-field-guide"))
        assert asset is not None
        assert asset.status == "draft"
        assert asset.file_pages == 3
        assert "Chapter one on scoring" in asset.file_text
        assert sorted(t.slug for t in asset.topics) == ["lead-scoring", "sales-alignment"]
        revisions = session.scalars(
            select(AssetRevision).where(AssetRevision.asset_id == asset.id)
        ).all()
        assert [(r.action, r.author) for r in revisions] == [("created", "editor@example.com")]
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "field-guide.pdf" in page.text


def test_validation_errors_show_next_to_fields_and_keep_what_was_typed(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    form = {
        **GOOD_FORM,
        "title": "",
        "kind": "podcast",
        "summary": "Kept summary text",
        "action": "save",
    }
    response = send_asset_form(client, "/console/assets/new", form)
    assert response.status_code == 422
    page = html(response.text)
    assert page.css_first("#error-title") is not None
    assert "podcast" in page.css_first("#error-kind").text()
    assert page.css_first("#summary").text() == "Kept summary text"
    assert page.css_first("#body").text() == GOOD_FORM["body"]
    with db.read() as session:
        assert session.scalar(select(Asset.id)) is None


def test_upload_with_wrong_content_is_refused_clearly(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.EDITOR)
    response = send_asset_form(
        client,
        "/console/assets/new",
        {**GOOD_FORM, "action": "save"},
        files={"file": ("report.pdf", b"MZ\x90\x00 this is an exe", "application/pdf")},
    )
    assert response.status_code == 422
    message = html(response.text).css_first("#error-file").text()
    assert "not a PDF" in message
    assert html(response.text).css_first("#title").attributes["value"] == GOOD_FORM["title"]


def test_a_valid_upload_survives_a_form_error(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    pdf = make_pdf(["kept file"])
    first = send_asset_form(
        client,
        "/console/assets/new",
        {**GOOD_FORM, "title": "", "action": "save"},
        files={"file": ("kept.pdf", pdf, "application/pdf")},
    )
    assert first.status_code == 422
    kept = html(first.text).css_first('input[name="uploaded_sha256"]').attributes["value"]
    second = send_asset_form(
        client,
        "/console/assets/new",
        {**GOOD_FORM, "action": "save", "uploaded_sha256": kept, "uploaded_name": "kept.pdf"},
    )
    assert second.status_code == 303
    with db.read() as session:
        asset = session.scalar(select(Asset))
        assert asset is not None
        assert asset.file_name == "kept.pdf"


def test_publish_schedule_unpublish_and_archive(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    created = send_asset_form(
        client, "/console/assets/new", {**GOOD_FORM, "gate": "open", "action": "publish"}
    )
    url = created.headers["location"].split("?")[0]
    slug = "lead-scoring-field-guide"
    assert client.get(f"/library/{slug}").status_code == 200

    def status(action: str, **extra: str) -> Any:
        token = csrf_token_from(client.get(url).text)
        return client.post(
            f"{url}/status",
            data={"action": action, "_csrf_token": token, **extra},
            follow_redirects=False,
        )

    assert status("unpublish").status_code == 303
    assert client.get(f"/library/{slug}").status_code == 404
    past = status("schedule", publish_at="2020-01-01T10:00", timezone="UTC")
    assert "problem=" in past.headers["location"]
    assert (
        status("schedule", publish_at="2099-01-01T10:00", timezone="Europe/Berlin").status_code
        == 303
    )
    with db.read() as session:
        asset = session.scalar(select(Asset))
        assert asset is not None
        assert asset.status == "scheduled"
        assert asset.published_at is not None
        assert asset.published_at.isoformat() == "2099-01-01T09:00:00+00:00"
    assert client.get(f"/library/{slug}").status_code == 404
    assert status("archive").status_code == 303
    page = html(client.get(url).text)
    assert "status-badge--archived" in page.css_first(".status-badge").attributes["class"]
    actions = [li.text() for li in page.css(".revisions li, .revision")]
    assert any("archived" in a for a in actions)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"publish_at": ""}, "Pick the date and time to publish."),
        ({"publish_at": "next Tuesday"}, "Use a date and time like 2027-02-10T16:00."),
        (
            {"publish_at": "2099-01-01T10:00", "timezone": "Mars/Olympus"},
            "Unknown time zone 'Mars/Olympus'.",
        ),
    ],
)
def test_a_schedule_without_a_usable_time_says_why_and_changes_nothing(
    client: TestClient[Litestar],
    staff: StaffActions,
    db: Database,
    when: dict[str, str],
    message: str,
) -> None:
    staff.sign_in_as(Role.EDITOR)
    url = (
        send_asset_form(client, "/console/assets/new", GOOD_FORM).headers["location"].split("?")[0]
    )
    token = csrf_token_from(client.get(url).text)
    response = client.post(
        f"{url}/status",
        data={"_csrf_token": token, "action": "schedule", "timezone": "UTC", **when},
    )
    assert response.status_code == 200
    assert html(response.text).css_first(".flash--error").text(strip=True) == message
    with db.read() as session:
        assert session.scalar(select(Asset.status)) == "draft"


def test_preview_shows_a_draft_to_staff_only(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.EDITOR)
    created = send_asset_form(
        client, "/console/assets/new", {**GOOD_FORM, "body": "Draft body words", "action": "save"}
    )
    url = created.headers["location"].split("?")[0]
    preview = client.get(f"{url}/preview")
    assert preview.status_code == 200
    assert "Draft body words" in preview.text
    client.cookies.clear()  # a visitor without a staff session
    assert client.get(f"{url}/preview", follow_redirects=False).status_code == 303


def test_marketers_cannot_edit_the_library(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.MARKETER)
    assert client.get("/console/assets").status_code == 403
    assert client.get("/console/assets/new").status_code == 403


def test_saving_without_csrf_is_refused(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    response = client.post(
        "/console/assets/new", data={**GOOD_FORM, "action": "save"}, follow_redirects=False
    )
    assert response.status_code == 403
    with db.read() as session:
        assert session.scalar(select(Asset.id)) is None


def test_preview_shows_the_draft_file_framed_by_our_own_pages_only(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.EDITOR)
    pdf = make_pdf(["draft pdf"])
    created = send_asset_form(
        client,
        "/console/assets/new",
        {**GOOD_FORM, "gate": "open", "action": "save"},
        files={"file": ("draft.pdf", pdf, "application/pdf")},
    )
    url = created.headers["location"].split("?")[0]
    page = html(client.get(url).text)
    current = page.css_first('.console-nav a[aria-current="page"]')
    assert current.attributes["href"] == "/console/assets"
    response = client.get(f"{url}/file")
    assert response.status_code == 200
    assert response.content == pdf
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["content-security-policy"] == "frame-ancestors 'self'"
