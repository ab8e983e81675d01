"""Staff accounts: creation rules, sign-in with throttling, console sessions and API tokens."""

from __future__ import annotations

import hashlib
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from content.orm import utcnow
from portal.accounts import service
from portal.accounts.models import ApiToken, LoginAttempt, Role, StaffSession, StaffUser
from portal.db import Database

PASSWORD = "correct horse battery"
IP = "198.51.100.7"


def add_user(db: Database, email: str = "ann@example.com", role: Role | str = Role.EDITOR) -> None:
    with db.write() as session:
        service.create_user(session, email, role, PASSWORD)


def sign_in(db: Database, email: str, password: str = PASSWORD, ip: str = IP) -> object:
    """One sign-in attempt in the transactions a login request uses."""
    result = service.authenticate(db, email, password, ip)
    return result.email if isinstance(result, StaffUser) else result


def start(db: Database, email: str, replaces: str | None = None) -> str:
    with db.write() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
        return service.start_session(session, user, replaces=replaces, ip=IP, user_agent="pytest")


def principal(db: Database, token: str) -> service.StaffPrincipal | None:
    with db.read() as session:
        return service.principal_for_session(session, token)


def token_name(db: Database, token: str) -> str | None:
    with db.read() as session:
        return service.token_name_for(session, token)


def test_create_user_normalizes_email_and_hashes_the_password(db: Database) -> None:
    add_user(db, "  Ann.Lee@Example.COM ", Role.MARKETER)

    with db.read() as session:
        user = session.scalars(select(StaffUser)).one()
    assert user.email == "ann.lee@example.com"
    assert user.role == "marketer"
    assert user.display_name == "Ann Lee"
    assert user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert sign_in(db, "ANN.LEE@example.com") == "ann.lee@example.com"


@pytest.mark.parametrize(
    ("email", "role", "password", "problem"),
    [
        ("not-an-email", "editor", PASSWORD, "not a valid email"),
        ("a b@example.com", "editor", PASSWORD, "not a valid email"),
        ("ann@example.com", "owner", PASSWORD, "unknown role 'owner'"),
        ("ann@example.com", "editor", "short", "at least 10 characters"),
    ],
)
def test_create_user_refuses_bad_input(
    db: Database, email: str, role: str, password: str, problem: str
) -> None:
    with pytest.raises(service.AccountError, match=problem), db.write() as session:
        service.create_user(session, email, role, password)

    with db.read() as session:
        assert service.count_users(session) == 0


def test_create_user_refuses_a_taken_email_whatever_its_case(db: Database) -> None:
    add_user(db, "ann@example.com")

    with pytest.raises(service.AccountError, match=r"ann@example\.com already exists"):
        add_user(db, "ANN@example.com")


def test_right_password_signs_in_and_records_the_time(db: Database) -> None:
    add_user(db)
    before = utcnow()

    assert sign_in(db, "ann@example.com") == "ann@example.com"

    with db.read() as session:
        user = session.scalars(select(StaffUser)).one()
    assert user.last_login_at is not None
    assert before <= user.last_login_at <= utcnow()


def test_wrong_password_unknown_email_and_inactive_user_are_refused(db: Database) -> None:
    add_user(db, "ann@example.com")
    add_user(db, "gone@example.com")
    with db.write() as session:
        session.execute(
            update(StaffUser).where(StaffUser.email == "gone@example.com").values(is_active=False)
        )

    assert sign_in(db, "ann@example.com", "wrong password!") is None
    assert sign_in(db, "nobody@example.com") is None
    assert sign_in(db, "gone@example.com") is None
    with db.read() as session:
        assert service.failures_for(session, "ann@example.com") == 1
        assert service.failures_for(session, "gone@example.com") == 1


def test_five_failures_lock_the_email_even_for_the_right_password(db: Database) -> None:
    add_user(db, "ann@example.com")
    add_user(db, "bob@example.com")
    for n in range(service.MAX_FAILURES_PER_EMAIL):
        assert (
            sign_in(db, "ANN@example.com" if n % 2 else "ann@example.com", "wrong password!")
            is None
        )

    locked = sign_in(db, "ann@example.com")

    assert isinstance(locked, service.Throttled)
    assert 0 < locked.retry_after <= 15 * 60
    assert sign_in(db, "bob@example.com", ip="203.0.113.9") == "bob@example.com"


def test_twenty_failures_from_one_address_lock_it_for_every_email(db: Database) -> None:
    add_user(db, "ann@example.com")
    # 19 earlier failures against many emails, as a password-spraying client makes them.
    with db.write() as session:
        for n in range(service.MAX_FAILURES_PER_IP - 1):
            session.add(
                LoginAttempt(email=f"u{n}@example.com", ip=IP, succeeded=False, at=utcnow())
            )
    assert sign_in(db, "someone@example.com", "wrong password!") is None

    locked = sign_in(db, "ann@example.com")

    assert isinstance(locked, service.Throttled)
    assert 0 < locked.retry_after <= 15 * 60
    assert sign_in(db, "ann@example.com", ip="203.0.113.9") == "ann@example.com"


def test_failures_older_than_the_window_do_not_count(db: Database) -> None:
    add_user(db, "ann@example.com")
    long_ago = utcnow() - timedelta(minutes=16)
    with db.write() as session:
        for _ in range(service.MAX_FAILURES_PER_EMAIL):
            session.add(LoginAttempt(email="ann@example.com", ip=IP, succeeded=False, at=long_ago))

    assert sign_in(db, "ann@example.com") == "ann@example.com"


def test_right_password_after_failures_below_the_limit_signs_in(db: Database) -> None:
    add_user(db, "ann@example.com")
    for _ in range(service.MAX_FAILURES_PER_EMAIL - 1):
        assert sign_in(db, "ann@example.com", "wrong password!") is None

    assert sign_in(db, "ann@example.com") == "ann@example.com"

    with db.read() as session:
        outcomes = session.scalars(select(LoginAttempt.succeeded).order_by(LoginAttempt.id)).all()
    assert outcomes == [False] * (service.MAX_FAILURES_PER_EMAIL - 1) + [True]


def test_a_password_changed_during_the_check_does_not_sign_in(db: Database) -> None:
    add_user(db, "ann@example.com")
    with db.write() as session:
        attempt = service.record_attempt(session, "ann@example.com", IP)
    assert isinstance(attempt, service.SignInAttempt)
    assert service.password_matches(attempt, PASSWORD)

    with db.write() as session:
        service.set_password(session, "ann@example.com", "another good password")
    with db.write() as session:
        assert service.mark_succeeded(session, attempt, PASSWORD) is None

    with db.read() as session:
        assert service.failures_for(session, "ann@example.com") == 1


def parallel_sign_ins(
    db: Database, monkeypatch: pytest.MonkeyPatch, attempts: list[tuple[str, str]]
) -> tuple[int, list[object]]:
    """Every (email, ip) attempt at once, each thread signing in as a login request does;
    returns how many passwords were checked and each attempt's outcome."""
    checked = 0
    counting = threading.Lock()
    verify = service._verify

    def counted(password_hash: str, password: str) -> bool:
        nonlocal checked
        with counting:
            checked += 1
        return verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", counted)
    start_together = threading.Barrier(len(attempts))

    def attempt(email: str, ip: str) -> object:
        start_together.wait()
        return sign_in(db, email, "wrong password!", ip)

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        outcomes = list(pool.map(lambda pair: attempt(*pair), attempts))
    return checked, outcomes


def test_parallel_wrong_passwords_for_one_email_check_only_the_limit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(db, "ann@example.com")
    attempts = [("ann@example.com", f"198.51.100.{n}") for n in range(30)]

    checked, outcomes = parallel_sign_ins(db, monkeypatch, attempts)

    assert checked == service.MAX_FAILURES_PER_EMAIL
    assert outcomes.count(None) == service.MAX_FAILURES_PER_EMAIL
    throttled = [o for o in outcomes if isinstance(o, service.Throttled)]
    assert len(throttled) == 30 - service.MAX_FAILURES_PER_EMAIL
    with db.read() as session:
        assert service.failures_for(session, "ann@example.com") == service.MAX_FAILURES_PER_EMAIL


def test_parallel_wrong_passwords_from_one_address_check_only_the_limit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = [(f"u{n}@example.com", IP) for n in range(30)]

    checked, outcomes = parallel_sign_ins(db, monkeypatch, attempts)

    assert checked == service.MAX_FAILURES_PER_IP
    assert (
        sum(isinstance(o, service.Throttled) for o in outcomes) == 30 - service.MAX_FAILURES_PER_IP
    )


def test_a_slow_password_check_does_not_hold_up_another_sign_in_from_the_address(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in lock covers counting and recording the attempt, not the password check:
    behind a proxy every sign-in shares one address, and they must not run one at a time."""
    add_user(db, "ann@example.com")
    add_user(db, "bob@example.com")
    checking, release = threading.Event(), threading.Event()
    calls = itertools.count()
    verify = service._verify

    def first_one_held(password_hash: str, password: str) -> bool:
        if next(calls) == 0:
            checking.set()
            release.wait(timeout=120)
        return verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", first_one_held)
    with ThreadPoolExecutor(max_workers=2) as pool:
        ann = pool.submit(sign_in, db, "ann@example.com")
        assert checking.wait(timeout=120)
        bob = pool.submit(sign_in, db, "bob@example.com")
        try:
            # Before the fix Bob waited for Ann's lock (PostgreSQL) or write lock (SQLite).
            bob_outcome = bob.result(timeout=30)
            ann_still_checking = not ann.done()
        finally:
            release.set()

    assert bob_outcome == "bob@example.com"
    assert ann_still_checking
    assert ann.result() == "ann@example.com"
    with db.read() as session:
        assert service.failures_for(session, "ann@example.com") == 0
        assert service.failures_for(session, "bob@example.com") == 0


def test_session_token_resolves_to_the_user_and_only_its_hash_is_stored(db: Database) -> None:
    add_user(db, "ann@example.com", Role.ADMIN)

    token = start(db, "ann@example.com")

    found = principal(db, token)
    assert found is not None
    assert (found.email, found.role) == ("ann@example.com", Role.ADMIN)
    with db.read() as session:
        stored = session.scalars(select(StaffSession.id)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    assert principal(db, token + "x") is None


def test_new_session_replaces_the_old_one_and_sign_out_ends_it(db: Database) -> None:
    add_user(db)
    first = start(db, "ann@example.com")

    second = start(db, "ann@example.com", replaces=first)

    assert second != first
    assert principal(db, first) is None
    assert principal(db, second) is not None
    with db.write() as session:
        service.end_session(session, second)
    assert principal(db, second) is None


def test_expired_session_and_inactive_user_do_not_resolve(db: Database) -> None:
    add_user(db, "ann@example.com")
    add_user(db, "bob@example.com")
    ann, bob = start(db, "ann@example.com"), start(db, "bob@example.com")

    with db.write() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == service.hash_token(ann))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.execute(
            update(StaffUser).where(StaffUser.email == "bob@example.com").values(is_active=False)
        )

    assert principal(db, ann) is None
    assert principal(db, bob) is None


def test_set_password_ends_every_session_and_the_new_password_works(db: Database) -> None:
    add_user(db, "ann@example.com")
    sessions = [start(db, "ann@example.com") for _ in range(2)]

    with db.write() as session:
        service.set_password(session, "Ann@Example.com", "a brand new password")

    assert all(principal(db, token) is None for token in sessions)
    assert sign_in(db, "ann@example.com") is None
    assert sign_in(db, "ann@example.com", "a brand new password") == "ann@example.com"
    with pytest.raises(service.AccountError, match="no staff user"), db.write() as session:
        service.set_password(session, "nobody@example.com", "a brand new password")


def new_token(db: Database, name: str) -> str:
    with db.write() as session:
        return service.create_token(session, name)


def revoke(db: Database, name: str) -> None:
    with db.write() as session:
        service.revoke_token(session, name)


def test_api_token_is_shown_once_and_stored_as_a_hash(db: Database) -> None:
    token = new_token(db, "zapier")

    assert token.startswith("lsk_")
    assert len(token) > 40
    assert token_name(db, token) == "zapier"
    assert token_name(db, token[:-1]) is None
    with db.read() as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.name, row.token_hash)
    with pytest.raises(service.AccountError, match="'zapier' already exists"):
        new_token(db, "zapier")


def test_revoked_token_stops_working(db: Database) -> None:
    token = new_token(db, "zapier")

    revoke(db, "zapier")

    assert token_name(db, token) is None
    with pytest.raises(service.AccountError, match="no active API token named 'zapier'"):
        revoke(db, "zapier")


def test_revoking_an_unknown_token_is_refused(db: Database) -> None:
    with pytest.raises(service.AccountError, match="'nope'"):
        revoke(db, "nope")
