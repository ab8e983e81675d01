"""Gates over HTTP: the form fragment, submissions, "Not you?", spam defences and downloads."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.files import FileStore
from nurture.mail.models import MailMessage
from portal.db import Database
from portal.settings import Settings
from portal.signing import Purpose
from portal.visitor import VISITOR_COOKIE
from tests.factories import make_asset
from tests.portal.forms import HTMX, SIGNER, asked, backdated, form_fields, submit, visitor_cookie
from tests.support import app_for, html
from tracking.models import Consent, Event, Lead, ProfileFact, Unlock


@pytest.fixture
def gated(db: Database, settings: Settings) -> Any:
    store = FileStore(settings.files_dir)
    return make_asset(
        db,
        title="Pricing guide",
        slug="pricing-guide",
        kind="whitepaper",
        stage="decision",
        gate="gated",
        body="The **secret** pricing details.",
        store=store,
        pdf_pages=["Pricing page one"],
    )


def test_a_gated_asset_page_shows_the_teaser_and_loads_the_form_as_a_fragment(
    client: TestClient[Litestar], gated: Any
) -> None:
    page = client.get("/library/pricing-guide")
    tree = html(page.text)
    assert "secret" not in page.text
    loader = tree.css_first("#gate")
    assert loader is not None
    assert loader.attributes["hx-get"] == "/library/pricing-guide/gate"
    # Without JavaScript the same form is one link away.
    assert tree.css_first('#gate a[href="/library/pricing-guide/gate"]') is not None
    # The page carries nothing personal: no CSRF token, no form.
    assert tree.css_first("form.gate-form") is None


def test_first_visit_asks_email_plus_at_most_two_questions(
    client: TestClient[Litestar], gated: Any
) -> None:
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert asked(fragment.text) == ["email", "first_name", "last_name"]
    tree = html(fragment.text)
    consent = tree.css_first('input[name="consent_marketing"]')
    assert consent is not None
    assert "checked" not in consent.attributes
    assert tree.css_first('input[name="_csrf_token"]') is not None
    # Fragment only: no page shell around it.
    assert tree.css_first("header.site-header") is None


def test_unlock_with_htmx_swaps_in_the_content_and_a_download_link(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    response = submit(
        client,
        "pricing-guide",
        htmx=True,
        consent=True,
        email="  Ada@Example.COM ",
        first_name="Ada",
        last_name="Lovelace",
    )
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#asset-content"
    tree = html(response.text)
    assert "secret" in tree.css_first(".asset__body").text()
    # The box was ticked: the page says where the confirmation went (double opt-in).
    assert tree.css_first("#unlock-notice").text() == (
        "Unlocked — enjoy the read. To get our emails, confirm your subscription with the "
        "link we have just sent to your inbox."
    )
    link = tree.css_first('a[href*="/library/pricing-guide/download?t="]')
    assert link is not None
    download = client.get(link.attributes["href"] or "")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    with db.read() as session:
        lead = session.scalars(select(Lead)).one()
        assert lead.email == "ada@example.com"
        # Double opt-in: the ticked box asks; the confirmation mail is queued with the form.
        assert not lead.marketing_consent
        assert lead.consent_status == "pending"
        consent = session.scalars(select(Consent)).one()
        assert (consent.source_ref, consent.status) == ("pricing-guide", "pending")
        queued = sorted((m.kind, m.to_address) for m in session.scalars(select(MailMessage)))
        # ...and the copy of the file goes too (transactional: no consent needed).
        assert queued == [("asset_copy", "ada@example.com"), ("opt_in", "ada@example.com")]
        types = session.scalars(select(Event.type).order_by(Event.id)).all()
    assert types == ["gate_view", "form_submit", "unlock", "asset_view", "download"]


def test_unlock_without_javascript_redirects_to_the_readable_page(
    client: TestClient[Litestar], gated: Any
) -> None:
    response = submit(
        client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/library/pricing-guide"
    page = client.get("/library/pricing-guide")
    assert "secret" in html(page.text).css_first(".asset__body").text()
    assert html(page.text).css_first("#unlock-notice") is None  # the box was not ticked


def test_without_javascript_a_ticked_box_is_answered_on_the_page_it_lands_on(
    client: TestClient[Litestar], gated: Any
) -> None:
    response = submit(
        client,
        "pricing-guide",
        consent=True,
        email="ada@example.com",
        first_name="Ada",
        last_name="L",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/library/pricing-guide?note=opt-in-sent"
    page = html(client.get(response.headers["location"]).text)
    assert page.css_first("#unlock-notice").text() == (
        "To get our emails, confirm your subscription with the link we have just sent to your "
        "inbox."
    )


def test_the_next_gated_asset_greets_and_asks_only_new_questions_then_one_click(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    second = make_asset(db, slug="roi-calculator", kind="checklist", stage="decision", gate="gated")
    third = make_asset(db, slug="vendor-checklist", kind="checklist", gate="gated")
    submit(client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L")

    fragment = client.get(f"/library/{second.slug}/gate", headers=HTMX)
    tree = html(fragment.text)
    assert "Welcome back, Ada" in tree.css_first("#gate-welcome").text()
    assert tree.css_first('form[action="/forget"] #not-you') is not None
    questions = asked(fragment.text)
    assert questions == ["company", "job_title"]
    submit(client, second.slug, company="Acme", job_title="CMO")

    # Firmographics come first by priority, then (with decision interest) the BANT questions.
    questions = asked(client.get(f"/library/{third.slug}/gate").text)
    assert questions == ["company_size", "industry"]
    submit(client, third.slug, company_size="50-249", industry="Software")
    fourth = make_asset(db, slug="buyers-guide", gate="gated")
    assert asked(client.get(f"/library/{fourth.slug}/gate").text) == ["country", "need"]
    with db.read() as session:
        facts = dict(
            session.execute(
                select(ProfileFact.field, ProfileFact.value).where(
                    ProfileFact.superseded_at.is_(None)
                )
            ).all()
        )
        assert session.scalar(select(func.count()).select_from(Unlock)) == 3
    assert facts == {
        "first_name": "Ada",
        "last_name": "L",
        "company": "Acme",
        "job_title": "CMO",
        "company_size": "50-249",
        "industry": "Software",
    }


def test_nothing_left_to_ask_unlocks_with_one_click(
    client: TestClient[Litestar], gated: Any, db: Database, settings: Settings
) -> None:
    model = settings.data_dir.parent / "model.toml"
    model.write_text("[profiling]\nmax_questions = 0\n")

    with (
        app_for(settings.with_overrides(model=model)) as built,
        TestClient(built) as one_click_client,
    ):
        other = make_asset(db, slug="case-study", kind="case_study", gate="gated")
        submit(one_click_client, "pricing-guide", email="ada@example.com")
        fragment = one_click_client.get(f"/library/{other.slug}/gate", headers=HTMX)
        assert asked(fragment.text) == []
        assert html(fragment.text).css_first("#gate-submit").text().strip() == "Unlock now"
        # A returning reader clicks at once: no minimum fill time when nothing is asked.
        page = one_click_client.get(f"/library/{other.slug}/gate")
        response = one_click_client.post(
            f"/library/{other.slug}/unlock",
            data=form_fields(page.text),
            headers=HTMX,
            follow_redirects=False,
        )
        assert response.status_code == 200
        assert response.headers["HX-Retarget"] == "#asset-content"


def test_wrong_input_gets_messages_next_to_fields_and_keeps_every_value(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    response = submit(
        client, "pricing-guide", email="not-an-address", first_name="Ada", last_name=""
    )
    assert response.status_code == 422
    tree = html(response.text)
    assert tree.css_first("#gate-email-error") is not None
    assert tree.css_first("#gate-last_name-error") is not None
    assert tree.css_first("#gate-first_name-error") is None
    assert tree.css_first("#gate-email").attributes["value"] == "not-an-address"
    assert tree.css_first("#gate-first_name").attributes["value"] == "Ada"
    assert tree.css_first("#gate-email").attributes["aria-invalid"] == "true"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_fixing_a_mistake_at_once_is_timed_from_when_the_form_was_opened(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    # The form was opened half a minute ago; the email has a typo.
    mistake = submit(client, "pricing-guide", email="ada@example", first_name="Ada", last_name="L")
    assert mistake.status_code == 422
    # The person fixes it and sends the form again straight away: not "too quick".
    data = {**form_fields(mistake.text), "email": "ada@example.com"}
    fixed = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)
    assert fixed.status_code == 303, html(fixed.text).css_first("#gate-notice")
    with db.read() as session:
        assert session.scalars(select(Lead.email)).all() == ["ada@example.com"]


def test_htmx_errors_swap_the_form_in_place(client: TestClient[Litestar], gated: Any) -> None:
    response = submit(client, "pricing-guide", htmx=True, email="", first_name="", last_name="")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#gate"
    assert html(response.text).css_first("header.site-header") is None


def test_a_missing_csrf_token_is_refused(client: TestClient[Litestar], gated: Any) -> None:
    page = client.get("/library/pricing-guide/gate")
    data = {**form_fields(page.text), "_started": backdated(), "email": "ada@example.com"}
    data.pop("_csrf_token")
    response = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)
    assert response.status_code == 403


def test_the_honeypot_refuses_bots_and_stores_nothing(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    response = submit(
        client,
        "pricing-guide",
        email="bot@example.com",
        first_name="B",
        last_name="B",
        hp_website="http://spam.example",
    )
    assert response.status_code == 400
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_a_form_sent_back_too_fast_is_asked_again_with_values_kept(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    page = client.get("/library/pricing-guide/gate")
    answers = {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"}
    data = {**form_fields(page.text), **answers}  # correct: only a valid form is timed
    response = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)
    assert response.status_code == 422
    tree = html(response.text)
    assert "quicker than we expected" in tree.css_first("#gate-notice").text()
    assert tree.css_first("#gate-email").attributes["value"] == "ada@example.com"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_too_many_submissions_from_one_address_get_a_clear_429(
    db: Database, settings: Settings, gated: Any
) -> None:
    model = settings.data_dir.parent / "model.toml"
    model.write_text("[profiling]\nsubmissions_per_ip = 2\nrate_window_seconds = 600\n")

    with app_for(settings.with_overrides(model=model)) as built, TestClient(built) as limited:
        for _ in range(2):
            assert submit(limited, "pricing-guide", email="").status_code == 422
        response = submit(
            limited, "pricing-guide", email="ada@example.com", first_name="A", last_name="B"
        )
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 600
    tree = html(response.text)
    assert "Too many forms" in tree.css_first("#gate-notice").text()
    assert tree.css_first("#gate-email").attributes["value"] == "ada@example.com"


def identified(client: TestClient[Litestar], db: Database) -> Any:
    """This browser identified as Ada on the pricing guide; returns another gated asset."""
    other = make_asset(db, slug="roi-calculator", gate="gated")
    submit(client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L")
    assert "secret" in client.get("/library/pricing-guide").text
    return other


def forget_form(page_text: str) -> Any:
    """The "Not you?" form of a page: a POST to /forget carrying the CSRF token."""
    form = html(page_text).css_first('form[action="/forget"]')
    assert form is not None, "no form posting to /forget"
    assert form.attributes["method"] == "post"
    assert form.css_first('input[name="_csrf_token"]') is not None
    return form


def still_ada(client: TestClient[Litestar], other: Any) -> bool:
    """This browser still reads the unlocked asset and the other gate still greets Ada."""
    if "secret" not in client.get("/library/pricing-guide").text:
        return False
    fragment = html(client.get(f"/library/{other.slug}/gate").text)
    welcome = fragment.css_first("#gate-welcome")
    return welcome is not None and "Ada" in welcome.text()


def test_the_gates_not_you_is_a_button_posting_to_forget(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    other = identified(client, db)

    form = forget_form(client.get(f"/library/{other.slug}/gate", headers=HTMX).text)

    button = form.css_first("button#not-you")
    assert button is not None
    assert button.attributes["type"] == "submit"
    assert button.text().strip() == "not you?"
    next_input = form.css_first('input[name="next"]')
    assert next_input is not None
    assert next_input.attributes["value"] == "/library/roi-calculator"


def test_get_forget_changes_nothing_and_offers_the_button(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    other = identified(client, db)

    page = client.get("/forget?next=/library/roi-calculator", follow_redirects=False)

    assert page.status_code == 200
    assert visitor_cookie(page) is None
    form = forget_form(page.text)
    assert form.css_first('input[name="next"]').attributes["value"] == "/library/roi-calculator"
    assert form.css_first("button[type=submit]") is not None
    assert still_ada(client, other)


def test_post_forget_without_csrf_is_refused(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    other = identified(client, db)

    response = client.post("/forget", data={"next": "/"}, follow_redirects=False)

    assert response.status_code == 403
    assert still_ada(client, other)


def test_not_you_forgets_the_identity_on_this_browser(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    other = identified(client, db)
    form = forget_form(client.get(f"/library/{other.slug}/gate").text)
    data = {
        str(node.attributes["name"]): node.attributes.get("value") or ""
        for node in form.css("input")
    }

    response = client.post("/forget", data=data, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/library/roi-calculator"
    assert visitor_cookie(response) is not None
    page = client.get("/library/pricing-guide")
    assert "secret" not in page.text
    fragment = client.get(f"/library/{other.slug}/gate")
    assert "Ada" not in fragment.text
    assert asked(fragment.text)[0] == "email"


def test_forget_never_redirects_off_site(client: TestClient[Litestar]) -> None:
    page = client.get("/forget?next=https://evil.example/")
    form = forget_form(page.text)
    assert form.css_first('input[name="next"]').attributes["value"] == "/"
    token = form.css_first('input[name="_csrf_token"]').attributes["value"] or ""
    response = client.post(
        "/forget",
        data={"next": "https://evil.example/", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_typed_email_on_another_device_unlocks_only_what_it_asked_for(
    app: Litestar, gated: Any, db: Database
) -> None:
    other = make_asset(db, slug="roi-calculator", gate="gated", body="The **hidden** model.")
    with TestClient(app) as laptop:
        submit(laptop, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L")
    with TestClient(app) as phone:
        assert "secret" not in phone.get("/library/pricing-guide").text
        # A new device is anonymous; typing Ada's email proves nothing (the link mailed to
        # her does: tests/portal/test_verified_identity.py).
        fragment = phone.get(f"/library/{other.slug}/gate")
        assert asked(fragment.text) == ["email", "first_name", "last_name"]
        submit(phone, other.slug, email="ADA@example.com", first_name="Eve", last_name="L")
        assert "hidden" in phone.get(f"/library/{other.slug}").text
        assert "secret" not in phone.get("/library/pricing-guide").text
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
        assert session.scalar(select(func.count()).select_from(Unlock)) == 1  # Ada's own


def test_the_visitor_cookie_is_signed_httponly_lax_and_lasts_a_year(
    client: TestClient[Litestar], gated: Any
) -> None:
    cookie = visitor_cookie(client.get("/library"))
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert f"Max-Age={365 * 24 * 3600}" in cookie
    assert "Secure" not in cookie
    # The same browser keeps its id: no new cookie on the next page.
    assert visitor_cookie(client.get("/library")) is None


def test_the_visitor_cookie_is_secure_under_https(db: Database, settings: Settings) -> None:
    https = settings.with_overrides(base_url="https://library.example.com")
    with (
        app_for(https) as built,
        TestClient(built, base_url="https://library.example.com") as secure,
    ):
        cookie = visitor_cookie(secure.get("/library"))
    assert cookie is not None
    assert "Secure" in cookie


def test_a_tampered_visitor_cookie_is_replaced(client: TestClient[Litestar], gated: Any) -> None:
    client.cookies.set(VISITOR_COOKIE, "forged.value.here")
    assert visitor_cookie(client.get("/library")) is not None


def test_crawlers_get_no_visitor_and_cannot_submit(
    client: TestClient[Litestar], gated: Any, db: Database
) -> None:
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
    response = client.get("/library/pricing-guide", headers=bot)
    assert visitor_cookie(response) is None
    client.get("/library/pricing-guide/gate", headers=bot)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_forged_download_token_gets_the_form_never_the_file(
    client: TestClient[Litestar], gated: Any
) -> None:
    response = client.get("/library/pricing-guide/download?t=forged")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    tree = html(response.text)
    assert "expired or is not valid" in tree.css_first("#gate-notice").text()
    assert tree.css_first("form.gate-form") is not None


def test_a_download_token_without_a_lead_does_not_open_a_gated_file(
    client: TestClient[Litestar], gated: Any
) -> None:
    token = SIGNER.sign(Purpose.DOWNLOAD, {"a": gated.id, "f": gated.file_sha256, "l": None})
    response = client.get(f"/library/pricing-guide/download?t={token}")
    assert response.status_code == 403
    assert "%PDF" not in response.text


def test_a_download_token_of_a_lead_without_the_unlock_is_refused(
    client: TestClient[Litestar], gated: Any
) -> None:
    token = SIGNER.sign(Purpose.DOWNLOAD, {"a": gated.id, "f": gated.file_sha256, "l": 999})
    assert client.get(f"/library/pricing-guide/download?t={token}").status_code == 403


def test_an_expired_download_link_is_refused(
    client: TestClient[Litestar], gated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = submit(
        client, "pricing-guide", htmx=True, email="ada@example.com", first_name="A", last_name="B"
    )
    href = html(response.text).css_first('a[href*="download?t="]').attributes["href"] or ""
    eight_days = (datetime.now(UTC) + timedelta(days=8)).timestamp()
    monkeypatch.setattr(time, "time", lambda: eight_days)
    expired = client.get(href)
    assert expired.status_code == 403
    assert "%PDF" not in expired.text


def test_the_gated_file_viewer_opens_only_after_the_unlock(
    client: TestClient[Litestar], gated: Any
) -> None:
    assert client.get("/library/pricing-guide/file").status_code == 403
    submit(client, "pricing-guide", email="ada@example.com", first_name="A", last_name="B")
    assert client.get("/library/pricing-guide/file").status_code == 200


def test_open_assets_download_without_a_form(
    client: TestClient[Litestar], db: Database, settings: Settings
) -> None:
    make_asset(
        db, slug="open-guide", gate="open", store=FileStore(settings.files_dir), pdf_pages=["x"]
    )
    page = html(client.get("/library/open-guide").text)
    link = page.css_first('a[href*="/library/open-guide/download?t="]')
    assert link is not None
    assert client.get(link.attributes["href"] or "").status_code == 200
    assert client.get("/library/open-guide/gate").status_code == 404


def test_a_soft_gate_reads_at_once_and_offers_the_download_for_an_email(
    client: TestClient[Litestar], db: Database, settings: Settings
) -> None:
    make_asset(
        db,
        slug="soft-guide",
        gate="soft",
        body="Readable body.",
        store=FileStore(settings.files_dir),
        pdf_pages=["x"],
    )
    page = client.get("/library/soft-guide")
    assert "Readable body." in page.text
    assert html(page.text).css_first('.soft-gate #gate[hx-get="/library/soft-guide/gate"]')
    response = submit(
        client,
        "soft-guide",
        htmx=True,
        consent=True,
        email="ada@example.com",
        first_name="Ada",
        last_name="L",
    )
    assert response.status_code == 200
    tree = html(response.text)
    assert "Thanks, Ada" in tree.css_first("#unlock-notice").text()
    assert "confirm your subscription" in tree.css_first("#opt-in-notice").text()
    link = tree.css_first("#gate-download").attributes["href"] or ""
    assert client.get(link).status_code == 200


def test_a_webinar_gate_is_its_registration_with_a_calendar_file(
    client: TestClient[Litestar], db: Database
) -> None:
    starts = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    make_asset(
        db,
        slug="live-demo",
        kind="webinar",
        gate="gated",
        stage="decision",
        webinar_starts_at=starts.isoformat(),
        webinar_duration_minutes="45",
    )
    fragment = client.get("/library/live-demo/gate", headers=HTMX)
    assert asked(fragment.text)[:3] == ["email", "first_name", "last_name"]
    assert html(fragment.text).css_first("#gate-submit").text().strip() == "Register"
    response = submit(
        client, "live-demo", htmx=True, email="ada@example.com", first_name="Ada", last_name="L"
    )
    tree = html(response.text)
    assert "registered" in tree.css_first("#unlock-notice").text()
    ics = tree.css_first('a[href="/library/live-demo/calendar.ics"]')
    assert ics is not None
    assert client.get("/library/live-demo/calendar.ics").text.startswith("BEGIN:VCALENDAR")
    with db.read() as session:
        assert "webinar_register" in session.scalars(select(Event.type)).all()


def test_a_wrong_model_file_stops_the_app_with_its_key(settings: Settings, tmp_path: Path) -> None:
    from portal.app import create_app
    from tracking.rules.config import ModelError

    model = tmp_path / "bad.toml"
    model.write_text("[profiling]\nmax_questions = 'two'\n")
    with pytest.raises(ModelError, match=r"profiling\.max_questions"):
        create_app(settings.with_overrides(model=model))


def test_personal_answers_are_never_cached_and_teasers_are_not_tracked_as_reading(
    client: TestClient[Litestar], gated: Any
) -> None:
    teaser = client.get("/library/pricing-guide")
    assert html(teaser.text).css_first("[data-asset]") is None  # no reading measured on a teaser
    fragment = client.get("/library/pricing-guide/gate", headers=HTMX)
    assert fragment.headers["cache-control"] == "private, no-store"
    response = submit(
        client, "pricing-guide", htmx=True, email="ada@example.com", first_name="A", last_name="B"
    )
    assert response.headers["cache-control"] == "private, no-store"
    page = client.get("/library/pricing-guide")
    assert page.headers["cache-control"] == "private, no-store"
    assert html(page.text).css_first('[data-asset="pricing-guide"]') is not None


def test_an_oversized_gate_form_is_refused_before_it_is_read(
    client: TestClient[Litestar], gated: Any
) -> None:
    page = client.get("/library/pricing-guide/gate")
    data = {**form_fields(page.text), "_started": backdated(), "email": "a" * 20_000}
    response = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)
    assert response.status_code == 413
