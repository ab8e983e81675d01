"""The demo mailbox: ``serve --demo`` catches its mail with a local SMTP server and the console
shows it at /console/mailbox, for every staff role, with the mail's HTML in a sandboxed frame
(no scripts; links open in a new tab), its plain text, headers, links and attachments.
Without a catcher for this server the page says where mail goes instead (404)."""

from __future__ import annotations

import os
import re
import smtplib
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.orm import utcnow
from nurture.mail.models import MailCategory, MailMessage
from nurture.mail.outbox import Mail, enqueue
from portal.accounts.models import Role
from portal.cli import DEMO_POSTAL_ADDRESS, demo_postal_address
from portal.db import Database
from portal.demo_mail import MARKER, DemoCatcher, Mailbox, framed_html, mailbox_for
from portal.settings import Settings
from tests.mailbox import send_mail
from tests.servers import LEADSHELF, free_port, wait_until_healthy
from tests.support import TEST_SECRET_KEYS, StaffActions, app_for, csrf_token_from, html

PORTAL_LINK = "http://127.0.0.1:8000/email/confirm?t=abc.def"


def said(page: str) -> str:
    """The words of a page's main part, as a reader sees them."""
    main = html(page).css_first("main")
    return " ".join(main.text(separator=" ").split()) if main is not None else ""


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def deliver(
    url: str,
    subject: str,
    *,
    to: str = "ann@example.com",
    html_body: str | None = None,
    text: str = "Hello.",
    bcc: tuple[str, ...] = (),
    attachment: tuple[str, bytes] | None = None,
) -> None:
    """Send one mail to the SMTP server at ``url`` with smtplib, as any client would."""
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = "Pipewise <news@pipewise.example>"
    mail["To"] = to
    mail.set_content(text)
    if html_body is not None:
        mail.add_alternative(html_body, subtype="html")
    if attachment is not None:
        filename, data = attachment
        mail.add_attachment(data, maintype="text", subtype="calendar", filename=filename)
    with smtplib.SMTP("127.0.0.1", port_of(url), timeout=10) as smtp:
        smtp.send_message(mail, to_addrs=[to, *bcc])


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[DemoCatcher]:
    with DemoCatcher(tmp_path / "data") as running:
        yield running


# --- the catcher and the reader ----------------------------------------------------------


def test_the_catcher_keeps_every_mail_newest_first(catcher: DemoCatcher, tmp_path: Path) -> None:
    assert re.fullmatch(r"smtp://127\.0\.0\.1:\d+", catcher.url)
    deliver(catcher.url, "First", to="ann@example.com")
    deliver(catcher.url, "Grüße, zweite", to="bob@example.com", bcc=("carl@example.com",))
    mailbox = mailbox_for(tmp_path / "data", catcher.url)
    assert mailbox is not None
    mails = mailbox.latest()
    assert [(m.subject, m.to) for m in mails] == [
        ("Grüße, zweite", "bob@example.com"),
        ("First", "ann@example.com"),
    ]
    assert mails[0].received_at >= mails[1].received_at
    files = sorted(p.name for p in (tmp_path / "data" / "mailbox").glob("*.eml"))
    assert sorted(f"{m.id}.eml" for m in mails) == files
    opened = mailbox.open(mails[0].id)
    assert opened is not None
    headers = dict(opened.headers)
    assert headers["Return-Path"] == "<news@pipewise.example>"
    delivered = [value for name, value in opened.headers if name == "Delivered-To"]
    assert delivered == ["bob@example.com", "carl@example.com"]  # the Bcc too
    assert opened.text is not None
    assert opened.text.strip() == "Hello."


def test_only_the_newest_mails_are_kept(tmp_path: Path) -> None:
    with DemoCatcher(tmp_path, keep=3) as small:
        for number in range(5):
            deliver(small.url, f"Mail {number}")
        mailbox = mailbox_for(tmp_path, small.url)
        assert mailbox is not None
        assert [m.subject for m in mailbox.latest()] == ["Mail 4", "Mail 3", "Mail 2"]
        assert len(list((tmp_path / "mailbox").glob("*.eml"))) == 3


def test_the_mailbox_is_on_only_for_the_running_catcher_this_server_sends_to(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    assert mailbox_for(data, "") is None  # no catcher ever ran
    with DemoCatcher(data) as running:
        assert mailbox_for(data, running.url) is not None
        assert mailbox_for(data, "") is None  # this server's mail waits: not the catcher's
        assert mailbox_for(data, "smtp://mail.example.com:587") is None  # configured server
    assert not (data / "mailbox" / MARKER).exists()
    assert mailbox_for(data, running.url) is None  # stopped
    # A marker left by a killed demo names a catcher nobody sends to.
    (data / "mailbox" / MARKER).write_text("smtp://127.0.0.1:1\n", encoding="utf-8")
    assert mailbox_for(data, "smtp://127.0.0.1:2525") is None


@pytest.mark.parametrize(
    "mail_id", ["../leadshelf", "..%2Fx", "catcher", "20260101T000000000000Z-zzzzzzzz", ""]
)
def test_a_mail_id_never_names_a_file_outside_the_mailbox(
    catcher: DemoCatcher, mail_id: str
) -> None:
    deliver(catcher.url, "Only one")
    assert catcher.mailbox.open(mail_id) is None


@pytest.mark.parametrize(
    ("page", "framed"),
    [
        (
            "<!doctype html><html lang=en><HEAD><title>t</title></HEAD><body>x</body></html>",
            '<!doctype html><html lang=en><HEAD><base target="_blank"><title>t</title>',
        ),
        ("<html><body>x</body></html>", '<html><base target="_blank"><body>'),
        ("<p>x</p>", '<base target="_blank"><p>x</p>'),
    ],
)
def test_links_of_a_framed_mail_open_in_a_new_tab(page: str, framed: str) -> None:
    assert framed_html(page).startswith(framed)


# --- the console -------------------------------------------------------------------------


@pytest.fixture
def mailbox_settings(settings: Settings, catcher: DemoCatcher) -> Settings:
    """The demo's settings: the data dir the catcher writes to and mail going to it."""
    return settings.with_overrides(
        data_dir=catcher.folder.parent,
        smtp_url=catcher.url,
        mail_from="Pipewise <news@pipewise.example>",
        postal_address="Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
    )


@pytest.fixture
def demo_client(mailbox_settings: Settings) -> Iterator[TestClient[Litestar]]:
    with app_for(mailbox_settings) as built, TestClient(built) as test_client:
        yield test_client


@pytest.fixture
def demo_staff(demo_client: TestClient[Litestar], db: Database) -> StaffActions:
    return StaffActions(demo_client, db)


def queue_test_mail(db: Database, to: str) -> int:
    """A ``test`` mail in the outbox, as ``leadshelf mail test`` writes it."""
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to=to, kind="test", category=MailCategory.TRANSACTIONAL),
            domain="pipewise.example",
            now=utcnow(),
        )
    assert written is not None
    return written


def sent(db: Database, written: int) -> MailMessage:
    """The outbox row once sent: its Message-ID and the subject it went out with."""
    with db.read() as session:
        row = session.get(MailMessage, written)
        assert row is not None
        assert row.subject, "not sent yet"
        session.expunge(row)
        return row


@pytest.mark.parametrize("role", [Role.EDITOR, Role.MARKETER, Role.ADMIN], ids=str)
def test_every_staff_role_reads_the_mail_the_app_sent(
    demo_client: TestClient[Litestar],
    demo_staff: StaffActions,
    catcher: DemoCatcher,
    db: Database,
    role: Role,
) -> None:
    written = queue_test_mail(db, "ann@example.com")
    send_mail(demo_client)
    row = sent(db, written)
    demo_staff.sign_in_as(role)

    page = demo_client.get("/console/mailbox")
    assert page.status_code == 200
    tree = html(page.text)
    (tr,) = tree.css("tr.mailbox-row")
    assert tr.css_first(".mailbox-to").text(strip=True) == "ann@example.com"
    assert tr.css_first(".mailbox-subject").text(strip=True) == row.subject
    assert tr.css_first(".mailbox-kind").text(strip=True) == "test"  # from the outbox
    link = tr.css_first(".mailbox-subject a").attributes["href"]
    assert link is not None

    opened = demo_client.get(link)
    assert opened.status_code == 200
    mail = html(opened.text)
    assert mail.css_first("#mail-subject").text(strip=True) == row.subject
    assert mail.css_first("#mail-kind").text(strip=True) == "test"
    (mail_id,) = catcher.mailbox.ids()
    caught = catcher.mailbox.open(mail_id)
    assert caught is not None
    assert caught.text
    assert mail.css_first("#mail-text").text() == caught.text
    headers = {
        tr.css_first("th").text(strip=True): tr.css_first("td").text(strip=True)
        for tr in mail.css(".mail-headers tr")
    }
    assert headers["Message-ID"] == row.message_id
    frame = mail.css_first("iframe#mail-html")
    assert set((frame.attributes["sandbox"] or "").split()) == {
        "allow-popups",
        "allow-popups-to-escape-sandbox",
    }
    body = demo_client.get(frame.attributes["src"] or "")
    assert body.status_code == 200
    assert caught.html is not None
    assert body.text == framed_html(caught.html)
    assert '<base target="_blank">' in body.text


def test_the_frame_is_served_sandboxed_without_scripts(
    demo_client: TestClient[Litestar], demo_staff: StaffActions, catcher: DemoCatcher
) -> None:
    deliver(
        catcher.url,
        "Confirm your subscription",
        html_body=f'<html><head></head><body><script>alert(1)</script><a href="{PORTAL_LINK}">'
        "Confirm</a></body></html>",
    )
    demo_staff.sign_in_as(Role.EDITOR)
    (mail_id,) = catcher.mailbox.ids()
    response = demo_client.get(f"/console/mailbox/{mail_id}/html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split(";")
    }
    assert policy["sandbox"] == ["allow-popups", "allow-popups-to-escape-sandbox"]
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy
    assert policy["frame-ancestors"] == ["'self'"]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    # The mail's link is listed on the page too, opening the portal in a new tab.
    page = html(demo_client.get(f"/console/mailbox/{mail_id}").text)
    (link,) = page.css(".mail-links a")
    assert link.attributes["href"] == PORTAL_LINK
    assert link.attributes["target"] == "_blank"


def test_subjects_and_text_are_shown_as_text_never_as_markup(
    demo_client: TestClient[Litestar], demo_staff: StaffActions, catcher: DemoCatcher
) -> None:
    subject = '<script>alert("x")</script> & <b>bold</b>'
    deliver(catcher.url, subject, to="<img src=x onerror=alert(1)>@example.com", text="<i>hi</i>")
    demo_staff.sign_in_as(Role.MARKETER)
    listing = html(demo_client.get("/console/mailbox").text)
    assert listing.css_first(".mailbox-subject a").text() == subject
    assert not listing.css("main script, main b, main img")
    (mail_id,) = catcher.mailbox.ids()
    page = html(demo_client.get(f"/console/mailbox/{mail_id}").text)
    assert page.css_first("#mail-subject").text() == subject
    assert page.css_first("title").text().startswith(subject)
    assert page.css_first("#mail-text").text().strip() == "<i>hi</i>"
    assert not page.css("main script, main b, main i, main img")
    assert not page.css("iframe")  # no HTML part, no frame


def test_an_attachment_downloads_as_a_file(
    demo_client: TestClient[Litestar], demo_staff: StaffActions, catcher: DemoCatcher
) -> None:
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    deliver(catcher.url, "Your webinar", attachment=("../webinar invite.ics", ics))
    demo_staff.sign_in_as(Role.ADMIN)
    (mail_id,) = catcher.mailbox.ids()
    page = html(demo_client.get(f"/console/mailbox/{mail_id}").text)
    (link,) = page.css(".mail-attachments a")
    response = demo_client.get(link.attributes["href"] or "")
    assert response.status_code == 200
    assert response.content == ics
    assert response.headers["content-disposition"] == 'attachment; filename="webinar_invite.ics"'
    assert demo_client.get(f"/console/mailbox/{mail_id}/attachments/1").status_code == 404


def test_the_menu_links_the_mailbox_while_the_catcher_runs(
    demo_client: TestClient[Litestar], demo_staff: StaffActions
) -> None:
    demo_staff.sign_in_as(Role.EDITOR)
    overview = html(demo_client.get("/console").text)
    assert overview.css('.console-nav a[href="/console/mailbox"]')
    mailbox = html(demo_client.get("/console/mailbox").text)
    current = [a.attributes["href"] for a in mailbox.css(".console-nav [aria-current=page]")]
    assert current == ["/console/mailbox"]
    assert mailbox.css_first(".data-table__empty") is not None  # nothing caught yet


def test_without_a_catcher_the_mailbox_says_where_mail_goes(
    client: TestClient[Litestar], staff: StaffActions, tmp_path: Path
) -> None:
    staff.sign_in_as(Role.ADMIN)
    response = client.get("/console/mailbox")
    assert response.status_code == 404
    page = html(response.text)
    assert page.css_first("h1").text(strip=True) == "No demo mailbox on this server"
    assert "LEADSHELF_SMTP_URL is not set, so mail waits in the outbox" in said(response.text)
    assert not page.css('.console-nav a[href="/console/mailbox"]')
    for url in ("/console/mailbox/20260101T000000000000Z-0123abcd", "/console/mailbox/x/html"):
        assert client.get(url).status_code == 404


def test_a_configured_smtp_server_has_no_mailbox_even_beside_a_catcher(
    settings: Settings, catcher: DemoCatcher, db: Database
) -> None:
    configured = settings.with_overrides(
        data_dir=catcher.folder.parent, smtp_url="smtp://relay:secret@mail.example.com:587"
    )
    with app_for(configured) as built, TestClient(built) as configured_client:
        StaffActions(configured_client, db).sign_in_as(Role.ADMIN)
        response = configured_client.get("/console/mailbox")
    assert response.status_code == 404
    assert "sends its mail to smtp://relay@mail.example.com:587" in said(response.text)
    assert "secret" not in response.text


def test_anonymous_visitors_are_sent_to_sign_in(demo_client: TestClient[Litestar]) -> None:
    response = demo_client.get("/console/mailbox", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=")


# --- the real `leadshelf serve --demo` ---------------------------------------------------


@pytest.fixture
def environment(db: Database, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_POSTAL_ADDRESS": "Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
    }
    for name in ("LEADSHELF_BASE_URL", "LEADSHELF_CONFIG", "LEADSHELF_SMTP_URL"):
        env.pop(name, None)
    return env


def serve_demo(
    env: dict[str, str], tmp_path: Path, *args: str
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [LEADSHELF, "serve", "--demo", "--port", str(port), *args],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, timeout=90)
    except BaseException:
        stop(process)
        raise
    return url, process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sign_in_as_demo_admin(browser: httpx.Client, data_dir: Path) -> None:
    password = (data_dir / "demo-login.txt").read_text(encoding="utf-8").strip()
    token = csrf_token_from(browser.get("/console/login").text)
    signed_in = browser.post(
        "/console/login",
        data={"email": "admin@leadshelf.example", "password": password, "_csrf_token": token},
    )
    assert signed_in.status_code == 200, signed_in.text


def browser_for(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10, follow_redirects=True)


def test_serve_demo_catches_the_apps_mail_in_its_workers(
    environment: dict[str, str], tmp_path: Path, db: Database
) -> None:
    data_dir = tmp_path / "data"
    url, process = serve_demo(environment, tmp_path, "--workers", "2")
    try:
        catcher = (data_dir / "mailbox" / MARKER).read_text(encoding="utf-8").strip()
        assert re.fullmatch(r"smtp://127\.0\.0\.1:\d+", catcher)
        written = queue_test_mail(db, "ann@example.com")  # the workers' mail job sends it
        with browser_for(url) as browser:
            sign_in_as_demo_admin(browser, data_dir)
            deadline = time.monotonic() + 30
            while True:
                page = browser.get("/console/mailbox")
                assert page.status_code == 200
                rows = html(page.text).css("tr.mailbox-row")
                if rows or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert [r.css_first(".mailbox-subject").text(strip=True) for r in rows] == [
                sent(db, written).subject
            ]
    finally:
        stop(process)
    output = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert f"Demo mailbox: mail is caught at {catcher} and shown at /console/mailbox" in output, (
        output
    )
    assert "Demo postal address" not in output  # the configured one stays
    assert not (data_dir / "mailbox" / MARKER).exists()  # stopped with the server
    assert Mailbox(data_dir / "mailbox").ids()  # the caught mail stays for the next run


def test_serve_demo_leaves_a_configured_smtp_server_in_charge(tmp_path: Path) -> None:
    environment = {  # its own SQLite database: what is checked here is no database's business
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADSHELF_")},
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_SMTP_URL": "smtp://127.0.0.1:2525",
    }
    url, process = serve_demo(environment, tmp_path)
    try:
        assert not (tmp_path / "data" / "mailbox" / MARKER).exists()
        with browser_for(url) as browser:
            sign_in_as_demo_admin(browser, tmp_path / "data")
            assert browser.get("/console/mailbox").status_code == 404
    finally:
        stop(process)
    assert "Demo mailbox" not in (tmp_path / "serve.log").read_text(encoding="utf-8")


def test_the_demo_gives_marketing_mail_a_postal_address_only_when_none_is_set(
    tmp_path: Path,
) -> None:
    """Without one, every program mail of the demo would be skipped ("no postal address")."""
    unset = Settings(data_dir=tmp_path)
    assert demo_postal_address(unset) == DEMO_POSTAL_ADDRESS
    configured = Settings(data_dir=tmp_path, postal_address="Pipewise GmbH, 20457 Hamburg")
    assert demo_postal_address(configured) is None
