"""The transactional mails of the forms, received through a real SMTP server: "your copy of …"
with a download link that works for the lead on any device, and the Talk-to-sales
confirmation. Both go without marketing consent and carry nothing of marketing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.files import FileStore
from nurture.mail.models import MailMessage
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.portal.devices import Devices
from tests.portal.forms import submit
from tests.portal.sales_form import send
from tests.support import app_for, html
from tracking.lead_profile import profile
from tracking.models import Event, IdentityClaim, Lead

Client = TestClient[Litestar]
ADA = "ada@example.com"
SALES_SUBJECT = "We have your request to talk to sales"


@pytest.fixture
def store(settings: Settings) -> FileStore:
    return FileStore(settings.files_dir)


@pytest.fixture
def guide(db: Database, store: FileStore) -> Any:
    return make_asset(
        db,
        title="Pricing guide",
        slug="pricing-guide",
        stage="decision",
        gate="gated",
        store=store,
        pdf_pages=["Pricing page one"],
    )


def received(client: Client, sink: SmtpSink, count: int) -> list[Received]:
    send_mail(client)
    return sink.wait_for(count)


def button(mail: Received) -> str:
    """The mail's one call to action (its URL as the reader clicks it)."""
    node = html(mail.part("html")).css_first("a.button")
    assert node is not None
    return node.attributes.get("href") or ""


def is_transactional(mail: Received) -> bool:
    """No List-Unsubscribe, no unsubscribe link, no open pixel: not a marketing mail."""
    body = mail.part("html")
    return (
        "List-Unsubscribe" not in mail.message
        and "/email/unsubscribe" not in body
        and "/email/open" not in body
    )


def test_unlocking_a_gated_file_mails_a_copy_whose_link_works_on_any_device(
    mail_client: Client, guide: Any, smtp_sink: SmtpSink, db: Database
) -> None:
    devices = Devices(mail_client)
    with devices.on("laptop") as laptop:
        submit(laptop, "pricing-guide", email=ADA, first_name="Ada", last_name="Lovelace")
    [copy] = received(mail_client, smtp_sink, 1)

    assert copy.rcpt_to == (ADA,)
    assert copy.subject == "Your copy of “Pricing guide”"
    assert is_transactional(copy)
    text = copy.part("plain")
    assert "Hi Ada," in text
    assert "works for 7 days, on any device" in text
    with devices.on("phone") as phone:  # another device, never identified
        download = phone.get(button(copy))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")
    with db.read() as session:
        message = session.scalars(select(MailMessage)).one()
    assert (message.kind, message.category) == ("asset_copy", "transactional")


def test_the_copys_link_expires_after_the_download_link_days(
    mail_settings: Settings,
    guide: Any,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with (
        app_for(mail_settings.with_overrides(download_link_days=2)) as built,
        TestClient(built) as client,
    ):
        submit(client, "pricing-guide", email=ADA, first_name="Ada", last_name="L")
        [copy] = received(client, smtp_sink, 1)
        assert "works for 2 days" in copy.part("plain")
        assert client.get(button(copy)).status_code == 200
        later = (datetime.now(UTC) + timedelta(days=3)).timestamp()
        monkeypatch.setattr(time, "time", lambda: later)
        expired = client.get(button(copy))
    assert expired.status_code == 403
    assert "%PDF" not in expired.text


def test_no_copy_is_mailed_when_gated_downloads_are_not(
    mail_settings: Settings, guide: Any, db: Database
) -> None:
    with (
        app_for(mail_settings.with_overrides(mail_gated_downloads=False)) as built,
        TestClient(built) as c,
    ):
        submit(c, "pricing-guide", email=ADA, first_name="Ada", last_name="L")
    with db.read() as session:
        assert session.scalars(select(MailMessage)).all() == []


def test_a_soft_gate_that_offers_the_file_mails_it_too(
    mail_client: Client, db: Database, store: FileStore, smtp_sink: SmtpSink
) -> None:
    make_asset(db, title="Checklist", slug="checklist", gate="soft", store=store, pdf_pages=["One"])
    submit(mail_client, "checklist", email=ADA, first_name="Ada", last_name="L")
    [copy] = received(mail_client, smtp_sink, 1)
    assert copy.subject == "Your copy of “Checklist”"


def test_a_german_reader_gets_the_copy_in_german(
    mail_client: Client, db: Database, store: FileStore, smtp_sink: SmtpSink
) -> None:
    make_asset(
        db,
        title="Preisleitfaden",
        slug="preisleitfaden",
        gate="gated",
        language="de",
        store=store,
        pdf_pages=["Seite eins"],
    )
    submit(mail_client, "preisleitfaden", email=ADA, first_name="Ada", last_name="L")
    [copy] = received(mail_client, smtp_sink, 1)
    assert copy.subject == "Ihr Exemplar von „Preisleitfaden“"
    assert copy.message["Content-Language"] == "de"
    text = copy.part("plain")
    assert "Hallo Ada," in text
    assert "7 Tage gültig, auf jedem Gerät" in text


def test_each_copy_goes_once_per_lead_and_asset(
    mail_client: Client, guide: Any, db: Database
) -> None:
    devices = Devices(mail_client)
    for device in ("laptop", "desk"):
        with devices.on(device) as browser:
            submit(browser, "pricing-guide", email=ADA, first_name="Ada", last_name="L")
    with db.read() as session:
        kinds = list(session.scalars(select(MailMessage.kind)))
    # The desk typed a known email: a claim, and only the continue link goes.
    assert sorted(kinds) == ["asset_copy", "continue"]


@pytest.fixture
def sales_client(mail_client: Client, db: Database) -> Client:
    make_asset(db, title="Pricing guide", slug="pricing-guide", stage="decision")
    return mail_client


def test_talk_to_sales_is_confirmed_with_what_happens_next(
    sales_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    send(sales_client, "?asset=pricing-guide", message="Call me at <b>home</b>")
    [confirmation] = received(sales_client, smtp_sink, 1)

    assert confirmation.rcpt_to == (ADA,)
    assert confirmation.subject == SALES_SUBJECT
    assert is_transactional(confirmation)
    text = confirmation.part("plain")
    assert "Hi Ada," in text
    assert "within one business day" in text
    assert "“Pricing guide”" in text
    # What was typed into the message never travels to the address typed into the form.
    assert "home" not in text
    assert "home" not in confirmation.part("html")


def test_a_german_site_confirms_in_german(
    mail_settings: Settings, db: Database, smtp_sink: SmtpSink
) -> None:
    with (
        app_for(mail_settings.with_overrides(default_language="de")) as built,
        TestClient(built) as client,
    ):
        send(client)
        [confirmation] = received(client, smtp_sink, 1)
    assert confirmation.subject == "Ihre Anfrage an unseren Vertrieb ist angekommen"
    assert "innerhalb eines Werktags" in confirmation.part("plain")


def test_a_known_email_from_another_browser_reaches_sales_but_is_only_a_claim(
    sales_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    devices = Devices(sales_client)
    with devices.on("laptop") as laptop:  # Ada's own browser made her lead
        submit_answers = {"email": ADA, "first_name": "Ada", "last_name": "Lovelace"}
        make_asset(db, slug="roi-calculator", gate="gated")
        submit(laptop, "roi-calculator", **submit_answers)
    with devices.on("phone") as phone:
        response = send(phone, htmx=True, first_name="Eve", phone="+49 30 1234567")
        tree = html(response.text)
        assert tree.css_first("#sales-form h2").text() == "Thank you!"  # no name
        assert "open the link we have emailed you" in tree.css_first("#continue-notice").text()
        form = html(phone.get("/talk-to-sales").text)
        assert form.css_first('input[name="email"]').attributes.get("value", "") in ("", None)
    with db.read() as session:
        lead = session.scalars(select(Lead)).one()
        request = session.scalar(select(Event).where(Event.type == "demo_request"))
        known = profile(session, lead.id)
        claim = session.scalars(select(IdentityClaim)).one()
    assert lead.lifecycle == "sql"  # sales hears of it at once
    assert request is not None
    assert (request.lead_id, request.visitor_id) == (lead.id, None)
    assert known == {"first_name": "Ada", "last_name": "Lovelace"}
    assert claim.asset_id is None
    assert claim.answers["phone"] == "+49 30 1234567"

    mails = received(sales_client, smtp_sink, 2)
    assert sorted(m.subject for m in mails) == [
        SALES_SUBJECT,
        "Your link to continue on this device",
    ]
    link = button(next(m for m in mails if m.subject.startswith("Your link")))
    with devices.on("phone") as phone:
        page = phone.get(link[link.index("/email/continue") :])
        assert page.status_code == 200
        assert html(page.text).css_first("h1").text() == "Welcome back"
        form = html(phone.get("/talk-to-sales").text)
        assert form.css_first('input[name="email"]').attributes["value"] == ADA
    with db.read() as session:
        known = profile(session, lead.id)
    # What Ada had not told us is filled in; her name stays hers.
    assert known["first_name"] == "Ada"
    assert (known["company"], known["phone"]) == ("Analytical Engines Ltd", "+49 30 1234567")


def test_sales_confirmations_count_towards_the_limit_of_the_address(
    sales_client: Client, db: Database
) -> None:
    devices = Devices(sales_client)
    landings = []
    for n in range(4):
        with devices.on(f"browser-{n}") as browser:
            response = send(browser)
            assert response.status_code == 303
            landings.append(response.headers["location"])
            if n == 3:
                notice = html(browser.get(landings[-1]).text).css_first("#continue-notice")
                assert "a short while ago" in notice.text()
    assert landings == [
        "/talk-to-sales/thanks",
        "/talk-to-sales/thanks?sent=queued",
        "/talk-to-sales/thanks?sent=held",
        "/talk-to-sales/thanks?sent=held",
    ]
    with db.read() as session:
        kinds = list(session.scalars(select(MailMessage.kind).order_by(MailMessage.id)))
        lead = session.scalars(select(Lead)).one()
    # Every request reached sales; the mails stop at three an hour.
    assert lead.lifecycle == "sql"
    assert kinds == ["sales_confirmation", "sales_confirmation", "continue"]
