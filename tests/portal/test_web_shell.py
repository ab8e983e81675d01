"""The public shell: home, health, error pages, security headers, static files and the API guard."""

from __future__ import annotations

import base64
import hashlib

from litestar import Litestar, get
from litestar.testing import TestClient

from portal.accounts import service
from portal.app import create_app
from portal.db import Database
from portal.resources import resource_path
from portal.settings import Settings
from portal.web import HTMX_INTEGRITY, HTMX_PATH, HTMX_SHA256
from tests.support import html


def test_home_page_renders_the_resource_center(client: TestClient[Litestar]) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = html(response.text)
    assert page.css_first("main#main h1") is not None
    search = page.css_first('form[role="search"]')
    assert search.attributes["action"] == "/library"
    assert search.css_first('input[name="q"]') is not None


def test_health_check_reports_the_database(client: TestClient[Litestar]) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["reasons"]) == ("ok", "ok", [])


def test_unknown_page_gets_a_friendly_404(client: TestClient[Litestar]) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = html(response.text)
    assert "We couldn't find that page" in page.css_first("h1").text(strip=True)
    assert page.css_first('a[href="/library"]') is not None


def test_api_errors_are_json(client: TestClient[Litestar]) -> None:
    response = client.get("/api/v1/no-such-thing", headers={"Authorization": "Bearer x"})
    assert response.status_code in (401, 404)
    assert set(response.json()) == {"error", "detail"}


def test_every_response_carries_security_headers(client: TestClient[Litestar]) -> None:
    for path in ("/", "/console/login", "/no/such/page", "/healthz"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_vendored_htmx_is_the_pinned_release() -> None:
    data = (resource_path("static") / HTMX_PATH).read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256
    digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert f"sha384-{digest}" == HTMX_INTEGRITY


def test_pages_load_htmx_with_subresource_integrity(client: TestClient[Litestar]) -> None:
    page = html(client.get("/").text)
    script = page.css_first(f'script[src^="/static/{HTMX_PATH}"]')
    assert script is not None
    assert script.attributes["integrity"] == HTMX_INTEGRITY
    served = client.get(script.attributes["src"])
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == HTMX_SHA256


def test_static_files_cannot_escape_the_static_folder(client: TestClient[Litestar]) -> None:
    for path in ("/static/../portal/settings.py", "/static/%2e%2e/pyproject.toml"):
        response = client.get(path)
        assert response.status_code == 404
        assert "tool.hatch" not in response.text


def test_api_needs_a_bearer_token(client: TestClient[Litestar], db: Database) -> None:
    missing = client.get("/api/v1/token")
    assert missing.status_code == 401
    assert missing.json()["error"] == "Unauthorized"
    wrong = client.get("/api/v1/token", headers={"Authorization": "Bearer lsk_not-a-token"})
    assert wrong.status_code == 401
    with db.write() as session:
        token = service.create_token(session, "hubspot")
    ok = client.get("/api/v1/token", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["token"] == "hubspot"
    with db.write() as session:
        service.revoke_token(session, "hubspot")
    revoked = client.get("/api/v1/token", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_api_use_is_recorded_on_the_token(client: TestClient[Litestar], db: Database) -> None:
    with db.write() as session:
        token = service.create_token(session, "marketo")
    client.get("/api/v1/token", headers={"Authorization": f"Bearer {token}"})
    with db.read() as session:
        (listed,) = service.list_tokens(session)
    assert listed.last_used_at is not None


def test_api_needs_no_csrf_but_console_forms_do(client: TestClient[Litestar], db: Database) -> None:
    with db.write() as session:
        token = service.create_token(session, "ci")
    # A POST to an unknown API route reaches routing (404/405), not the CSRF check (403).
    response = client.post("/api/v1/token", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405


def test_openapi_document_is_published(client: TestClient[Litestar]) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Leadshelf API"
    assert "/api/v1/token" in document["paths"]
    assert not any(path.startswith("/console") for path in document["paths"])


def test_server_error_shows_a_friendly_page_without_internals(settings: Settings) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(settings)
    app.register(boom)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in html(response.text).css_first("h1").text()
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
