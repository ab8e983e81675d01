"""Signed tokens: purposes never mix, tampering and age are caught, keys rotate."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner

from portal.settings import Settings
from portal.signing import (
    KEY_FILE_NAME,
    ExpiredToken,
    InvalidToken,
    Purpose,
    Signer,
    load_secret_keys,
)

OLD_KEY = "old-key-0123456789abcdef"
NEW_KEY = "new-key-fedcba9876543210"
VALUE = {"visitor": "v-123", "asset": 42}


def signed_at(monkeypatch: pytest.MonkeyPatch, signer: Signer, purpose: Purpose, when: int) -> str:
    """A token whose embedded timestamp is ``when`` (seconds since the epoch)."""
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: when)
        return signer.sign(purpose, VALUE)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_round_trip_for_every_purpose(purpose: Purpose) -> None:
    signer = Signer((NEW_KEY,))

    token = signer.sign(purpose, VALUE)

    assert signer.unsign(purpose, token) == VALUE
    assert signer.unsign(purpose, token, max_age=60) == VALUE


@pytest.mark.parametrize("purpose", list(Purpose))
def test_token_of_one_purpose_is_refused_for_every_other(purpose: Purpose) -> None:
    signer = Signer((NEW_KEY,))
    token = signer.sign(purpose, VALUE)

    for other in Purpose:
        if other is purpose:
            continue
        with pytest.raises(InvalidToken):
            signer.unsign(other, token)


def test_tampered_token_is_refused() -> None:
    signer = Signer((NEW_KEY,))
    token = signer.sign(Purpose.DOWNLOAD, {"asset": 1})
    forged = Signer(("attacker-key-0123456789",)).sign(Purpose.DOWNLOAD, {"asset": 2})
    payload, rest = token.split(".", 1)
    swapped = forged.split(".", 1)[0] + "." + rest
    body, signature = token.rsplit(".", 1)
    flipped = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]

    for bad in (swapped, flipped, forged, payload, "", "not-a-token"):
        with pytest.raises(InvalidToken):
            signer.unsign(Purpose.DOWNLOAD, bad)


def test_token_older_than_max_age_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer((NEW_KEY,))
    an_hour_ago = int(time.time()) - 3600
    token = signed_at(monkeypatch, signer, Purpose.EMAIL_LINK, an_hour_ago)

    with pytest.raises(ExpiredToken):
        signer.unsign(Purpose.EMAIL_LINK, token, max_age=600)
    assert signer.unsign(Purpose.EMAIL_LINK, token, max_age=7200) == VALUE
    assert signer.unsign(Purpose.EMAIL_LINK, token) == VALUE


def test_expired_is_a_kind_of_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Callers that only catch InvalidToken still refuse expired links."""
    signer = Signer((NEW_KEY,))
    token = signed_at(monkeypatch, signer, Purpose.OPT_IN, int(time.time()) - 86_400)

    with pytest.raises(InvalidToken):
        signer.unsign(Purpose.OPT_IN, token, max_age=3600)


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_newest_key() -> None:
    before = Signer((OLD_KEY,))
    during = Signer((OLD_KEY, NEW_KEY))
    after = Signer((NEW_KEY,))
    old_token = before.sign(Purpose.VISITOR, VALUE)

    assert during.unsign(Purpose.VISITOR, old_token) == VALUE

    new_token = during.sign(Purpose.VISITOR, VALUE)
    assert after.unsign(Purpose.VISITOR, new_token) == VALUE
    with pytest.raises(InvalidToken):
        before.unsign(Purpose.VISITOR, new_token)

    with pytest.raises(InvalidToken):
        after.unsign(Purpose.VISITOR, old_token)


def test_derived_secrets_follow_the_newest_key_and_differ_per_purpose() -> None:
    during = Signer((OLD_KEY, NEW_KEY))

    assert during.derive("csrf") == Signer((NEW_KEY,)).derive("csrf")
    assert during.derive("csrf") != Signer((OLD_KEY,)).derive("csrf")
    assert during.derive("csrf") != during.derive("other")
    assert len(during.derive("csrf")) == 64


def test_derived_secrets_of_every_key_come_newest_first() -> None:
    during = Signer((OLD_KEY, NEW_KEY))

    assert during.derive_all("csrf") == (
        Signer((NEW_KEY,)).derive("csrf"),
        Signer((OLD_KEY,)).derive("csrf"),
    )


def test_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="secret key"):
        Signer(())


def test_generated_key_file_is_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key_file = tmp_path / "data" / KEY_FILE_NAME

    first = load_secret_keys(settings)

    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) == 1
    assert len(first[0]) >= 32
    assert load_secret_keys(settings) == first
    assert sorted(p.name for p in key_file.parent.iterdir()) == [KEY_FILE_NAME]


def test_generated_keys_differ_between_installations(tmp_path: Path) -> None:
    one = load_secret_keys(Settings(data_dir=tmp_path / "one"))
    two = load_secret_keys(Settings(data_dir=tmp_path / "two"))

    assert one != two


def test_configured_keys_are_used_without_writing_a_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_keys=(OLD_KEY, NEW_KEY))

    assert load_secret_keys(settings) == (OLD_KEY, NEW_KEY)
    assert not (tmp_path / "data" / KEY_FILE_NAME).exists()


def test_unusable_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text("short\n", encoding="ascii")

    with pytest.raises(ValueError, match="delete it"):
        load_secret_keys(Settings(data_dir=tmp_path))
