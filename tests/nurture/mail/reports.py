"""Real-looking DSNs (RFC 3464, as Postfix writes them) and ARF feedback reports (RFC 5965,
as mailbox providers send them), built around the headers of one of our messages."""

from __future__ import annotations

import smtplib

ORIGINAL = (
    "Return-Path: <bounces+{token}@pipewise.example>\r\n"
    "Message-ID: {message_id}\r\n"
    "From: Pipewise <news@pipewise.example>\r\n"
    "To: {recipient}\r\n"
    "Subject: Your copy of the pricing guide\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
)


def original_headers(recipient: str, token: str = "", message_id: str = "") -> str:
    return ORIGINAL.format(
        token=token or "0" * 24, message_id=message_id or "<other@elsewhere>", recipient=recipient
    )


def dsn(
    recipient: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown",
    original: str = "",
    to: str = "bounces+0@pipewise.example",
) -> bytes:
    """A Postfix-style bounce (failed) or delay warning (delayed) for one recipient."""
    diagnostic = diagnostic.format(recipient=recipient)
    status_line = f"Status: {status}\r\n" if status else ""
    text = (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Mon, 07 Dec 2026 10:05:00 +0000\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="8C1D2E.1"\r\n'
        "\r\n"
        "--8C1D2E.1\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mx.example.net.\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n"
        "\r\n"
        "--8C1D2E.1\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "X-Postfix-Queue-ID: 8C1D2E\r\n"
        "Arrival-Date: Mon,  7 Dec 2026 10:00:01 +0000 (UTC)\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"{status_line}"
        "Remote-MTA: dns; mail.example.com\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n"
        "\r\n"
        "--8C1D2E.1\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"{original or original_headers(recipient)}"
        "\r\n"
        "--8C1D2E.1--\r\n"
    )
    return text.encode()


def arf(
    recipient: str,
    *,
    feedback_type: str = "abuse",
    original: str = "",
    to: str = "fbl@pipewise.example",
    rcpt_field: bool = True,
) -> bytes:
    """A complaint ("this is spam") as a mailbox provider's feedback loop sends it."""
    rcpt = f"Original-Rcpt-To: {recipient}\r\n" if rcpt_field else ""
    text = (
        "From: <staff@hotmail.example>\r\n"
        "Date: Thu, 10 Dec 2026 08:00:00 +0000\r\n"
        "Subject: FW: Your copy of the pricing guide\r\n"
        f"To: <{to}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report;\r\n"
        '    boundary="part1_13d.2e68ed54_boundary"\r\n'
        "\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        'Content-Type: text/plain; charset="US-ASCII"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "This is an email abuse report for an email message received from IP\r\n"
        "192.0.2.1 on Thu, 10 Dec 2026 07:59:00 +0000.\r\n"
        "\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        "Content-Type: message/feedback-report\r\n"
        "\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        "User-Agent: SomeGenerator/1.0\r\n"
        "Version: 1\r\n"
        "Original-Mail-From: <bounces+0@pipewise.example>\r\n"
        f"{rcpt}"
        "Arrival-Date: Thu, 10 Dec 2026 07:59:00 +0000\r\n"
        "Source-IP: 192.0.2.1\r\n"
        "Reported-Domain: pipewise.example\r\n"
        "\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Disposition: inline\r\n"
        "\r\n"
        f"{original or original_headers(recipient)}"
        "\r\n"
        "Hello Ann, here is the pricing guide you asked for.\r\n"
        "\r\n"
        "--part1_13d.2e68ed54_boundary--\r\n"
    )
    return text.encode()


def deliver(port: int, to: str, data: bytes, mail_from: str = "") -> tuple[int, bytes]:
    """Hand a report to an SMTP server on localhost as a reporting MTA does (null sender);
    returns the server's answer to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mx.example.net")
        code, text = client.mail(mail_from)
        assert code == 250, text
        code, text = client.rcpt(to)
        assert code == 250, text
        return client.data(data)
