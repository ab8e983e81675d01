"""The sales handoff on SQLite and PostgreSQL: which lifecycle changes open and close a handoff,
catching up with the change log exactly once, sales' moves, and the /console/handoff page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.orm import utcnow
from nurture import handoff
from nurture.models import Handoff, RelayCursor
from portal.accounts.models import Role
from portal.db import Database
from tests.nurture.answers import BANT_ANSWERS, MQL_ANSWERS, lead_answering
from tests.support import StaffActions, csrf_token_from, html
from tracking.models import Lead, LeadChange
from tracking.pipeline import leadstate
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

MODEL = Model()
NOW = utcnow()


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture(autouse=True)
def fresh_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Now" is when the test starts, however long after the import it runs (ages shown in
    hours and days stay what the test expects)."""
    monkeypatch.setitem(globals(), "NOW", utcnow())


def lead(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        return found


def catch_up(db: Database) -> int:
    with db.write() as session:
        return handoff.catch_up(session)


def handoffs(db: Database, lead_id: int | None = None) -> list[Handoff]:
    with db.read() as session:
        query = select(Handoff).order_by(Handoff.id)
        if lead_id is not None:
            query = query.where(Handoff.lead_id == lead_id)
        return list(session.scalars(query))


def lifecycle_log(db: Database, lead_id: int) -> list[LeadChange]:
    with db.read() as session:
        return list(
            session.scalars(
                select(LeadChange)
                .where(LeadChange.lead_id == lead_id, LeadChange.kind == "lifecycle")
                .order_by(LeadChange.seq)
            )
        )


def move(db: Database, lead_id: int, target: Lifecycle, reason: str, at: datetime) -> None:
    with db.write() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        handoff.move(session, found, target, reason, MODEL, now=at)


def set_lifecycle(db: Database, lead_id: int, target: Lifecycle, reason: str, at: datetime) -> None:
    """A move by the API: the change log only, the queue learns of it when it catches up."""
    with db.write() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        leadstate.set_lifecycle(session, found, target, reason, at)


# the rules


def test_a_new_mql_opens_an_mql_handoff(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(2))
    assert lead(db, ada).lifecycle == "mql"
    (change,) = lifecycle_log(db, ada)
    assert handoffs(db) == []  # tracking never calls the queue
    assert catch_up(db) == 1
    (opened,) = handoffs(db)
    assert (opened.lead_id, opened.kind, opened.reason) == (ada, "mql", change.reason)
    assert change.reason.startswith("decision stage with fit 35")
    assert (opened.opened_at, opened.change_seq) == (change.at, change.seq)
    assert opened.resolved_at is None
    with db.read() as session:
        assert handoff.open_for(session, ada) is not None


def test_the_sales_fast_lane_opens_a_fast_lane_handoff(db: Database) -> None:
    bea = lead_answering(db, "bea@x.example", BANT_ANSWERS, ago(1))
    assert lead(db, bea).lifecycle == "sql"
    (change,) = lifecycle_log(db, bea)
    assert change.reason.startswith("sales fast lane")
    catch_up(db)
    (opened,) = handoffs(db)
    assert (opened.kind, opened.reason, opened.resolved_at) == ("fast_lane", change.reason, None)


def test_an_mql_taking_the_fast_lane_swaps_its_handoff(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    lead_answering(db, "ada@x.example", BANT_ANSWERS, ago(2))  # she answers the rest
    catch_up(db)
    first, second = handoffs(db, ada)
    assert (first.kind, first.outcome, first.resolved_at) == ("mql", "sql", ago(2))
    assert first.resolution.startswith("sales fast lane")
    assert (second.kind, second.resolved_at) == ("fast_lane", None)


def test_a_plain_sql_from_the_api_opens_nothing(db: Database) -> None:
    cy = lead_answering(db, "cy@x.example", {}, ago(2))
    set_lifecycle(db, cy, Lifecycle.SQL, "qualified in the CRM", ago(1))
    assert catch_up(db) == 1
    assert handoffs(db) == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (Lifecycle.OPPORTUNITY, "deal opened in the CRM"),
        (Lifecycle.CUSTOMER, "signed"),
        (Lifecycle.SQL, "qualified by phone"),
        (Lifecycle.RECYCLED, "no budget this year"),
    ],
)
def test_any_other_lifecycle_change_closes_the_open_handoff_with_its_outcome(
    db: Database, target: Lifecycle, reason: str
) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    set_lifecycle(db, ada, target, reason, ago(1))
    catch_up(db)
    (closed,) = handoffs(db, ada)
    assert (closed.outcome, closed.resolution, closed.resolved_at) == (target.value, reason, ago(1))
    with db.read() as session:
        assert handoff.open_for(session, ada) is None


def test_catching_up_is_idempotent_and_never_repeats(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    lead_answering(db, "plain@x.example", {"job_title": "CTO"}, ago(3))  # no lifecycle change
    assert catch_up(db) == 1
    assert catch_up(db) == 0
    assert catch_up(db) == 0
    assert len(handoffs(db)) == 1
    bea = lead_answering(db, "bea@x.example", BANT_ANSWERS, ago(2))
    assert catch_up(db) == 1
    assert catch_up(db) == 0
    assert [(h.lead_id, h.kind) for h in handoffs(db)] == [(ada, "mql"), (bea, "fast_lane")]
    with db.read() as session:
        cursor = session.get(RelayCursor, handoff.CURSOR)
        head = session.scalar(select(func.max(LeadChange.seq)))
    assert cursor is not None
    assert cursor.seq == head


def test_catching_up_reads_in_batches_without_losing_a_change(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handoff, "BATCH", 2)
    ids = [lead_answering(db, f"lead{n}@x.example", MQL_ANSWERS, ago(3, n)) for n in range(5)]
    assert catch_up(db) == 5
    assert sorted(h.lead_id for h in handoffs(db)) == sorted(ids)
    assert catch_up(db) == 0


def test_accepting_an_mql_makes_it_an_sql_and_closes_the_handoff(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    move(db, ada, Lifecycle.SQL, "accepted by sales (sam@example.com)", ago(1))
    assert lead(db, ada).lifecycle == "sql"
    last = lifecycle_log(db, ada)[-1]
    assert (last.old, last.new, last.reason) == (
        "mql",
        "sql",
        "accepted by sales (sam@example.com)",
    )
    (closed,) = handoffs(db, ada)
    assert (closed.outcome, closed.resolution) == ("sql", "accepted by sales (sam@example.com)")
    assert closed.resolved_at == ago(1)


def test_accepting_a_fast_lane_lead_only_closes_its_handoff(db: Database) -> None:
    bea = lead_answering(db, "bea@x.example", BANT_ANSWERS, ago(3))
    catch_up(db)
    before = [(c.seq, c.new) for c in lifecycle_log(db, bea)]
    move(db, bea, Lifecycle.SQL, "called her back", ago(1))
    assert lead(db, bea).lifecycle == "sql"
    assert [(c.seq, c.new) for c in lifecycle_log(db, bea)] == before  # no second "sql"
    (closed,) = handoffs(db, bea)
    assert (closed.kind, closed.outcome, closed.resolution) == (
        "fast_lane",
        "sql",
        "called her back",
    )
    assert closed.resolved_at == ago(1)


def test_sending_back_recycles_the_lead_with_the_reason(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    move(db, ada, Lifecycle.RECYCLED, "no budget before spring", ago(1))
    assert lead(db, ada).lifecycle == "recycled"
    assert lifecycle_log(db, ada)[-1].reason == "no budget before spring"
    (closed,) = handoffs(db, ada)
    assert (closed.outcome, closed.resolution) == ("recycled", "no budget before spring")
    # Still an MQL by the rule, but sales' "not yet" holds through the cool-off.
    assert lead(db, ada).lifecycle == "recycled"
    with db.read() as session:
        assert handoff.open_for(session, ada) is None


def test_a_recycled_lead_returns_to_the_queue_after_the_cool_off(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(40))
    catch_up(db)
    move(db, ada, Lifecycle.RECYCLED, "not yet", ago(35))
    lead_answering(db, "ada@x.example", {}, ago(1))  # evaluated again 34 days later
    catch_up(db)
    assert lead(db, ada).lifecycle == "mql"
    first, second = handoffs(db, ada)
    assert (first.outcome, second.kind, second.resolved_at) == ("recycled", "mql", None)


def test_a_move_the_rules_refuse_leaves_the_handoff_open(db: Database) -> None:
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    with pytest.raises(ValueError, match="lead is set by the rules"):
        move(db, ada, Lifecycle.LEAD, "back to lead", ago(1))
    (still,) = handoffs(db, ada)
    assert still.resolved_at is None
    assert lead(db, ada).lifecycle == "mql"


def test_a_move_to_the_lifecycle_the_lead_has_is_still_checked_by_the_rules(db: Database) -> None:
    # Only accepting a fast-lane lead (already sql) may skip the lifecycle move; "moving" an MQL
    # to mql is not a move sales may make (mql is set by the rules), so it must not quietly take
    # the lead out of the queue with the outcome "mql".
    ada = lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    with pytest.raises(ValueError, match="mql is set by the rules"):
        move(db, ada, Lifecycle.MQL, "again", ago(1))
    (still,) = handoffs(db, ada)
    assert (still.resolved_at, still.outcome) == (None, None)


def test_the_queue_lists_the_longest_waiting_first_with_evidence(db: Database) -> None:
    late = lead_answering(db, "late@x.example", BANT_ANSWERS, ago(0, 2))
    early = lead_answering(db, "early@x.example", MQL_ANSWERS, ago(3))
    catch_up(db)
    with db.read() as session:
        waiting = handoff.queue(session, MODEL, NOW)
        assert [item.lead.id for item in waiting] == [early, late]
        assert [round(item.waiting_days, 3) for item in waiting] == [3.0, round(2 / 24, 3)]
        assert all("timeframe 0-3m" in item.explanation for item in waiting)


# the page


@pytest.fixture
def queue(db: Database, settled: None) -> dict[str, int]:
    """Four leads handed to sales: one waiting 15 days, one 3 days, one on the fast lane for
    2 hours, and one accepted yesterday."""
    ids = {
        "old": lead_answering(db, "olga@x.example", MQL_ANSWERS, ago(15), "Olga Old"),
        "ada": lead_answering(db, "ada@x.example", MQL_ANSWERS, ago(3), "Ada Lovelace"),
        "bea": lead_answering(db, "bea@x.example", BANT_ANSWERS, ago(0, 2), "Bea Fast"),
        "cy": lead_answering(db, "cy@x.example", MQL_ANSWERS, ago(5), "Cy Done"),
    }
    move(db, ids["cy"], Lifecycle.SQL, "accepted by sales (sam@example.com)", ago(1))
    return ids


@pytest.fixture
def marketer(staff: StaffActions) -> str:
    return staff.sign_in_as(Role.MARKETER)


def queue_page(client: TestClient[Litestar], url: str = "/console/handoff") -> Any:
    response = client.get(url)
    assert response.status_code == 200
    return html(response.text)


def decide(client: TestClient[Litestar], lead_id: int, **form: str) -> Any:
    token = csrf_token_from(client.get("/console/handoff").text)
    return client.post(
        f"/console/handoff/{lead_id}", data={"_csrf_token": token, **form}, follow_redirects=False
    )


def waiting_rows(tree: Any) -> list[int]:
    return [int(row.attributes["data-lead"]) for row in tree.css("tr.handoff-row")]


def test_the_queue_page_shows_who_waits_why_and_how_long(
    client: TestClient[Litestar], marketer: str, queue: dict[str, int]
) -> None:
    tree = queue_page(client)
    assert waiting_rows(tree) == [queue["old"], queue["ada"], queue["bea"]]
    assert tree.css_first("caption").text(strip=True) == "Waiting for sales: 3"
    rows = {int(r.attributes["data-lead"]): r for r in tree.css("tr.handoff-row")}
    ada = rows[queue["ada"]]
    link = ada.css_first("th a")
    assert (link.text(), link.attributes["href"]) == (
        "Ada Lovelace",
        f"/console/leads/{queue['ada']}",
    )
    assert "ada@x.example" in ada.css_first("th .cell-sub").text()
    why, evidence, waiting = (cell for cell in ada.css("td")[:3])
    assert why.css_first(".badge").text() == "MQL"
    assert "decision stage with fit 35" in why.text()
    assert evidence.text().startswith("decision (")
    assert "timeframe 0-3m" in evidence.text()
    assert waiting.text(strip=True) == "3.0 days"
    bea = rows[queue["bea"]]
    assert bea.css_first(".badge").text() == "Fast lane"
    assert "sales fast lane" in bea.css("td")[0].text()
    assert bea.css_first("td.waiting").text(strip=True) == "2 h"
    assert "is-overdue" in (rows[queue["old"]].attributes["class"] or "")
    assert "is-overdue" not in (ada.attributes["class"] or "")
    (done,) = tree.css(".handoff-done li")
    assert done.css_first("a").attributes["href"] == f"/console/leads/{queue['cy']}"
    assert done.text().startswith("Cy Done: sql on")
    assert done.css_first(".cell-sub").text() == "accepted by sales (sam@example.com)"


def test_the_lead_page_says_the_lead_waits_for_sales(
    client: TestClient[Litestar], marketer: str, queue: dict[str, int]
) -> None:
    queue_page(client)  # the queue catches up with the change log
    notice = html(client.get(f"/console/leads/{queue['ada']}").text).css_first(".flash--info")
    assert notice.text().startswith("Waiting for sales since")
    assert notice.css_first("a").attributes["href"] == "/console/handoff"


def test_accepting_from_the_queue(
    client: TestClient[Litestar], marketer: str, db: Database, queue: dict[str, int]
) -> None:
    response = decide(client, queue["ada"], do="accept")
    assert response.status_code == 303
    location = response.headers["location"]
    assert parse_qs(urlsplit(location).query) == {"done": ["ada@x.example accepted as SQL"]}
    tree = queue_page(client, location)
    assert tree.css_first(".flash--success").text(strip=True) == "ada@x.example accepted as SQL."
    assert waiting_rows(tree) == [queue["old"], queue["bea"]]
    handled = tree.css(".handoff-done li")
    assert handled[0].css_first("a").text() == "Ada Lovelace"  # the newest first
    assert handled[0].text().startswith("Ada Lovelace: sql on")
    assert handled[0].css_first(".cell-sub").text() == f"accepted by sales ({marketer})"
    assert lead(db, queue["ada"]).lifecycle == "sql"
    assert lifecycle_log(db, queue["ada"])[-1].reason == f"accepted by sales ({marketer})"


def test_accepting_a_fast_lane_lead_keeps_it_an_sql(
    client: TestClient[Litestar], marketer: str, db: Database, queue: dict[str, int]
) -> None:
    before = len(lifecycle_log(db, queue["bea"]))
    decide(client, queue["bea"], do="accept")
    assert waiting_rows(queue_page(client)) == [queue["old"], queue["ada"]]
    assert lead(db, queue["bea"]).lifecycle == "sql"
    assert len(lifecycle_log(db, queue["bea"])) == before


def test_sending_back_needs_a_reason(
    client: TestClient[Litestar], marketer: str, db: Database, queue: dict[str, int]
) -> None:
    tree = queue_page(client)
    row = tree.css_first(f'tr.handoff-row[data-lead="{queue["ada"]}"]')
    back = row.css_first('form input[name="do"][value="recycle"]').parent
    assert "required" in back.css_first('input[name="reason"]').attributes
    refused = decide(client, queue["ada"], do="recycle", reason="   ")
    page = queue_page(client, refused.headers["location"])
    assert page.css_first(".flash--error").text(strip=True) == (
        "Say why the lead goes back to nurturing."
    )
    assert queue["ada"] in waiting_rows(page)
    assert lead(db, queue["ada"]).lifecycle == "mql"

    sent = decide(client, queue["ada"], do="recycle", reason="No budget before spring")
    page = queue_page(client, sent.headers["location"])
    assert page.css_first(".flash--success").text(strip=True) == (
        "ada@x.example sent back to nurturing."
    )
    assert queue["ada"] not in waiting_rows(page)
    handled = page.css(".handoff-done li")[0]
    assert handled.text().startswith("Ada Lovelace: recycled on")
    assert handled.css_first(".cell-sub").text() == f"No budget before spring ({marketer})"
    assert lead(db, queue["ada"]).lifecycle == "recycled"


def test_an_unknown_choice_or_lead_is_refused(
    client: TestClient[Litestar], marketer: str, db: Database, queue: dict[str, int]
) -> None:
    response = decide(client, queue["ada"], do="promote")
    page = queue_page(client, response.headers["location"])
    assert page.css_first(".flash--error").text(strip=True) == "Choose accept or send back."
    assert lead(db, queue["ada"]).lifecycle == "mql"
    assert decide(client, 987654, do="accept").status_code == 404


def test_an_empty_queue_says_nobody_is_waiting(
    client: TestClient[Litestar],
    marketer: str,
    settled: None,
) -> None:
    tree = queue_page(client)
    assert waiting_rows(tree) == []
    assert tree.css_first(".data-table__empty").text().startswith("Nobody is waiting")
    assert tree.css_first(".handoff-done li").text(strip=True) == "Nothing yet."


def test_accepting_twice_says_why_the_second_time_changes_nothing(
    client: TestClient[Litestar], marketer: str, db: Database, queue: dict[str, int]
) -> None:
    decide(client, queue["ada"], do="accept")
    before = len(lifecycle_log(db, queue["ada"]))
    again = decide(client, queue["ada"], do="accept")  # a second tab, or a double click
    page = queue_page(client, again.headers["location"])
    assert "cannot become sql" in page.css_first(".flash--error").text().lower()
    assert len(lifecycle_log(db, queue["ada"])) == before
    assert len(handoffs(db, queue["ada"])) == 1
