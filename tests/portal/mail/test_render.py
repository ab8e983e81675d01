"""How mail looks when it arrives: real messages rendered by the mail job's renderer, sent to a
real SMTP server and parsed back from what it received."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from nurture.mail.models import MailMessage, MailStatus
from portal.db import Database
from portal.mail.render import MailRenderer
from portal.settings import Settings
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.portal.mail.mailing import (
    OUTSIDE,
    hrefs,
    make_lead,
    one,
    outside_outbox,
    page,
    parsed,
    queue,
    renderer,
    send_all,
    text_of,
)

CLICK = re.compile(r"^http://127\.0\.0\.1:8000/email/click\?t=[\w.-]+$")
WIDTH = re.compile(r"(?:^|;)\s*(?:min-)?width\s*:\s*(\d+)px", re.IGNORECASE)


def _digest(
    db: Database, smtp_sink: SmtpSink, render: MailRenderer, settings: Settings
) -> Received:
    asset = make_asset(db, title="Pricing guide", stage="decision")
    lead = make_lead(db, consent="confirmed")
    queue(
        db, "ann@example.com", "digest", marketing=True, lead_id=lead, slug=asset.slug,
        title=asset.title,
    )  # fmt: skip
    assert send_all(db, settings, render).sent == 1
    (received,) = smtp_sink.wait_for(1)
    return received


def test_the_test_mail_arrives_with_both_parts_and_its_css_inlined(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    queue(db, "ops@pipewise.example")
    send_mail(mail_client)
    (received,) = smtp_sink.wait_for(1)
    text, document = text_of(received), page(received)
    assert received.subject == "Test message from Pipewise"
    assert "can send through this server" in text
    assert document.css_first("style") is None  # clients that drop <style> lose nothing
    body_style = one(document, "body").attributes["style"] or ""
    assert "font-family" in body_style
    paragraph = one(document, ".card p")
    assert "margin" in (paragraph.attributes.get("style") or "")
    # the footer: brand and postal address in both parts
    assert "Pipewise GmbH, Hafenstraße 1, 20457 Hamburg" in text
    footer = one(document, ".footer").text()
    assert "Pipewise GmbH, Hafenstraße 1, 20457 Hamburg" in footer
    assert received.message["Content-Language"] == "en"


def test_transactional_mail_has_no_unsubscribe_headers_links_or_pixel(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    queue(db, "ops@pipewise.example")
    send_mail(mail_client)
    (received,) = smtp_sink.wait_for(1)
    assert received.message["List-Unsubscribe"] is None
    assert received.message["List-Unsubscribe-Post"] is None
    assert not any("/email/unsubscribe" in href for href in hrefs(received))
    assert "/email/unsubscribe" not in text_of(received)
    assert page(received).css("img") == []  # no open pixel without marketing consent


def test_marketing_mail_in_german_with_one_click_unsubscribe(
    mail_client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    lead = make_lead(db, "jan@example.de", language="de", consent="confirmed")
    message_id = queue(db, "jan@example.de", marketing=True, lead_id=lead, language="de")
    send_mail(mail_client)
    (received,) = smtp_sink.wait_for(1)
    text, document = text_of(received), page(received)
    assert received.subject == "Testnachricht von Pipewise"
    assert "über diesen Server senden kann" in text
    assert one(document, "html").attributes["lang"] == "de"
    footer = one(document, ".footer").text()
    assert "Sie erhalten diese E-Mail, weil Sie Neuigkeiten von Pipewise" in footer
    assert "jan@example.de" in footer
    links = {a.text(): str(a.attributes["href"]) for a in document.css(".footer a")}
    assert set(links) == {"Auswahl ändern", "Abmelden"}
    assert "Abmelden: http://127.0.0.1:8000/email/unsubscribe?t=" in text
    # RFC 8058: https (here the portal's http base URL) and mailto, and one-click POST
    header = str(received.message["List-Unsubscribe"])
    web, mailto = re.findall(r"<([^>]+)>", header)
    assert web == links["Abmelden"]
    assert web.startswith("http://127.0.0.1:8000/email/unsubscribe?t=")
    assert re.fullmatch(r"mailto:unsubscribe\+[0-9a-f]+@pipewise\.example", mailto)
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"List-Unsubscribe: <http" in received.raw  # a URL, not an encoded word
    # the unsubscribe and preference links are never wrapped in a click URL
    assert links["Auswahl ändern"].startswith("http://127.0.0.1:8000/email/preferences?t=")
    with db.read() as session:
        row = session.get(MailMessage, message_id)
        assert row is not None
        assert row.status == MailStatus.SENT.value


def test_every_link_is_a_signed_click_url_in_both_parts(
    smtp_sink: SmtpSink, db: Database, render: MailRenderer, mail_settings: Settings
) -> None:
    received = _digest(db, smtp_sink, render, mail_settings)
    body_links = [str(a.attributes["href"]) for a in page(received).css(".card a")]
    assert len(body_links) == 2
    assert all(CLICK.match(link) for link in body_links)
    text = text_of(received)
    assert OUTSIDE not in text
    assert OUTSIDE not in received.part("html")
    for link in body_links:
        assert link in text


def test_the_text_part_mirrors_the_html_when_the_kind_writes_none(
    smtp_sink: SmtpSink, db: Database, render: MailRenderer, mail_settings: Settings
) -> None:
    received = _digest(db, smtp_sink, render, mail_settings)
    text = text_of(received)
    button, outside = [str(a.attributes["href"]) for a in page(received).css(".card a")]
    assert text.startswith("This week's reads\n\nStart with the guide everyone asks about:\n\n")
    assert f"Pricing guide:\n{button}" in text
    assert f"Also worth a look: the analyst report (read it ({outside}))." in text
    assert "Cover" not in text  # images stay out of the text part
    assert "You get this email because you subscribed to news from Pipewise" in text
    assert received.subject == "Your digest from Pipewise"
    preheader = one(page(received), ".preheader")
    assert preheader.text() == "Three reads for this week"
    assert "display: none" in (preheader.attributes.get("style") or "")


def test_the_html_part_fits_the_narrow_widths_of_mail_clients(
    smtp_sink: SmtpSink, db: Database, render: MailRenderer, mail_settings: Settings
) -> None:
    received = _digest(db, smtp_sink, render, mail_settings)
    document = page(received)
    for node in document.css("*"):
        attrs = node.attributes
        width = attrs.get("width")
        assert width is None or int(width) <= 600, node.html
        for px in WIDTH.findall(attrs.get("style") or ""):
            assert int(px) <= 600, node.html
    for image in document.css(".card img"):
        assert "max-width: 100%" in (image.attributes.get("style") or "")
    wrap = one(document, ".wrap")
    assert "max-width: 600px" in (wrap.attributes.get("style") or "")
    assert "<table" not in received.part("html")


def test_the_brand_colour_and_logo_come_from_the_settings(
    smtp_sink: SmtpSink, db: Database, mail_settings: Settings, tmp_path: Path
) -> None:
    branded = mail_settings.with_overrides(
        brand_name="Pipewise & Co",
        brand_color="#0a7d4f",
        brand_logo_url="https://cdn.pipewise.example/logo.png",
    )
    received = _digest(db, smtp_sink, renderer(branded, tmp_path / "t"), branded)
    document = page(received)
    logo = one(document, ".brand img")
    assert logo.attributes["src"] == "https://cdn.pipewise.example/logo.png"
    assert logo.attributes["alt"] == "Pipewise & Co"
    assert "max-width" in (logo.attributes.get("style") or "")
    button = one(document, "a.button")
    assert "background-color: #0a7d4f" in (button.attributes.get("style") or "")
    # the name is escaped in HTML only: the subject and the text part read it as written
    assert received.subject == "Your digest from Pipewise & Co"
    assert "\n-- \nPipewise & Co\n" in text_of(received)


def test_a_mail_sent_outside_the_outbox_keeps_its_links_as_written(
    render: MailRenderer,
) -> None:
    """``leadshelf mail test`` renders a message that has no row (id 0) to attribute clicks to."""
    received = parsed(render(None, outside_outbox()))  # type: ignore[arg-type]
    assert hrefs(received) == ["http://127.0.0.1:8000/library"]
    assert "Open the library:\nhttp://127.0.0.1:8000/library\n" in text_of(received)
