"""The mail journey in the browser, on the demo server (``serve --demo``) and its mailbox:
a prospect ticks the consent box, the confirmation mail arrives in the demo mailbox, a click
on its button subscribes; a mail client's one-click unsubscribe (RFC 8058) then stops every
later marketing mail. Nothing leaves the machine: the demo's own catcher receives the mail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailCategory, MailMessage
from nurture.mail.outbox import Mail, enqueue
from portal.db import Database
from portal.settings import Settings
from tests.e2e.live import ADMIN_EMAIL, new_context, prepared_env
from tests.e2e.prospects import BUYERS_GUIDE, new_prospect, open_asset, send_gate_form
from tests.servers import serving
from tests.support import STAFF_PASSWORD, backends
from tracking.models import Lead

pytestmark = pytest.mark.e2e

CONFIRM_SUBJECT = "Please confirm your subscription"


@dataclass(frozen=True)
class DemoServer:
    url: str
    database: Database


@pytest.fixture(scope="module", params=backends())
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    env = prepared_env(
        tmp_path_factory.mktemp("e2e-demo-mail"),
        request.param,
        database="e2e_demo_mail",
        POSTAL_ADDRESS="Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
    )
    database = Database(Settings.from_env(env, config_file=None).resolved_database_url)
    try:
        with serving(env, "--host", "127.0.0.1", "--demo") as url:
            yield DemoServer(url, database)
    finally:
        database.dispose()


def signed_in_staff(browser: Browser, demo: DemoServer) -> BrowserContext:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{demo.url}/console/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    page.close()
    return context


def open_caught_mail(staff: Page, demo: DemoServer, to: str, subject: str) -> None:
    """Open the mail in the demo mailbox once the server's mail job has sent it."""
    deadline = time.monotonic() + 20
    while True:
        staff.goto(f"{demo.url}/console/mailbox")
        row = staff.locator("tr", has_text=to).filter(has_text=subject)
        if row.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    row.first.get_by_role("link", name=subject).click()
    expect(staff.locator("#mail-subject")).to_have_text(subject)


def lead_of(demo: DemoServer, email: str) -> Lead:
    with demo.database.read() as session:
        lead = session.scalars(select(Lead).where(Lead.email == email)).one()
        session.expunge(lead)
        return lead


def marketing_mail(demo: DemoServer, lead: Lead) -> int:
    """A marketing mail as a nurture program will write it (the outbox, one transaction)."""
    with demo.database.write() as session:
        message_id = enqueue(
            session,
            Mail(to=lead.email, kind="test", category=MailCategory.MARKETING, lead_id=lead.id),
            domain="leadshelf.example",
            now=utcnow(),
        )
    assert message_id is not None
    return message_id


def settled(demo: DemoServer, message_id: int) -> MailMessage:
    deadline = time.monotonic() + 20
    while True:
        with demo.database.read() as session:
            message = session.get(MailMessage, message_id)
            assert message is not None
            session.expunge(message)
        if message.status not in ("pending", "sending") or time.monotonic() > deadline:
            return message
        time.sleep(0.2)


def test_consent_is_confirmed_from_the_demo_mailbox_and_one_click_unsubscribe_stops_mail(
    browser: Browser, demo: DemoServer
) -> None:
    ada = new_prospect("Ada", "Lovelace")
    prospect = new_context(browser).new_page()
    prospect.set_default_timeout(10_000)
    open_asset(prospect, demo, BUYERS_GUIDE)  # type: ignore[arg-type]
    prospect.locator("#gate-consent").check()
    send_gate_form(prospect, ada.answers, "Get access")
    expect(prospect.locator("#unlock-notice")).to_be_visible()
    assert lead_of(demo, ada.email).consent_status == "pending"

    staff_context = signed_in_staff(browser, demo)
    staff = staff_context.new_page()
    staff.set_default_timeout(10_000)
    open_caught_mail(staff, demo, ada.email, CONFIRM_SUBJECT)
    with staff_context.expect_page() as opened:
        staff.frame_locator("#mail-html").get_by_role(
            "link", name="Confirm my subscription"
        ).click()
    confirmation = opened.value
    expect(confirmation.locator("h1")).to_have_text("You're subscribed")
    lead = lead_of(demo, ada.email)
    assert (lead.consent_status, lead.marketing_consent) == ("confirmed", True)

    first = settled(demo, marketing_mail(demo, lead))
    assert first.status == "sent"
    open_caught_mail(staff, demo, ada.email, first.subject)
    header = staff.locator("table.mail-headers tr", has_text="List-Unsubscribe-Post")
    expect(header).to_contain_text("List-Unsubscribe=One-Click")
    links = staff.locator("table.mail-headers tr").filter(
        has=staff.locator("th", has_text=re.compile(r"^List-Unsubscribe$"))
    )
    https_link = re.search(r"<(http[^>]+)>", links.locator("td").inner_text())
    assert https_link is not None
    # What a mail client does for its "Unsubscribe" button: a cookieless POST, no page.
    answer = httpx.post(https_link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert lead_of(demo, ada.email).consent_status == "withdrawn"

    later = settled(demo, marketing_mail(demo, lead))
    assert (later.status, later.skip_reason) == ("skipped", "suppressed: unsubscribed")
    staff_context.close()
    prospect.context.close()
