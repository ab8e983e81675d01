"""The editor links an asset to its translation, is told plainly when a link cannot be made,
and reads the whole editor in German when that is their console language."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from content.models import Asset
from portal.accounts.models import Role, StaffUser
from portal.db import Database
from tests.factories import make_asset
from tests.portal.console_forms import GOOD_FORM, send_asset_form
from tests.support import StaffActions, html
from tests.untranslated import untranslated


def _german_editor(staff: StaffActions, db: Database) -> None:
    email = staff.create(Role.EDITOR)
    with db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.email == email).values(language="de"))
    assert getattr(staff.login(email), "status_code", None) == 303


def _form(asset: Asset, **changes: str) -> dict[str, str]:
    return {
        **GOOD_FORM,
        "title": asset.title,
        "slug": asset.slug,
        "kind": asset.kind,
        "stage": asset.stage,
        "gate": asset.gate,
        "language": asset.language,
        "new_topics": "",
        "action": "save",
        **changes,
    }


def test_the_editor_links_a_translation_and_both_pages_name_each_other(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    original = make_asset(db, title="Lead scoring explained", language="en")
    german = make_asset(db, title="Lead-Scoring erklärt", language="de")
    staff.sign_in_as(Role.EDITOR)
    page = html(client.get(f"/console/assets/{german.id}").text)
    options = {o.attributes["value"]: o.text().strip() for o in page.css("#translation_of option")}
    assert options[""] == "None: this asset is an original"
    assert options[original.slug] == "Lead scoring explained (English)"
    assert german.slug not in options  # never its own original

    response = send_asset_form(
        client,
        f"/console/assets/{german.id}",
        _form(german, translation_of=original.slug),
    )
    assert response.status_code == 303
    edited = html(client.get(f"/console/assets/{german.id}").text)
    assert edited.css_first("#translation_of option[selected]").attributes["value"] == (
        original.slug
    )
    assert "Translation of" in edited.css_first(".revision__changes").text()
    other = html(client.get(f"/console/assets/{original.id}").text)
    linked = [a.text() for a in other.css(".asset-versions a")]
    assert linked == ["Lead-Scoring erklärt"]


def test_a_link_the_rules_refuse_is_explained_next_to_the_field(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    original = make_asset(db, title="Lead scoring explained", language="en")
    make_asset(db, title="Lead-Scoring erklärt", language="de", translation_of=original.slug)
    second = make_asset(db, title="Noch ein Leitfaden", language="de")
    english = make_asset(db, title="Scoring for sales", language="en")
    staff.sign_in_as(Role.EDITOR)

    response = send_asset_form(
        client, f"/console/assets/{second.id}", _form(second, translation_of=original.slug)
    )
    assert response.status_code == 422
    page = html(response.text)
    assert page.css_first("#error-translation_of").text() == (
        "“Lead scoring explained” already has a translation in this language: "
        "“Lead-Scoring erklärt”."
    )
    assert page.css_first("#translation_of").attributes["aria-invalid"] == "true"
    summary = page.css_first("#error-summary a[href='#translation_of']").text()
    assert summary.startswith("Translation of: ")

    same_language = send_asset_form(
        client, f"/console/assets/{english.id}", _form(english, translation_of=original.slug)
    )
    assert (
        "another language than its original"
        in html(same_language.text).css_first("#error-translation_of").text()
    )
    with db.read() as session:
        assert session.get(Asset, second.id).translation_of_id is None  # type: ignore[union-attr]


def test_a_german_editor_reads_the_editor_its_menus_and_its_errors_in_german(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    original = make_asset(db, title="Lead scoring explained", language="en")
    make_asset(db, title="Lead-Scoring erklärt", language="de", translation_of=original.slug)
    second = make_asset(db, title="Noch ein Leitfaden", language="de")
    _german_editor(staff, db)

    new = client.get("/console/assets/new").text
    assert untranslated(new) == []
    page = html(new)
    assert page.css_first("html").attributes["lang"] == "de"
    assert page.css_first("label[for=title]").text().startswith("Titel")
    assert page.css_first("label[for=translation_of]").text() == "Übersetzung von"
    kinds = [o.text() for o in page.css("#kind option") if o.attributes.get("value")]
    assert "Fallstudie" in kinds
    assert "Checkliste" in kinds
    stages = [o.text() for o in page.css("#stage option") if o.attributes.get("value")]
    assert stages == ["Orientierung", "Abwägung", "Entscheidung", "Für Kunden"]

    refused = send_asset_form(
        client, "/console/assets/new", {**GOOD_FORM, "kind": "", "action": "save"}
    )
    errors = html(refused.text)
    assert errors.css_first("#error-kind").text() == (
        "Wählen Sie einen Typ: Whitepaper, E-Book, Webinar, Fallstudie, Checkliste, Video, "
        "Artikel oder Datenblatt."
    )
    assert errors.css_first("#error-summary-title").text() == "Es gibt ein Problem"

    assert untranslated(refused.text) == []
    clash = send_asset_form(
        client, f"/console/assets/{second.id}", _form(second, translation_of=original.slug)
    )
    assert untranslated(clash.text) == []
    assert untranslated(client.get(f"/console/assets/{original.id}").text) == []
    assert html(clash.text).css_first("#error-translation_of").text() == (
        "„Lead scoring explained“ hat bereits eine Übersetzung in dieser Sprache: "
        "„Lead-Scoring erklärt“."
    )
