"""Which language a request speaks (portal.language, portal.i18n): the switch and its cookie,
the asset's language, Accept-Language, the site default; and the formats of each language."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.testing import TestClient

from portal import i18n
from portal.language import LanguageMiddleware


@get("/speak", sync_to_thread=True)
def speak(prefer: FromQuery[str] = "") -> str:
    i18n.prefer(prefer or None)  # what the asset page does with the asset's language
    return i18n.current()


def client(default: str = "en") -> TestClient[Litestar]:
    app = Litestar(
        [speak],
        middleware=[LanguageMiddleware()],
        state=State({"settings": SimpleNamespace(default_language=default, secure_cookies=False)}),
    )
    return TestClient(app)


def test_nothing_said_reads_the_site_default() -> None:
    with client("de") as browser:
        assert browser.get("/speak").text == "de"
    with client("en") as browser:
        assert browser.get("/speak").text == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("en-US,en;q=0.9,de;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,de;q=0.5", "de"),
        ("fr-FR", "en"),
        ("en;q=0.2, de;q=0.7", "de"),
        ("de;q=0, en", "en"),
        ("*", "en"),
        ("de;q=abc, en;q=0.1", "en"),
    ],
)
def test_accept_language_picks_the_browsers_best_of_ours(header: str, expected: str) -> None:
    with client() as browser:
        assert browser.get("/speak", headers={"Accept-Language": header}).text == expected


def test_the_switch_is_kept_in_a_cookie_and_wins_over_everything() -> None:
    with client() as browser:
        chosen = browser.get("/speak?lang=de", headers={"Accept-Language": "en"})
        assert chosen.text == "de"
        cookie = chosen.headers["set-cookie"]
        assert cookie.startswith(f"{i18n.LANGUAGE_COOKIE}=de;")
        assert "HttpOnly" in cookie
        assert "Max-Age=31536000" in cookie
        # later requests without the switch: the cookie decides, over the browser and an asset
        later = browser.get("/speak?prefer=en", headers={"Accept-Language": "en"})
        assert later.text == "de"
        assert "set-cookie" not in later.headers
        assert browser.get("/speak?lang=en").text == "en"
        assert browser.cookies[i18n.LANGUAGE_COOKIE] == "en"


def test_the_assets_language_wins_over_the_browsers_but_not_the_switch() -> None:
    with client() as browser:
        assert browser.get("/speak?prefer=de", headers={"Accept-Language": "en"}).text == "de"
        assert browser.get("/speak?prefer=de&lang=en").text == "en"


@settings(deadline=None, max_examples=60)
@given(st.text(max_size=20))
def test_a_switch_to_anything_else_changes_nothing(asked: str) -> None:
    with client() as browser:  # a fresh browser each time: no cookie from an earlier example
        answer = browser.get("/speak", params={"lang": asked})
        assert answer.status_code == 200
        assert answer.text == (asked.strip().lower() if asked.strip().lower() == "de" else "en")
        if "set-cookie" in answer.headers:
            assert answer.headers["set-cookie"].startswith(f"{i18n.LANGUAGE_COOKIE}=de;")


def test_a_language_code_reads_as_one_of_ours() -> None:
    assert [i18n.language(code) for code in ("de-AT", "de_CH", "DE", "fr", "", None)] == [
        "de", "de", "de", "en", "en", "en",
    ]  # fmt: skip
    assert i18n.language("fr", default="de") == "de"


MOMENT = datetime(2026, 10, 8, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "date", "in_berlin", "number", "money", "share"),
    [
        ("en", "8 Oct 2026", "8 Oct 2026, 10:00 CEST", "12,500.5", "€12,500.00", "42%"),
        ("de", "08.10.2026", "08.10.2026, 10:00 MESZ", "12.500,5", "12.500,00\xa0€", "42\xa0%"),
    ],
)
def test_dates_times_and_numbers_are_written_as_the_language_writes_them(
    lang: str, date: str, in_berlin: str, number: str, money: str, share: str
) -> None:
    with i18n.using(lang):
        assert i18n.format_date(MOMENT) == date
        assert i18n.format_datetime(MOMENT, "Europe/Berlin") == in_berlin
        assert i18n.format_number(12500.5) == number
        assert i18n.format_money(12500, "EUR") == money
        assert i18n.format_percent(0.423) == share
        assert i18n.format_percent(0.1234, 1) == share.replace(
            "42", "12.3" if lang == "en" else "12,3"
        )
    assert i18n.current() == "en"  # using() restores


def test_a_zone_without_a_name_in_the_language_is_written_as_its_offset() -> None:
    with i18n.using("de"):
        assert i18n.format_datetime(MOMENT, "America/Chicago") == "08.10.2026, 03:00 GMT-05:00"
