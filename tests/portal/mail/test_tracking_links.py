"""Clicks and opens of real mail: the links a received message holds, followed with the app's
test client, land where they pointed and are recorded on the message and the lead's trail."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from content.orm import utcnow
from nurture.mail.models import MailAddress, MailMessage
from portal.db import Database
from portal.mail.render import MailRenderer
from portal.settings import Settings
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink
from tests.portal.mail.mailing import (
    OUTSIDE,
    hrefs,
    local,
    make_lead,
    page,
    queue,
    send_all,
)
from tests.support import html
from tracking.models import Event, Lead

HUMAN = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def _send_digest(
    db: Database,
    smtp_sink: SmtpSink,
    render: MailRenderer,
    settings: Settings,
    *,
    lead: bool = True,
) -> tuple[Received, int, int]:
    """A marketing digest (to a subscribed lead, or to no lead) with a link to a decision
    asset; returns the mail, its message id and the asset id."""
    asset = make_asset(db, title="Pricing guide", stage="decision")
    lead_id = make_lead(db, consent="confirmed") if lead else None
    message_id = queue(
        db, "ann@example.com", "digest", marketing=lead, lead_id=lead_id,
        slug=asset.slug, title=asset.title,
    )  # fmt: skip
    assert send_all(db, settings, render).sent == 1
    (received,) = smtp_sink.wait_for(1)
    return received, message_id, asset.id


def _events(db: Database, kind: str) -> list[Event]:
    with db.read() as session:
        return list(session.scalars(select(Event).where(Event.type == kind).order_by(Event.id)))


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _message(db: Database, message_id: int) -> MailMessage:
    with db.read() as session:
        row = session.get(MailMessage, message_id)
        assert row is not None
        return row


def _pixel(received: Received) -> str:
    pixel = page(received).css_first("img.pixel")
    assert pixel is not None
    return str(pixel.attributes["src"])


def _sent_long_ago(db: Database, message_id: int) -> None:
    with db.write() as session:
        session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id)
            .values(sent_at=utcnow() - timedelta(hours=1))
        )


def test_a_click_on_an_asset_link_is_recorded_and_lands_on_the_asset(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, asset_id = _send_digest(db, smtp_sink, render, mail_settings)
    with db.write() as session:  # two bounces in a row before: the click shows the inbox lives
        address = session.get(MailAddress, "ann@example.com")
        assert address is not None  # marketing mail sent to it
        address.soft_bounces = 2
    with db.read() as session:
        params = session.scalar(select(MailMessage.params).where(MailMessage.id == message_id))
        assert params is not None
    button = hrefs(received)[0]
    _sent_long_ago(db, message_id)  # a person reads the mail a while after it arrived
    response = mail_client.get(
        local(button), headers={"User-Agent": FIREFOX}, follow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["location"] == f"http://127.0.0.1:8000/library/{params['slug']}"
    assert "no-store" in response.headers["cache-control"]
    (click,) = _events(db, "email_click")
    assert click.asset_id == asset_id
    assert click.visitor_id is None  # the browser is not taken for the lead
    assert click.properties == {
        "message": message_id,
        "kind": "digest",
        "target": response.headers["location"],
    }
    row = _message(db, message_id)
    assert row.clicked_at is not None
    assert row.opened_at == row.clicked_at  # whoever clicked has read it
    with db.read() as session:
        lead = session.get(Lead, click.lead_id)
        assert lead is not None
        assert lead.engagement > 0  # the click counts like the visit it leads to
        assert str(asset_id) in (lead.journey or {})["assets"]
        assert session.get(MailAddress, "ann@example.com").soft_bounces == 0  # type: ignore[union-attr]


def test_a_click_on_an_outside_link_redirects_there_and_a_second_click_keeps_the_first_time(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, _ = _send_digest(db, smtp_sink, render, mail_settings)
    outside = hrefs(received)[1]
    _sent_long_ago(db, message_id)
    first = mail_client.get(local(outside), follow_redirects=False)
    assert first.status_code == 302
    assert first.headers["location"] == OUTSIDE
    clicked_at = _message(db, message_id).clicked_at
    assert mail_client.get(local(outside), follow_redirects=False).status_code == 302
    clicks = _events(db, "email_click")
    assert [c.asset_id for c in clicks] == [None, None]
    assert _message(db, message_id).clicked_at == clicked_at


def test_a_link_scanners_click_redirects_but_is_kept_for_the_record_only(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    """Safe Links and mail gateways follow every link as the mail arrives: a person did not."""
    received, message_id, asset_id = _send_digest(db, smtp_sink, render, mail_settings)
    button = hrefs(received)[0]
    response = mail_client.get(local(button), follow_redirects=False)  # seconds after delivery
    assert response.status_code == 302
    (click,) = _events(db, "email_click")
    assert click.properties is not None
    assert (click.asset_id, click.properties["machine"]) == (None, True)
    assert click.properties["reason"] == "within 10 s of delivery"
    row = _message(db, message_id)
    assert (row.clicked_at, row.opened_at) == (None, None)
    with db.read() as session:
        lead = session.get(Lead, click.lead_id)
        assert lead is not None
        assert lead.engagement == 0
        assert str(asset_id) not in ((lead.journey or {}).get("assets") or {})


def test_a_tampered_click_url_is_a_404_page_and_never_a_redirect(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, _ = _send_digest(db, smtp_sink, render, mail_settings)
    link = local(hrefs(received)[1])
    payload, stamp, signature = link.split("t=", 1)[1].split(".")
    forged = [
        f"/email/click?t={payload}x.{stamp}.{signature}",
        f"/email/click?t={payload}.{stamp}.{signature[:-2]}",
        # an open pixel's token is signed for another purpose
        "/email/click?" + _pixel(received).split("?", 1)[1],
        "/email/click",
    ]
    for url in forged:
        response = mail_client.get(url, follow_redirects=False)
        assert response.status_code == 404, url
        assert "location" not in response.headers
        assert html(response.text).css_first("h1") is not None
    assert _events(db, "email_click") == []
    assert _message(db, message_id).clicked_at is None


def test_links_of_mail_to_no_lead_work_and_record_no_event(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, _ = _send_digest(db, smtp_sink, render, mail_settings, lead=False)
    _sent_long_ago(db, message_id)
    response = mail_client.get(local(hrefs(received)[1]), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == OUTSIDE
    assert _events(db, "email_click") == []
    assert _message(db, message_id).clicked_at is not None


def test_an_open_within_seconds_of_delivery_is_a_machine_open(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, _ = _send_digest(db, smtp_sink, render, mail_settings)
    response = mail_client.get(local(_pixel(received)), headers=HUMAN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    assert "ls_visitor" not in response.headers.get("set-cookie", "")  # no visitor id for it
    (opened,) = _events(db, "email_open")
    assert opened.properties == {
        "message": message_id,
        "kind": "digest",
        "machine": True,
        "reason": "within 10 s of delivery",
    }
    assert _message(db, message_id).opened_at is None


def test_a_person_opening_later_sets_opened_at_and_a_privacy_proxy_does_not(
    mail_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    render: MailRenderer,
    mail_settings: Settings,
) -> None:
    received, message_id, _ = _send_digest(db, smtp_sink, render, mail_settings)
    _sent_long_ago(db, message_id)
    with db.read() as session:
        before = session.scalar(select(Lead.engagement))
    pixel = local(_pixel(received))
    mail_client.get(pixel, headers={"user-agent": "Mozilla/5.0"})  # Apple Mail Privacy Protection
    assert _message(db, message_id).opened_at is None
    mail_client.get(pixel, headers=HUMAN)
    assert _message(db, message_id).opened_at is not None
    opens = _events(db, "email_open")
    assert [(o.properties or {})["machine"] for o in opens] == [True, False]
    assert (opens[0].properties or {})["reason"] == "Apple Mail Privacy Protection"
    with db.read() as session:
        assert session.scalar(select(Lead.engagement)) == before  # opens never move scores


def test_a_forged_pixel_still_answers_an_image_but_records_nothing(
    mail_client: TestClient[Litestar], db: Database
) -> None:
    response = mail_client.get("/email/open?t=eyJtIjoxfQ.forged.token", headers=HUMAN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert _events(db, "email_open") == []
