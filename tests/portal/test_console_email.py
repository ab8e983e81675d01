"""Console → Email: the outbox in numbers, recent messages and bounces, the suppression list
with search, and lifting an entry (admins only, with a reason, CSRF-protected)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborNode as Node

from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import (
    MailCategory,
    MailMessage,
    MailStatus,
    Suppression,
    SuppressionReason,
)
from nurture.mail.outbox import Mail, enqueue
from portal.accounts.models import Role
from portal.db import Database
from portal.settings import Settings
from tests.support import StaffActions, app_for, csrf_token_from, html

Client = TestClient[Litestar]
URL = "/console/email"


def suppress(db: Database, address: str, reason: SuppressionReason, detail: str = "") -> int:
    with db.write() as session:
        suppression.suppress(session, address, reason, utcnow(), detail=detail)
        entry = suppression.active(session, address)
        assert entry is not None
        return entry.id


def message(db: Database, to: str, status: MailStatus, *, age: timedelta = timedelta(0)) -> int:
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to=to, kind="asset_copy", category=MailCategory.TRANSACTIONAL),
            domain="pipewise.example",
            now=utcnow() - age,
        )
        row = session.get_one(MailMessage, written)
        row.status = status.value
        row.subject = f"Your copy for {to}"
        if status is MailStatus.SENT:
            row.sent_at = utcnow() - age
        if status is MailStatus.BOUNCED:
            row.last_error = "550 5.1.1 no such user"
        if status is MailStatus.SKIPPED:
            row.skip_reason = "suppressed: complaint"
        return row.id


def cells(row: Node) -> list[str]:
    return [cell.text(strip=True) for cell in row.css("th, td")]


def figures(page: str) -> dict[str, str]:
    table = html(page).css_first("table.outbox-figures")
    assert table is not None
    return {
        name: table.css_first(f"td.{name} strong").text(strip=True)
        for name in ("waiting", "sent", "bounced", "failed", "skipped")
    }


def suppressed_rows(page: str) -> dict[str, list[str]]:
    return {
        row.css_first("th").text(strip=True): cells(row)
        for row in html(page).css("table.suppressions tr.suppression")
    }


def lift(client: Client, entry_id: int, reason: str, token: str | None = None) -> Any:
    token = token or csrf_token_from(client.get(URL).text)
    return client.post(
        f"{URL}/suppressions/{entry_id}/lift",
        data={"reason": reason, "_csrf_token": token},
        follow_redirects=False,
    )


@pytest.fixture
def admin(staff: StaffActions, settled: None) -> str:
    return staff.sign_in_as(Role.ADMIN)


def test_the_outbox_in_numbers_and_why_mail_waits(
    client: Client, db: Database, marketer: str
) -> None:
    message(db, "a@example.com", MailStatus.PENDING)
    message(db, "b@example.com", MailStatus.SENT)
    message(db, "c@example.com", MailStatus.SENT, age=timedelta(days=2))
    message(db, "d@example.com", MailStatus.SENT, age=timedelta(days=9))  # before the 7 days
    message(db, "e@example.com", MailStatus.BOUNCED)
    message(db, "f@example.com", MailStatus.FAILED)
    message(db, "g@example.com", MailStatus.SKIPPED)
    page = client.get(URL)
    assert page.status_code == 200
    assert figures(page.text) == {
        "waiting": "1",
        "sent": "2",
        "bounced": "1",
        "failed": "1",
        "skipped": "1",
    }
    tree = html(page.text)
    waits = tree.css_first(".mail-waits")
    assert waits is not None
    assert "LEADSHELF_SMTP_URL is not set" in waits.text()
    warning = tree.css_first(".postal-warning")
    assert warning is not None
    assert "Marketing mail is refused until LEADSHELF_POSTAL_ADDRESS is set" in warning.text()


@pytest.fixture
def mail_console(mail_settings: Settings, db: Database) -> Iterator[tuple[Client, StaffActions]]:
    with app_for(mail_settings) as built, TestClient(built) as test_client:
        yield test_client, StaffActions(test_client, db)


def test_with_smtp_and_a_postal_address_the_page_says_where_mail_goes(
    mail_console: tuple[Client, StaffActions], mail_settings: Settings
) -> None:
    client, staff = mail_console
    staff.sign_in_as(Role.MARKETER)
    tree = html(client.get(URL).text)
    assert tree.css_first(".mail-waits") is None
    assert tree.css_first(".postal-warning") is None
    server = tree.css_first(".mail-server")
    assert server is not None
    assert mail_settings.smtp_url in server.text()


def test_recent_messages_and_bounces_are_listed(
    client: Client, db: Database, marketer: str
) -> None:
    message(db, "ann@example.com", MailStatus.BOUNCED)
    message(db, "bob@example.com", MailStatus.SKIPPED)
    with db.write() as session:
        suppression.record_bounce(
            session, "ann@example.com", "hard", "dsn", utcnow(), status="5.1.1", detail="gone"
        )
    tree = html(client.get(URL).text)
    rows = [cells(row) for row in tree.css("table.mail-messages tr.mail-message")]
    assert [row[0] for row in rows] == ["bob@example.com", "ann@example.com"]
    bob, ann = rows
    assert bob[1].startswith("asset_copy")
    assert (bob[2], bob[3], bob[5]) == (
        "skipped",
        "Your copy for bob@example.com",
        "suppressed: complaint",
    )
    assert (ann[2], ann[5]) == ("bounced", "550 5.1.1 no such user")
    (bounce,) = [cells(row) for row in tree.css("table.mail-bounces tr.mail-bounce")]
    assert bounce[:5] == ["ann@example.com", "Hard bounce", "Bounce report (DSN)", "5.1.1", "gone"]
    # The messages are the page's, not the console's notices (an empty notice per message).
    assert tree.css(".console-messages .flash") == []


def test_the_suppression_list_can_be_searched_by_address(
    client: Client, db: Database, marketer: str
) -> None:
    suppress(db, "ann@example.com", SuppressionReason.HARD_BOUNCE, "550 5.1.1")
    suppress(db, "bob@example.org", SuppressionReason.COMPLAINT, "abuse report")
    suppress(db, "cy_1@example.com", SuppressionReason.UNSUBSCRIBED, "one-click")
    everything = suppressed_rows(client.get(URL).text)
    assert list(everything) == ["cy_1@example.com", "bob@example.org", "ann@example.com"]
    assert everything["bob@example.org"][1:3] == ["Complaint", "abuse report"]
    assert list(suppressed_rows(client.get(URL, params={"q": "EXAMPLE.ORG"}).text)) == [
        "bob@example.org"
    ]
    assert list(suppressed_rows(client.get(URL, params={"q": "_"}).text)) == ["cy_1@example.com"]
    nothing = html(client.get(URL, params={"q": "zed"}).text)
    empty = nothing.css_first("table.suppressions .data-table__empty")
    assert empty is not None
    assert "No address in force matches" in empty.text()


def test_a_marketer_sees_no_lift_button_and_may_not_lift(
    client: Client, db: Database, marketer: str
) -> None:
    entry_id = suppress(db, "ann@example.com", SuppressionReason.HARD_BOUNCE)
    page = client.get(URL).text
    assert html(page).css("form.lift-form") == []
    response = lift(client, entry_id, "she called us", csrf_token_from(page))
    assert response.status_code == 403
    with db.read() as session:
        assert session.get_one(Suppression, entry_id).lifted_at is None


def test_an_editor_cannot_open_the_page(client: Client, staff: StaffActions) -> None:
    staff.sign_in_as(Role.EDITOR)
    assert client.get(URL).status_code == 403


def test_an_admin_lifts_an_entry_with_a_reason_and_the_row_stays(
    client: Client, db: Database, admin: str
) -> None:
    entry_id = suppress(db, "ann@example.com", SuppressionReason.HARD_BOUNCE, "550 5.1.1")
    response = lift(client, entry_id, "  Mailbox restored,   confirmed by phone ")
    assert response.status_code == 303
    with db.read() as session:
        entry = session.get_one(Suppression, entry_id)
        assert entry.lifted_at is not None
        assert (entry.lifted_by, entry.lift_reason) == (
            admin,
            "Mailbox restored, confirmed by phone",
        )
        assert suppression.active(session, "ann@example.com") is None
    page = client.get(response.headers["location"]).text
    tree = html(page)
    notice = tree.css_first(".flash--success")
    assert notice is not None
    assert "ann@example.com may get mail again" in notice.text()
    assert suppressed_rows(page) == {}
    (row,) = tree.css("table.lifted-suppressions tr.lifted")
    assert cells(row)[0] == "ann@example.com"
    assert cells(row)[4:] == [admin, "Mailbox restored, confirmed by phone"]


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_lifting_without_a_reason_is_refused_with_a_clear_message(
    client: Client, db: Database, admin: str, reason: str
) -> None:
    entry_id = suppress(db, "ann@example.com", SuppressionReason.COMPLAINT)
    response = lift(client, entry_id, reason)
    assert response.status_code == 400
    tree = html(response.text)
    error = tree.css_first(f"#lift-error-{entry_id}")
    assert error is not None
    assert error.text(strip=True).startswith("Give a reason")
    details = tree.css_first(f'tr[data-suppression="{entry_id}"] details')
    assert details is not None
    assert "open" in details.attributes
    with db.read() as session:
        assert session.get_one(Suppression, entry_id).lifted_at is None


def test_lifting_twice_says_who_lifted_it_and_a_missing_entry_is_404(
    client: Client, db: Database, admin: str
) -> None:
    entry_id = suppress(db, "ann@example.com", SuppressionReason.HARD_BOUNCE)
    lift(client, entry_id, "restored")
    again = lift(client, entry_id, "restored again")
    assert again.status_code == 409
    problem = html(again.text).css_first("#lift-problem")
    assert problem is not None
    assert f"ann@example.com was lifted already, by {admin}" in problem.text()
    with db.read() as session:
        assert session.get_one(Suppression, entry_id).lift_reason == "restored"
    assert lift(client, 999_999, "why").status_code == 404


def test_a_lift_without_the_csrf_token_is_refused(client: Client, db: Database, admin: str) -> None:
    entry_id = suppress(db, "ann@example.com", SuppressionReason.HARD_BOUNCE)
    response = client.post(
        f"{URL}/suppressions/{entry_id}/lift", data={"reason": "restored"}, follow_redirects=False
    )
    assert response.status_code == 403
    with db.read() as session:
        assert session.get_one(Suppression, entry_id).lifted_at is None


def test_the_menu_lists_email_after_the_content_reports_for_admins_and_marketers(
    client: Client, marketer: str
) -> None:
    labels = [a.text(strip=True) for a in html(client.get(URL).text).css(".console-nav__item")]
    assert labels.index("Email") == labels.index("Content analytics") + 2
    assert labels.index("Content intelligence") == labels.index("Content analytics") + 1
    current = html(client.get(URL).text).css_first('.console-nav__item[aria-current="page"]')
    assert current is not None
    assert current.text(strip=True) == "Email"
