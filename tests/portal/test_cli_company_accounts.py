"""``leadshelf accounts backfill``: leads written before accounts existed get theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from content.orm import utcnow
from portal.cli import main
from portal.db import Database
from tracking.accounts.models import Account
from tracking.models import Lead


def test_the_backfill_places_old_leads_and_says_how_many(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray ./leadshelf.toml
    now = utcnow()
    with db.write() as session:
        for email in ("ada@initech.example", "bo@eu.initech.example", "cy@web.de"):
            session.add(Lead(email=email, created_at=now, last_activity_at=now))
    env = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": "cli-test-secret-key-0123456789",
        "LEADSHELF_MODEL": None,
        "LEADSHELF_CONFIG": None,
    }
    result = CliRunner().invoke(main, ["accounts", "backfill"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2 lead(s) in 1 account(s)."
    with db.read() as session:
        initech = session.scalars(select(Account)).one()
        placed = dict(session.execute(select(Lead.email, Lead.account_id)).all())
    assert (initech.domain, initech.name, initech.people) == ("initech.example", "Initech", 2)
    assert placed == {
        "ada@initech.example": initech.id,
        "bo@eu.initech.example": initech.id,
        "cy@web.de": None,
    }
    again = CliRunner().invoke(main, ["accounts", "backfill"], env=env)
    assert again.stdout.strip() == "2 lead(s) in 1 account(s)."  # idempotent
