"""Editors relabel topics and personas; the library shows the new label."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from portal.accounts.models import Role
from portal.db import Database
from tests.factories import make_asset
from tests.portal.console_forms import relabel_data_privacy
from tests.support import StaffActions, csrf_token_from, html


def test_editor_relabels_a_topic_and_the_library_shows_it(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    make_asset(db, title="CRM sync guide", topics=["crm-integration"])
    assert "CRM integration" in client.get("/library").text  # label derived from the slug
    staff.sign_in_as(Role.EDITOR)
    page = client.get("/console/taxonomy")
    assert page.status_code == 200
    field = html(page.text).css_first("#label-topics-crm-integration")
    assert field.attributes["value"] == "CRM integration"
    response = client.post(
        "/console/taxonomy/topics/crm-integration",
        data={"label": "CRM and ERP sync", "_csrf_token": csrf_token_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    library = html(client.get("/library").text).css_first("#results").text()
    assert "CRM and ERP sync" in library
    assert "CRM integration" not in library


def test_empty_label_is_refused_and_nothing_changes(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    response = relabel_data_privacy(client, staff, db, "   ")
    assert "1 to 120 characters" in html(response.text).css_first('[role="alert"]').text()
    assert html(response.text).css_first("#label-topics-data-privacy").attributes["value"] == (
        "Data privacy"
    )


def test_marketers_cannot_relabel(client: TestClient[Litestar], staff: StaffActions) -> None:
    staff.sign_in_as(Role.MARKETER)
    assert client.get("/console/taxonomy").status_code == 403
