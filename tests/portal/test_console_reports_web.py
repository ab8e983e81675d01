"""The funnel dashboard and content analytics as a marketer sees them, on SQLite and PostgreSQL:
funnel tables against known leads, gate form abandonment, every chart with its picture and
table, the period picker, the asset table's figures and sorting, and the handoff queue's form."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select

from content.models import Asset
from content.orm import utcnow
from portal.db import Database
from tests.factories import make_asset
from tests.portal.figures import NONE, asset_rows, same_figures, svg_values, table_values
from tests.support import csrf_token_from, html
from tests.tracking.reporting.leads import add_lead, change
from tracking import events
from tracking.models import AssetDaily, FieldDaily, Lead
from tracking.pipeline.ingest import record

TODAY = utcnow().date()
D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
DAY = 86_400


@pytest.fixture(autouse=True)
def fresh_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Today" is the day the test starts, however long after the import it runs."""
    today = utcnow().date()
    for name, value in {
        "TODAY": today,
        "D1": today - timedelta(2),
        "D2": today - timedelta(1),
    }.items():
        monkeypatch.setitem(globals(), name, value)


def moment(day: date, hour: float = 12) -> datetime:
    return datetime.combine(day, time.min, tzinfo=utcnow().tzinfo) + timedelta(hours=hour)


@pytest.fixture
def library(db: Database, settled: None) -> dict[str, Asset]:
    return {
        "pricing": make_asset(
            db, slug="pricing", title="Pricing guide", topics=["pricing"], gate="gated"
        ),
        "scoring": make_asset(
            db, slug="scoring", title="Scoring guide", topics=["lead-scoring", "pricing"]
        ),
        "quiet": make_asset(db, slug="quiet", title="Quiet note", topics=["nurturing"]),
    }


@pytest.fixture
def funnel(db: Database, library: dict[str, Asset]) -> dict[str, int]:
    """Six leads with their lifecycle history, stage dwell times, asset roll-ups and gate
    form answers; everything but dan's start and the oldest lead within the last 7 days."""
    life, stage = "lifecycle", "stage"
    with db.write() as session:
        ids = {
            "ann": add_lead(session, "ann@x.example", created=moment(D1, 23.5),
                            journey_stage="awareness", lifecycle="lead"),
            "bob": add_lead(session, "bob@x.example", created=moment(D2, 0.5),
                            journey_stage="consideration", lifecycle="mql"),
            "cat": add_lead(session, "cat@x.example", created=moment(D2, 10),
                            journey_stage="decision", lifecycle="sql"),
            "dan": add_lead(session, "dan@x.example", created=moment(TODAY - timedelta(20)),
                            journey_stage="decision", lifecycle="customer"),
            "eve": add_lead(session, "eve@x.example", created=moment(D1, 1),
                            journey_stage="customer", lifecycle="recycled"),
            "old": add_lead(session, "old@x.example", created=moment(TODAY - timedelta(100)),
                            journey_stage="awareness", lifecycle="lead"),
        }  # fmt: skip
        change(session, ids["bob"], life, "lead", "mql", moment(D2, 1))
        change(session, ids["cat"], life, "lead", "mql", moment(D2, 11))
        change(session, ids["cat"], life, "mql", "sql", moment(D2, 12))
        change(session, ids["dan"], life, "lead", "mql", moment(TODAY - timedelta(40)))
        change(session, ids["dan"], life, "mql", "sql", moment(TODAY - timedelta(20), 13))
        change(session, ids["dan"], life, "sql", "customer", moment(D1, 1))
        change(session, ids["eve"], life, "lead", "mql", moment(D1, 2))
        change(session, ids["eve"], life, "mql", "recycled", moment(D1, 3))
        change(session, ids["eve"], life, "recycled", "mql", moment(D1, 4))  # the same day again
        change(session, ids["bob"], stage, "awareness", "consideration", moment(D2, 2), 1 * DAY)
        change(session, ids["cat"], stage, "awareness", "consideration", moment(D2, 3), 3 * DAY)
        change(session, ids["cat"], stage, "consideration", "decision", moment(D2, 4), 2 * DAY)
        pricing, scoring = library["pricing"], library["scoring"]
        session.add_all(
            [
                AssetDaily(asset_id=pricing.id, day=TODAY, views=20, unlocks=3, downloads=3,
                           gate_views=8, form_submits=6),
                AssetDaily(asset_id=scoring.id, day=TODAY - timedelta(10), views=5,
                           gate_views=2, form_submits=0),
                FieldDaily(field="email", day=D1, asked=10, answered=6),
                FieldDaily(field="company", day=D2, asked=15, answered=3),
                FieldDaily(field="budget", day=TODAY - timedelta(10), asked=4, answered=0),
            ]
        )  # fmt: skip
    return ids


def dashboard(client: TestClient[Litestar], query: str = "") -> LexborHTMLParser:
    response = client.get(f"/console/dashboard{query}")
    assert response.status_code == 200
    return html(response.text)


def funnel_table(tree: LexborHTMLParser, css: str) -> list[list[str]]:
    return [
        [row.attributes["data-step"] or "", *(c.text(strip=True) for c in row.css("th, td"))]
        for row in tree.css(f"table.{css} tbody tr")
    ]


def test_the_stage_funnel_counts_leads_that_reached_each_stage_along_their_paths(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int]
) -> None:
    assert funnel_table(dashboard(client), "stage-funnel") == [
        ["awareness", "Awareness", "6", NONE],
        ["consideration", "Consideration", "2", "33.3%"],  # bob and cat
        ["decision", "Decision", "1", "50.0%"],  # cat
        ["customer", "Customer", "0", "0.0%"],
    ]


def test_the_lifecycle_funnel_counts_leads_that_ever_reached_each_step(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int]
) -> None:
    tree = dashboard(client)
    assert funnel_table(tree, "lifecycle-funnel") == [
        ["lead", "lead", "6", NONE, "2"],
        ["mql", "mql", "4", "66.7%", "1"],  # bob, cat, dan and eve (eve twice: once)
        ["sql", "sql", "2", "50.0%", "1"],
        ["opportunity", "opportunity", "0", "0.0%", "0"],
        ["customer", "customer", "1", f"{NONE}1 skipped opportunity", "1"],  # dan
    ]
    note = tree.css_first('section[aria-labelledby="life-funnel-h"] p.cell-sub').text()
    assert " ".join(note.split()) == "Recycled now: 1 · subscribers: 0"


def test_the_dashboard_says_when_its_figures_were_taken_and_keeps_them_until_refreshed(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int], db: Database
) -> None:
    def leads_in_funnel() -> str:
        return funnel_table(dashboard(client), "stage-funnel")[0][2]

    before = utcnow().replace(microsecond=0)
    tree = dashboard(client)
    taken = datetime.fromisoformat(tree.css_first(".as-of time").attributes["datetime"] or "")
    assert before <= taken <= utcnow()
    assert "refreshed every 60 seconds" in tree.css_first(".as-of").text()
    assert leads_in_funnel() == "6"
    with db.write() as session:
        add_lead(session, "new@x.example", created=utcnow(), journey_stage="awareness")
    assert leads_in_funnel() == "6"  # the page shows the snapshot at once
    dashboards = client.app.state.dashboards
    dashboards.fresh_for = 0  # what the background refresh does once the minute is over
    assert dashboards.refresh() == 1
    assert leads_in_funnel() == "7"


def test_gate_form_abandonment_for_the_period(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int]
) -> None:
    def gate_figures(query: str) -> list[str]:
        shown = dashboard(client, query).css_first(".gate-performance")
        return [strong.text() for strong in shown.css("strong")]

    assert gate_figures("") == ["10", "6", "40.0%"]  # 8 + 2 forms shown, 6 sent
    assert gate_figures("?days=7") == ["8", "6", "25.0%"]


DASHBOARD_CHARTS = [
    "Leads that reached each journey stage",
    "Leads that ever reached each lifecycle step",
    "New leads, MQLs and SQLs per day",
    "Median days in each stage before moving on",
    "Top assets (views, unlocks and downloads)",
    "Top topics (views, unlocks and downloads)",
    "Gate form questions: asked and answered",
]


def chart_tables(tree: LexborHTMLParser) -> dict[str, list[list[str]]]:
    return {
        figure.css_first("figcaption").text(strip=True): [
            [cell.text(strip=True) for cell in row.css("th, td")]
            for row in figure.css("table tbody tr")
        ]
        for figure in tree.css("figure.chart")
    }


def test_seven_charts_each_with_a_picture_and_the_same_figures_as_a_table(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int]
) -> None:
    tree = dashboard(client)
    figures = tree.css("figure.chart")
    assert [f.css_first("figcaption").text(strip=True) for f in figures] == DASHBOARD_CHARTS
    for figure in figures:
        image = figure.css_first("img")
        assert (image.attributes["src"] or "").startswith("data:image/svg+xml;base64,")
        assert (image.attributes["alt"] or "").startswith(figure.css_first("figcaption").text())
        assert figure.css_first("details.chart__table summary") is not None
        assert svg_values(image.attributes["src"] or "")
        same_figures(figure)
    tables = chart_tables(tree)
    assert tables[DASHBOARD_CHARTS[0]] == [
        ["Awareness", "6"],
        ["Consideration", "2"],
        ["Decision", "1"],
        ["Customer", "0"],
    ]
    assert tables[DASHBOARD_CHARTS[1]] == [
        ["Lead", "6"],
        ["MQL", "4"],
        ["SQL", "2"],
        ["Opportunity", "0"],
        ["Customer", "1"],
    ]
    assert tables[DASHBOARD_CHARTS[3]] == [
        ["Awareness", "2"],  # bob 1 and cat 3 days
        ["Consideration", "2"],
        ["Decision", "n/a"],
        ["Customer", "n/a"],
    ]
    assert tables[DASHBOARD_CHARTS[4]] == [["Pricing guide", "26"], ["Scoring guide", "5"]]
    assert [row[1] for row in tables[DASHBOARD_CHARTS[5]]] == ["31", "5"]
    assert tables[DASHBOARD_CHARTS[6]] == [
        ["company", "15", "3"],
        ["email", "10", "6"],
        ["budget", "4", "0"],
    ]


def per_day(tree: LexborHTMLParser) -> dict[str, list[int]]:
    figure = next(
        f
        for f in tree.css("figure.chart")
        if f.css_first("figcaption").text(strip=True) == DASHBOARD_CHARTS[2]
    )
    headers = [th.text() for th in figure.css("thead th")]
    assert headers == ["Day", "New leads", "MQLs", "SQLs"]
    rows = [[c.text(strip=True) for c in r.css("th, td")] for r in figure.css("tbody tr")]
    return {
        "days": [len(rows)],
        "totals": [sum(int(r[i]) for r in rows) for i in (1, 2, 3)],
        "yesterday": [int(v) for r in rows if r[0] == D2.strftime("%-d %b") for v in r[1:]],
    }


def test_the_period_picker_changes_the_window(
    client: TestClient[Litestar], marketer: str, funnel: dict[str, int]
) -> None:
    default = dashboard(client)
    picker = default.css_first("form.period-picker")
    options = {o.attributes["value"]: o.text() for o in picker.css("select#period-days option")}
    assert options == {
        "7": "Last 7 days",
        "30": "Last 30 days",
        "90": "Last 90 days",
        "365": "Last 12 months",
    }
    assert picker.css_first("option[selected]").attributes["value"] == "30"
    month = per_day(default)
    assert month["days"] == [30]
    assert month["totals"] == [5, 3, 2]  # dan joined and became an SQL 20 days ago
    assert month["yesterday"] == [2, 2, 1]  # bob and cat

    week_page = dashboard(client, "?days=7")
    assert week_page.css_first("form.period-picker option[selected]").attributes["value"] == "7"
    week = per_day(week_page)
    assert week["days"] == [7]
    assert week["totals"] == [4, 3, 1]
    first = (TODAY - timedelta(days=6)).strftime("%-d %b %Y")
    assert first in week_page.css_first(".console-page-header p").text()
    # The funnels count every lead whatever the period.
    assert funnel_table(week_page, "stage-funnel") == funnel_table(default, "stage-funnel")
    # An unknown period falls back to the default.
    odd = dashboard(client, "?days=13")
    assert odd.css_first("form.period-picker option[selected]").attributes["value"] == "30"


# content analytics


@pytest.fixture
def reading(db: Database, library: dict[str, Asset]) -> None:
    """An hour ago: ann read the pricing guide to 95 % and downloaded it; bob saw its gate,
    unlocked it and read half; cat saw the gate and left; dan read the scoring guide to the
    end. The quiet note had no reader."""
    pricing, scoring = library["pricing"].id, library["scoring"].id
    at = utcnow() - timedelta(hours=1)
    with db.write() as session:
        record(
            session,
            [
                events.AssetView(visitor_id="ann", asset_id=pricing, occurred_at=at),
                events.ReadProgress(
                    visitor_id="ann", asset_id=pricing, seconds=60, depth=0.95, occurred_at=at
                ),
                events.Download(visitor_id="ann", asset_id=pricing, occurred_at=at),
                events.GateView(visitor_id="bob", asset_id=pricing, occurred_at=at),
                events.UnlockEvent(visitor_id="bob", asset_id=pricing, occurred_at=at),
                events.AssetView(visitor_id="bob", asset_id=pricing, occurred_at=at),
                events.ReadProgress(
                    visitor_id="bob", asset_id=pricing, seconds=30, depth=0.5, occurred_at=at
                ),
                events.GateView(visitor_id="cat", asset_id=pricing, occurred_at=at),
                events.AssetView(visitor_id="dan", asset_id=scoring, occurred_at=at),
                events.ReadProgress(
                    visitor_id="dan", asset_id=scoring, seconds=120, depth=1.0, occurred_at=at
                ),
            ],
        )


def order(tree: LexborHTMLParser) -> list[str]:
    return [row.attributes["data-asset"] or "" for row in tree.css("table.asset-figures tbody tr")]


def analytics(client: TestClient[Litestar], query: str = "") -> LexborHTMLParser:
    response = client.get(f"/console/analytics{query}")
    assert response.status_code == 200
    return html(response.text)


def test_asset_figures_from_known_reading(
    client: TestClient[Litestar], marketer: str, reading: None
) -> None:
    tree = analytics(client)
    assert asset_rows(tree) == {
        "pricing": {
            "views": "2", "readers": "2", "gate-views": "2", "unlocks": "1",
            "conversion": "50.0%", "downloads": "1", "completion": "50.0%",
            "time": "0.8 min",  # 90 engaged seconds over 2 views
        },
        "scoring": {
            "views": "1", "readers": "1", "gate-views": "0", "unlocks": "0",
            "conversion": NONE, "downloads": "0", "time": "2.0 min", "completion": "100.0%",
        },
        "quiet": {
            "views": "0", "readers": "0", "gate-views": "0", "unlocks": "0",
            "conversion": NONE, "downloads": "0", "time": "0.0 min", "completion": NONE,
        },
    }  # fmt: skip
    headers = [th.text(strip=True) for th in tree.css("table.asset-figures thead th")]
    assert headers[:9] == [
        "Asset", "Views", "Unique visitors", "Gate views", "Unlocks", "Conversion",
        "Downloads", "Avg. engaged time", "Completion",
    ]  # fmt: skip
    figure = tree.css_first("figure.chart")
    assert figure.css_first("figcaption").text(strip=True) == (
        "Last 30 days: views by asset (top 3)"
    )
    same_figures(figure)
    assert sorted(table_values(figure)) == sorted([2, 1, 1, 1, 0, 0, 0, 0, 0])


def sort_state(tree: LexborHTMLParser) -> dict[str, str]:
    return {
        th.text(strip=True): th.attributes["aria-sort"] or ""
        for th in tree.css("table.asset-figures thead th[aria-sort]")
    }


def header_link(tree: LexborHTMLParser, label: str) -> str:
    for th in tree.css("table.asset-figures thead th"):
        if th.text(strip=True) == label:
            link = th.css_first("a")
            assert link is not None, label
            return link.attributes["href"] or ""
    raise AssertionError(f"no column {label}")


def test_sorting_by_a_column_through_the_header_links(
    client: TestClient[Litestar], marketer: str, reading: None
) -> None:
    tree = analytics(client)
    assert order(tree) == ["pricing", "scoring", "quiet"]  # most viewed first
    state = sort_state(tree)
    assert state.pop("Views") == "descending"
    assert set(state.values()) == {"none"}

    by_title = header_link(tree, "Asset")
    assert parse_qs(urlsplit(by_title).query) == {
        "days": ["30"],
        "sort": ["title"],
        "order": ["asc"],
    }
    tree = analytics(client, "?" + urlsplit(by_title).query)
    assert order(tree) == ["pricing", "quiet", "scoring"]  # Pricing, Quiet, Scoring
    assert sort_state(tree)["Asset"] == "ascending"
    assert tree.css_first("table.asset-figures caption").text(strip=True) == (
        "Assets, sorted by title"
    )
    tree = analytics(client, "?" + urlsplit(header_link(tree, "Asset")).query)  # again: reversed
    assert order(tree) == ["scoring", "quiet", "pricing"]
    assert sort_state(tree)["Asset"] == "descending"

    tree = analytics(client, "?" + urlsplit(header_link(tree, "Completion")).query)
    assert order(tree)[:2] == ["scoring", "pricing"]  # 100 % before 33.3 %
    assert sort_state(tree)["Completion"] == "descending"
    tree = analytics(client, "?" + urlsplit(header_link(tree, "Conversion")).query)
    assert order(tree)[0] == "pricing"
    assert sort_state(tree)["Conversion"] == "descending"


def test_the_period_picker_keeps_the_sort(
    client: TestClient[Litestar], marketer: str, reading: None
) -> None:
    tree = analytics(client, "?days=7&sort=downloads&order=asc")
    picker = tree.css_first("form.period-picker")
    kept = {i.attributes["name"]: i.attributes["value"] for i in picker.css("input[type=hidden]")}
    assert kept == {"sort": "downloads", "order": "asc"}
    assert picker.css_first("option[selected]").attributes["value"] == "7"
    assert sort_state(tree)["Downloads"] == "ascending"
    assert order(tree)[-1] == "pricing"  # the only download, last when ascending


def test_reading_outside_the_period_is_left_out(
    client: TestClient[Litestar], marketer: str, db: Database, library: dict[str, Asset]
) -> None:
    with db.write() as session:
        session.add(AssetDaily(asset_id=library["quiet"].id, day=TODAY - timedelta(20), views=9))
    assert asset_rows(analytics(client, "?days=30"))["quiet"]["views"] == "9"
    assert asset_rows(analytics(client, "?days=7"))["quiet"]["views"] == "0"


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ({"do": "maybe", "reason": "call back"}, "Choose accept or send back."),
        ({"do": "recycle", "reason": "   "}, "Say why the lead goes back to nurturing."),
    ],
)
def test_a_handoff_decision_without_its_choice_or_reason_says_why_and_moves_nothing(
    client: TestClient[Litestar],
    db: Database,
    marketer: str,
    decision: dict[str, str],
    message: str,
) -> None:
    with db.write() as session:
        lead_id = add_lead(
            session, "mia@x.example", created=utcnow(), journey_stage="decision", lifecycle="mql"
        )
    token = csrf_token_from(client.get("/console/handoff").text)
    response = client.post(f"/console/handoff/{lead_id}", data={"_csrf_token": token, **decision})
    assert response.status_code == 200
    assert html(response.text).css_first(".flash--error").text(strip=True) == message
    with db.read() as session:
        assert session.scalar(select(Lead.lifecycle).where(Lead.id == lead_id)) == "mql"
