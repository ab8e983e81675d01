"""Mail goes in the lead's language, and the pages behind its links speak it too: received
through a real SMTP server and followed in the browser, in German and in English."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.outbox import Mail, enqueue
from nurture.programs.scheduler import MAIL_KIND, NOTIFY_KIND
from portal.accounts.models import StaffUser
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.nurture.mail.subscribers import lead_of, new_lead, subscribed
from tests.portal.devices import Devices
from tests.portal.forms import submit
from tests.portal.sales_form import send
from tests.support import app_for, html
from tracking.models import Lead

Client = TestClient[Litestar]
ANNA = "anna@example.de"


def received(client: Client, sink: SmtpSink, count: int) -> list[Received]:
    send_mail(client)
    return sink.wait_for(count)


def button(mail: Received) -> str:
    """The path and query of the mail's call to action (what a browser opens)."""
    node = html(mail.part("html")).css_first("a.button")
    assert node is not None
    link = urlsplit(node.attributes.get("href") or "")
    return f"{link.path}?{link.query}"


def document(mail: Received) -> LexborHTMLParser:
    return html(mail.part("html"))


def heading(response: Any) -> str:
    return html(response.text).css_first("h1").text(strip=True)


def page_language(response: Any) -> str:
    """The page's language, as ``<html lang>`` says it (the email pages say it twice)."""
    tree = html(response.text)
    declared = tree.css_first("html").attributes.get("lang") or ""
    assert tree.css_first(".email-page").attributes.get("lang") == declared
    return declared


def test_a_german_reader_subscribes_in_german_from_mail_to_page(
    mail_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    make_asset(db, title="Leitfaden Lead-Scoring", slug="leitfaden", gate="gated", language="de")
    mail_client.headers["Accept-Language"] = "de-DE,de;q=0.9"
    response = submit(
        mail_client, "leitfaden", consent=True, email=ANNA, first_name="Anna", last_name="Schulz"
    )
    assert response.status_code == 303
    (opt_in,) = received(mail_client, smtp_sink, 1)
    assert opt_in.subject == "Bitte bestätigen Sie Ihr Abonnement"
    assert opt_in.message["Content-Language"] == "de"
    assert document(opt_in).css_first("html").attributes["lang"] == "de"
    text = opt_in.part("plain")
    assert text.startswith("Hallo Anna,")
    assert "Der Link ist 7 Tage gültig." in text
    assert "Abonnement bestätigen" in document(opt_in).css_first("a.button").text()

    # Opened on another device: no cookie, a browser that asks for nothing in particular.
    del mail_client.headers["Accept-Language"]
    with Devices(mail_client).on("phone") as phone:
        confirmed = phone.get(button(opt_in))
    assert confirmed.status_code == 200
    assert heading(confirmed) == "Sie haben Ihr Abonnement bestätigt"
    assert page_language(confirmed) == "de"
    assert lead_of_email(db, ANNA).consent_status == "confirmed"


def test_an_english_reader_gets_english_mail_from_a_german_site(
    mail_settings: Settings, smtp_sink: SmtpSink, db: Database
) -> None:
    make_asset(db, title="Scoring guide", slug="scoring-guide", gate="gated", language="en")
    with (
        app_for(mail_settings.with_overrides(default_language="de")) as built,
        TestClient(built) as client,
    ):
        client.headers["Accept-Language"] = "en-GB,en;q=0.9"
        submit(client, "scoring-guide", consent=True, email="ben@example.com", first_name="Ben",
               last_name="Hall")  # fmt: skip
        (opt_in,) = received(client, smtp_sink, 1)
        client.cookies.clear()
        del client.headers["Accept-Language"]  # the phone that opens the mail says nothing
        confirmed = client.get(button(opt_in))
    assert opt_in.subject == "Please confirm your subscription"
    assert opt_in.message["Content-Language"] == "en"
    assert opt_in.part("plain").startswith("Hi Ben,")
    assert heading(confirmed) == "You're subscribed"
    assert page_language(confirmed) == "en"


def test_a_german_leads_continue_link_reads_german_unless_the_reader_switches(
    mail_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    """A known German lead asks sales from a browser we do not know: the confirmation and the
    "continue on this device" link go in German, and so does the page the link opens."""
    new_lead(db, "ada@example.com", language="de")
    devices = Devices(mail_client)
    with devices.on("office") as office:
        assert send(office).status_code == 303
    mails = received(mail_client, smtp_sink, 2)
    subjects = sorted(mail.subject for mail in mails)
    assert subjects == [
        "Ihr Link, um auf diesem Gerät weiterzumachen",
        "Ihre Anfrage an unseren Vertrieb ist angekommen",
    ]
    assert {mail.message["Content-Language"] for mail in mails} == {"de"}
    (continue_mail,) = [m for m in mails if m.subject.startswith("Ihr Link")]
    assert "48 Stunden gültig" in continue_mail.part("plain")
    link = button(continue_mail)

    with devices.on("office") as office:
        welcome = office.get(link)
    assert welcome.status_code == 200
    assert heading(welcome) == "Willkommen zurück"
    assert page_language(welcome) == "de"
    with devices.on("laptop") as laptop:  # a reader who reads English here switched
        switched = laptop.get(f"{link}&lang=en")
    assert heading(switched) == "Welcome back"
    assert page_language(switched) == "en"
    assert lead_of_email(db, "ada@example.com").language == "de"


def test_a_program_mail_names_its_content_in_the_leads_language(
    mail_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    make_asset(db, title="Acme fährt gut damit", slug="acme-fallstudie", kind="case_study",
               language="de")  # fmt: skip
    make_asset(db, title="How Acme did it", slug="acme-case-study", kind="case_study")
    german = subscribed(db, ANNA, language="de")
    english = subscribed(db, "ben@example.com", language="en")
    for lead_id, slug in ((german, "acme-fallstudie"), (english, "acme-case-study")):
        program_mail(db, lead_id, f"Lesen Sie:\n\n{{{{ asset {slug} }}}}")
    mails = received(mail_client, smtp_sink, 2)
    (anna,) = [m for m in mails if ANNA in m.rcpt_to]
    (ben,) = [m for m in mails if "ben@example.com" in m.rcpt_to]

    assert anna.message["Content-Language"] == "de"
    block = document(anna).css_first(".card .muted").text()
    assert block.startswith("Fallstudie")
    footer = {a.text(strip=True) for a in document(anna).css(".footer a")}
    assert footer == {"Auswahl ändern", "Abmelden"}
    assert "Sie erhalten diese E-Mail, weil Sie Neuigkeiten von Pipewise" in anna.part("plain")

    assert ben.message["Content-Language"] == "en"
    assert document(ben).css_first(".card .muted").text().startswith("Case study")
    assert {a.text(strip=True) for a in document(ben).css(".footer a")} == {
        "Choose what you get",
        "Unsubscribe",
    }


def test_sales_is_notified_in_the_language_of_their_console(
    mail_client: Client, smtp_sink: SmtpSink, db: Database
) -> None:
    """A program's notify step mails the sales contact it names: a staff member who reads the
    console in German gets it in German; an address that is no staff member's, the site's."""
    lead_id = new_lead(db, "ada@example.com", language="en")
    with db.write() as session:
        session.add(StaffUser(email="sam@pipewise.example", role="marketer", password_hash="-",
                              display_name="Sam", language="de"))  # fmt: skip
        for to in ("Sam@Pipewise.example", "crm-inbox@pipewise.example"):
            enqueue(
                session,
                Mail(to=to, kind=NOTIFY_KIND, category=MailCategory.TRANSACTIONAL, language="en",
                     params={"lead": lead_id, "program": "Welcome", "note": ""}),
                domain="pipewise.example",
                now=utcnow(),
            )  # fmt: skip
    mails = received(mail_client, smtp_sink, 2)
    subjects = {mail.rcpt_to[0].lower(): mail.subject for mail in mails}
    assert subjects == {
        "sam@pipewise.example": "Ein Lead für Sie: ada@example.com",
        "crm-inbox@pipewise.example": "A lead for you: ada@example.com",
    }
    (sam,) = [mail for mail in mails if mail.rcpt_to[0].lower() == "sam@pipewise.example"]
    assert sam.message["Content-Language"] == "de"
    assert "Das Programm „Welcome“ übergibt Ihnen diesen Lead:" in sam.part("plain")


def program_mail(db: Database, lead_id: int, body: str) -> None:
    """A program's marketing mail to the lead in its language, as the scheduler queues one."""
    lead = lead_of(db, lead_id)
    with db.write() as session:
        enqueue(
            session,
            Mail(
                to=lead.email,
                kind=MAIL_KIND,
                category=MailCategory.MARKETING,
                language=lead.language,
                lead_id=lead_id,
                params={"send": {"subjects": ["Neu für Sie"], "body": body}},
            ),
            domain="pipewise.example",
            now=utcnow(),
        )


def lead_of_email(db: Database, email: str) -> Lead:
    with db.read() as session:
        lead = session.scalars(select(Lead).where(Lead.email == email)).one()
        session.expunge(lead)
        return lead
