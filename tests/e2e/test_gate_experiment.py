"""An editor tests a gate in the browser: starts an experiment on a gated asset, fresh browsers
land in both arms (the open one reads it, the gated one gets the form), the report counts
both, and ending it with the open arm applied opens the asset for everyone.

The asset is imported for this test alone: the live server and its demo library are shared
with the other e2e tests, which need their gated assets gated."""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveServer, add_staff, new_context
from tests.servers import LEADSHELF

pytestmark = pytest.mark.e2e

BROWSERS = 16
"""Fresh browsers tried until both arms are seen: at a 50 % share, all in one arm is a chance
of 1 in 32,768."""


def gated_asset(server: LiveServer, folder: object) -> tuple[str, str]:
    slug = f"e2e-gate-experiment-{uuid.uuid4().hex[:8]}"
    title = f"Gate experiment guide {slug[-8:]}"
    path = f"{folder}/{slug}.md"
    with open(path, "w", encoding="utf-8") as markdown:
        markdown.write(
            f'---\ntitle: "{title}"\nslug: {slug}\nkind: whitepaper\nstage: consideration\n'
            "topics: [lead-scoring]\ngate: gated\nlanguage: en\npublished: true\n---\n"
            "The whole guide: **score by fit and engagement**.\n"
        )
    subprocess.run(
        [LEADSHELF, "import", str(folder), "--publish"],
        env=dict(server.env),
        check=True,
        capture_output=True,
    )
    return slug, title


def an_editor(server: LiveServer) -> str:
    """A staff member with the editor role, added to the live server for this test."""
    email = f"e2e-editor-{uuid.uuid4().hex[:8]}@example.com"
    return add_staff(server.env, email, "editor", "Eddie Editor")


def arm_of(browser: Browser, server: LiveServer, slug: str) -> str:
    """Which arm a fresh browser lands in: the content swapped over the teaser, or the form."""
    context = new_context(browser)
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.goto(f"{server.url}/library/{slug}")
        either = tab.locator(".asset__body").or_(tab.locator("form.gate-form"))
        expect(either).to_be_visible()
        return "open" if tab.locator(".asset__body").count() else "gated"
    finally:
        context.close()


def test_an_editor_tests_a_gate_and_applies_the_winner(
    page: Page, browser: Browser, live_server: LiveServer, tmp_path: object
) -> None:
    slug, title = gated_asset(live_server, tmp_path)
    editor = an_editor(live_server)
    page.goto(f"{live_server.url}/console/content-intelligence/experiments")
    page.get_by_label("Email").fill(editor)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Asset").select_option(label=f"{title} (gated)")
    page.get_by_label("Open share (%)").fill("50")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status")).to_contain_text("The experiment runs")
    report_url = page.url.split("?")[0]

    seen: set[str] = set()
    for _ in range(BROWSERS):
        seen.add(arm_of(browser, live_server, slug))
        if seen == {"open", "gated"}:
            break
    assert seen == {"open", "gated"}

    page.goto(report_url)
    expect(page.locator(".experiment-exposed")).to_have_text(
        re.compile(r"Browsers so far: [1-9]\d* open, [1-9]\d* gated\.")
    )
    page.get_by_role("button", name="End and open the asset").click()
    expect(page.get_by_role("status")).to_contain_text("its winner is applied")

    context = new_context(browser)
    try:
        fresh = context.new_page()
        fresh.goto(f"{live_server.url}/library/{slug}")
        expect(fresh.locator(".asset__body")).to_contain_text("score by fit and engagement")
        expect(fresh.locator("#gate")).to_have_count(0)
    finally:
        context.close()
