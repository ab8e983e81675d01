"""Console → Attribution: the report for the model and window chosen on the page (the URL
keeps them), the CSV, wrong choices explained, what leads read before their milestone."""

from __future__ import annotations

import csv
import io

from litestar import Litestar
from litestar.testing import TestClient

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.attribution.scenario import day, lead, lifecycle, read, run
from tests.support import html

Client = TestClient[Litestar]
JUNE = "from=2026-01&to=2026-06"


def scenario(db: Database) -> dict[str, Asset]:
    """Ada read the guide, then the sheet, and became an MQL; Bo read the guide only."""
    assets = {
        "guide": make_asset(db, title="Scoring guide", stage="awareness", kind="ebook"),
        "sheet": make_asset(db, title="Pricing sheet", stage="decision", kind="datasheet"),
    }
    ada = lead(db, "ada@example.com", day(30))
    read(db, ada, assets["guide"], day(40))
    read(db, ada, assets["sheet"], day(10))
    lifecycle(db, ada, "mql", day(9))
    bo = lead(db, "bo@example.com", day(5))
    read(db, bo, assets["guide"], day(6))
    run(db)
    return assets


def figures(page_text: str) -> dict[str, dict[str, str]]:
    page = html(page_text)
    found = {}
    for row in page.css("table.attribution-table tbody tr[data-key]"):
        label = row.css_first("th").text(strip=True)
        found[label] = {
            cell.attributes["data-figure"] or "": cell.text(strip=True)
            for cell in row.css("td[data-figure]")
        }
    return found


def test_the_marketer_sees_each_assets_share_under_the_chosen_model(
    client: Client, db: Database, marketer: str
) -> None:
    scenario(db)
    first = client.get(f"/console/attribution?view=asset&model=first&window=90&{JUNE}")
    assert first.status_code == 200
    got = figures(first.text)
    assert got["Scoring guide"]["created"] == "2.00"  # both leads' creation
    assert got["Scoring guide"]["mql"] == "1.00"
    assert got["Pricing sheet"]["mql"] == "0"
    last = figures(client.get(f"/console/attribution?model=last&{JUNE}").text)
    assert last["Pricing sheet"]["mql"] == "1.00"
    linear = figures(client.get(f"/console/attribution?model=linear&{JUNE}").text)
    assert linear["Scoring guide"]["mql"] == linear["Pricing sheet"]["mql"] == "0.50"
    # the page keeps the choice in its form and its CSV link
    page = html(client.get(f"/console/attribution?model=linear&window=30&{JUNE}").text)
    selected = page.css_first("select[name=model] option[selected]")
    assert selected is not None
    assert selected.attributes["value"] == "linear"
    link = page.css_first("#attribution-csv")
    assert link is not None
    assert "model=linear" in (link.attributes["href"] or "")
    assert "window=30" in (link.attributes["href"] or "")


def test_per_kind_and_the_leads_paths_before_their_mql(
    client: Client, db: Database, marketer: str
) -> None:
    scenario(db)
    response = client.get(f"/console/attribution?view=kind&model=first&milestone=mql&{JUNE}")
    assert figures(response.text)["E-book"]["mql"] == "1.00"  # the vocabulary's label
    page = html(response.text)
    rows = page.css("table.attribution-paths tbody tr[data-lead]")
    assert len(rows) == 1
    assert rows[0].css_first("th").text(strip=True) == "ada@example.com"
    assert [a.text(strip=True) for a in rows[0].css("td a")] == ["Scoring guide", "Pricing sheet"]


def test_the_csv_has_machine_columns_and_the_figures_of_the_page(
    client: Client, db: Database, marketer: str
) -> None:
    scenario(db)
    response = client.get(f"/console/attribution/report.csv?model=first&window=90&{JUNE}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    guide = next(row for row in rows if row["label"] == "Scoring guide")
    assert guide["model"] == "first"
    assert guide["window_days"] == "90"
    assert guide["created"] == "2.00"
    assert guide["mql"] == "1.00"
    assert "revenue_eur" in rows[0]


def test_a_wrong_choice_is_explained_and_the_defaults_shown(
    client: Client, db: Database, marketer: str
) -> None:
    response = client.get("/console/attribution?model=u-shaped&window=45&from=June")
    assert response.status_code == 400
    alerts = [node.text(strip=True) for node in html(response.text).css(".flash--error")]
    assert any("no model 'u-shaped'" in alert for alert in alerts)
    assert any("window must be one of 30, 90, 180, 365" in alert for alert in alerts)
    assert any("'June' is not a month" in alert for alert in alerts)
    csv_response = client.get("/console/attribution/report.csv?window=45")
    assert csv_response.status_code == 400
    assert "window must be one of" in csv_response.text


def test_the_four_models_side_by_side_for_the_chosen_figure(
    client: Client, db: Database, marketer: str
) -> None:
    scenario(db)
    page = html(client.get(f"/console/attribution?figure=mql&{JUNE}").text)
    rows = {
        row.css_first("th").text(strip=True): {
            cell.attributes["data-model"]: cell.text(strip=True) for cell in row.css("td")
        }
        for row in page.css("table.attribution-compare tbody tr[data-key]")
    }
    # Ada's MQL: the guide came first, the sheet last; linear: half each; W-shaped: three
    # anchors share the whole (no other touch) — the guide is the first touch and the
    # creating touch (2/3), the sheet the MQL's own (1/3).
    assert rows["Scoring guide"] == {"first": "1.00", "last": "0", "linear": "0.50", "w": "0.67"}
    assert rows["Pricing sheet"] == {"first": "0", "last": "1.00", "linear": "0.50", "w": "0.33"}
