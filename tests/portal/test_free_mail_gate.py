"""The business email field of the gate and Talk-to-sales forms: free-mail addresses accepted
and flagged, or refused with a request for a business address (``LEADSHELF_FREE_MAIL``);
disposable addresses refused either way, with the form keeping what was typed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.forms import submit
from tests.portal.sales_form import send
from tests.support import app_for, html
from tracking.accounts.models import Account
from tracking.models import Lead


@pytest.fixture
def refusing(settings: Settings) -> Iterator[TestClient[Litestar]]:
    with app_for(settings.with_overrides(free_mail="refuse")) as built, TestClient(built) as client:
        yield client


@pytest.fixture
def guide(db: Database) -> str:
    return make_asset(db, slug="scoring-guide", gate="gated").slug


def field_error(response: Any, name: str) -> str:
    node = html(response.text).css_first(f"[name={name}] ~ .field__error")
    return node.text(strip=True) if node is not None else ""


def typed(response: Any, name: str) -> str:
    node = html(response.text).css_first(f"input[name={name}]")
    assert node is not None
    return node.attributes.get("value") or ""


def leads(db: Database) -> dict[str, tuple[bool, str | None]]:
    with db.read() as session:
        rows = session.execute(
            select(Lead.email, Lead.free_mail, Account.domain).outerjoin(
                Account, Account.id == Lead.account_id
            )
        ).all()
    return {email: (free, domain) for email, free, domain in rows}


def test_by_default_a_free_mail_address_unlocks_and_the_lead_is_flagged(
    client: TestClient[Litestar], db: Database, guide: str
) -> None:
    response = submit(
        client, guide, email="ada.lovelace@gmail.com", first_name="Ada", last_name="Lovelace"
    )
    assert response.status_code == 303
    assert leads(db) == {"ada.lovelace@gmail.com": (True, None)}


def test_refusing_free_mail_asks_for_a_business_address_and_keeps_the_answers(
    refusing: TestClient[Litestar], db: Database, guide: str
) -> None:
    response = submit(
        refusing, guide, email="ada.lovelace@gmail.com", first_name="Ada", last_name="Lovelace"
    )
    assert response.status_code == 422
    assert field_error(response, "email") == (
        "Please use your business email address: gmail.com is a free-mail provider, "
        "and we reply from one company to another."
    )
    assert typed(response, "email") == "ada.lovelace@gmail.com"
    assert typed(response, "first_name") == "Ada"
    assert leads(db) == {}

    business = submit(
        refusing, guide, email="ada@pipewise.example", first_name="Ada", last_name="Lovelace"
    )
    assert business.status_code == 303
    assert leads(db) == {"ada@pipewise.example": (False, "pipewise.example")}


@pytest.mark.parametrize("setting", ["accept", "refuse"])
def test_a_disposable_address_is_always_refused(
    settings: Settings, db: Database, guide: str, setting: str
) -> None:
    with app_for(settings.with_overrides(free_mail=setting)) as built, TestClient(built) as client:
        response = submit(
            client, guide, htmx=True, email="bo@mailinator.com", first_name="Bo", last_name="Li"
        )
    assert response.status_code == 422
    assert field_error(response, "email") == (
        "mailinator.com hands out throw-away addresses. Please use an address you keep, "
        "ideally your work email."
    )
    assert typed(response, "email") == "bo@mailinator.com"
    assert typed(response, "last_name") == "Li"
    assert leads(db) == {}


def test_talk_to_sales_follows_the_same_setting(
    client: TestClient[Litestar], refusing: TestClient[Litestar], db: Database
) -> None:
    refused = send(refusing, email="cy@yahoo.co.uk")
    assert refused.status_code == 422
    assert "yahoo.co.uk is a free-mail provider" in field_error(refused, "email")
    assert typed(refused, "email") == "cy@yahoo.co.uk"

    throwaway = send(client, email="cy@yopmail.com")
    assert throwaway.status_code == 422
    assert "yopmail.com hands out throw-away addresses" in field_error(throwaway, "email")

    accepted = send(client, email="cy@yahoo.co.uk")
    assert accepted.status_code == 303
    assert leads(db) == {"cy@yahoo.co.uk": (True, None)}


def test_the_setting_takes_accept_or_refuse_only() -> None:
    assert Settings.from_env({"LEADSHELF_FREE_MAIL": "refuse"}).free_mail == "refuse"
    with pytest.raises(ValueError, match="free_mail: expected one of accept, refuse"):
        Settings.from_env({"LEADSHELF_FREE_MAIL": "sometimes"})
