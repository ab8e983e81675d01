"""The API names an asset's versions in other languages, so an integrator can link them."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset


def test_an_asset_lists_its_published_translations_and_its_original(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(db, slug="guide", language="en")
    make_asset(db, slug="leitfaden", language="de", translation_of="guide")
    make_asset(db, slug="checklist", language="en")
    make_asset(db, slug="checkliste", language="de", translation_of="checklist", published=False)
    with db.write() as session:
        token = service.create_token(session, "cms-sync", "read")
    auth = {"Authorization": f"Bearer {token}"}

    guide = client.get("/api/v1/assets/guide", headers=auth).json()
    assert guide["translation_of"] is None
    assert [(t["slug"], t["language"]) for t in guide["translations"]] == [("leitfaden", "de")]
    assert guide["translations"][0]["url"].endswith("/library/leitfaden")
    german = client.get("/api/v1/assets/leitfaden", headers=auth).json()
    assert german["translation_of"] == "guide"
    assert [t["slug"] for t in german["translations"]] == ["guide"]

    listed = {a["slug"]: a for a in client.get("/api/v1/assets", headers=auth).json()["items"]}
    assert set(listed) == {"guide", "leitfaden", "checklist"}
    assert listed["checklist"]["translations"] == []  # its translation is a draft
    assert [t["slug"] for t in listed["leitfaden"]["translations"]] == ["guide"]
