"""Every console page a marketer or admin sees fits laptop, desktop and phone screens.

At 1280 and 1440 px and on a 390 px phone, each page is rendered in Chromium and
checked: the page itself never scrolls sideways, no table is cut off (it fits its
container, or its container scrolls sideways on purpose), the lead list's range
filters keep their label and both inputs on one line at desktop widths, and its date
inputs are wide enough for a whole date. A screenshot of each page is kept in the
test's tmp_path for a person to look at.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.live import DESKTOP_USER_AGENT, LiveServer
from tests.servers import LEADSHELF

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]

PHONE = 390
DESKTOPS = (1280, 1440)
READS = (
    "what-is-lead-nurturing",
    "lead-scoring-buyers-guide",
    "marketing-automation-business-case",
    "hallberg-antriebstechnik-case-study",
    "pipewise-lead-scoring-datasheet",
)
LONG_EMAIL = "layout-katherine.johnsonwhitfield@enterprisesolutions.example"
LEAD_FILTERS = (
    "/console/leads?active_from=2026-11-01&active_to=2026-12-31"
    "&created_from=2025-01-01&created_to=2026-12-31&fit_min=0&fit_max=100"
)


@pytest.fixture(scope="module")
def leads(live_server: LiveServer) -> list[int]:
    """A handful of leads with reading spread over a few days, through the events API."""
    created = subprocess.run(
        [LEADSHELF, "token", "add", "layout-e2e", "--scope", "write"],
        env=dict(live_server.env),
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.strip().splitlines()[-1]
    now = datetime.now(UTC)
    events = [
        {
            "email": f"layout-{person}@example.com",
            "type": "asset_view",
            "asset": slug,
            "occurred_at": (now - timedelta(days=person + index, hours=2)).isoformat(),
            "seconds": 90,
            "depth": 0.9,
        }
        for person in range(6)
        for index, slug in enumerate(READS[: person + 1])
    ]
    # An address as long as real ones get, with 54 characters and no space or hyphen to
    # wrap at after "layout-".
    events.append({**events[0], "email": LONG_EMAIL})
    api(live_server, token, "POST", "/api/v1/events", {"events": events})
    found = api(live_server, token, "GET", "/api/v1/leads?limit=50")
    # A program too, so its pages (list, flow, editors, review) are checked with the rest.
    subprocess.run(
        [LEADSHELF, "programs", "from-template", "welcome", "--activate"],
        env=dict(live_server.env),
        capture_output=True,
        check=True,
    )
    return [item["id"] for item in found["items"] if item["email"].startswith("layout-")]


def api(server: LiveServer, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 (the test's own server)
        f"{server.url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def console_pages(lead_id: int, asset_path: str, program_path: str) -> dict[str, str]:
    return {
        "programs": "/console/programs",
        "program": program_path,
        "program-yaml": f"{program_path}/yaml",
        "program-mail": f"{program_path}/steps/welcome?lead=layout-0@example.com",
        "program-review": f"{program_path}/review",
        "overview": "/console",
        "leads": LEAD_FILTERS,
        "lead": f"/console/leads/{lead_id}",
        "dashboard": "/console/dashboard",
        "analytics": "/console/analytics",
        "handoff": "/console/handoff",
        "library": "/console/assets",
        "new-asset": "/console/assets/new",
        "asset-form": asset_path,
        "taxonomy": "/console/taxonomy",
        "webhooks": "/console/webhooks",
        "staff": "/console/staff",
        "accounts": "/console/accounts",
        "attribution": "/console/attribution",
        "kpis": "/console/kpis",
        "content-intelligence": "/console/content-intelligence",
        "fading": "/console/content-intelligence/fading",
        "buying-process": "/console/content-intelligence/process",
        "experiments": "/console/content-intelligence/experiments",
        "email": "/console/email",
        "privacy": "/console/privacy",
        "system": "/console/system",
        "profile": "/console/profile",
    }


@pytest.fixture
def signed_in(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    width: int = request.param
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        user_agent=DESKTOP_USER_AGENT,
        is_mobile=width == PHONE,
        has_touch=width == PHONE,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/console")
    yield page
    context.close()


LAYOUT_PROBLEMS = """
(phone) => {
  const problems = [];
  const root = document.scrollingElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`page scrolls sideways: ${root.scrollWidth} > ${window.innerWidth}`);
  }
  const scrollsOnPurpose = (element) => {
    for (let node = element.parentElement; node !== document.body; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return node;
    }
    return null;
  };
  document.querySelectorAll('main table').forEach((table, index) => {
    const name = table.caption ? table.caption.textContent.trim() : `table ${index + 1}`;
    const box = table.getBoundingClientRect();
    const scroller = scrollsOnPurpose(table);
    if (scroller) {
      const frame = scroller.getBoundingClientRect();
      if (frame.right > window.innerWidth + 1) problems.push(`${name}: scroll box off screen`);
      // On a phone a wide table may scroll in its box; on a desktop it should fit.
      if (!phone && scroller.scrollWidth > scroller.clientWidth + 1) {
        const [needs, has] = [scroller.scrollWidth, scroller.clientWidth];
        problems.push(`${name}: needs sideways scrolling (${needs} px in ${has} px)`);
      }
      return;
    }
    const parent = table.parentElement;
    const room = parent.clientWidth;
    if (box.width > room + 1) problems.push(`${name}: ${Math.round(box.width)} px in ${room} px`);
    if (box.right > window.innerWidth + 1) problems.push(`${name}: cut off at the screen edge`);
    for (let node = parent; node && node !== document.body; node = node.parentElement) {
      const frame = node.getBoundingClientRect();
      if (getComputedStyle(node).overflowX !== 'visible' && box.right > frame.right + 1) {
        problems.push(`${name}: clipped by ${node.tagName.toLowerCase()}.${node.className}`);
        break;
      }
    }
  });
  // Sections side by side in a grid start level (a stacking gap pushed one down).
  document.querySelectorAll('.lead-grid, .chart-grid').forEach((grid) => {
    // Side by side: the boxes share height on the screen and do not share width (a tall
    // section followed by another in a one-column grid is stacked, not side by side).
    const rows = [];
    [...grid.children].forEach((child) => {
      const box = child.getBoundingClientRect();
      const heading = child.querySelector('h2, h3');
      if (!heading) return;
      const row = rows.find((r) => box.top < r.bottom && box.bottom > r.top
        && (box.left >= r.right - 1 || box.right <= r.left + 1));
      if (row) {
        row.headings.push(heading);
        row.left = Math.min(row.left, box.left);
        row.right = Math.max(row.right, box.right);
      } else {
        rows.push({top: box.top, bottom: box.bottom, left: box.left, right: box.right,
                   headings: [heading]});
      }
    });
    rows.forEach(({headings}) => {
      const tops = headings.map((h) => Math.round(h.getBoundingClientRect().top));
      if (Math.max(...tops) - Math.min(...tops) > 2) {
        const names = headings.map((h) => h.textContent.trim()).join(' / ');
        problems.push(`headings side by side not level: ${names} (${tops.join(', ')})`);
      }
    });
  });
  return problems;
}
"""

RANGE_PROBLEMS = """
() => {
  const problems = [];
  document.querySelectorAll('.lead-filters__ranges label').forEach((label) => {
    const name = label.firstChild.textContent.trim();
    const inputs = [...label.querySelectorAll('input')];
    const tops = inputs.map((input) => Math.round(input.getBoundingClientRect().top));
    const tallest = Math.max(...inputs.map((input) => input.getBoundingClientRect().height));
    if (Math.max(...tops) - Math.min(...tops) > 2) problems.push(`${name}: inputs on two lines`);
    if (label.getBoundingClientRect().height > tallest + 8) problems.push(`${name}: label wraps`);
  });
  return problems;
}
"""

DATE_PROBLEMS = """
() => {
  const problems = [];
  const canvas = document.createElement('canvas').getContext('2d');
  document.querySelectorAll('.lead-filters input[type=date]').forEach((input) => {
    const style = getComputedStyle(input);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const text = canvas.measureText('12/31/2026').width;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const needed = text + padding + 20;  // the calendar button beside the date
    if (input.clientWidth < needed) {
      problems.push(`${input.name}: ${input.clientWidth} px, a date needs ${Math.ceil(needed)} px`);
    }
  });
  return problems;
}
"""


def check_pages(page: Page, server: LiveServer, lead_id: int, width: int, shots: Path) -> None:
    problems: dict[str, list[str]] = {}
    page.goto(f"{server.url}/console/assets")
    asset_path = page.locator(".data-table a[href^='/console/assets/']").first.get_attribute("href")
    assert asset_path
    page.goto(f"{server.url}/console/programs")
    program_path = page.locator("a[href^='/console/programs/']").first.get_attribute("href")
    assert program_path
    for name, path in console_pages(lead_id, asset_path, program_path).items():
        response = page.goto(f"{server.url}{path}")
        assert response is not None
        assert response.status == 200, (name, path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(shots / f"{width}-{name}.png"), full_page=True)
        found: list[str] = page.evaluate(LAYOUT_PROBLEMS, width == PHONE)
        if name == "leads":
            found += page.evaluate(DATE_PROBLEMS)
            if width != PHONE:
                found += page.evaluate(RANGE_PROBLEMS)
        if found:
            problems[name] = found
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.parametrize("signed_in", DESKTOPS, indirect=True, ids=lambda w: f"{w}px")
def test_console_pages_fit_laptop_and_desktop_screens(
    signed_in: Page, live_server: LiveServer, leads: list[int], tmp_path: Path
) -> None:
    width = signed_in.viewport_size["width"] if signed_in.viewport_size else 0
    check_pages(signed_in, live_server, leads[0], width, tmp_path)


@pytest.mark.parametrize("signed_in", [PHONE], indirect=True, ids=lambda w: f"{w}px")
def test_console_pages_fit_a_phone(
    signed_in: Page, live_server: LiveServer, leads: list[int], tmp_path: Path
) -> None:
    check_pages(signed_in, live_server, leads[0], PHONE, tmp_path)
