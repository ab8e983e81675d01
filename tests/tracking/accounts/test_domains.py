"""Which email domains name a company (table-driven, over the maintained lists)."""

from __future__ import annotations

import pytest

from tracking.accounts.domains import (
    company_domain,
    is_disposable,
    is_free_mail,
    name_from_domain,
    registrable_domain,
)

# address, company domain (None: no account), free mail, disposable
ADDRESSES = [
    ("ada@pipewise.example", "pipewise.example", False, False),
    ("ada@mail.pipewise.example", "pipewise.example", False, False),
    ("bo@eu.mail.acme.co.uk", "acme.co.uk", False, False),
    ("cy@acme.co.uk", "acme.co.uk", False, False),
    ("dee@ACME.DE", "acme.de", False, False),
    ("ed@gmail.com", None, True, False),
    ("fay@googlemail.com", None, True, False),
    ("gus@yahoo.co.uk", None, True, False),
    ("hal@gmx.de", None, True, False),
    ("ida@web.de", None, True, False),
    ("jo@outlook.com", None, True, False),
    ("kim@icloud.com", None, True, False),
    ("lu@proton.me", None, True, False),
    ("max@mailinator.com", None, True, True),
    ("ned@yopmail.com", None, True, True),
    ("oli@bearsarefuzzy.com", None, False, True),
    ("pat@localhost", None, False, False),
    ("no-at-sign", None, False, False),
]


@pytest.mark.parametrize(("email", "company", "free", "disposable"), ADDRESSES)
def test_each_address_is_judged_by_its_domain(
    email: str, company: str | None, free: bool, disposable: bool
) -> None:
    domain = email.rpartition("@")[2].lower()
    assert company_domain(email) == company
    assert is_free_mail(domain) is free
    assert is_disposable(domain) is disposable


@pytest.mark.parametrize(
    ("host", "registrable"),
    [
        ("pipewise.example", "pipewise.example"),
        ("a.b.c.pipewise.example", "pipewise.example"),
        ("shop.acme.com.au", "acme.com.au"),
        ("co.uk", None),
        ("localhost", None),
        ("10.0.0.1", None),
        ("acme.com.", "acme.com"),
    ],
)
def test_the_registrable_domain_drops_subdomains_and_knows_public_suffixes(
    host: str, registrable: str | None
) -> None:
    assert registrable_domain(host) == registrable


def test_a_subdomain_of_a_free_provider_is_free_mail_too() -> None:
    assert is_free_mail("mail.gmail.com")
    assert company_domain("ann@mail.gmail.com") is None


@pytest.mark.parametrize(
    ("domain", "name"),
    [
        ("pipewise.example", "Pipewise"),
        ("acme-robotics.co.uk", "Acme Robotics"),
        ("mail.northwind.example", "Northwind"),
    ],
)
def test_a_name_is_read_from_the_domain_when_nobody_gave_one(domain: str, name: str) -> None:
    assert name_from_domain(domain) == name
