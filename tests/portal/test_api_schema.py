"""The OpenAPI document holds: schemathesis calls every operation of /api/v1 on the real ASGI
app (each database backend) with a write token, and every answer must be a non-5xx response
that conforms to the document (status code, content type, headers and body schema).

Examples are bounded per operation so the run stays fast in CI; see the README ("Tests")
for how long it takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema

from content.printable import unprintable
from portal.accounts import service
from portal.app import create_app
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.support import TEST_SECRET_KEYS
from tracking import events
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.pipeline.ingest import record
from tracking.sources.arrivals import arrival

MAX_EXAMPLES = 25

# schemathesis draws from the `random` module inside its strategies, which this Hypothesis
# version deprecates; that is the library's business, not a fault of the API under test.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@pytest.fixture
def fuzzed_app(db: Database, tmp_path: Path) -> Iterator[Litestar]:
    """The app with a roomy rate limit, some assets and a lead, so calls can find something."""
    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            database_url=db.url.render_as_string(hide_password=False),
            secret_keys=TEST_SECRET_KEYS,
            api_per_minute=1_000_000,
        )
    )
    make_asset(db, slug="pricing-guide", stage="decision", gate="gated")
    make_asset(db, slug="scoring-basics")
    with db.write() as session:
        campaign = arrival("/library?utm_source=linkedin&utm_campaign=fuzz", None)
        record(session, [events.PageView(visitor_id="fuzz", path="/library", arrival=campaign)])
        identify.identify(  # with a source: its Touch is checked against the document too
            session,
            visitor_id="fuzz",
            email="ada@example.com",
            answers={"first_name": "Ada"},
            consent=None,
            source=Source("form", "pricing-guide"),
        )
    yield app
    schemathesis_asgi.shutdown_lifespans()  # stop the app's background threads


@pytest.fixture
def write_token(db: Database) -> str:
    with db.write() as session:
        return service.create_token(session, "schemathesis", "write")


CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # 422 is the API's "well-formed but refused" (an unknown asset slug, an event older
            # than a year): validity that depends on stored data, not on the schema. 400 stays
            # a failure for schema-valid input.
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)


@pytest.fixture
def api_schema(fuzzed_app: Litestar, write_token: str) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed_app, config=CONFIG)


OPERATIONS = {
    "GET /api/v1/token",
    "GET /api/v1/leads",
    "GET /api/v1/leads/{lead_id}",
    "POST /api/v1/leads/{lead_id}/lifecycle",
    "GET /api/v1/leads/{lead_id}/trail",
    "GET /api/v1/leads/{lead_id}/recommendations",
    "POST /api/v1/events",
    "POST /api/v1/email/events",
    "GET /api/v1/assets",
    "GET /api/v1/assets/{slug}",
    "GET /api/v1/accounts",
    "GET /api/v1/accounts/{account_id}",
    "GET /api/v1/programs",
    "POST /api/v1/programs/{program_id}/enrollments",
    "POST /api/v1/deals",
}


def operations(api_schema: OpenApiSchema) -> list[APIOperation]:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_the_document_lists_every_api_route(api_schema: OpenApiSchema) -> None:
    assert {operation.label for operation in operations(api_schema)} == OPERATIONS


def without_cursor(case: Case) -> Case:
    """Valid cursors only come from a previous page (paging is tested on its own); a made-up
    one is refused with 400 by design, so positive cases leave it out."""
    if case.query:
        case.query.pop("cursor", None)
    return case


def printable_query(case: Case) -> Case:
    """Every URL refuses a query value holding a control character with 400, whatever the
    parameter's schema allows (portal/printable_urls.py), so positive cases leave those out."""
    for name, value in list((case.query or {}).items()):
        if isinstance(value, str) and unprintable(value):
            del case.query[name]
    return case


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(
    api_schema: OpenApiSchema, write_token: str, mode: GenerationMode
) -> None:
    """Generated calls (valid ones, then invalid ones) never get a 5xx or an undocumented answer."""
    auth = {"Authorization": f"Bearer {write_token}"}
    for operation in operations(api_schema):
        strategy = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE:
            strategy = strategy.map(without_cursor).map(printable_query)

        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Case) -> None:
            case.call_and_validate(headers=auth)

        call()


def test_the_lead_schema_documents_its_first_and_latest_source(api_schema: OpenApiSchema) -> None:
    """CONTRACT.md's ``"source": {"first": Touch|null, "latest": Touch|null}`` with exactly the
    Touch keys, all required."""
    schemas = api_schema.raw_schema["components"]["schemas"]
    source = schemas["LeadRead"]["properties"]["source"]["$ref"].rsplit("/", 1)[1]
    assert "source" in schemas["LeadRead"]["required"]
    assert set(schemas[source]["required"]) == {"first", "latest"}
    for side in ("first", "latest"):
        touch, empty = schemas[source]["properties"][side]["oneOf"]
        assert empty == {"type": "null"}
        touch_schema = schemas[touch["$ref"].rsplit("/", 1)[1]]
        keys = {"at", "source", "medium", "campaign", "term", "content", "referrer", "click_id"}
        assert set(touch_schema["properties"]) == keys
        assert set(touch_schema["required"]) == keys
        assert touch_schema["properties"]["at"]["format"] == "date-time"
