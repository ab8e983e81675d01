"""A nurture program in the browser, on the demo server (``serve --demo``) and its mailbox: a
marketer creates a program from the welcome template, previews its first mail for a real lead,
activates it; a subscriber then enters it (the running ``program-scheduler`` job reads the
``subscribed`` change) and the welcome mail, with content picked for that lead, arrives in the
demo mailbox. Nothing leaves the machine: the demo's own catcher receives the mail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailMessage
from nurture.programs.models import Enrollment, Program
from portal.db import Database
from portal.settings import Settings
from tests.e2e.live import add_staff, new_context, prepared_env
from tests.servers import serving
from tests.support import STAFF_PASSWORD, backends
from tracking.identity import consent as consenting
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import get_or_create_lead
from tracking.models import Lead

pytestmark = pytest.mark.e2e

MARKETER_EMAIL = "e2e-marketer@example.com"
WORDING = ConsentText("2026-12", "Yes, email me new resources.")


@dataclass(frozen=True)
class DemoServer:
    url: str
    database: Database


@pytest.fixture(scope="module", params=backends())
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    env = prepared_env(
        tmp_path_factory.mktemp("e2e-demo-programs"),
        request.param,
        database="e2e_demo_programs",
        # The scheduler looks every second here (5 s by default), so the test waits less.
        JOB_INTERVALS="program-scheduler=1",
    )
    add_staff(env, MARKETER_EMAIL, "marketer", "Mia Marketer")
    database = Database(Settings.from_env(env, config_file=None).resolved_database_url)
    try:
        with serving(env, "--host", "127.0.0.1", "--demo") as url:
            yield DemoServer(url, database)
    finally:
        database.dispose()


def signed_in_marketer(browser: Browser, demo: DemoServer) -> BrowserContext:
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{demo.url}/console/login")
    page.get_by_label("Email").fill(MARKETER_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    page.close()
    return context


def lead_with_name(demo: DemoServer, email: str, first_name: str, *, subscribe: bool) -> int:
    """A lead as a gate form leaves it; ``subscribe``: its double opt-in confirmed now."""
    now = utcnow()
    with demo.database.write() as session:
        lead, _ = get_or_create_lead(session, email, now)
        record_facts(session, lead.id, {"first_name": first_name}, Source("form", "e2e"), now)
        if subscribe:
            asked = consenting.ask(session, lead, WORDING, source=Source("form", "e2e"), now=now)
            assert asked is not None
            assert consenting.confirm(session, lead.id, asked.id, now=now) == "confirmed"
        return lead.id


def caught(staff: Page, demo: DemoServer, to: str, subject: str) -> None:
    """Wait for the mail in the demo mailbox (the server's jobs queue and send it), open it."""
    deadline = time.monotonic() + 30
    while True:
        staff.goto(f"{demo.url}/console/mailbox")
        row = staff.locator("tr", has_text=to).filter(has_text=subject)
        if row.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    row.first.get_by_role("link", name=subject).click()
    expect(staff.locator("#mail-subject")).to_have_text(subject)


def test_a_marketer_builds_the_welcome_program_and_its_mail_reaches_a_subscriber(
    browser: Browser, demo: DemoServer
) -> None:
    # A subscriber from before the program: the preview renders for a real lead.
    lead_with_name(demo, "grace@example.com", "Grace", subscribe=True)
    context = signed_in_marketer(browser, demo)
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(f"{demo.url}/console/programs")
    # No quiet hours here: the test runs at any hour, and quiet hours would hold the mail.
    page.get_by_label("From (hour)").fill("0")
    page.get_by_label("Until (hour)").fill("0")
    page.get_by_role("button", name="Save the guard rails").click()
    expect(page.get_by_label("Until (hour)")).to_have_value("0")
    page.locator("form", has=page.locator("input[value='welcome']")).get_by_role("button").click()
    expect(page.locator("h1")).to_contain_text("Welcome")
    expect(page.locator("#program-status")).to_have_text("draft")
    program_url = page.url

    # The first mail, previewed for Grace: her name, and assets from the demo library.
    page.locator("#step-welcome").get_by_role("link", name=re.compile("Edit the mail")).click()
    page.get_by_label("As this lead would get it").fill("grace@example.com")
    page.get_by_role("button", name="Preview these edits").click()
    expect(page.locator("#preview-subject")).to_contain_text("Grace")
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("body")).to_contain_text("Hi Grace,")
    expect(frame.locator("a").first).to_be_visible()
    assert _enrollments(demo) == 0  # a draft takes nobody

    page.goto(program_url)
    page.locator("#action-activate").click()
    expect(page.locator("#program-status")).to_have_text("active")

    # A new subscriber enters it and gets the first mail, picked for her.
    lead_with_name(demo, "ada@example.com", "Ada", subscribe=True)
    staff = context.new_page()
    staff.set_default_timeout(15_000)
    subject_a = "Welcome, Ada: your reading list"
    subject_b = "Ada, three reads picked for you"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _welcome_mail_subject(demo, "ada@example.com"):
        time.sleep(0.5)
    subject = _welcome_mail_subject(demo, "ada@example.com")
    assert subject in (subject_a, subject_b), subject
    caught(staff, demo, "ada@example.com", subject)
    mail = staff.frame_locator("#mail-html")
    expect(mail.locator("body")).to_contain_text("Hi Ada,")
    expect(mail.get_by_role("link").first).to_be_visible()
    assert _enrollments(demo) == 1  # Grace subscribed before the activation: no backfill


def _enrollments(demo: DemoServer) -> int:
    with demo.database.read() as session:
        return len(
            session.scalars(
                select(Enrollment).join(Program, Program.id == Enrollment.program_id)
            ).all()
        )


def _welcome_mail_subject(demo: DemoServer, email: str) -> str:
    with demo.database.read() as session:
        lead_id = session.scalar(select(Lead.id).where(Lead.email == email))
        row = session.scalar(
            select(MailMessage.subject).where(
                MailMessage.lead_id == lead_id,
                MailMessage.kind == "program",
                MailMessage.status == "sent",
            )
        )
        return row or ""
