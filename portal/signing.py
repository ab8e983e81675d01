"""Every signed token Leadshelf issues, one itsdangerous serializer per purpose.

Keys come from ``LEADSHELF_SECRET_KEYS`` (newest last: new tokens are signed
with the newest key, tokens signed with any listed key still verify, so keys
rotate without logging anyone out). When unset, one key is generated into the
data dir (``secret_key``, mode 0600) on first start and reused afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.settings import Settings

KEY_FILE_NAME = "secret_key"


class Purpose(StrEnum):
    """What a token is for; a token of one purpose never verifies as another."""

    VISITOR = "visitor"
    DOWNLOAD = "download"
    EMAIL_LINK = "email-link"
    """"Continue on this device" (``portal.mail.links.continue_url``)."""
    UNSUBSCRIBE = "unsubscribe"
    OPT_IN = "opt-in"
    PREFERENCES = "preferences"
    EMAIL_CLICK = "email-click"
    EMAIL_OPEN = "email-open"
    FORM_STARTED = "form-started"
    SECRET_REVEAL = "secret-reveal"  # noqa: S105 (a salt name, not a secret)


class InvalidToken(Exception):
    """The token was tampered with, signed for another purpose, or signed with an unknown key."""


class ExpiredToken(InvalidToken):
    """The token was valid but is older than its allowed age."""


class Signer:
    """Sign and verify small values for one of the ``Purpose``s."""

    def __init__(self, secret_keys: tuple[str, ...]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is required")
        self.secret_keys = secret_keys
        # itsdangerous signs with the *last* key and verifies against all of them.
        self._serializers = {
            purpose: URLSafeTimedSerializer(list(secret_keys), salt=f"leadshelf.{purpose}")
            for purpose in Purpose
        }

    def sign(self, purpose: Purpose, value: Any) -> str:
        return str(self._serializers[purpose].dumps(value))

    def unsign(self, purpose: Purpose, token: str, max_age: int | None = None) -> Any:
        """Return the signed value; raise ``ExpiredToken`` or ``InvalidToken``."""
        try:
            return self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise ExpiredToken(str(exc)) from None
        except BadSignature as exc:
            raise InvalidToken(str(exc)) from None

    def derive(self, purpose: str) -> str:
        """A hex secret for another mechanism (e.g. CSRF), derived from the newest key."""
        return self.derive_all(purpose)[0]

    def derive_all(self, purpose: str) -> tuple[str, ...]:
        """``derive`` for every key, newest first: what that mechanism should still accept."""
        return tuple(
            hmac.new(key.encode(), f"leadshelf.{purpose}".encode(), hashlib.sha256).hexdigest()
            for key in reversed(self.secret_keys)
        )


def load_secret_keys(settings: Settings) -> tuple[str, ...]:
    """The configured keys, or the data dir's generated key (created on first use)."""
    if settings.secret_keys:
        return settings.secret_keys
    return (_generated_key(settings.data_dir / KEY_FILE_NAME),)


def _generated_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a private temp file, then link it into place: when two processes
        # start at once, exactly one key wins and nobody reads a half-written file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 16:
        raise ValueError(f"{path} holds no usable secret key; delete it to generate a new one")
    return key
