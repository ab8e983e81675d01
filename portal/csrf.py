"""CSRF protection that survives secret key rotation.

Litestar's ``CSRFMiddleware`` signs its token with one secret and, on a page
view, hands a browser back whatever ``csrftoken`` cookie it already holds. After
a restart with a new key every browser holding a cookie would get 403 on every
form until it cleared its cookies. Here a token signed with any listed key is
accepted, and a page view re-issues a cookie that is not signed with the newest
key: one signed with an older key keeps its random part, re-signed with the
newest key, so forms other tabs show with the old token still match it; one
signed with no listed key (a retired key, or garbage) gets a fresh token.
"""

from __future__ import annotations

from functools import lru_cache
from secrets import compare_digest
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import (
    CSRF_SECRET_LENGTH,
    CSRFMiddleware,
    generate_csrf_hash,
    generate_csrf_token,
)
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState


class RotatingCSRFMiddleware(CSRFMiddleware):
    """``CSRFMiddleware`` that verifies with every key and re-signs stale cookies on a page view.

    ``config.secret`` is the newest secret (new tokens are signed with it);
    ``older_secrets`` are still accepted on form posts.
    """

    def __init__(self, app: ASGIApp, config: CSRFConfig, older_secrets: tuple[str, ...] = ()):
        super().__init__(app, config)
        self.secrets = (config.secret, *older_secrets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] in self.config.safe_methods:
            request = scope["litestar_app"].request_class(scope=scope, receive=receive)
            cookie = request.cookies.get(self.config.cookie_name)
            if cookie is not None and not self._bypassed(scope):
                if self._current(cookie):
                    # What Litestar's middleware does for a page view with a cookie, without
                    # parsing the request a second time or wrapping ``send`` to do nothing.
                    ScopeState.from_scope(scope).csrf_token = cookie
                    await self.app(scope, receive, send)
                    return
                token = self._reissued(cookie)
                ScopeState.from_scope(scope).csrf_token = token
                # csrf_cookie=None: the response sets the cookie to the fresh token.
                await self.app(scope, receive, self.create_send_wrapper(send, token, None))
                return
        await super().__call__(scope, receive, send)

    def _bypassed(self, scope: Scope) -> bool:
        return should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        )

    def _current(self, token: str) -> bool:
        """The token is signed with the newest secret."""
        return _token_secret(token, self.config.secret) is not None

    def _reissued(self, cookie: str) -> str:
        """The cookie signed with the newest secret, keeping the random part Litestar
        compares forms against; a brand-new token when no listed secret signed it."""
        random_part = self._decode_csrf_token(cookie)
        if random_part is None:
            return generate_csrf_token(secret=self.config.secret)
        return random_part + generate_csrf_hash(token=random_part, secret=self.config.secret)

    def _decode_csrf_token(self, token: str) -> str | None:
        """The token's random part when it is signed with any of the secrets, else None."""
        for secret in self.secrets:
            decoded = _token_secret(token, secret)
            if decoded is not None:
                return decoded
        return None


@lru_cache(maxsize=8192)
def _token_secret(token: str, secret: str) -> str | None:
    """The random part of a Litestar CSRF token whose HMAC matches ``secret`` (remembered: a
    returning browser's cookie is checked on every page it opens)."""
    if len(token) < CSRF_SECRET_LENGTH + 1:
        return None
    random_part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    expected = generate_csrf_hash(token=random_part, secret=secret)
    return random_part if compare_digest(signature.encode(), expected.encode()) else None


def csrf_middleware(secrets: tuple[str, ...], **config: Any) -> DefineMiddleware:
    """The app's CSRF middleware: ``secrets`` newest first, ``config`` as for ``CSRFConfig``."""
    return DefineMiddleware(
        RotatingCSRFMiddleware,
        config=CSRFConfig(secret=secrets[0], **config),
        older_secrets=secrets[1:],
    )
