"""Console forms as staff send them: the asset editor's form (a valid gated whitepaper and
``send_asset_form``, which adds the CSRF token) and relabelling a topic in the taxonomy."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from portal.accounts.models import Role
from portal.db import Database
from tests.factories import make_asset
from tests.support import StaffActions, csrf_token_from

GOOD_FORM = {
    "title": "Lead Scoring Field Guide",
    "summary": "How to weigh fit and intent.",
    "body": "## Why\n\nBecause.",
    "kind": "whitepaper",
    "stage": "consideration",
    "gate": "gated",
    "language": "en",
    "new_topics": "lead-scoring, sales-alignment",
    "timezone": "UTC",
}


def send_asset_form(
    client: TestClient[Litestar],
    url: str,
    form: dict[str, Any],
    files: dict[str, Any] | None = None,
) -> Any:
    """Post an asset editor form to ``url`` with the signed-in user's CSRF token."""
    token = csrf_token_from(client.get("/console/assets/new").text)
    return client.post(
        url, data={**form, "_csrf_token": token}, files=files, follow_redirects=False
    )


def relabel_data_privacy(
    client: TestClient[Litestar], staff: StaffActions, db: Database, label: str
) -> Any:
    """An editor sends ``label`` for the topic data-privacy (filed under by one asset)."""
    make_asset(db, topics=["data-privacy"])
    staff.sign_in_as(Role.EDITOR)
    page = client.get("/console/taxonomy")
    return client.post(
        "/console/taxonomy/topics/data-privacy",
        data={"label": label, "_csrf_token": csrf_token_from(page.text)},
    )
