"""The bytes of a mail: headers encoded only when they must be, both parts in UTF-8, files
attached, parsed back as a mail client would."""

from __future__ import annotations

from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from nurture.mail.models import MailCategory
from portal.mail import mime
from portal.mail.kinds import KindContext
from portal.mail.render import MailRenderer
from tests.portal.mail.mailing import digest, outside_outbox, parsed

UNSUBSCRIBE = "<https://content.pipewise.example/email/unsubscribe?t=" + "x" * 120 + ">"


def _parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def test_headers_are_encoded_only_when_they_are_not_ascii() -> None:
    data = mime.build(
        [
            ("Subject", mime.header("Ihr Überblick von Pipewise — diese Woche")),
            ("From", mime.address("Müller, Pipewise", "news@pipewise.example")),
            ("To", "ann@example.com"),
            ("X-Plain", mime.header("Plain words")),
            ("List-Unsubscribe", UNSUBSCRIBE),
        ],
        "Grüße\n",
        "<p>Grüße</p>",
    )
    message = _parse(data)
    assert message["Subject"] == "Ihr Überblick von Pipewise — diese Woche"
    assert str(message["From"]) == '"Müller, Pipewise" <news@pipewise.example>'
    assert b"\r\nX-Plain: Plain words\r\n" in data
    assert f"\r\nList-Unsubscribe: {UNSUBSCRIBE}\r\n".encode() in data  # one line, a URL
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content() == "Grüße\r\n"  # as sent: CRLF line ends
    assert html.get_content() == "<p>Grüße</p>"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_files_are_attached_beside_the_two_parts() -> None:
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    message = _parse(
        mime.build(
            [("Subject", "Webinar")],
            "See you\n",
            "<p>See you</p>",
            [mime.Attachment("webinar.ics", "text/calendar; charset=utf-8; method=PUBLISH", ics)],
        )
    )
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == "See you\r\n"
    (attached,) = message.iter_attachments()
    assert isinstance(attached, EmailMessage)
    assert attached.get_filename() == "webinar.ics"
    assert attached.get_content_type() == "text/calendar"
    assert attached.get_param("method") == "PUBLISH"
    assert attached.get_payload(decode=True) == ics


def test_a_kind_attaches_files_by_returning_them(render: MailRenderer) -> None:
    def invite(context: KindContext) -> dict[str, object]:
        return {
            **digest(context),
            "attachments": [mime.Attachment("invite.ics", "text/calendar", b"BEGIN:VCALENDAR")],
        }

    render.kinds["digest"] = invite
    invitation = replace(
        outside_outbox(),
        kind="digest",
        category=MailCategory.TRANSACTIONAL,
        params={"slug": "demo", "title": "Live demo"},
    )
    received = parsed(render(None, invitation))  # type: ignore[arg-type]
    (attached,) = received.message.iter_attachments()
    assert attached.get_filename() == "invite.ics"
    assert "Live demo" in received.part("html")
