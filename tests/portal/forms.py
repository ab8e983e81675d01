"""The gate form as a person fills it in over HTTP: its fields and questions, a start time
signed a while ago (forms sent back too fast are refused), and ``submit``, which opens the
form, answers and sends it. Used by the portal, tracking and nurture tests."""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from portal.signing import Purpose, Signer
from portal.visitor import VISITOR_COOKIE
from tests.support import TEST_SECRET_KEYS, html

HTMX = {"HX-Request": "true"}
SIGNER = Signer(TEST_SECRET_KEYS)
"""Signs as the test app does (form start times, download links)."""


def form_fields(page_text: str) -> dict[str, str]:
    """The gate form's inputs as a browser would send them untouched (hidden values kept)."""
    tree = html(page_text)
    form = tree.css_first("form.gate-form")
    assert form is not None, "no gate form on the page"
    values: dict[str, str] = {}
    for node in form.css("input, select, textarea"):
        name = node.attributes.get("name")
        if not name or node.attributes.get("type") == "checkbox":
            continue
        values[name] = node.attributes.get("value") or node.text() or ""
    return values


def asked(page_text: str) -> list[str]:
    """The questions a gate form asks, in order."""
    form = html(page_text).css_first("form.gate-form")
    assert form is not None
    return [
        node.attributes["name"] or ""
        for node in form.css("input, select, textarea")
        if node.attributes.get("type") not in ("hidden", "checkbox")
        and node.attributes.get("name") not in ("hp_website",)
    ]


def visitor_cookie(response: Any) -> str | None:
    """The Set-Cookie line of the visitor cookie in a response, if any."""
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{VISITOR_COOKIE}="):
            return str(line)
    return None


def backdated(seconds: float = 30) -> str:
    return SIGNER.sign(Purpose.FORM_STARTED, time.time() - seconds)


def submit(
    client: TestClient[Litestar],
    slug: str,
    *,
    htmx: bool = False,
    consent: bool = False,
    **answers: str,
) -> Any:
    """Open the gate form, fill in the answers (as a person would, a while later) and send it."""
    page = client.get(f"/library/{slug}/gate", headers=HTMX if htmx else {})
    assert page.status_code == 200, page.text
    data = {**form_fields(page.text), "_started": backdated(), **answers}
    if consent:
        data["consent_marketing"] = "yes"
    return client.post(
        f"/library/{slug}/unlock",
        data=data,
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )
