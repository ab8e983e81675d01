"""Console → KPIs: the model's figures this period so far, the period before and the goal."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient

from content.orm import utcnow
from portal.db import Database
from tests.nurture.attribution.scenario import lead, lifecycle
from tests.support import html
from tracking.deals.models import Deal
from tracking.rules.kpis import period_start, shift

Client = TestClient[Litestar]


def test_the_marketer_sees_this_months_figures_beside_last_months(
    client: Client, db: Database, marketer: str
) -> None:
    now = utcnow()
    this_month = period_start(now, "month")
    last_month = this_month - timedelta(days=3)
    for number in range(3):
        ada = lead(db, f"lead{number}@example.com", this_month + timedelta(minutes=number))
    lifecycle(db, ada, "mql", this_month + timedelta(minutes=10))
    old = lead(db, "old@example.com", last_month)
    lifecycle(db, old, "mql", last_month + timedelta(hours=1))
    lifecycle(db, old, "sql", last_month + timedelta(hours=2))
    with db.write() as session:
        session.add(
            Deal(external_id="D-9", lead_id=old, name="Rollout", amount_minor=4_200_000,
                 currency="EUR", stage="won", created_at=last_month, closed_at=last_month,
                 updated_at=last_month)
        )  # fmt: skip
    response = client.get("/console/kpis")
    assert response.status_code == 200
    page = html(response.text)

    def cells(figure: str) -> dict[str, str]:
        row = page.css_first(f"tr[data-figure={figure}]")
        assert row is not None, figure
        return {td.attributes["data-cell"] or "": td.text(strip=True) for td in row.css("td")}

    assert cells("new_leads")["value"] == "3"
    assert cells("new_leads")["last"] == "1"
    assert cells("new_leads")["change"] == "+2"
    assert cells("new_leads")["goal"] == "none set"
    assert cells("mql_to_sql")["value"] == "0.0%"
    assert cells("mql_to_sql")["last"] == "100.0%"
    assert cells("days_to_sql")["last"] == "0.1 days"  # 2 hours


def test_days_to_sql_is_the_average_from_creation_to_sql(
    client: Client, db: Database, marketer: str
) -> None:
    last_start = shift(period_start(utcnow(), "month"), "month", -1)
    for number, days in enumerate((1.5, 4.5)):
        created = last_start + timedelta(hours=1 + number)
        found = lead(db, f"sql{number}@example.com", created)
        lifecycle(db, found, "sql", created + timedelta(days=days))
    page = html(client.get("/console/kpis").text)
    row = page.css_first("tr[data-figure=days_to_sql]")
    assert row is not None
    last = row.css_first("td[data-cell=last]")
    assert last is not None
    assert last.text(strip=True) == "3.0 days"
