"""Console → Programs → a program's weekly review: the week beside the week before, per step,
the chart over 12 weeks, the A/B verdicts, the CSV export, the week picker, and who may see it."""

from __future__ import annotations

import csv
import io

from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as Page
from selectolax.lexbor import LexborNode as Node

from content.orm import utcnow
from nurture.programs.review import week_name, week_of
from portal.accounts.models import Role
from portal.db import Database
from portal.routes.console_program_review import MINUS, NOT_KNOWN
from tests.nurture.programs.review_scenario import Scenario, split_with_clicks, two_weeks
from tests.support import StaffActions, html

Client = TestClient[Litestar]


def url(program_id: int, week: str | None = None, *, csv_file: bool = False) -> str:
    path = f"/console/programs/{program_id}/review" + (".csv" if csv_file else "")
    return path + (f"?week={week}" if week is not None else "")


def reviewed(client: Client, scenario: Scenario) -> Page:
    response = client.get(url(scenario.program_id, week_name(scenario.week.date())))
    assert response.status_code == 200
    return html(response.text)


def text_of(page: Page | Node, selector: str) -> str:
    node = page.css_first(selector)
    assert node is not None, selector
    return node.text(strip=True)


def test_the_program_s_week_is_shown_beside_the_week_before(
    client: Client, marketer: str, db: Database
) -> None:
    scenario = two_weeks(db)
    page = reviewed(client, scenario)
    name = week_name(scenario.week.date())
    assert name in text_of(page, "#review-week")
    assert text_of(page, "table.review-program th.this") == name

    def row(figure: str) -> tuple[str, str, str]:
        cells = ("this", "previous", "change")
        return tuple(  # type: ignore[return-value]
            text_of(page, f'table.review-program tr[data-figure="{figure}"] td.{cell}')
            for cell in cells
        )

    assert row("entered") == ("3", "2", "+1")
    assert row("active") == ("3", "2", "+1")
    assert row("sent") == ("3", "4", MINUS + "1")
    assert row("delivered") == ("3", "3", "0")
    assert row("opens") == ("2", "1", "+1")
    assert row("unsubscribes") == ("1", "0", "+1")
    assert row("conversions") == ("1", "0", "+1")
    assert row("stage_moves") == ("1", "1", "0")
    assert text_of(page, '.review-goals li[data-goal="stage decision"] .this') == "1"


def test_each_step_shows_its_figures_and_the_week_before(
    client: Client, marketer: str, db: Database
) -> None:
    scenario = two_weeks(db)
    page = reviewed(client, scenario)
    steps = [row.attributes["data-step"] for row in page.css("table.review-steps tr[data-step]")]
    assert steps == ["hello", "pause", "second", "rest"]
    assert text_of(page, 'tr[data-step="hello"] th').startswith('Mail: Hello, "friend"')
    assert text_of(page, 'tr[data-step="pause"] th').startswith("Wait 3 days")

    def cell(step: str, figure: str) -> tuple[str, str]:
        where = f'table.review-steps tr[data-step="{step}"] td[data-figure="{figure}"]'
        return text_of(page, f"{where} .this"), text_of(page, f"{where} .previous")

    assert cell("hello", "sent") == ("2", "2")
    assert cell("hello", "bounced") == ("1", "1")
    assert cell("hello", "clicks") == ("1", "0")
    assert cell("hello", "unsubscribes") == ("1", "0")
    assert cell("hello", "active") == (NOT_KNOWN, NOT_KNOWN)  # per step: only for the running week
    assert cell("second", "stage_moves") == ("0", "1")


def test_the_chart_draws_the_last_12_weeks(client: Client, marketer: str, db: Database) -> None:
    scenario = two_weeks(db)
    page = reviewed(client, scenario)
    image = page.css_first("figure.chart img.chart__image")
    assert image is not None
    assert (image.attributes["src"] or "").startswith("data:image/svg+xml;base64,")
    headers = [cell.text(strip=True) for cell in page.css("figure.chart thead th")]
    assert headers == ["Week of", "Sent", "Human opens", "Clicks", "Goal conversions"]
    rows = page.css("figure.chart tbody tr")
    assert len(rows) == 12
    last = [cell.text(strip=True) for cell in rows[-1].css("th, td")]
    assert last[0] == f"{scenario.week:%-d %b}"
    assert last[1:] == ["3", "2", "1", "1"]


def test_the_csv_has_every_figure_per_week_and_step(
    client: Client, marketer: str, db: Database
) -> None:
    scenario = two_weeks(db)
    name = week_name(scenario.week.date())
    response = client.get(url(scenario.program_id, name, csv_file=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="program-{scenario.program_id}-review-{name}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 12 * 5
    hello = next(row for row in rows if row["week"] == name and row["step"] == "hello")
    assert hello["step_label"] == 'Mail: Hello, "friend" (+1 variant)'
    assert (hello["sent"], hello["delivered"], hello["opens"], hello["conversions"]) == (
        "2",
        "2",
        "2",
        "1",
    )
    program = next(row for row in rows if row["week"] == name and row["step"] == "")
    assert (program["entered"], program["sent"], program["stage_moves"]) == ("3", "3", "1")


def test_a_significant_difference_names_the_winner(
    client: Client, marketer: str, db: Database
) -> None:
    program_id, by_variant = split_with_clicks(db, (0, 25))
    page = html(client.get(url(program_id)).text)
    test = page.css_first('.ab-test[data-step="hello"]')
    assert test is not None
    verdict = text_of(test, ".verdict")
    assert verdict.startswith("Winner: B. B wins on clicks: two-proportion z-test, p = ")
    assert "95% confidence" in verdict
    winner = test.css_first('tr[data-variant="B"]')
    assert winner is not None
    assert "winner" in (winner.attributes.get("class") or "")
    assert text_of(winner, ".subject") == "Your reading list"
    assert text_of(winner, ".sends") == str(len(by_variant[1]))
    assert text_of(winner, ".clicks") == "25"
    rate = 25 / len(by_variant[1]) * 100
    assert text_of(winner, ".rate").startswith(f"{rate:.1f}%")
    assert " to " in text_of(winner, ".interval")
    assert "Computed now" in text_of(test, ".verdict-when")


def test_no_winner_yet_while_the_difference_is_not_significant(
    client: Client, marketer: str, db: Database
) -> None:
    program_id, _ = split_with_clicks(db, (6, 7))
    page = html(client.get(url(program_id)).text)
    verdict = text_of(page, '.ab-test[data-step="hello"] .verdict')
    assert verdict.startswith("No winner yet: the difference in clicks is not significant")
    assert "p = " in verdict
    assert "95% confidence" in verdict
    assert not page.css(".ab-test tr.winner")


def test_without_a_week_the_running_week_is_reviewed(
    client: Client, marketer: str, db: Database
) -> None:
    scenario = two_weeks(db)
    page = html(client.get(url(scenario.program_id)).text)
    running = week_name(week_of(utcnow()))
    assert running in text_of(page, "#review-week")
    assert "the running week, so far" in text_of(page, "#review-week")
    # Everyone of the scenario rests in the last wait now.
    assert text_of(page, 'tr[data-step="rest"] td[data-figure="active"] .this') == "3"


def test_a_week_that_is_no_week_is_explained_and_kept(
    client: Client, marketer: str, db: Database
) -> None:
    scenario = two_weeks(db)
    response = client.get(url(scenario.program_id, "2026-48"))
    assert response.status_code == 400
    page = html(response.text)
    assert "write it as 2026-W48" in text_of(page, "#review-problem")
    typed = page.css_first("#review-week-input")
    assert typed is not None
    assert typed.attributes["value"] == "2026-48"
    refused = client.get(url(scenario.program_id, "2026-48", csv_file=True))
    assert refused.status_code == 400
    assert "write it as 2026-W48" in refused.text


def test_an_editor_may_not_see_the_review(
    client: Client, staff: StaffActions, db: Database
) -> None:
    scenario = two_weeks(db)
    staff.sign_in_as(Role.EDITOR)
    for address in (url(scenario.program_id), url(scenario.program_id, csv_file=True)):
        response = client.get(address)
        assert response.status_code == 403, address
        assert "Review sample" not in response.text


def test_an_unknown_program_is_not_found(client: Client, marketer: str) -> None:
    for program_id in (4040, 2**40):
        for csv_file in (False, True):
            response = client.get(url(program_id, csv_file=csv_file))
            assert response.status_code == 404, (program_id, csv_file)
