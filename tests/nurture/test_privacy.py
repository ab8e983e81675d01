"""Privacy: who may be tracked (notice or opt-in, DNT and GPC), the consent banner and choices."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.models import Asset
from portal.db import Database
from portal.settings import Settings
from portal.signing import Purpose, Signer
from portal.visitor import CONSENT_COOKIE, VISITOR_COOKIE, may_track, read_visitor
from tests.factories import make_asset
from tests.portal.forms import submit
from tests.support import TEST_SECRET_KEYS, app_for, csrf_token_from, html
from tracking.models import Event, Lead, Unlock, Visitor

SIGNER = Signer(TEST_SECRET_KEYS)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLUG = "lead-scoring-guide"

# --- may_track: the operator's settings, the browser's signals, its consent cookie -----------

SIGNAL_HEADERS = {"dnt": {"dnt": "1"}, "gpc": {"sec-gpc": "1"}, "none": {}}
CONSENT_VALUES = {"granted": "granted", "denied": "denied", "missing": None}

# consent_mode, privacy_signals, signal sent, consent cookie -> may be tracked.
# A visitor who declined on "Privacy choices" is never tracked, in notice mode too.
MAY_TRACK_TABLE = [
    ("notice", "respect", "none", "denied", False),
    ("notice", "ignore", "dnt", "denied", False),
    ("notice", "ignore", "gpc", "denied", False),
    ("notice", "ignore", "none", "denied", False),
    ("notice", "respect", "dnt", "granted", False),
    ("notice", "respect", "dnt", "denied", False),
    ("notice", "respect", "dnt", "missing", False),
    ("notice", "respect", "gpc", "granted", False),
    ("notice", "respect", "gpc", "denied", False),
    ("notice", "respect", "gpc", "missing", False),
    ("notice", "respect", "none", "granted", True),
    ("notice", "respect", "none", "missing", True),
    ("notice", "ignore", "dnt", "granted", True),
    ("notice", "ignore", "dnt", "missing", True),
    ("notice", "ignore", "gpc", "granted", True),
    ("notice", "ignore", "gpc", "missing", True),
    ("notice", "ignore", "none", "granted", True),
    ("notice", "ignore", "none", "missing", True),
    ("opt-in", "respect", "dnt", "granted", False),
    ("opt-in", "respect", "dnt", "denied", False),
    ("opt-in", "respect", "dnt", "missing", False),
    ("opt-in", "respect", "gpc", "granted", False),
    ("opt-in", "respect", "gpc", "denied", False),
    ("opt-in", "respect", "gpc", "missing", False),
    ("opt-in", "respect", "none", "granted", True),
    ("opt-in", "respect", "none", "denied", False),
    ("opt-in", "respect", "none", "missing", False),
    ("opt-in", "ignore", "dnt", "granted", True),
    ("opt-in", "ignore", "dnt", "denied", False),
    ("opt-in", "ignore", "dnt", "missing", False),
    ("opt-in", "ignore", "gpc", "granted", True),
    ("opt-in", "ignore", "gpc", "denied", False),
    ("opt-in", "ignore", "gpc", "missing", False),
    ("opt-in", "ignore", "none", "granted", True),
    ("opt-in", "ignore", "none", "denied", False),
    ("opt-in", "ignore", "none", "missing", False),
]


@pytest.mark.parametrize(
    ("mode", "signals", "signal", "consent", "tracked"),
    [pytest.param(*row, id="-".join(map(str, row))) for row in MAY_TRACK_TABLE],
)
def test_may_track(mode: str, signals: str, signal: str, consent: str, tracked: bool) -> None:
    settings = Settings(consent_mode=mode, privacy_signals=signals)
    assert may_track(settings, SIGNAL_HEADERS[signal], CONSENT_VALUES[consent]) is tracked


def test_both_signals_at_once_are_respected() -> None:
    assert may_track(Settings(), {"dnt": "1", "sec-gpc": "1"}, "granted") is False


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"dnt": "0"}, id="dnt-0"),
        pytest.param({"sec-gpc": "0"}, id="gpc-0"),
        pytest.param({"dnt": ""}, id="dnt-empty"),
    ],
)
def test_a_signal_that_is_not_1_does_not_opt_out(headers: dict[str, str]) -> None:
    assert may_track(Settings(), headers, None) is True


def test_consent_values_other_than_granted_are_no_yes() -> None:
    opt_in = Settings(consent_mode="opt-in")
    assert may_track(opt_in, {}, "GRANTED") is False
    assert may_track(opt_in, {}, "yes") is False


# --- read_visitor: who the browser is -----------------------------------------------------------


def test_read_visitor_keeps_a_signed_id() -> None:
    cookie = SIGNER.sign(Purpose.VISITOR, "visitor-id-1")
    visitor = read_visitor(SIGNER, cookie, BROWSER)
    assert (visitor.id, visitor.is_new, visitor.tracking, visitor.crawler) == (
        "visitor-id-1",
        False,
        True,
        False,
    )


def test_read_visitor_keeps_a_signed_id_but_not_tracking_when_not_allowed() -> None:
    cookie = SIGNER.sign(Purpose.VISITOR, "visitor-id-1")
    visitor = read_visitor(SIGNER, cookie, BROWSER, tracking=False)
    assert visitor.id == "visitor-id-1"
    assert visitor.tracking is False
    assert visitor.is_new is False


def test_read_visitor_gives_a_new_browser_a_new_id() -> None:
    first = read_visitor(SIGNER, None, BROWSER)
    second = read_visitor(SIGNER, None, BROWSER)
    assert first.is_new
    assert second.is_new
    assert first.id
    assert second.id
    assert first.id != second.id
    assert first.tracking is True


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("forged.value.here", id="forged"),
        pytest.param(SIGNER.sign(Purpose.DOWNLOAD, "visitor-id-1"), id="signed-for-downloads"),
        pytest.param(
            Signer(("another-key-0123456789abcdef",)).sign(Purpose.VISITOR, "v"), id="other-key"
        ),
        pytest.param(SIGNER.sign(Purpose.VISITOR, ""), id="empty-id"),
        pytest.param(SIGNER.sign(Purpose.VISITOR, 42), id="not-a-string"),
    ],
)
def test_read_visitor_replaces_a_cookie_it_did_not_sign(cookie: str) -> None:
    visitor = read_visitor(SIGNER, cookie, BROWSER)
    assert visitor.is_new
    assert visitor.id
    assert visitor.id not in ("visitor-id-1", "v")
    # A browser that may not be tracked gets no id at all in its place.
    assert read_visitor(SIGNER, cookie, BROWSER, tracking=False).id is None


def test_read_visitor_gives_a_browser_that_may_not_be_tracked_no_id() -> None:
    visitor = read_visitor(SIGNER, None, BROWSER, tracking=False)
    assert visitor.id is None
    assert visitor.is_new is False
    assert visitor.tracking is False


@pytest.mark.parametrize("user_agent", [GOOGLEBOT, "", "HeadlessChrome/120.0"])
def test_read_visitor_gives_crawlers_no_visitor(user_agent: str) -> None:
    cookie = SIGNER.sign(Purpose.VISITOR, "visitor-id-1")
    visitor = read_visitor(SIGNER, cookie, user_agent)
    assert visitor.id is None
    assert visitor.crawler is True
    assert visitor.tracking is False


# --- over HTTP ----------------------------------------------------------------------------------

AppFactory = Callable[..., AbstractContextManager[TestClient[Litestar]]]


@pytest.fixture
def guide(db: Database) -> Asset:
    return make_asset(db, title="Lead scoring guide", slug=SLUG)


@pytest.fixture
def portal(db: Database, settings: Settings) -> AppFactory:
    """A browser on a portal built with some settings changed (like an operator would)."""

    @contextmanager
    def open_portal(**overrides: Any) -> Iterator[TestClient[Litestar]]:
        with app_for(settings.with_overrides(**overrides)) as built, TestClient(built) as browser:
            yield browser

    return open_portal


def visitor_cookie(response: Any) -> str | None:
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{VISITOR_COOKIE}="):
            return str(line)
    return None


def consent_cookie(response: Any) -> str | None:
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{CONSENT_COOKIE}="):
            return str(line)
    return None


def event_types(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Event.type).order_by(Event.id)).all())


def loads_track_js(page_text: str) -> bool:
    return any(
        "js/track.js" in (node.attributes.get("src") or "")
        for node in html(page_text).css("script")
    )


def send_beacon(browser: TestClient[Litestar], **headers: str) -> Any:
    body = {"type": "read_progress", "asset": SLUG, "seconds": 15, "depth": 0.5}
    return browser.post("/t", content=json.dumps(body), headers=headers)


def test_notice_mode_tracks_and_says_so_in_the_footer(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    page = client.get(f"/library/{SLUG}")
    assert visitor_cookie(page) is not None
    assert loads_track_js(page.text)
    tree = html(page.text)
    assert tree.css_first("#consent-banner") is None
    link = tree.css_first('footer a[href^="/consent"]')
    assert link is not None
    assert link.text().strip() == "Privacy choices"
    # The privacy page offers a way back to where the reader was.
    choices = html(client.get(link.attributes["href"] or "").text)
    assert {n.attributes["value"] for n in choices.css('input[name="next"]')} == {
        f"/library/{SLUG}"
    }
    assert send_beacon(client).status_code == 204
    assert event_types(db) == ["asset_view", "read_progress"]


@pytest.mark.parametrize(
    "signal", [pytest.param({"DNT": "1"}, id="dnt"), pytest.param({"Sec-GPC": "1"}, id="gpc")]
)
def test_a_privacy_signal_is_respected_by_default(
    client: TestClient[Litestar], guide: Asset, db: Database, signal: dict[str, str]
) -> None:
    client.headers.update(signal)
    for path in ("/", "/library", f"/library/{SLUG}", "/library?q=scoring"):
        page = client.get(path)
        assert page.status_code == 200
        assert visitor_cookie(page) is None, path
        assert not loads_track_js(page.text), path
        assert html(page.text).css_first("#consent-banner") is None
    beacon = send_beacon(client)
    assert beacon.status_code == 204
    assert visitor_cookie(beacon) is None
    assert event_types(db) == []
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Visitor)) == 0


def test_a_known_browser_that_turns_on_dnt_is_no_longer_tracked(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    client.get("/library")
    assert event_types(db) == ["page_view"]
    client.headers["DNT"] = "1"
    page = client.get(f"/library/{SLUG}")
    assert not loads_track_js(page.text)
    assert send_beacon(client).status_code == 204
    assert event_types(db) == ["page_view"]


def test_ignoring_privacy_signals_tracks_dnt_browsers(
    portal: AppFactory, guide: Asset, db: Database
) -> None:
    with portal(privacy_signals="ignore") as browser:
        browser.headers.update({"DNT": "1", "Sec-GPC": "1"})
        page = browser.get(f"/library/{SLUG}")
        assert visitor_cookie(page) is not None
        assert loads_track_js(page.text)
        assert send_beacon(browser).status_code == 204
    assert event_types(db) == ["asset_view", "read_progress"]


def test_opt_in_asks_first_and_tracks_nothing_before_the_answer(
    portal: AppFactory, guide: Asset, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get(f"/library/{SLUG}")
        assert page.status_code == 200
        assert visitor_cookie(page) is None
        assert not loads_track_js(page.text)
        banner = html(page.text).css_first("#consent-banner")
        assert banner is not None
        assert banner.attributes["role"] == "region"
        assert banner.attributes["aria-labelledby"] == "consent-title"
        assert banner.css_first("#consent-title") is not None
        accept = banner.css_first("#consent-accept")
        decline = banner.css_first("#consent-decline")
        assert accept is not None
        assert decline is not None
        assert accept.text().strip() == "Accept"
        assert decline.text().strip() == "Decline"
        assert (accept.attributes["name"], accept.attributes["value"]) == ("choice", "granted")
        assert (decline.attributes["name"], decline.attributes["value"]) == ("choice", "denied")
        forms = banner.css('form[method="post"][action="/consent"]')
        assert len(forms) == 2
        for form in forms:
            assert form.css_first('input[name="_csrf_token"]').attributes["value"]
            assert form.css_first('input[name="next"]').attributes["value"] == f"/library/{SLUG}"
        browser.get("/")
        browser.get("/library")
        assert send_beacon(browser).status_code == 204
    assert event_types(db) == []


def test_accepting_sets_the_consent_and_starts_tracking(
    portal: AppFactory, guide: Asset, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get(f"/library/{SLUG}")
        response = browser.post(
            "/consent",
            data={
                "choice": "granted",
                "next": f"/library/{SLUG}",
                "_csrf_token": csrf_token_from(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"/library/{SLUG}"
        cookie = consent_cookie(response)
        assert cookie is not None
        assert cookie.startswith(f"{CONSENT_COOKIE}=granted;")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert visitor_cookie(response) is not None
        assert event_types(db) == []

        after = browser.get(f"/library/{SLUG}")
        assert html(after.text).css_first("#consent-banner") is None
        assert loads_track_js(after.text)
        # The visitor id handed out with the consent is the one that is kept.
        assert visitor_cookie(after) is None
        assert send_beacon(browser).status_code == 204
        visitor_id = SIGNER.unsign(Purpose.VISITOR, browser.cookies[VISITOR_COOKIE])
    assert event_types(db) == ["asset_view", "read_progress"]
    with db.read() as session:
        assert set(session.scalars(select(Event.visitor_id)).all()) == {visitor_id}


def test_declining_keeps_tracking_off_and_the_banner_away(
    portal: AppFactory, guide: Asset, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get("/library")
        response = browser.post(
            "/consent",
            data={
                "choice": "denied",
                "next": "/library",
                "_csrf_token": csrf_token_from(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/library"
        cookie = consent_cookie(response)
        assert cookie is not None
        assert cookie.startswith(f"{CONSENT_COOKIE}=denied;")
        assert "HttpOnly" in cookie
        assert visitor_cookie(response) is None

        after = browser.get(f"/library/{SLUG}")
        assert html(after.text).css_first("#consent-banner") is None
        assert not loads_track_js(after.text)
        assert visitor_cookie(after) is None
        assert send_beacon(browser).status_code == 204
    assert event_types(db) == []


def test_a_respected_signal_wins_over_an_accepted_banner(
    portal: AppFactory, guide: Asset, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        browser.cookies.set(CONSENT_COOKIE, "granted")
        browser.headers["Sec-GPC"] = "1"
        page = browser.get(f"/library/{SLUG}")
        assert html(page.text).css_first("#consent-banner") is None
        assert not loads_track_js(page.text)
        assert visitor_cookie(page) is None
    assert event_types(db) == []


def test_crawlers_are_not_asked_for_consent(portal: AppFactory, guide: Asset, db: Database) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get(f"/library/{SLUG}", headers={"User-Agent": GOOGLEBOT})
        assert page.status_code == 200
        assert html(page.text).css_first("#consent-banner") is None
        assert not loads_track_js(page.text)
        assert visitor_cookie(page) is None
    assert event_types(db) == []


def test_consent_without_the_csrf_token_is_refused(
    client: TestClient[Litestar], guide: Asset
) -> None:
    client.get("/library")
    response = client.post(
        "/consent", data={"choice": "granted", "next": "/library"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert consent_cookie(response) is None


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example/library", "/\\evil.example", "javascript:alert(1)"],
)
def test_consent_never_redirects_off_site(client: TestClient[Litestar], target: str) -> None:
    page = client.get("/consent")
    response = client.post(
        "/consent",
        data={"choice": "denied", "next": target, "_csrf_token": csrf_token_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_the_consent_page_keeps_next_on_site(client: TestClient[Litestar]) -> None:
    page = html(client.get("/consent?next=https://evil.example").text)
    nexts = {node.attributes["value"] for node in page.css('input[name="next"]')}
    assert nexts == {"/"}
    page = html(client.get("/consent?next=/library/x").text)
    assert {node.attributes["value"] for node in page.css('input[name="next"]')} == {"/library/x"}


def status_text(browser: TestClient[Litestar]) -> str:
    node = html(browser.get("/consent").text).css_first("#consent-status")
    assert node is not None
    return " ".join(node.text().split())


def choose(browser: TestClient[Litestar], choice: str) -> None:
    token = csrf_token_from(browser.get("/consent").text)
    response = browser.post(
        "/consent",
        data={"choice": choice, "next": "/consent", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_consent_page_shows_the_current_choice_and_changes_it(
    portal: AppFactory, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        assert status_text(browser).startswith("You have not decided yet")
        choose(browser, "granted")
        assert status_text(browser) == "You have allowed this."
        choose(browser, "denied")
        assert status_text(browser).startswith("You have declined this")
        assert browser.cookies[CONSENT_COOKIE] == "denied"
        choose(browser, "granted")
        assert status_text(browser) == "You have allowed this."


def test_the_consent_page_in_notice_mode_explains_the_signals(
    client: TestClient[Litestar],
) -> None:
    assert "Do Not Track" in status_text(client)
    page = html(client.get("/consent").text)
    buttons = {(b.attributes["value"], b.text().strip()) for b in page.css('button[name="choice"]')}
    assert buttons == {("granted", "Allow"), ("denied", "Decline")}
    assert page.css_first('form[action="/consent"] input[name="_csrf_token"]') is not None


# --- a gate form is always accepted ------------------------------------------------------------


@pytest.fixture
def gated(db: Database) -> Asset:
    return make_asset(
        db, slug="pricing-guide", gate="gated", body="The **secret** pricing details."
    )


def unlocked_by(db: Database, email: str) -> list[int]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Unlock.asset_id)
                .join(Lead, Lead.id == Unlock.lead_id)
                .where(Lead.email == email)
            ).all()
        )


def test_a_dnt_browser_can_still_unlock_with_the_gate_form(
    client: TestClient[Litestar], gated: Asset, db: Database
) -> None:
    client.headers["DNT"] = "1"
    assert "secret" not in client.get("/library/pricing-guide").text
    response = submit(
        client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L"
    )
    assert response.status_code == 303
    # Sending the form asks to be known: the browser now carries the lead's visitor id.
    assert visitor_cookie(response) is not None
    page = client.get("/library/pricing-guide")
    assert "secret" in html(page.text).css_first(".asset__body").text()
    assert not loads_track_js(page.text)
    assert unlocked_by(db, "ada@example.com") == [gated.id]
    # What the form itself records is kept; reading around it is not.
    assert "asset_view" not in event_types(db)
    assert "unlock" in event_types(db)


def test_an_undecided_opt_in_browser_can_still_unlock_with_the_gate_form(
    portal: AppFactory, gated: Asset, db: Database
) -> None:
    with portal(consent_mode="opt-in") as browser:
        response = submit(
            browser, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="L"
        )
        assert response.status_code == 303
        page = browser.get("/library/pricing-guide")
        assert "secret" in html(page.text).css_first(".asset__body").text()
        # The reader has still not answered the banner, so it is still asked.
        assert html(page.text).css_first("#consent-banner") is not None
    assert unlocked_by(db, "ada@example.com") == [gated.id]
    assert "asset_view" not in event_types(db)


def test_declining_in_notice_mode_stops_tracking(
    client: TestClient[Litestar], guide: Asset, db: Database
) -> None:
    page = client.get("/consent")
    response = client.post(
        "/consent",
        data={"choice": "denied", "next": "/", "_csrf_token": csrf_token_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    before = event_types(db)
    after = client.get(f"/library/{SLUG}")
    assert not loads_track_js(after.text)
    assert send_beacon(client).status_code == 204
    assert event_types(db) == before
    assert "declined" in html(client.get("/consent").text).css_first("#consent-status").text()


def test_the_banner_is_not_shown_when_a_respected_signal_already_answers(
    portal: AppFactory, guide: Asset
) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get(f"/library/{SLUG}?q=x", headers={"Sec-GPC": "1"})
        assert html(page.text).css_first("#consent-banner") is None


def test_the_banner_sends_the_reader_back_to_the_same_search(
    portal: AppFactory, guide: Asset
) -> None:
    with portal(consent_mode="opt-in") as browser:
        page = browser.get("/library?q=scoring&stage=decision")
        nexts = {
            node.attributes["value"]
            for node in html(page.text).css('#consent-banner input[name="next"]')
        }
    assert nexts == {"/library?q=scoring&stage=decision"}
