"""A prospect at the gates in the browser: the demo library's gated and open assets the flows
visit, a new person per test (the server's leads outlive a test), and the steps of opening an
asset, filling its gate form as a person would, and unlocking it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import uuid4

from playwright.sync_api import Page, expect

from tests.e2e.live import MIN_FILL_SECONDS, LiveServer

OPEN_ARTICLE = "what-is-lead-nurturing"
BUYERS_GUIDE = "lead-scoring-buyers-guide"  # gated, consideration, with a PDF
BUSINESS_CASE = "marketing-automation-business-case"  # gated, decision, with a PDF
RFP_CHECKLIST = "marketing-automation-rfp-checklist"  # gated, decision, with a PDF
CASE_STUDY = "hallberg-antriebstechnik-case-study"  # gated, decision, with a PDF
NAME_LABELS = ["Business email", "First name", "Last name"]


@dataclass(frozen=True)
class Prospect:
    first_name: str
    last_name: str
    email: str

    @property
    def answers(self) -> dict[str, str]:
        """What a first gate form asks, by label."""
        return dict(zip(NAME_LABELS, (self.email, self.first_name, self.last_name), strict=True))


def new_prospect(first_name: str, last_name: str = "Lindqvist") -> Prospect:
    """A person this session's server has not met (leads outlive a single test)."""
    return Prospect(first_name, last_name, f"{first_name.lower()}.{uuid4().hex[:12]}@example.com")


def open_asset(page: Page, server: LiveServer, slug: str) -> None:
    page.goto(f"{server.url}/library/{slug}")


def send_gate_form(page: Page, answers: Mapping[str, str], button: str) -> None:
    """Fill the gate form by label and send it, no sooner than a person could have."""
    form = page.locator("#gate form.gate-form")
    expect(form).to_be_visible()
    shown = time.monotonic()
    for label, value in answers.items():
        form.get_by_label(label, exact=True).fill(value)
    # the server refuses forms sent back faster than MIN_FILL_SECONDS after it rendered them
    time.sleep(max(0.0, MIN_FILL_SECONDS + 0.05 - (time.monotonic() - shown)))
    form.get_by_role("button", name=button).click()


def unlock(page: Page, server: LiveServer, slug: str, prospect: Prospect) -> None:
    """An anonymous browser unlocks a gated asset with the first form (email and names)."""
    open_asset(page, server, slug)
    send_gate_form(page, prospect.answers, "Get access")
    expect(page.locator("#unlock-notice")).to_be_visible()
