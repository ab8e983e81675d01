"""The talk-to-sales form as a person fills it in over HTTP: the answers Ada gives, the form's
inputs as a browser sends them, and ``send``, which opens the form and sends it a while later."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.portal.forms import HTMX, backdated
from tests.support import html

ANSWERS = {
    "email": "Ada@Example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines Ltd",
    "message": "We want to score 20,000 leads a month.",
}


def form_values(page_text: str) -> dict[str, str]:
    """The sales form's inputs as a browser sends them untouched (hidden values kept)."""
    form = html(page_text).css_first("form.sales-form")
    assert form is not None, "no sales form on the page"
    values: dict[str, str] = {}
    for node in form.css("input, textarea"):
        name = node.attributes.get("name")
        if name and node.attributes.get("type") != "checkbox":
            values[name] = node.attributes.get("value") or node.text() or ""
    return values


def send(
    client: TestClient[Litestar],
    query: str = "",
    *,
    htmx: bool = False,
    started: str | None = None,
    **extra: str,
) -> Any:
    page = client.get(f"/talk-to-sales{query}")
    assert page.status_code == 200
    data = {**form_values(page.text), "_started": started or backdated(), **ANSWERS, **extra}
    return client.post(
        "/talk-to-sales", data=data, headers=HTMX if htmx else {}, follow_redirects=False
    )
