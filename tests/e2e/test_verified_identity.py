"""Identity is proven by email, in the browser: a second browser typing a prospect's email reads
the asset it asked for but sees no name, and the "continue on this device" link that arrives
by mail (a real SMTP server the test starts) links it.

This server sends mail, so it is one of its own (the session's ``live_server`` has no SMTP).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.live import LiveServer, new_context, prepared_env, serve
from tests.e2e.prospects import (
    BUSINESS_CASE,
    BUYERS_GUIDE,
    RFP_CHECKLIST,
    new_prospect,
    open_asset,
    send_gate_form,
    unlock,
)
from tests.mailbox import Received, SmtpSink
from tests.support import backends, html

pytestmark = pytest.mark.e2e

CONTINUE_SUBJECT = "Your link to continue on this device"


@dataclass(frozen=True)
class MailingServer:
    server: LiveServer
    sink: SmtpSink


@pytest.fixture(scope="module", params=backends())
def mailing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MailingServer]:
    sink = SmtpSink().start()
    env = prepared_env(
        tmp_path_factory.mktemp("e2e-mailing"),
        request.param,
        database="e2e_mailing",
        SMTP_URL=sink.url,
        MAIL_FROM="Pipewise <news@pipewise.example>",
        POSTAL_ADDRESS="Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
    )
    try:
        with serve(env) as url:
            yield MailingServer(LiveServer(url=url, backend=request.param, env=env), sink)
    finally:
        sink.stop()


def mail_to(sink: SmtpSink, address: str, subject: str, timeout: float = 20.0) -> Received:
    """The first mail to ``address`` with this subject, once the server's mail job sent it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sink.to(address) if m.subject == subject]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(
        f"no mail {subject!r} to {address}: {[m.subject for m in sink.to(address)]}"
    )


def test_a_second_browser_sees_no_name_and_the_mailed_link_links_it(
    browser: Browser, mailing: MailingServer
) -> None:
    server, sink = mailing.server, mailing.sink
    ada = new_prospect("Ada", "Lovelace")
    laptop = new_context(browser).new_page()
    unlock(laptop, server, BUYERS_GUIDE, ada)

    phone_context = new_context(browser)
    phone = phone_context.new_page()
    phone.set_default_timeout(10_000)
    open_asset(phone, server, BUSINESS_CASE)
    send_gate_form(
        phone,
        {"Business email": ada.email, "First name": "Eve", "Last name": "Mallory"},
        "Get access",
    )
    expect(phone.locator("#unlock-notice")).to_contain_text("Unlocked on this browser only")
    expect(phone.locator(".asset__body")).to_be_visible()
    expect(phone.locator("body")).not_to_contain_text("Ada")
    open_asset(phone, server, BUYERS_GUIDE)  # Ada's unlock is not this browser's
    expect(phone.locator(".asset__body")).to_have_count(0)
    expect(phone.locator("#gate-welcome")).to_have_count(0)

    mail = mail_to(sink, ada.email, CONTINUE_SUBJECT)
    button = html(mail.part("html")).css_first("a.button")
    href = button.attributes.get("href") or ""
    phone.goto(server.url + href[href.index("/email/continue") :])

    expect(phone).to_have_url(f"{server.url}/library/{BUSINESS_CASE}?note=continued")
    expect(phone.locator("#unlock-notice")).to_contain_text("Welcome back, Ada")
    open_asset(phone, server, BUYERS_GUIDE)
    expect(phone.locator(".asset__body")).to_be_visible()
    open_asset(phone, server, RFP_CHECKLIST)
    expect(phone.locator("#gate-welcome")).to_contain_text("Welcome back, Ada")
    open_asset(laptop, server, RFP_CHECKLIST)  # the first browser still speaks for her
    expect(laptop.locator("#gate-welcome")).to_contain_text("Welcome back, Ada")
    phone_context.close()
    laptop.context.close()
