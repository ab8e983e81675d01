"""Reading DSNs and ARF reports, pure: which recipient, which verdict, which message."""

from __future__ import annotations

import pytest

from nurture.mail.bounces import Report, arf_kind, dsn_kind, read_report, token_of
from tests.nurture.mail.reports import arf, dsn, original_headers

TOKEN = "3f2a9c0b1d4e5f60718293a4"


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "kind"),
    [
        ("failed", "5.1.1", "smtp; 550 5.1.1 User unknown", "hard"),
        ("failed", "5.7.1", "smtp; 554 5.7.1 rejected by policy", "hard"),
        ("failed", "5.2.2 (mailbox full)", "", "hard"),
        ("Failed", "5.0.0", "", "hard"),
        ("failed", "4.2.2", "smtp; 452 4.2.2 mailbox full", "soft"),
        ("failed", "", "smtp; 452 mailbox full, try later", "soft"),
        ("failed", "", "smtp; 550 no such user", "hard"),
        ("failed", "", "", "hard"),
        ("delayed", "4.4.1", "connection timed out", "soft"),
        ("delayed", "", "", "soft"),
        ("delivered", "2.0.0", "smtp; 250 OK", None),
        ("relayed", "2.0.0", "", None),
        ("expanded", "2.0.0", "", None),
        ("", "5.1.1", "", None),
    ],
)
def test_a_dsn_failure_with_a_permanent_status_is_hard_and_a_delay_soft(
    action: str, status: str, diagnostic: str, kind: str | None
) -> None:
    assert dsn_kind(action, status, diagnostic) == kind


@pytest.mark.parametrize(
    ("feedback_type", "kind"),
    [
        ("abuse", "complaint"),
        ("Abuse", "complaint"),
        ("fraud", "complaint"),
        ("virus", "complaint"),
        ("other", "complaint"),
        ("opt-out", "unsubscribe"),
        ("not-spam", None),
        ("auth-failure", None),
        ("", None),
    ],
)
def test_a_feedback_report_is_a_complaint_unless_it_says_otherwise(
    feedback_type: str, kind: str | None
) -> None:
    assert arf_kind(feedback_type) == kind


@pytest.mark.parametrize(
    ("address", "found"),
    [
        (f"bounces+{TOKEN}@pipewise.example", ("bounces", TOKEN)),
        (f"<bounces+{TOKEN}@pipewise.example>", ("bounces", TOKEN)),
        (f"Bounces+{TOKEN.upper()}@PIPEWISE.EXAMPLE", ("bounces", TOKEN)),
        (f"unsubscribe+{TOKEN}@pipewise.example", ("unsubscribe", TOKEN)),
        ("bounces@pipewise.example", None),
        ("bounces+@pipewise.example", None),
        ("bounces+not-a-token!@pipewise.example", None),
        ("news@pipewise.example", None),
        ("fbl@pipewise.example", None),
        ("", None),
    ],
)
def test_only_our_verp_addresses_carry_a_token(address: str, found: tuple[str, str] | None) -> None:
    assert token_of(address) == found


def test_a_bounce_names_the_recipient_the_status_and_our_message() -> None:
    original = original_headers("ann@example.com", TOKEN, "<m1@pipewise.example>")
    (report,) = read_report(dsn("Ann@Example.com", original=original))
    assert report == Report(
        kind="hard",
        source="dsn",
        recipient="ann@example.com",
        status="5.1.1",
        detail="smtp; 550 5.1.1 <Ann@Example.com>: Recipient address rejected: User unknown",
        message_id="<m1@pipewise.example>",
        token=TOKEN,
    )


def test_a_delay_warning_is_a_soft_bounce_and_a_success_notice_none() -> None:
    (delayed,) = read_report(dsn("ann@example.com", action="delayed", status="4.4.1"))
    assert (delayed.kind, delayed.status) == ("soft", "4.4.1")
    assert read_report(dsn("ann@example.com", action="delivered", status="2.0.0")) == []


def test_each_failed_recipient_of_a_dsn_is_a_report() -> None:
    two = dsn("ann@example.com").replace(
        b"Remote-MTA: dns; mail.example.com\r\n",
        b"Remote-MTA: dns; mail.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; bob@example.com\r\n"
        b"Action: delayed\r\nStatus: 4.2.2\r\n",
    )
    assert [(r.recipient, r.kind) for r in read_report(two)] == [
        ("ann@example.com", "hard"),
        ("bob@example.com", "soft"),
    ]


def test_a_complaint_names_the_recipient_and_our_message() -> None:
    original = original_headers("ann@example.com", TOKEN, "<m1@pipewise.example>")
    (report,) = read_report(arf("ann@example.com", original=original))
    assert (report.kind, report.source, report.recipient, report.status) == (
        "complaint",
        "arf",
        "ann@example.com",
        "abuse",
    )
    assert (report.message_id, report.token) == ("<m1@pipewise.example>", TOKEN)
    assert report.detail == "feedback report: abuse from SomeGenerator/1.0"


def test_a_complaint_without_original_rcpt_to_names_the_original_to() -> None:
    (report,) = read_report(arf("ann@example.com", rcpt_field=False))
    assert report.recipient == "ann@example.com"


def test_an_opt_out_report_unsubscribes_and_a_not_spam_report_does_nothing() -> None:
    (report,) = read_report(arf("ann@example.com", feedback_type="opt-out"))
    assert report.kind == "unsubscribe"
    assert read_report(arf("ann@example.com", feedback_type="not-spam")) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"From: ann@example.com\r\nSubject: Out of office\r\n\r\nI am away until Monday.\r\n",
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n"
        b"\r\n--x\r\nContent-Type: text/plain\r\n\r\nread\r\n--x--\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno parts at all",
        b"\x00\xff\xfe garbage \r\n\r\n\r\n",
        b"",
    ],
)
def test_mail_that_is_no_report_is_no_bounce(raw: bytes) -> None:
    assert read_report(raw) == []
