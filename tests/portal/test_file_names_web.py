"""Upload names from the editor form are cleaned; file routes send them RFC 6266/5987 encoded."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.models import Asset
from portal.accounts.models import Role
from portal.db import Database
from tests.factories import editor_form
from tests.pdfs import make_pdf
from tests.support import StaffActions, csrf_token_from, html

DISPOSITION = re.compile(
    r"""^(?P<kind>inline|attachment); """
    r"""filename="(?P<ascii>[\x20-\x21\x23-\x24\x26-\x5b\x5d-\x7e]+)"; """
    r"""filename\*=UTF-8''(?P<encoded>[A-Za-z0-9!#$&+\-.^_`|~%]+)$"""
)


def submit(client: TestClient[Litestar], form: dict[str, Any], **files: Any) -> Any:
    token = csrf_token_from(client.get("/console/assets/new").text)
    return client.post(
        "/console/assets/new",
        data={**editor_form(), **form, "_csrf_token": token},
        files=files or None,
        follow_redirects=False,
    )


def disposition(response: Any) -> dict[str, str]:
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    match = DISPOSITION.match(response.headers["content-disposition"])
    assert match is not None, response.headers["content-disposition"]
    return {**match.groupdict(), "name": unquote(match["encoded"], errors="strict")}


def file_routes(client: TestClient[Litestar], asset: Asset) -> list[dict[str, str]]:
    """The Content-Disposition of the editor's view, the public view and the download link."""
    page = html(client.get(f"/library/{asset.slug}").text)
    link = page.css_first("a[download]")
    assert link is not None
    return [
        disposition(client.get(f"/console/assets/{asset.id}/file")),
        disposition(client.get(f"/library/{asset.slug}/file")),
        disposition(client.get(link.attributes["href"] or "")),
    ]


def test_a_kept_upload_name_with_cr_lf_is_cleaned_and_served(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    pdf = make_pdf(["kept file"])
    first = submit(client, {"title": "", "action": "save"}, file=("kept.pdf", pdf))
    assert first.status_code == 422
    kept = html(first.text).css_first('input[name="uploaded_sha256"]').attributes["value"]
    # The hidden field comes back from the browser: anyone can put CR/LF in it.
    forged = "evil\r\nSet-Cookie: pwned=1\r\n.pdf"
    second = submit(
        client,
        {"action": "publish", "uploaded_sha256": kept, "uploaded_name": forged},
    )
    assert second.status_code == 303
    with db.read() as session:
        asset = session.scalar(select(Asset))
        assert asset is not None
    assert asset.file_name == "evil Set-Cookie: pwned=1.pdf"

    for served in file_routes(client, asset):
        assert served["name"] == "evil Set-Cookie: pwned=1.pdf"
        assert served["ascii"] == "evil Set-Cookie: pwned=1.pdf"
    assert "pwned" not in client.cookies


def test_a_non_ascii_upload_name_is_kept_and_sent_percent_encoded(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    name = "Prüfbericht \u2013 März/2026 \u202e.pdf"  # a slash and a right-to-left override too
    response = submit(client, {"action": "publish"}, file=(name, make_pdf(["bericht"])))
    assert response.status_code == 303
    with db.read() as session:
        asset = session.scalar(select(Asset))
        assert asset is not None
    assert asset.file_name == "2026.pdf"

    name = "Prüfbericht \u2013 März 2026.pdf"
    response = submit(
        client, {"title": "Bericht", "action": "publish"}, file=(name, make_pdf(["bericht"]))
    )
    assert response.status_code == 303
    with db.read() as session:
        asset = session.scalar(select(Asset).where(Asset.title == "Bericht"))
        assert asset is not None
    assert asset.file_name == name
    kinds = []
    for served in file_routes(client, asset):
        assert served["name"] == name
        assert served["ascii"] == "Prufbericht _ Marz 2026.pdf"
        kinds.append(served["kind"])
    assert kinds == ["inline", "inline", "attachment"]
