"""Staff users, console sessions, sign-in throttling and API tokens.

Every function takes an open SQLAlchemy session and plain values; the caller
owns the transaction. ``authenticate`` alone takes the database: a sign-in is two
short transactions with the password check between them, outside the lock.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from content.orm import utcnow
from content.printable import unprintable
from content.words import N_, Said
from portal import i18n
from portal.accounts.models import (
    ApiToken,
    LoginAttempt,
    Role,
    StaffSession,
    StaffUser,
    TokenScope,
)
from portal.db import Database

SESSION_LIFETIME = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
ATTEMPT_RETENTION = timedelta(days=1)
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "lsk_"  # noqa: S105 (a prefix, not a secret)
# First half of the PostgreSQL advisory-lock key of sign-in attempts (the second half
# is a hash of the email or the address).
_SIGN_IN_LOCK_SPACE = 0x51C41

_hasher = PasswordHasher()
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why (in English;
    ``said`` is the same message for the console to show in the staff member's language)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """The signed-in staff member, as the web layer sees it (no ORM object leaks out)."""

    id: int
    email: str
    display_name: str
    role: Role
    session_id: str
    language: str = ""
    """The console's language the person chose (``en``, ``de``); "" for the site default."""


@dataclass(frozen=True, slots=True)
class TokenPrincipal:
    """The API token a request came with (``request.user`` under /api/v1)."""

    name: str
    scope: TokenScope


@dataclass(frozen=True, slots=True)
class Throttled:
    """Sign-in refused for now; ``retry_after`` seconds until the oldest failure ages out."""

    retry_after: int


@functools.cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost the same time.

    Made once a process, by the app as it is built (``portal.app``), so no sign-in waits for
    it; not on import, where every command line call paid for a hash (0.15 s) it never used.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            Said(N_("password must be at least %(count)s characters"), count=MIN_PASSWORD_LENGTH)
        )


def create_user(
    session: Session, email: str, role: Role | str, password: str, display_name: str = ""
) -> StaffUser:
    """Add a staff user; refuses a malformed or taken email, an unknown role, a short password."""
    email = normalize_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError(Said(N_("'%(email)s' is not a valid email address"), email=email))
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(
            Said(
                N_("unknown role '%(role)s'; choose one of %(roles)s"),
                role=role,
                roles=", ".join(r.value for r in Role),
            )
        ) from None
    validate_password(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise AccountError(
            Said(N_("a staff user with email %(email)s already exists"), email=email)
        )
    user = StaffUser(
        email=email,
        role=role.value,
        password_hash=_hasher.hash(password),
        display_name=display_name.strip() or email.split("@")[0].replace(".", " ").title(),
    )
    session.add(user)
    session.flush()
    return user


def check_throttle(
    session: Session, email: str, ip: str, now: datetime | None = None
) -> Throttled | None:
    """Refuse further attempts after too many recent failures for this email or this address."""
    now = now or utcnow()
    since = now - THROTTLE_WINDOW
    failures = select(LoginAttempt.at).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at > since
    )
    for column, limit, value in (
        (LoginAttempt.email, MAX_FAILURES_PER_EMAIL, normalize_email(email)),
        (LoginAttempt.ip, MAX_FAILURES_PER_IP, ip),
    ):
        recent = session.scalars(
            failures.where(column == value).order_by(LoginAttempt.at.desc()).limit(limit)
        ).all()
        if len(recent) >= limit:
            oldest = min(recent)
            return Throttled(
                retry_after=max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds()))
            )
    return None


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """A sign-in recorded as failed (under the lock) until its password is found to match."""

    id: int
    user_id: int | None
    password_hash: str
    active: bool


def authenticate(
    database: Database, email: str, password: str, ip: str
) -> StaffUser | Throttled | None:
    """Check a sign-in in the three steps the login route takes; no console session is started.

    Returns the user, a ``Throttled``, or None (wrong password, unknown or inactive user).
    """
    with database.write() as session:
        attempt = record_attempt(session, email, ip)
    if isinstance(attempt, Throttled) or not password_matches(attempt, password):
        return attempt if isinstance(attempt, Throttled) else None
    with database.write() as session:
        return mark_succeeded(session, attempt, password)


def record_attempt(session: Session, email: str, ip: str) -> SignInAttempt | Throttled:
    """Count recent failures and record this attempt as failed, under one lock per email and
    per address, so parallel guesses cannot all pass the count first.

    Commit before checking the password: the lock lasts until the transaction ends, and the
    slow check must not hold it (behind a proxy every sign-in shares one address).
    """
    email = normalize_email(email)
    _lock_attempts(session, email, ip)
    throttled = check_throttle(session, email, ip)
    if throttled is not None:
        return throttled
    now = utcnow()
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
    row = LoginAttempt(email=email[:254], ip=ip[:45], succeeded=False, at=now)
    session.add(row)
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    session.flush()
    if user is None:
        return SignInAttempt(row.id, None, dummy_hash(), active=False)
    return SignInAttempt(row.id, user.id, user.password_hash, active=user.is_active)


def password_matches(attempt: SignInAttempt, password: str) -> bool:
    """Check the password outside any transaction; an unknown email costs the same time."""
    matches = _verify(attempt.password_hash, password)
    return matches and attempt.user_id is not None and attempt.active


def mark_succeeded(session: Session, attempt: SignInAttempt, password: str) -> StaffUser | None:
    """Record a matched attempt as succeeded and return its user; None if, since the check,
    the user was deactivated or its password changed (the attempt stays a failure)."""
    user = session.scalar(
        select(StaffUser).where(
            StaffUser.id == attempt.user_id,
            StaffUser.password_hash == attempt.password_hash,
            StaffUser.is_active.is_(True),
        )
    )
    if user is None:
        return None
    session.execute(
        update(LoginAttempt).where(LoginAttempt.id == attempt.id).values(succeeded=True)
    )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def _lock_attempts(session: Session, email: str, ip: str) -> None:
    """Hold sign-ins for this email and this address until the transaction ends.

    PostgreSQL takes a transaction-scoped advisory lock per key (a failed sign-in for
    an unknown email has no row to lock), always in the same order so two requests
    never deadlock. SQLite needs nothing: its write transactions run one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted(
        {
            int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
            for key in (f"email:{email}", f"ip:{ip}")
        }
    )
    for key in keys:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _SIGN_IN_LOCK_SPACE, "key": key},
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, email: str, password: str) -> StaffUser:
    """Replace a staff user's password and sign them out everywhere."""
    validate_password(password)
    user = session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))
    if user is None:
        raise AccountError(
            Said(N_("no staff user with email %(email)s"), email=normalize_email(email))
        )
    user.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return user


def start_session(
    session: Session, user: StaffUser, *, replaces: str | None, ip: str, user_agent: str
) -> str:
    """Create a console session and return its cookie token; the replaced one stops working."""
    if replaces:
        end_session(session, replaces)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    session.add(
        StaffSession(
            id=hash_token(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            ip=ip[:45],
            user_agent=user_agent[:255],
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.id == hash_token(token)))


def principal_for_session(session: Session, token: str) -> StaffPrincipal | None:
    """The staff member a session cookie belongs to, if the session is live and the user active."""
    row = session.execute(
        select(StaffUser, StaffSession.id)
        .join(StaffSession, StaffSession.user_id == StaffUser.id)
        .where(
            StaffSession.id == hash_token(token),
            StaffSession.expires_at > utcnow(),
            StaffUser.is_active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user, session_id = row
    return StaffPrincipal(
        user.id, user.email, user.display_name, Role(user.role), session_id, user.language
    )


def set_language(session: Session, user_id: int, language: str) -> StaffUser:
    """Set the console's language of a staff member: one of ``portal.i18n.LANGUAGES``, or ""
    for the site default (``LEADSHELF_DEFAULT_LANGUAGE``). Their next page speaks it."""
    language = language.strip().lower()
    if language and language not in i18n.LANGUAGES:
        raise AccountError(
            Said(
                N_("unknown language '%(language)s'; choose one of %(languages)s"),
                language=language[:20],
                languages=", ".join(i18n.LANGUAGES),
            )
        )
    user = session.get(StaffUser, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise AccountError(Said(N_("no staff user %(id)s"), id=user_id))
    user.language = language
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.email)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def create_token(session: Session, name: str, scope: TokenScope | str = TokenScope.WRITE) -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once.

    The default scope is ``write`` (full access), as tokens had before scopes existed.
    """
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise AccountError(Said(N_("token scope must be read or write"))) from None
    name = name.strip()
    if not name or len(name) > 80:
        raise AccountError(Said(N_("token name must be 1 to 80 characters")))
    problem = unprintable(name)
    if problem:
        raise AccountError(Said(N_("token name contains %(problem)s"), problem=problem))
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise AccountError(Said(N_("an API token named '%(name)s' already exists"), name=name))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), scope=scope.value))
    session.flush()
    return token


def revoke_token(session: Session, name: str) -> None:
    token = session.scalar(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        raise AccountError(Said(N_("no active API token named '%(name)s'"), name=name))
    token.revoked_at = utcnow()


def token_name_for(session: Session, token: str) -> str | None:
    """The name of the live API token matching a bearer value, or None."""
    found = token_for(session, token)
    return found.name if found else None


def token_for(session: Session, token: str) -> TokenPrincipal | None:
    """The live API token (name and scope) matching a bearer value, or None."""
    row = session.execute(
        select(ApiToken.name, ApiToken.scope).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    return TokenPrincipal(row.name, TokenScope(row.scope)) if row else None


def touch_token(session: Session, name: str, now: datetime | None = None) -> None:
    """Record use of a token, at most once a minute so reads do not turn into writes."""
    now = now or utcnow()
    token = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is not None and (
        token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1)
    ):
        token.last_used_at = now


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def failures_for(session: Session, email: str) -> int:
    """Recent failed sign-ins for an email (shown to admins; used in tests)."""
    return (
        session.scalar(
            select(func.count()).where(
                LoginAttempt.email == normalize_email(email),
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.at > utcnow() - THROTTLE_WINDOW,
            )
        )
        or 0
    )
