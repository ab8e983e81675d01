"""URLs with characters no slug or filter holds (NUL, other controls, lone surrogates): a path
answers 404 and a query parameter 400, through the usual error pages, never a 500.

The fuzz test and the sweep derive their targets from the app's own routes: the handlers'
signatures and the names they read from ``request.query_params`` (``tests.query_reads``), so a
new route or parameter is covered the day it is added. The app is built once per backend.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from portal.accounts import service
from portal.accounts.models import Role
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.query_reads import Reads, every_read_place, names_read_by, qualified, reads_of
from tests.support import (
    STAFF_PASSWORD,
    TEST_SECRET_KEYS,
    app_for,
    clean_tables,
    csrf_token_from,
    html,
)
from tracking.accounts import listing as account_listing
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.reporting import leadlist


@dataclasses.dataclass
class Portal:
    """One app per backend with an asset, a lead, an API token and a signed-in admin."""

    client: TestClient[Litestar]
    api: dict[str, str]
    lead_id: int


@pytest.fixture(scope="module")
def portal(
    migrated_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    database = migrated_database
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database.url.render_as_string(hide_password=False),
        secret_keys=TEST_SECRET_KEYS,
        api_per_minute=1_000_000,
    )
    make_asset(database, title="Pricing guide", slug="pricing-guide", gate="gated")
    with database.write() as session:
        token = service.create_token(session, "fuzz")
        service.create_user(session, "admin@example.com", Role.ADMIN, STAFF_PASSWORD)
        lead_id = identify(
            session,
            visitor_id=None,
            email="ada@example.com",
            answers={},
            consent=None,
            source=Source("api"),
        ).lead_id
    try:
        with app_for(settings) as built, TestClient(built) as client:
            login = client.get("/console/login")
            signed_in = client.post(
                "/console/login",
                data={
                    "email": "admin@example.com",
                    "password": STAFF_PASSWORD,
                    "_csrf_token": csrf_token_from(login.text),
                },
                follow_redirects=False,
            )
            assert signed_in.status_code == 303
            yield Portal(client, {"Authorization": f"Bearer {token}"}, lead_id)
    finally:
        clean_tables(database)


def get(portal: Portal, url: str) -> Any:
    headers = portal.api if url.startswith("/api/") else {}
    return portal.client.get(url, headers=headers, follow_redirects=False)


# --- the URLs that gave 500s on PostgreSQL ------------------------------------------------------

NOT_FOUND = [
    "/library/%00",
    "/library/a%00b/file",
    "/library/a%00/gate",
    "/library/pricing-guide%07/download",
    "/api/v1/assets/a%00",
]
BAD_QUERY = [
    ("/library?topic=%00", "topic"),
    ("/library?kind=%00", "kind"),
    ("/library?q=intent%00data", "q"),
    ("/talk-to-sales?asset=%00", "asset"),
    ("/api/v1/assets?topic=%00", "topic"),
    ("/api/v1/leads?stage=%00", "stage"),
    ("/api/v1/leads?email=ada%00@example.com", "email"),
    ("/console/leads?topic=%00", "topic"),
    ("/console/leads?q=a%1Bb", "q"),
]


@pytest.mark.parametrize("url", NOT_FOUND)
def test_a_path_with_a_control_character_is_not_found(portal: Portal, url: str) -> None:
    response = get(portal, url)
    assert response.status_code == 404
    if url.startswith("/api/"):
        assert response.json()["error"] == "Not Found"
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "We couldn't find that page" in html(response.text).css_first("h1").text()


@pytest.mark.parametrize(("url", "name"), BAD_QUERY)
def test_a_query_parameter_with_a_control_character_is_refused_with_its_name(
    portal: Portal, url: str, name: str
) -> None:
    response = get(portal, url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        body = response.json()
        assert body["error"] == "Bad Request"
        assert body["detail"].startswith(f"the query parameter {name!r} contains the ")
    else:
        assert response.headers["content-type"].startswith("text/html")
        page = html(response.text).body.text()
        assert f"The query parameter {name!r} contains the " in page


def test_printable_filters_still_work_and_a_tab_in_a_search_is_whitespace(
    portal: Portal,
) -> None:
    assert get(portal, "/console/leads?topic=lead-scoring").status_code == 200
    assert get(portal, "/console/leads?q=ada%0Alovelace").status_code == 200
    assert get(portal, "/library?q=pricing%09guide").status_code == 200
    assert get(portal, "/library?q=Leitf%C3%A4den%20%F0%9F%9A%80").status_code == 200


# --- every route, every parameter, arbitrary text -------------------------------------------

WHOLE_QUERY_READERS = {
    # Functions a handler hands the whole query to, with the names they read from it.
    qualified(leadlist.parse_filter): names_read_by(lambda query: leadlist.parse_filter(query, {})),
    qualified(account_listing.parse_filter): names_read_by(
        lambda query: account_listing.parse_filter(query, ())
    ),
}
NOT_HANDLER_READS = {
    # Places that read the query but are no route handler's reading of a parameter.
    "portal.routes.api_common.known_query_only",  # the API guard refusing unknown names
    "portal.language.asked_for",  # ?lang= on every route: tests/portal/test_language.py
}
NOT_QUERY = {"self", "request", "state", "data", "headers", "cookies", "scope", "socket"}
EVIL = st.sampled_from(["\x00", "\udfff", "\ud800", "\x1b", "\n", "\x7f", "\x85", "%", "/", ".."])
TEXT = st.lists(st.characters(exclude_categories=()) | EVIL, max_size=12).map("".join)


@dataclasses.dataclass(frozen=True)
class Target:
    path: str
    path_parameters: tuple[tuple[str, type], ...]
    query_parameters: tuple[str, ...]
    reads: Reads
    """What the handler reads from ``request.query_params`` by hand, and where it looked."""


@functools.cache
def targets(app: Litestar) -> list[Target]:
    """Every GET route of the app with its path parameters and the query parameters it reads."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "GET" not in handler.http_methods:
                continue
            path_names = set(route.path_parameters)
            query = set(handler.parsed_fn_signature.parameters) - NOT_QUERY - path_names
            reads = reads_of(handler.fn, WHOLE_QUERY_READERS)
            found.append(
                Target(
                    path=route.path,
                    path_parameters=tuple(
                        (name, definition.type)
                        for name, definition in route.path_parameters.items()
                    ),
                    query_parameters=tuple(sorted(query | reads.names)),
                    reads=reads,
                )
            )
    return found


def encoded(text: str) -> str:
    """Percent-encoded as a client would send it (a lone surrogate as its UTF-8-style bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def test_the_fuzzed_targets_cover_the_public_api_and_console_routes(portal: Portal) -> None:
    paths = {target.path for target in targets(portal.client.app)}
    assert {"/library", "/library/{slug:str}", "/api/v1/leads", "/console/leads"} <= paths
    assert "/static/{file_path:path}" in paths


def test_every_parameter_a_handler_reads_by_hand_is_fuzzed(portal: Portal) -> None:
    """Names read from ``request.query_params`` (in the handler, the functions it calls and the
    templates they render) are targets; every place that reads the query is reached."""
    found = {target.path: target for target in targets(portal.client.app)}
    filters = WHOLE_QUERY_READERS[qualified(leadlist.parse_filter)]
    assert {"q", "stage", "fit_min", "active_to", "sort", "order", "page"} <= filters
    expected = {
        "/console/privacy": {"done"},
        "/console/webhooks/{endpoint_id:int}": {"done", "problem"},
        "/console/leads": filters | {"done"},
        "/console/leads/export.csv": filters,
        "/console/dashboard": {"days"},
        "/console/analytics": {"days", "sort", "order"},
        "/console/assets/{asset_id:int}": {"done", "problem"},
        "/console/login": {"signed_out"},
    }
    for path, names in expected.items():
        assert names <= set(found[path].query_parameters), path
    reached = set().union(
        *(target.reads.functions | target.reads.templates for target in found.values())
    )
    assert set(every_read_place()) - NOT_HANDLER_READS <= reached


@st.composite
def urls(draw: st.DrawFn, found: list[Target], lead_id: int) -> str:
    target = draw(st.sampled_from(found))
    values = {
        name: draw(st.sampled_from([str(lead_id), "pricing-guide", "1"]) | TEXT)
        for name, _ in target.path_parameters
    }
    path = fill(target, values)
    names = (
        draw(st.lists(st.sampled_from(target.query_parameters), max_size=3))
        if (target.query_parameters)
        else []
    )
    query = "&".join(f"{name}={encoded(draw(TEXT))}" for name in names)
    return f"{path}?{query}" if query else path


def _converter(kind: type) -> str:
    return {int: "int", str: "str", Path: "path"}[kind]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_url_answers_a_server_error(portal: Portal, data: st.DataObject) -> None:
    found = targets(portal.client.app)
    url = data.draw(urls(found, portal.lead_id))
    response = get(portal, url)
    assert response.status_code < 500, (url, response.text[:300])


# --- every route, every parameter, each of a fixed set of evil strings ----------------------

SWEEP = {
    "nul": "\x00",
    "c1-control": "\x85",
    "escape": "\x1b",
    "long": "lead-scoring " * 400,
    "percent": "%",
    "emoji": "\U0001f680",
    "parent": "../",
}
"""A lone surrogate cannot be sent as such in a URL (its bytes are refused as a NUL is)."""
SAFE = {int: "1", str: "pricing-guide", Path: "css/site.css"}


def sweep_urls(found: list[Target], lead_id: int, evil: str) -> Iterator[str]:
    """Each route with ``evil`` in one parameter at a time (path, then query), others harmless."""
    for target in found:
        safe = {
            name: str(lead_id) if kind is int else SAFE[kind]
            for name, kind in target.path_parameters
        }
        for name, _ in target.path_parameters:
            yield fill(target, {**safe, name: evil})
        for name in target.query_parameters:
            yield f"{fill(target, safe)}?{name}={encoded(evil)}"


def fill(target: Target, values: dict[str, str]) -> str:
    """The route's path with its parameters percent-encoded (a path parameter by segment)."""
    path = target.path
    for name, kind in target.path_parameters:
        value = values[name]
        if kind is Path:
            value = "/".join(encoded(part) for part in value.split("/"))
        else:
            value = encoded(value)
        path = path.replace("{" + name + ":" + _converter(kind) + "}", value or "x")
    return path


@pytest.mark.parametrize("evil", SWEEP.values(), ids=SWEEP.keys())
def test_no_parameter_of_any_route_answers_a_server_error_to_an_evil_string(
    portal: Portal, evil: str
) -> None:
    found = targets(portal.client.app)
    answers = {url: get(portal, url) for url in sweep_urls(found, portal.lead_id, evil)}
    assert len(answers) > 90  # about 60 routes, 100 parameters
    assert get(portal, "/console/dashboard").status_code == 200  # still signed in as staff
    failed = {url[:120]: answer.status_code for url, answer in answers.items()}
    assert {url: code for url, code in failed.items() if code >= 500} == {}


STATIC = Target("/static/{file_path:path}", (("file_path", Path),), (), Reads())


def test_a_static_file_name_too_long_for_the_file_system_is_not_found(portal: Portal) -> None:
    """It answered 500: the file system refused the name before any 404 could be given."""
    response = get(portal, fill(STATIC, {"file_path": SWEEP["long"]}))
    assert response.status_code == 404
    assert get(portal, "/static/css/site.css").status_code == 200
