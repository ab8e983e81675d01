"""Identity is proven by email, not typed: a second browser that types a known email reads the
asset it asked for and nothing else of the lead's, until the "continue on this device" link
from the lead's inbox, which arrives through a real SMTP server, is opened there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.files import FileStore
from content.orm import utcnow
from nurture.mail.models import MailMessage
from portal.db import Database
from portal.mail.form_mails import LIMIT, MailLimit, may_send
from portal.settings import Settings
from portal.signing import Purpose
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.portal.devices import Devices
from tests.portal.forms import SIGNER, asked, submit, visitor_cookie
from tests.support import app_for, html
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.lead_profile import profile
from tracking.models import Consent, IdentityClaim, Lead, Unlock, Visitor

Client = TestClient[Litestar]
ADA = "ada@example.com"
CONTINUE_SUBJECT = "Your link to continue on this device"


@pytest.fixture
def library(db: Database, settings: Settings) -> dict[str, Any]:
    """Three gated assets: the guide (with a PDF) Ada reads on her laptop, the calculator
    a second browser asks for, and a checklist nobody unlocks."""
    store = FileStore(settings.files_dir)
    return {
        "guide": make_asset(
            db,
            title="Pricing guide",
            slug="pricing-guide",
            stage="decision",
            gate="gated",
            body="The **secret** pricing details.",
            store=store,
            pdf_pages=["Pricing page one"],
        ),
        "calculator": make_asset(
            db,
            title="ROI calculator",
            slug="roi-calculator",
            gate="gated",
            body="The **hidden** model.",
        ),
        "checklist": make_asset(db, title="RFP checklist", slug="rfp-checklist", gate="gated"),
    }


@pytest.fixture
def devices(mail_client: Client) -> Devices:
    return Devices(mail_client)


def ada_on_her_laptop(devices: Devices) -> None:
    with devices.on("laptop") as laptop:
        response = submit(
            laptop, "pricing-guide", email=ADA, first_name="Ada", last_name="Lovelace"
        )
        assert response.status_code == 303


def lead_of(db: Database, email: str = ADA) -> Lead:
    with db.read() as session:
        lead = session.scalar(select(Lead).where(Lead.email == email))
        assert lead is not None
        session.expunge(lead)
        return lead


def profile_of(db: Database, email: str = ADA) -> dict[str, str]:
    with db.read() as session:
        return dict(profile(session, lead_of(db, email).id))


def mails(mail_client: Client, smtp_sink: SmtpSink, count: int) -> list[Received]:
    send_mail(mail_client)
    return smtp_sink.wait_for(count)


def continue_link(mail: Received) -> str:
    """The path and query of the mail's "Continue on this device" button."""
    button = html(mail.part("html")).css_first("a.button")
    assert button is not None
    href = button.attributes.get("href") or ""
    assert "/email/continue?t=" in href  # the portal's own page: never a click redirect
    assert href in mail.part("plain")
    return href[href.index("/email/continue") :]


def greeting(client: Client, slug: str) -> str | None:
    """The "Welcome back" line of a gate, if the browser is greeted."""
    welcome = html(client.get(f"/library/{slug}/gate").text).css_first("#gate-welcome")
    return welcome.text() if welcome is not None else None


def test_a_second_browser_gets_the_asset_but_no_name_until_the_mailed_link_links_it(
    mail_client: Client,
    devices: Devices,
    library: dict[str, Any],
    db: Database,
    smtp_sink: SmtpSink,
) -> None:
    ada_on_her_laptop(devices)
    with devices.on("phone") as phone:
        assert asked(phone.get("/library/roi-calculator/gate").text)[0] == "email"
        response = submit(
            phone, "roi-calculator", htmx=True, email="Ada@Example.com", first_name="Eve",
            last_name="Mallory",
        )  # fmt: skip
        assert response.status_code == 200
        tree = html(response.text)
        # The asset it asked for, on this browser only; no name, a pointer to the mail.
        assert "hidden" in tree.css_first(".asset__body").text()
        assert "emailed you" in tree.css_first("#unlock-notice").text()
        assert "Ada" not in response.text
        assert "hidden" in phone.get("/library/roi-calculator").text
        assert "secret" not in phone.get("/library/pricing-guide").text  # Ada's unlock
        assert greeting(phone, "rfp-checklist") is None
        assert "Ada" not in phone.get("/").text
    # Ada's answers stand; the typed ones wait on the claim.
    assert profile_of(db) == {"first_name": "Ada", "last_name": "Lovelace"}
    with db.read() as session:
        claim = session.scalars(select(IdentityClaim)).one()
        assert claim.answers == {"first_name": "Eve", "last_name": "Mallory"}
        assert claim.verified_at is None
        assert session.scalar(select(func.count()).select_from(Unlock)) == 1  # the guide

    received = mails(mail_client, smtp_sink, 2)  # the laptop's copy of the guide, and the link
    [link_mail] = [m for m in received if m.subject == CONTINUE_SUBJECT]
    assert link_mail.rcpt_to == (ADA,)
    assert "ROI calculator" in link_mail.part("plain")
    assert "List-Unsubscribe" not in link_mail.message  # transactional
    link = continue_link(link_mail)

    with devices.on("phone") as phone:
        before = phone.cookies.get("ls_visitor")
        opened = phone.get(link, follow_redirects=False)
        assert opened.status_code == 303
        assert opened.headers["location"] == "/library/roi-calculator?note=continued"
        assert visitor_cookie(opened) is not None
        assert phone.cookies.get("ls_visitor") != before  # a fresh id, as on identification
        landing = html(phone.get(opened.headers["location"]).text)
        assert "Welcome back, Ada" in landing.css_first("#unlock-notice").text()
        # Now it is Ada's browser: greeted, with her unlocks.
        assert "secret" in phone.get("/library/pricing-guide").text
        assert "Welcome back, Ada" in (greeting(phone, "rfp-checklist") or "")
    with devices.on("laptop") as laptop:  # the first browser still works
        assert "secret" in laptop.get("/library/pricing-guide").text
        assert "Welcome back, Ada" in (greeting(laptop, "rfp-checklist") or "")
    # Known answers are never overwritten by a claim; the claimed asset is now Ada's too.
    assert profile_of(db) == {"first_name": "Ada", "last_name": "Lovelace"}
    with db.read() as session:
        assert session.scalars(select(IdentityClaim)).one().verified_at is not None
        unlocked = set(session.scalars(select(Unlock.asset_id)))
    assert unlocked == {library["guide"].id, library["calculator"].id}


def test_the_link_fills_in_only_what_the_lead_did_not_know_and_asks_the_ticked_consent(
    mail_client: Client,
    devices: Devices,
    library: dict[str, Any],
    db: Database,
    smtp_sink: SmtpSink,
) -> None:
    # Ada came from the CRM: no browser of hers exists, and we know her company only.
    with db.write() as session:
        identify.identify(
            session,
            visitor_id=None,
            email=ADA,
            answers={"company": "Analytical Engines"},
            consent=None,
            source=Source("import"),
        )
    with devices.on("phone") as phone:
        submit(phone, "roi-calculator", consent=True, email=ADA, first_name="Ada", last_name="King")
    assert profile_of(db) == {"company": "Analytical Engines"}
    assert lead_of(db).consent_status == "none"  # the box waits on the claim

    [link_mail] = mails(mail_client, smtp_sink, 1)
    with devices.on("phone") as phone:
        assert phone.get(continue_link(link_mail), follow_redirects=False).status_code == 303
        assert "Welcome back, Ada" in (greeting(phone, "rfp-checklist") or "")

    assert profile_of(db) == {
        "company": "Analytical Engines",
        "first_name": "Ada",
        "last_name": "King",
    }
    assert lead_of(db).consent_status == "pending"  # asked: the double opt-in mail goes
    received = mails(mail_client, smtp_sink, 2)
    assert [m.subject for m in received[1:]] == ["Please confirm your subscription"]
    with db.read() as session:
        consent = session.scalars(select(Consent)).one()
    assert (consent.status, consent.source_ref) == ("pending", "roi-calculator")


def test_opening_the_link_again_links_that_browser_but_applies_nothing_twice(
    mail_client: Client,
    devices: Devices,
    library: dict[str, Any],
    db: Database,
    smtp_sink: SmtpSink,
) -> None:
    ada_on_her_laptop(devices)
    with devices.on("phone") as phone:
        submit(phone, "roi-calculator", consent=True, email=ADA, first_name="E", last_name="M")
    link = continue_link(
        next(m for m in mails(mail_client, smtp_sink, 2) if m.subject == CONTINUE_SUBJECT)
    )
    for device in ("phone", "tablet"):
        with devices.on(device) as browser:
            assert browser.get(link, follow_redirects=False).status_code == 303
            assert "Welcome back, Ada" in (greeting(browser, "rfp-checklist") or "")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Consent)) == 1
        opt_ins = session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.kind == "opt_in")
        )
    assert opt_ins == 1


def test_a_link_previewer_changes_nothing(
    mail_client: Client,
    devices: Devices,
    library: dict[str, Any],
    db: Database,
    smtp_sink: SmtpSink,
) -> None:
    ada_on_her_laptop(devices)
    with devices.on("phone") as phone:
        submit(phone, "roi-calculator", email=ADA, first_name="E", last_name="M")
    link = continue_link(
        next(m for m in mails(mail_client, smtp_sink, 2) if m.subject == CONTINUE_SUBJECT)
    )
    with devices.on("slack") as bot:
        page = bot.get(link, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    assert page.status_code == 200
    assert "Open this link in your browser" in html(page.text).css_first("h1").text()
    assert visitor_cookie(page) is None
    with db.read() as session:
        assert session.scalars(select(IdentityClaim)).one().verified_at is None


@pytest.mark.parametrize(
    ("token", "status", "title"),
    [
        pytest.param("not-a-token", 400, "This link is not valid", id="garbage"),
        pytest.param(
            SIGNER.sign(Purpose.EMAIL_LINK, {"c": 1}), 400, "This link is not valid", id="no-lead"
        ),
        pytest.param(
            SIGNER.sign(Purpose.OPT_IN, {"c": 1, "l": 1}),
            400,
            "This link is not valid",
            id="another-purpose",
        ),
        pytest.param(
            SIGNER.sign(Purpose.EMAIL_LINK, {"c": 999, "l": 1}),
            400,
            "This link is not valid",
            id="no-such-claim",
        ),
    ],
)
def test_a_forged_link_gets_a_clear_page_and_links_nothing(
    client: Client, db: Database, token: str, status: int, title: str
) -> None:
    with db.write() as session:
        identify.identify(
            session, visitor_id=None, email=ADA, answers={}, consent=None, source=Source("import")
        )
    response = client.get(f"/email/continue?t={token}", follow_redirects=False)
    assert response.status_code == status
    tree = html(response.text)
    assert tree.css_first("h1").text() == title
    assert tree.css_first("#continue-page").attributes["data-state"] == "invalid"
    with db.read() as session:
        linked = session.scalar(
            select(func.count()).select_from(Visitor).where(Visitor.lead_id.is_not(None))
        )
    assert linked == 1  # the one made by the import, retired: no browser


def test_an_expired_link_gets_a_clear_page_and_links_nothing(
    mail_client: Client,
    devices: Devices,
    library: dict[str, Any],
    db: Database,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ada_on_her_laptop(devices)
    with devices.on("phone") as phone:
        submit(phone, "roi-calculator", email=ADA, first_name="E", last_name="M")
    link = continue_link(
        next(m for m in mails(mail_client, smtp_sink, 2) if m.subject == CONTINUE_SUBJECT)
    )
    later = (datetime.now(UTC) + timedelta(hours=49)).timestamp()
    monkeypatch.setattr(time, "time", lambda: later)
    with devices.on("phone") as phone:
        response = phone.get(link, follow_redirects=False)
        assert response.status_code == 410
        tree = html(response.text)
        assert tree.css_first("h1").text() == "This link has expired"
        assert "48 hours" in tree.css_first(".lead").text()
        assert "secret" not in phone.get("/library/pricing-guide").text
    with db.read() as session:
        assert session.scalars(select(IdentityClaim)).one().verified_at is None


def test_the_pages_of_the_link_speak_german_to_a_german_site(
    db: Database, settings: Settings
) -> None:
    with (
        app_for(settings.with_overrides(default_language="de")) as built,
        TestClient(built) as german,
    ):
        response = german.get("/email/continue?t=forged")
    assert html(response.text).css_first("h1").text() == "Dieser Link ist ungültig"


def test_a_claimed_download_link_works_for_that_browser_only(
    mail_client: Client, devices: Devices, library: dict[str, Any], db: Database
) -> None:
    with db.write() as session:
        identify.identify(
            session, visitor_id=None, email=ADA, answers={}, consent=None, source=Source("import")
        )
    with devices.on("phone") as phone:
        response = submit(
            phone, "pricing-guide", htmx=True, email=ADA, first_name="A", last_name="L"
        )
        link = html(response.text).css_first('a[href*="/library/pricing-guide/download?t="]')
        href = link.attributes["href"] or ""
        download = phone.get(href)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/pdf"
        assert phone.get("/library/pricing-guide/file").status_code == 200
    with devices.on("stranger") as stranger:
        assert stranger.get("/library/pricing-guide/file").status_code == 403
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Unlock)) == 0  # not Ada's yet
        # No copy is mailed to Ada for a claim: she has unlocked nothing herself.
        kinds = set(session.scalars(select(MailMessage.kind)))
    assert kinds == {"continue"}


def test_a_claim_without_javascript_lands_on_the_asset_with_the_notice(
    mail_client: Client, devices: Devices, library: dict[str, Any]
) -> None:
    ada_on_her_laptop(devices)
    with devices.on("phone") as phone:
        response = submit(phone, "roi-calculator", email=ADA, first_name="E", last_name="M")
        assert response.status_code == 303
        assert response.headers["location"] == "/library/roi-calculator?note=continue-sent"
        page = html(phone.get(response.headers["location"]).text)
    assert "Unlocked on this browser only" in page.css_first("#unlock-notice").text()
    assert "hidden" in page.css_first(".asset__body").text()


# The per-address limit on form mails (portal.mail.form_mails).

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes_ago", "allowed"),
    [
        ([], True),
        ([5, 30], True),
        ([5, 30, 59], False),  # three in the last hour
        ([61, 90, 120], True),  # an hour ago no longer counts for the hour
        ([61 * n for n in range(1, 10)], True),  # nine today
        ([61 * n for n in range(1, 11)], False),  # ten today
        ([24 * 60 + 1] * 20, True),  # yesterday's do not count
    ],
)
def test_form_mails_to_one_address_are_limited_per_hour_and_per_day(
    minutes_ago: list[int], allowed: bool
) -> None:
    sent = [NOW - timedelta(minutes=m) for m in minutes_ago]
    assert may_send(sent, NOW) is allowed


def test_the_limit_is_three_an_hour_and_ten_a_day() -> None:
    assert (LIMIT.per_hour, LIMIT.per_day) == (3, 10)
    assert may_send([NOW] * 4, NOW, MailLimit(per_hour=5, per_day=10))
    assert not may_send([NOW] * 4, NOW, MailLimit(per_hour=5, per_day=4))


def test_over_the_limit_the_form_still_unlocks_but_no_more_links_are_mailed(
    mail_client: Client, devices: Devices, db: Database, settings: Settings
) -> None:
    assets = [
        make_asset(db, slug=f"guide-{n}", gate="gated", body=f"Body **{n}**.") for n in range(5)
    ]
    with db.write() as session:
        identify.identify(
            session, visitor_id=None, email=ADA, answers={}, consent=None, source=Source("import")
        )
    notices = []
    for asset in assets:
        with devices.on(f"browser-{asset.slug}") as browser:
            response = submit(
                browser, asset.slug, htmx=True, email=ADA, first_name="E", last_name="M"
            )
            assert response.status_code == 200
            assert f"Body {asset.slug[-1]}" in html(response.text).css_first(".asset__body").text()
            notices.append(html(response.text).css_first("#unlock-notice").text())
    with db.read() as session:
        links = session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.kind == "continue")
        )
    assert links == 3
    assert ["a short while ago" in notice for notice in notices] == [False] * 3 + [True] * 2


def test_each_address_has_its_own_limit(
    mail_client: Client, devices: Devices, db: Database
) -> None:
    assets = [make_asset(db, slug=f"guide-{n}", gate="gated") for n in range(5)]
    with db.write() as session:
        for email in (ADA, "grace@example.com"):
            identify.identify(
                session, visitor_id=None, email=email, answers={}, consent=None,
                source=Source("import"), now=utcnow(),
            )  # fmt: skip
    for n, asset in enumerate(assets):
        with devices.on(f"browser-{n}") as browser:
            email = ADA if n < 4 else "grace@example.com"
            submit(browser, asset.slug, email=email, first_name="E", last_name="M")
    with db.read() as session:
        to = list(session.scalars(select(MailMessage.to_address).order_by(MailMessage.id)))
    assert to == [ADA] * 3 + ["grace@example.com"]


def test_a_new_email_still_makes_a_lead_this_browser_speaks_for(
    client: Client, library: dict[str, Any], db: Database
) -> None:
    response = submit(
        client, "roi-calculator", htmx=True, email=ADA, first_name="Ada", last_name="L"
    )
    assert response.headers["HX-Retarget"] == "#asset-content"
    assert html(response.text).css_first("#unlock-notice").text() == "Unlocked — enjoy the read."
    assert "Welcome back, Ada" in (greeting(client, "rfp-checklist") or "")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IdentityClaim)) == 0
