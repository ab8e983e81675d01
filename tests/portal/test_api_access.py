"""Who may call what under /api/v1: every route against no token, a bad one, a revoked one, a read
token and a write token; the per-token rate limit; JSON errors for unknown paths and methods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.definition import parse
from portal.accounts import service
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.support import TEST_SECRET_KEYS, app_for
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.models import Lead

Client = TestClient[Litestar]

# (method, path, JSON body): every operation of the API, with a request that succeeds.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/token", None),
    ("GET", "/api/v1/leads", None),
    ("GET", "/api/v1/leads/{lead}", None),
    ("GET", "/api/v1/leads/{lead}/trail", None),
    ("GET", "/api/v1/leads/{lead}/recommendations", None),
    ("POST", "/api/v1/leads/{lead}/lifecycle", {"to": "sql", "reason": "demo booked"}),
    ("POST", "/api/v1/events", {"events": [{"email": "bo@example.com", "type": "page_view"}]}),
    (
        "POST",
        "/api/v1/email/events",
        {"events": [{"type": "complaint", "email": "bo@example.com"}]},
    ),
    ("GET", "/api/v1/assets", None),
    ("GET", "/api/v1/assets/pricing-guide", None),
    ("GET", "/api/v1/programs", None),
    ("POST", "/api/v1/programs/{program}/enrollments", {"email": "ada@example.com"}),
    ("GET", "/api/v1/accounts", None),
    ("GET", "/api/v1/accounts/{account}", None),
    (
        "POST",
        "/api/v1/deals",
        {
            "external_id": "D-1",
            "email": "ada@example.com",
            "name": "Pilot",
            "amount": "900",
            "currency": "EUR",
            "stage": "open",
        },
    ),
]
WRITES = {"POST"}
CREATED = {"/api/v1/programs/{program}/enrollments", "/api/v1/deals"}


@pytest.fixture
def tokens(db: Database) -> dict[str, str | None]:
    """One bearer value per kind of caller."""
    with db.write() as session:
        read = service.create_token(session, "dashboard", "read")
        write = service.create_token(session, "crm-sync")  # the default: full access
        revoked = service.create_token(session, "old-crm", "write")
        service.revoke_token(session, "old-crm")
    return {
        "none": None,
        "bad": "lsk_not-a-token",
        "revoked": revoked,
        "read": read,
        "write": write,
    }


@pytest.fixture
def lead_id(db: Database) -> int:
    make_asset(db, slug="pricing-guide", stage="decision", gate="gated")
    with db.write() as session:
        found = identify.identify(
            session,
            visitor_id=None,
            email="ada@example.com",
            answers={},
            consent=None,
            source=Source("form", "pricing-guide"),
        )
    return found.lead_id


@pytest.fixture
def account_id(db: Database, lead_id: int) -> int:
    """The account of the lead's domain (example.com)."""
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.account_id is not None
        return lead.account_id


@pytest.fixture
def program_id(db: Database) -> int:
    """An active program leads are added to by hand."""
    steps = [{"id": "hello", "send": {"subjects": ["Hello"], "body": "Hi."}}]
    manual = parse({"name": "Hand-picked", "trigger": {"kind": "manual"}, "steps": steps})
    with db.write() as session:
        return store.save(session, manual, by="test", now=utcnow(), status="active").program.id


def call(
    client: Client, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, path, json=body, headers=headers)


def expected_status(caller: str, method: str, template: str) -> int:
    if caller in ("none", "bad", "revoked"):
        return 401
    if caller == "read" and method in WRITES:
        return 403
    return 201 if template in CREATED else 200


@pytest.mark.parametrize("caller", ["none", "bad", "revoked", "read", "write"])
def test_every_route_checks_the_token_and_its_scope(
    client: Client,
    tokens: dict[str, str | None],
    lead_id: int,
    program_id: int,
    account_id: int,
    caller: str,
) -> None:
    answers = {}
    for method, template, body in ROUTES:
        path = template.format(lead=lead_id, program=program_id, account=account_id)
        response = call(client, method, path, body, tokens[caller])
        answers[f"{method} {template}"] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "detail"}
    assert answers == {
        f"{method} {template}": expected_status(caller, method, template)
        for method, template, _ in ROUTES
    }


def test_a_read_token_is_told_which_scope_it_lacks(
    client: Client, tokens: dict[str, str | None]
) -> None:
    response = call(client, *ROUTES[6][:3], tokens["read"])

    assert response.status_code == 403
    assert response.json() == {
        "error": "Forbidden",
        "detail": "this call needs a token with the write scope; this token has read",
    }


def test_the_matrix_covers_every_documented_operation(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    documented = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    tested = {f"{m} {p.replace('{lead}', '{lead_id}')}" for m, p, _ in ROUTES}
    tested = {t.replace("{program}", "{program_id}") for t in tested}
    tested = {t.replace("{account}", "{account_id}") for t in tested}
    tested = {t.replace("/assets/pricing-guide", "/assets/{slug}") for t in tested}
    assert documented == tested


def test_the_openapi_document_needs_no_token_and_declares_bearer_auth(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"bearerAuth": []}]
            for code in ("400", "401", "403", "429"):
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorRead"}
    assert document["components"]["schemas"]["ErrorRead"]["required"] == ["detail", "error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-thing", 404),
        ("DELETE", "/api/v1/leads", 405),
        ("GET", "/api/v1/leads?limit=0", 400),
        ("GET", "/api/v1/leads?lifecyle=sql", 400),
        ("GET", "/api/v1/leads?updated_since=-355", 400),
        ("GET", "/api/v1/assets?cursor=not-a-cursor", 400),
    ],
)
def test_errors_under_the_api_are_json(
    client: Client, tokens: dict[str, str | None], method: str, path: str, status: int
) -> None:
    response = call(client, method, path, None, tokens["write"])

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error", "detail"}


def test_a_misspelt_filter_is_named_instead_of_ignored(
    client: Client, tokens: dict[str, str | None]
) -> None:
    response = call(client, "GET", "/api/v1/leads?lifecyle=sql", None, tokens["read"])

    assert response.json()["detail"].startswith("unknown query parameter 'lifecyle'")


def test_the_injected_database_and_model_are_no_query_parameters(
    client: Client, tokens: dict[str, str | None]
) -> None:
    response = call(client, "GET", "/api/v1/leads?model=strict", None, tokens["read"])

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "unknown query parameter 'model'; this call takes: "
        "cursor, email, grade, lifecycle, limit, stage, updated_since"
    )


def test_the_cli_creates_read_tokens_and_keeps_write_as_the_default(db: Database) -> None:
    with db.write() as session:
        default = service.create_token(session, "script")
        reader = service.create_token(session, "bi", "read")
        assert service.token_for(session, default) == service.TokenPrincipal("script", "write")
        assert service.token_for(session, reader) == service.TokenPrincipal("bi", "read")
        with pytest.raises(service.AccountError, match="read or write"):
            service.create_token(session, "x", "admin")


@pytest.fixture
def limited_client(db: Database, tmp_path: Path) -> Any:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db.url.render_as_string(hide_password=False),
        secret_keys=TEST_SECRET_KEYS,
        api_per_minute=3,
    )
    with app_for(settings) as built, TestClient(built) as test_client:
        yield test_client


def test_a_token_over_its_limit_gets_429_with_retry_after(
    limited_client: Client, tokens: dict[str, str | None]
) -> None:
    statuses = [
        call(limited_client, "GET", "/api/v1/token", None, tokens["write"]).status_code
        for _ in range(3)
    ]
    refused = call(limited_client, "GET", "/api/v1/token", None, tokens["write"])
    other = call(limited_client, "GET", "/api/v1/token", None, tokens["read"])

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"] == "Too Many Requests"
    assert "3 calls per minute" in refused.json()["detail"]
    assert other.status_code == 200  # each token has its own budget
