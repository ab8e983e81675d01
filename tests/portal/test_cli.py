"""The ``leadshelf`` command line, run against the test database of each backend."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from content.orm import utcnow
from portal import listening
from portal.accounts import service
from portal.accounts.models import ApiToken, StaffUser
from portal.cli import main
from portal.db import Database
from portal.settings import env_names
from tests.servers import free_port

PASSWORD = "long-enough-pw"
Run = Callable[..., Result]


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke ``leadshelf`` with settings pointing at the test database and a temp data dir."""
    monkeypatch.chdir(tmp_path)  # no stray ./leadshelf.toml
    base_env: dict[str, str | None] = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": "cli-test-secret-key-0123456789",
        "LEADSHELF_BASE_URL": None,
        "LEADSHELF_MODEL": None,
        "LEADSHELF_CONFIG": None,
    }

    def invoke(*args: str, stdin: str | None = None, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), input=stdin, env={**base_env, **env})

    return invoke


def one_line_error(result: Result) -> str:
    """The error a failed command printed: exactly one line on stderr, no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), f"crashed with {result.exception!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def authenticates(db: Database, email: str, password: str) -> bool:
    return isinstance(service.authenticate(db, email, password, "127.0.0.1"), StaffUser)


def token_name(db: Database, token: str) -> str | None:
    with db.read() as session:
        return service.token_name_for(session, token)


def test_help_lists_the_commands_and_every_setting(run: Run) -> None:
    result = run("--help")

    assert result.exit_code == 0
    listed = set(re.findall(r"^\s{2}(\w+)\s", result.output.split("Commands:", 1)[1], re.MULTILINE))
    assert {"init", "serve", "user", "token"} <= listed
    for name in env_names():
        assert name in result.output
    assert {"add", "password"} <= set(
        re.findall(r"^\s{2}(\w+)", run("user", "--help").output, re.M)
    )


def test_version_is_printed(run: Run) -> None:
    result = run("--version")

    assert result.exit_code == 0
    assert re.fullmatch(r"leadshelf, version \d+\.\d+\.\d+\n", result.output)


def test_init_is_idempotent(run: Run, tmp_path: Path) -> None:
    first = run("init")
    second = run("init")

    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert "newest schema" in second.stdout
    assert (tmp_path / "data").is_dir()


def test_user_add_reads_the_password_from_stdin(run: Run, db: Database) -> None:
    result = run("user", "add", "Ed@Example.com", "--role", "editor", stdin=PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert "ed@example.com (editor) created" in result.stdout
    assert PASSWORD not in result.output
    assert authenticates(db, "ed@example.com", PASSWORD)
    with db.read() as session:
        assert session.scalars(select(StaffUser.role)).one() == "editor"


def test_user_add_without_a_password_fails_cleanly(run: Run, db: Database) -> None:
    result = run("user", "add", "ed@example.com", "--role", "editor", stdin="")

    assert "no password" in one_line_error(result)
    with db.read() as session:
        assert service.count_users(session) == 0


def test_user_add_refuses_a_duplicate(run: Run) -> None:
    assert run("user", "add", "ed@example.com", "--role", "editor", stdin=PASSWORD).exit_code == 0

    result = run("user", "add", "ED@example.com", "--role", "admin", stdin=PASSWORD)

    assert "already exists" in one_line_error(result)


def test_user_add_refuses_a_short_password(run: Run) -> None:
    result = run("user", "add", "ed@example.com", "--role", "editor", stdin="short\n")

    assert "at least 10 characters" in one_line_error(result)


def test_password_is_never_accepted_as_an_option(run: Run, db: Database) -> None:
    result = run("user", "add", "x@y.co", "--role", "editor", "--password", "secret-password")

    assert result.exit_code == 2
    assert re.search(r"No such option:? '?--password", result.stderr)
    with db.read() as session:
        assert service.count_users(session) == 0


def test_unknown_role_is_rejected(run: Run) -> None:
    result = run("user", "add", "x@y.co", "--role", "owner", stdin=PASSWORD)

    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output


def test_user_password_changes_the_password(run: Run, db: Database) -> None:
    run("user", "add", "ed@example.com", "--role", "editor", stdin=PASSWORD)

    result = run("user", "password", "ed@example.com", stdin="another-long-pw\n")

    assert result.exit_code == 0, result.output
    assert not authenticates(db, "ed@example.com", PASSWORD)
    assert authenticates(db, "ed@example.com", "another-long-pw")
    assert "no staff user" in one_line_error(
        run("user", "password", "no@example.com", stdin=PASSWORD)
    )


def test_token_add_prints_a_working_token_stored_only_as_a_hash(run: Run, db: Database) -> None:
    result = run("token", "add", "zapier")

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"lsk_[\w-]{40,}", token)
    assert "cannot be shown again" in result.stderr
    assert token_name(db, token) == "zapier"
    with db.read() as session:
        stored = session.execute(select(ApiToken.__table__)).all()
    assert len(stored) == 1
    assert all(token not in str(value) for value in stored[0])


def test_token_revoke_stops_the_token(run: Run, db: Database) -> None:
    token = run("token", "add", "zapier").stdout.strip()

    result = run("token", "revoke", "zapier")

    assert result.exit_code == 0, result.output
    assert token_name(db, token) is None
    assert "no active API token" in one_line_error(run("token", "revoke", "zapier"))


def test_malformed_base_url_fails_with_a_one_line_error(run: Run) -> None:
    result = run("init", LEADSHELF_BASE_URL="garbage")

    assert "base_url" in one_line_error(result)


def test_unsupported_database_url_fails_with_a_one_line_error(run: Run) -> None:
    result = run("init", LEADSHELF_DATABASE_URL="mysql://leadshelf@db/leadshelf")

    assert "database_url" in one_line_error(result)


def test_data_dir_that_is_a_file_fails_with_a_one_line_error(run: Run, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("", encoding="utf-8")

    result = run("init", LEADSHELF_DATA_DIR=str(not_a_folder))

    assert str(not_a_folder) in one_line_error(result)


def test_rescore_applies_a_changed_model_to_every_lead(
    run: Run, db: Database, tmp_path: Path
) -> None:
    from tests.factories import make_asset
    from tracking import events
    from tracking.identity import identify
    from tracking.models import Lead, LeadChange
    from tracking.pipeline.ingest import record
    from tracking.rules.config import Model

    guide = make_asset(db, slug="pricing-guide", stage="decision")
    with db.write() as session:
        lead = identify.get_or_create_lead(session, "ada@example.com", utcnow())[0]
        record(
            session,
            [events.Download(visitor_id="v1", lead_id=lead.id, asset_id=guide.id)],
            model=Model(),
        )
        lead_id = lead.id
    with db.read() as session:
        assert session.get(Lead, lead_id).journey_stage == "awareness"  # 4 points < 12
    model = tmp_path / "model.toml"
    model.write_text("[scoring.stage_thresholds]\ndecision = 3\n")
    result = run("rescore", LEADSHELF_MODEL=str(model))
    assert result.exit_code == 0, result.output
    assert "Rescored 1 leads" in result.output
    with db.read() as session:
        assert session.get(Lead, lead_id).journey_stage == "decision"
        change = session.query(LeadChange).filter_by(lead_id=lead_id, kind="stage").one()
    assert (change.old, change.new) == ("awareness", "decision")


def test_rescore_refuses_a_wrong_model_file(run: Run, tmp_path: Path) -> None:
    model = tmp_path / "model.toml"
    model.write_text("[scoring]\nhalf_life_days = 'a month'\n")
    result = run("rescore", LEADSHELF_MODEL=str(model))
    assert result.exit_code == 1
    assert "scoring.half_life_days" in result.output


@pytest.mark.parametrize(
    ("trusted", "proxy_headers", "allowed"),
    [("", False, None), ("10.0.0.0/8, 127.0.0.1", True, "10.0.0.0/8, 127.0.0.1")],
)
def test_serve_believes_forwarded_headers_only_from_trusted_proxies(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    trusted: str,
    proxy_headers: bool,
    allowed: str | None,
) -> None:
    started: dict[str, object] = {}

    def serve(sock: socket.socket, **options: object) -> bool:
        sock.close()
        started.update(options)
        return True

    monkeypatch.setattr(listening, "serve", serve)
    result = run("serve", "--port", str(free_port()), LEADSHELF_TRUSTED_PROXIES=trusted)
    assert result.exit_code == 0, result.output
    assert (started["proxy_headers"], started["forwarded_allow_ips"]) == (proxy_headers, allowed)
