"""The tracking beacon: ``parse_beacon``'s validation matrix, then ``POST /t`` over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.models import Asset
from portal.db import Database
from portal.settings import Settings
from portal.signing import Purpose, Signer
from portal.visitor import VISITOR_COOKIE
from tests.factories import make_asset
from tests.portal.forms import submit
from tests.support import TEST_SECRET_KEYS, app_for
from tracking.events import EventType
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.models import AssetEngagement, Event, Lead
from tracking.pipeline.beacon import Beacon, BeaconError, parse_beacon

SLUG = "lead-scoring-guide"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def progress(**fields: Any) -> dict[str, Any]:
    return {"type": "read_progress", "asset": SLUG, "seconds": 15, "depth": 0.5, **fields}


def click(**fields: Any) -> dict[str, Any]:
    return {"type": "cta_click", "asset": SLUG, "target": "download", **fields}


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


# --- parse_beacon: what is refused, and why ---------------------------------------------------

REFUSED = [
    pytest.param([], "the body must be a JSON object", id="a-list-is-not-an-object"),
    pytest.param("read_progress", "the body must be a JSON object", id="a-string-is-not-an-object"),
    pytest.param(None, "the body must be a JSON object", id="null-is-not-an-object"),
    pytest.param(without(progress(), "type"), "type is required", id="type-missing"),
    pytest.param(progress(type=3), "type is required", id="type-not-a-string"),
    pytest.param(
        progress(type="scroll"), "'scroll' cannot be sent by a browser", id="type-unknown"
    ),
    pytest.param(
        progress(type="page_view"), "'page_view' cannot be sent", id="page-view-is-server-only"
    ),
    pytest.param(
        progress(type="download"), "'download' cannot be sent", id="download-is-server-only"
    ),
    pytest.param(
        progress(type="form_submit"),
        "'form_submit' cannot be sent",
        id="form-submit-is-server-only",
    ),
    pytest.param(
        progress(target="x"), "unknown key 'target' for read_progress", id="progress-with-target"
    ),
    pytest.param(
        progress(lead=1), "unknown key 'lead' for read_progress", id="progress-with-unknown-key"
    ),
    pytest.param(click(seconds=5), "unknown key 'seconds' for cta_click", id="click-with-seconds"),
    pytest.param(click(depth=0.5), "unknown key 'depth' for cta_click", id="click-with-depth"),
    pytest.param(without(progress(), "asset"), "asset is required", id="progress-asset-missing"),
    pytest.param(progress(asset=""), "asset is required", id="asset-empty"),
    pytest.param(progress(asset=12), "asset is required", id="asset-not-a-string"),
    pytest.param(
        progress(asset="Lead-Scoring"), "asset must be an asset slug", id="asset-uppercase"
    ),
    pytest.param(progress(asset="a" * 121), "asset must be an asset slug", id="asset-too-long"),
    pytest.param(
        progress(asset="lead scoring"), "asset must be an asset slug", id="asset-with-a-space"
    ),
    pytest.param(
        progress(asset="lead--scoring"), "asset must be an asset slug", id="asset-double-dash"
    ),
    pytest.param(progress(asset="-lead"), "asset must be an asset slug", id="asset-leading-dash"),
    pytest.param(progress(asset="../etc/passwd"), "asset must be an asset slug", id="asset-path"),
    pytest.param(progress(seconds="15"), "seconds must be a number", id="seconds-a-string"),
    pytest.param(progress(seconds=True), "seconds must be a number", id="seconds-a-bool"),
    pytest.param(progress(seconds=None), "seconds must be a number", id="seconds-null"),
    pytest.param(progress(seconds=float("nan")), "seconds must be a number", id="seconds-nan"),
    pytest.param(progress(seconds=float("inf")), "seconds must be a number", id="seconds-infinity"),
    pytest.param(
        progress(seconds=-1), "seconds must be between 0 and 60, got -1", id="seconds-negative"
    ),
    pytest.param(
        progress(seconds=60.5),
        "seconds must be between 0 and 60, got 60.5",
        id="seconds-above-60",
    ),
    pytest.param(progress(depth="0.5"), "depth must be a number", id="depth-a-string"),
    pytest.param(progress(depth=False), "depth must be a number", id="depth-a-bool"),
    pytest.param(progress(depth=float("nan")), "depth must be a number", id="depth-nan"),
    pytest.param(
        progress(depth=float("-inf")), "depth must be a number", id="depth-minus-infinity"
    ),
    pytest.param(
        progress(depth=-0.1), "depth must be between 0 and 1, got -0.1", id="depth-negative"
    ),
    pytest.param(
        progress(depth=1.01), "depth must be between 0 and 1, got 1.01", id="depth-above-1"
    ),
    pytest.param(progress(id="abc1234"), "id must be 8 to 64", id="id-too-short"),
    pytest.param(progress(id="a" * 65), "id must be 8 to 64", id="id-too-long"),
    pytest.param(progress(id="abc 12345"), "id must be 8 to 64", id="id-with-a-space"),
    pytest.param(progress(id="abc12345!"), "id must be 8 to 64", id="id-with-punctuation"),
    pytest.param(progress(id=12345678), "id must be 8 to 64", id="id-a-number"),
    pytest.param(
        click(target="x" * 201),
        "target must be a string of at most 200 characters",
        id="target-too-long",
    ),
    pytest.param(
        click(target=["download"]),
        "target must be a string of at most 200 characters",
        id="target-not-a-string",
    ),
    pytest.param(click(asset="Bad Slug"), "asset must be an asset slug", id="click-bad-asset"),
]


@pytest.mark.parametrize(("data", "reason"), REFUSED)
def test_a_refused_beacon_says_why(data: Any, reason: str) -> None:
    with pytest.raises(BeaconError) as refused:
        parse_beacon(data)
    assert reason in str(refused.value)


def test_a_refused_type_lists_what_a_browser_may_send() -> None:
    with pytest.raises(BeaconError) as refused:
        parse_beacon(progress(type="unlock"))
    assert str(refused.value) == (
        "type 'unlock' cannot be sent by a browser (one of read_progress, cta_click)"
    )


ACCEPTED = [
    pytest.param(
        progress(),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=15.0, depth=0.5),
        id="progress-typical",
    ),
    pytest.param(
        progress(seconds=0, depth=0),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=0.0, depth=0.0),
        id="progress-lower-bounds",
    ),
    pytest.param(
        progress(seconds=60, depth=1),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=60.0, depth=1.0),
        id="progress-upper-bounds-as-ints",
    ),
    pytest.param(
        progress(seconds=60.0, depth=1.0),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=60.0, depth=1.0),
        id="progress-upper-bounds-as-floats",
    ),
    pytest.param(
        without(without(progress(), "seconds"), "depth"),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=0.0, depth=0.0),
        id="progress-measures-default-to-zero",
    ),
    pytest.param(
        progress(id="8f3a9c2e-77b1_4d"),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=15.0, depth=0.5, uid="8f3a9c2e-77b1_4d"),
        id="progress-with-id",
    ),
    pytest.param(
        progress(id="a" * 8),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=15.0, depth=0.5, uid="a" * 8),
        id="id-of-8-characters",
    ),
    pytest.param(
        progress(id="Z" * 64),
        Beacon(EventType.READ_PROGRESS, SLUG, seconds=15.0, depth=0.5, uid="Z" * 64),
        id="id-of-64-characters",
    ),
    pytest.param(
        progress(asset="a" * 120),
        Beacon(EventType.READ_PROGRESS, "a" * 120, seconds=15.0, depth=0.5),
        id="asset-of-120-characters",
    ),
    pytest.param(
        progress(asset="q3-2026-report"),
        Beacon(EventType.READ_PROGRESS, "q3-2026-report", seconds=15.0, depth=0.5),
        id="asset-with-digits-and-dashes",
    ),
    pytest.param(
        click(),
        Beacon(EventType.CTA_CLICK, SLUG, target="download"),
        id="click-typical",
    ),
    pytest.param(
        without(click(), "asset"),
        Beacon(EventType.CTA_CLICK, None, target="download"),
        id="click-without-asset",
    ),
    pytest.param(
        without(click(), "target"),
        Beacon(EventType.CTA_CLICK, SLUG, target=""),
        id="click-without-target",
    ),
    pytest.param(
        click(target="t" * 200, id="click-0001"),
        Beacon(EventType.CTA_CLICK, SLUG, target="t" * 200, uid="click-0001"),
        id="click-target-of-200-characters-with-id",
    ),
]


@pytest.mark.parametrize(("data", "expected"), ACCEPTED)
def test_an_accepted_beacon_is_parsed(data: dict[str, Any], expected: Beacon) -> None:
    beacon = parse_beacon(data)
    assert beacon == expected
    assert isinstance(beacon.seconds, float)
    assert isinstance(beacon.depth, float)


# --- POST /t over HTTP ------------------------------------------------------------------------


@pytest.fixture
def guide(db: Database) -> Asset:
    return make_asset(db, title="Lead scoring guide", slug=SLUG)


@pytest.fixture
def reader(client: TestClient[Litestar], guide: Asset) -> TestClient[Litestar]:
    """A browser that has opened a library page, so it holds a visitor cookie."""
    assert client.get("/library").status_code == 200
    assert client.cookies.get(VISITOR_COOKIE)
    return client


def send(client: TestClient[Litestar], data: Any, **kwargs: Any) -> Any:
    return client.post("/t", content=json.dumps(data), **kwargs)


def visitor_id_of(client: TestClient[Litestar]) -> str:
    value = Signer(TEST_SECRET_KEYS).unsign(Purpose.VISITOR, client.cookies[VISITOR_COOKIE])
    assert isinstance(value, str)
    return value


def beacon_events(db: Database) -> list[Event]:
    with db.read() as session:
        rows = session.scalars(
            select(Event).where(Event.type.in_(["read_progress", "cta_click"])).order_by(Event.id)
        ).all()
        session.expunge_all()
    return list(rows)


def engagement(db: Database, asset: Asset) -> AssetEngagement:
    with db.read() as session:
        row = session.scalars(
            select(AssetEngagement).where(AssetEngagement.asset_id == asset.id)
        ).one()
        session.expunge(row)
    return row


def visitor_cookie_lines(response: Any) -> list[str]:
    return [
        line
        for line in response.headers.get_list("set-cookie")
        if line.startswith(f"{VISITOR_COOKIE}=")
    ]


def test_read_progress_is_stored_for_the_visitor(
    reader: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    response = send(reader, progress(seconds=15, depth=0.62, id="beacon-0001"))
    assert response.status_code == 204
    assert response.content == b""
    [event] = beacon_events(db)
    assert event.type == "read_progress"
    assert event.visitor_id == visitor_id_of(reader)
    assert event.asset_id == guide.id
    assert event.seconds == 15.0
    assert event.depth == pytest.approx(0.62)
    assert event.uid == "beacon-0001"
    assert event.lead_id is None


def test_a_cta_click_is_stored_with_its_target(
    reader: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    assert send(reader, click(target="book-a-demo")).status_code == 204
    assert send(reader, without(click(target="footer"), "asset")).status_code == 204
    events = beacon_events(db)
    assert [(e.type, e.asset_id, e.properties) for e in events] == [
        ("cta_click", guide.id, {"target": "book-a-demo"}),
        ("cta_click", None, {"target": "footer"}),
    ]


def test_engagement_sums_seconds_and_keeps_the_deepest_read(
    reader: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    assert reader.get(f"/library/{SLUG}").status_code == 200
    for seconds, depth in [(15, 0.3), (15, 0.8), (7.5, 0.5)]:
        assert send(reader, progress(seconds=seconds, depth=depth)).status_code == 204
    row = engagement(db, guide)
    assert row.visitor_id == visitor_id_of(reader)
    assert row.views == 1
    assert row.engaged_seconds == pytest.approx(37.5)
    assert row.max_depth == pytest.approx(0.8)
    assert row.downloads == 0


def test_resending_the_same_id_stores_nothing_new(
    reader: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    first = progress(seconds=15, depth=0.4, id="resend-0001")
    assert send(reader, first).status_code == 204
    # A retry after a lost answer may even carry different numbers: the first one counts.
    assert send(reader, progress(seconds=30, depth=0.9, id="resend-0001")).status_code == 204
    assert send(reader, first).status_code == 204
    [event] = beacon_events(db)
    assert (event.seconds, event.depth) == (15.0, pytest.approx(0.4))
    row = engagement(db, guide)
    assert row.engaged_seconds == 15.0
    assert row.max_depth == pytest.approx(0.4)


def test_an_unknown_asset_is_refused_with_its_slug(
    reader: TestClient[Litestar], db: Database
) -> None:
    response = send(reader, progress(asset="x"))
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "detail": "unknown asset 'x'"}
    assert beacon_events(db) == []


def test_an_unpublished_asset_is_unknown(reader: TestClient[Litestar], db: Database) -> None:
    make_asset(db, slug="draft-guide", published=False)
    response = send(reader, progress(asset="draft-guide"))
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "detail": "unknown asset 'draft-guide'"}


def test_an_invalid_body_gets_the_reason_as_json(
    reader: TestClient[Litestar], db: Database
) -> None:
    response = send(reader, progress(seconds=90))
    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "detail": "seconds must be between 0 and 60, got 90",
    }
    response = send(reader, progress(type="download"))
    assert response.status_code == 400
    assert "cannot be sent by a browser" in response.json()["detail"]
    assert beacon_events(db) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken-json"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(b"[" * 2048 + b"]" * 2048, id="nested-too-deep"),
    ],
)
def test_a_body_that_is_not_json_is_refused(
    reader: TestClient[Litestar], db: Database, body: bytes
) -> None:
    response = reader.post("/t", content=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "Bad Request", "detail": "the body must be JSON"}
    assert beacon_events(db) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "9" * 400])
def test_non_finite_numbers_are_refused(
    reader: TestClient[Litestar], db: Database, literal: str
) -> None:
    # Strict JSON has no such numbers, but Python's decoder accepts them.
    body = f'{{"type": "read_progress", "asset": "{SLUG}", "seconds": {literal}}}'
    response = reader.post("/t", content=body)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "detail": "seconds must be a number"}
    assert beacon_events(db) == []


def test_a_body_over_4_kb_is_refused_with_json(reader: TestClient[Litestar], db: Database) -> None:
    body = json.dumps(click(target="x" * 5000)).encode()
    assert len(body) > 4096
    response = reader.post("/t", content=body)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
    assert beacon_events(db) == []


def test_a_beacon_without_a_visitor_cookie_is_refused_and_gets_no_cookie(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    response = send(client, progress())
    assert response.status_code == 400
    assert response.json() == {
        "error": "Bad Request",
        "detail": "no visitor cookie: the beacon is sent from a library page",
    }
    assert visitor_cookie_lines(response) == []
    assert beacon_events(db) == []


def test_a_forged_visitor_cookie_is_treated_as_none(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    client.cookies.set(VISITOR_COOKIE, "forged.value.here")
    response = send(client, progress())
    assert response.status_code == 400
    assert visitor_cookie_lines(response) == []
    assert beacon_events(db) == []


def test_a_crawler_beacon_is_accepted_and_dropped(
    reader: TestClient[Litestar], db: Database
) -> None:
    response = send(reader, progress(), headers={"User-Agent": GOOGLEBOT})
    assert response.status_code == 204
    assert visitor_cookie_lines(response) == []
    assert beacon_events(db) == []


def test_the_beacon_needs_no_csrf_token(reader: TestClient[Litestar], db: Database) -> None:
    # Neither the CSRF cookie nor a token header: the beacon carries no cookie-borne authority.
    reader.cookies.delete("csrftoken")
    response = send(reader, progress())
    assert response.status_code == 204
    assert len(beacon_events(db)) == 1


@pytest.fixture
def limited(db: Database, settings: Settings, guide: Asset) -> Iterator[TestClient[Litestar]]:
    limited_settings = settings.with_overrides(beacon_per_minute=3)
    with app_for(limited_settings) as app, TestClient(app) as limited_client:
        assert limited_client.get("/library").status_code == 200
        yield limited_client


def test_a_burst_over_the_per_visitor_limit_gets_429(
    limited: TestClient[Litestar], db: Database
) -> None:
    statuses = [send(limited, progress(seconds=5)).status_code for _ in range(4)]
    assert statuses == [204, 204, 204, 429]
    refused = send(limited, progress(seconds=5))
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "Too Many Requests",
        "detail": "too many beacons from this browser; slow down",
    }
    assert len(beacon_events(db)) == 3
    # The limit is per browser: another reader (a new visitor cookie) still gets through.
    limited.cookies.clear()
    assert limited.get("/library").status_code == 200
    assert send(limited, progress(seconds=5)).status_code == 204


def test_after_the_gate_form_beacons_carry_the_lead(
    reader: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    make_asset(db, slug="pricing-guide", gate="gated")
    assert send(reader, progress(seconds=10, depth=0.2)).status_code == 204
    response = submit(
        reader, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L"
    )
    assert response.status_code == 303
    assert send(reader, progress(seconds=20, depth=0.7)).status_code == 204
    with db.read() as session:
        lead_id = session.scalar(select(Lead.id).where(Lead.email == "ada@example.com"))
    before, after = beacon_events(db)
    # The new beacon is the lead's, and so is the anonymous reading before the form.
    assert after.lead_id == lead_id
    assert after.visitor_id == visitor_id_of(reader)
    assert before.lead_id == lead_id
    assert before.visitor_id != after.visitor_id
    with db.read() as session:
        rows = session.scalars(
            select(AssetEngagement).where(AssetEngagement.asset_id == guide.id)
        ).all()
        assert {row.lead_id for row in rows} == {lead_id}
        assert sum(row.engaged_seconds for row in rows) == 30.0
        assert max(row.max_depth for row in rows) == pytest.approx(0.7)


def test_a_beacon_with_an_identified_visitor_cookie_gets_the_lead(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    with db.write() as session:
        identification = identify(
            session,
            visitor_id=None,
            email="ada@example.com",
            answers={"first_name": "Ada"},
            consent=None,
            source=Source("api"),
        )
    client.cookies.set(
        VISITOR_COOKIE,
        Signer(TEST_SECRET_KEYS).sign(Purpose.VISITOR, identification.visitor_id),
    )
    assert send(client, progress(seconds=20, depth=0.7)).status_code == 204
    [event] = beacon_events(db)
    assert event.visitor_id == identification.visitor_id
    assert event.lead_id == identification.lead_id
    row = engagement(db, guide)
    assert row.lead_id == identification.lead_id
    assert row.engaged_seconds == 20.0
