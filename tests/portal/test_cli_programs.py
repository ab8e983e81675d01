"""``leadshelf programs …`` against the test database of each backend: programs from the
built-in templates, YAML export and import (a round trip changes nothing; an edit over an
active program is a new version the leads already in it do not see), a wrong file refused
with the place of the fault, and ``tick --at`` driving time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from content.orm import utcnow
from nurture.mail.models import MailMessage
from nurture.programs import store
from nurture.programs.models import Enrollment, Program, ProgramVersion
from portal.cli import main
from portal.db import Database
from tests.nurture.mail.subscribers import new_lead, subscribed

Run = Callable[..., Result]


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke ``leadshelf`` with settings pointing at the test database and a temp data dir."""
    monkeypatch.chdir(tmp_path)  # no stray ./leadshelf.toml
    base_env: dict[str, str | None] = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": "cli-test-secret-key-0123456789",
        "LEADSHELF_MAIL_FROM": "Pipewise <news@pipewise.example>",
        "LEADSHELF_POSTAL_ADDRESS": "Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
        "LEADSHELF_SMTP_URL": None,
        "LEADSHELF_DEFAULT_LANGUAGE": None,
        "LEADSHELF_MODEL": None,
        "LEADSHELF_CONFIG": None,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=base_env)

    return invoke


def ok(result: Result) -> list[str]:
    """The lines a successful command printed on stdout."""
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def failure(result: Result) -> str:
    """The one line a failed command printed on stderr (no traceback)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"crashed with {result.exception!r}"
    (line,) = result.stderr.strip().splitlines()
    return line


def stored(db: Database) -> list[tuple[str, str, int, int]]:
    """Every program with its status, current version and number of stored versions."""
    with db.read() as session:
        versions = dict(
            session.execute(
                select(ProgramVersion.program_id, func.count()).group_by(ProgramVersion.program_id)
            ).all()
        )
        return [
            (program.name, program.status, program.version, versions[program.id])
            for program in session.scalars(select(Program).order_by(Program.name))
        ]


def enter(db: Database, name: str, lead_id: int) -> None:
    with db.write() as session:
        program = session.scalars(select(Program).where(Program.name == name)).one()
        assert store.add_leads(session, program, [lead_id], by="test", now=utcnow())


def test_from_template_creates_drafts_and_a_second_run_leaves_them(run: Run, db: Database) -> None:
    first = ok(run("programs", "from-template", "stage-tracks"))
    second = ok(run("programs", "from-template", "stage-tracks", "--activate"))

    names = ["Stage track: awareness", "Stage track: consideration", "Stage track: decision"]
    assert first == [f"{name}: created (draft)" for name in names]
    assert second == [f"{name}: exists already, left as it is" for name in names]
    assert stored(db) == [(name, "draft", 1, 1) for name in names]


def test_from_template_with_activate_creates_active_programs(run: Run, db: Database) -> None:
    assert ok(run("programs", "from-template", "welcome", "--activate")) == [
        "Welcome: created (active)"
    ]
    enter(db, "Welcome", new_lead(db))

    listed = ok(run("programs", "list"))

    assert stored(db) == [("Welcome", "active", 1, 1)]
    assert listed == ["Welcome  [active, version 1, trigger subscribed, 1 lead(s) in it]"]


def test_list_says_how_to_start_when_there_are_no_programs(run: Run) -> None:
    assert ok(run("programs", "list")) == [
        "No programs yet: leadshelf programs from-template welcome"
    ]


def test_export_then_import_round_trips_unchanged(run: Run, db: Database, tmp_path: Path) -> None:
    ok(run("programs", "from-template", "webinar-follow-up", "--activate"))
    before = stored(db)
    exported = tmp_path / "programs.yaml"

    ok(run("programs", "export", "--output", str(exported)))
    imported = ok(run("programs", "import", str(exported)))

    assert imported == [
        "Webinar follow-up: attended: unchanged (version 1, active)",
        "Webinar follow-up: missed: unchanged (version 1, active)",
    ]
    assert stored(db) == before
    assert ok(run("programs", "export")) == exported.read_text(encoding="utf-8").splitlines()


def test_importing_a_change_over_an_entered_program_versions_it(
    run: Run, db: Database, tmp_path: Path
) -> None:
    ok(run("programs", "from-template", "welcome", "--activate"))
    lead_id = new_lead(db)
    enter(db, "Welcome", lead_id)
    text = run("programs", "export", "Welcome").stdout
    edited = tmp_path / "welcome.yaml"
    edited.write_text(text.replace("The basics, in ten minutes", "The basics in 10 minutes"))

    assert ok(run("programs", "import", str(edited))) == ["Welcome: versioned (version 2, active)"]
    assert "The basics in 10 minutes" in run("programs", "export", "Welcome").stdout
    with db.read() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.lead_id, enrollment.version) == (lead_id, 1)
    assert stored(db) == [("Welcome", "active", 2, 2)]


def test_importing_a_change_over_an_untouched_draft_edits_it_in_place(
    run: Run, db: Database, tmp_path: Path
) -> None:
    ok(run("programs", "from-template", "welcome"))
    text = run("programs", "export", "Welcome").stdout
    edited = tmp_path / "welcome.yaml"
    edited.write_text(text.replace("days: 3", "days: 2"))

    assert ok(run("programs", "import", str(edited))) == ["Welcome: updated (version 1, draft)"]
    assert stored(db) == [("Welcome", "draft", 1, 1)]


def test_import_with_activate_says_which_status_a_program_had(
    run: Run, db: Database, tmp_path: Path
) -> None:
    ok(run("programs", "from-template", "welcome"))
    exported = tmp_path / "welcome.yaml"
    ok(run("programs", "export", "Welcome", "--output", str(exported)))

    lines = ok(run("programs", "import", str(exported), "--activate"))

    assert lines == ["Welcome: unchanged (version 1, active; was draft)"]
    assert stored(db) == [("Welcome", "active", 1, 1)]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("trigger:\n  kind: subscribed", "trigger:\n  kind: [subscribed"),
            "not valid YAML",
        ),
        (("reentry: false", "reentry: false\ncolour: red"), "program: unknown key 'colour'"),
        (("days: 3", "days: soon"), "steps[1].wait.days: must be a number"),
        (("kind: subscribed", "kind: newsletter"), "trigger.kind: 'newsletter' is not one of"),
    ],
    ids=["yaml", "unknown-key", "bad-value", "bad-choice"],
)
def test_a_bad_file_changes_nothing_and_names_the_place(
    run: Run, db: Database, tmp_path: Path, change: tuple[str, str], error: str
) -> None:
    ok(run("programs", "from-template", "welcome"))
    exported = run("programs", "export", "Welcome").stdout
    before = stored(db)
    old, new = change
    assert old in exported
    bad = tmp_path / "welcome.yaml"
    bad.write_text(exported.replace(old, new, 1))

    line = failure(run("programs", "import", str(bad)))

    assert line.startswith(f"Error: {bad}: ")
    assert error in line
    assert stored(db) == before
    assert run("programs", "export", "Welcome").stdout == exported


def test_a_yaml_error_names_its_line(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: Broken\ntrigger: {kind: manual\nsteps: []\n")

    line = failure(run("programs", "import", str(bad)))

    assert line.startswith(f"Error: {bad}: line ")
    assert "not valid YAML" in line


def test_a_refused_program_in_a_file_stores_none_of_the_others(
    run: Run, db: Database, tmp_path: Path
) -> None:
    ok(run("programs", "from-template", "welcome", "--activate"))
    enter(db, "Welcome", new_lead(db))
    before = stored(db)
    welcome = run("programs", "export", "Welcome").stdout.replace("status: active", "status: draft")
    both = tmp_path / "both.yaml"
    both.write_text(
        "name: Hand-picked\ntrigger: {kind: manual}\nsteps:\n  - id: bye\n    exit: {}\n---\n"
        + welcome
    )

    line = failure(run("programs", "import", str(both)))

    assert line == (
        "Error: Welcome: leads entered this program: pause or archive it instead of a draft"
    )
    assert stored(db) == before


def test_a_file_that_is_not_text_is_one_line(run: Run, tmp_path: Path) -> None:
    binary = tmp_path / "welcome.pdf"
    binary.write_bytes(b"%PDF-1.4\xff\xfe\x00")

    assert failure(run("programs", "import", str(binary))) == (
        f"Error: {binary}: not a UTF-8 text file"
    )


def test_export_of_an_unknown_program_is_one_line(run: Run) -> None:
    assert failure(run("programs", "export", "Nope")) == "Error: no program named 'Nope'"


@pytest.mark.parametrize("moment", ["tomorrow", "2026-13-01T09:00", ""])
def test_tick_with_a_bad_time_is_one_line(run: Run, db: Database, moment: str) -> None:
    line = failure(run("programs", "tick", "--at", moment))

    assert line.startswith(f"Error: --at {moment!r}: write an ISO-8601 time")


def test_tick_at_a_time_enters_a_subscribed_lead_and_queues_its_first_mail(
    run: Run, db: Database
) -> None:
    ok(run("programs", "from-template", "welcome", "--activate"))
    lead_id = subscribed(db, "ada@example.com", at=utcnow() + timedelta(seconds=1))
    moment = (utcnow() + timedelta(days=1)).replace(hour=13, minute=0, second=0, microsecond=0)

    lines = ok(run("programs", "tick", "--at", moment.strftime("%Y-%m-%dT%H:%M")))

    assert lines != ["nothing was due"]
    with db.read() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        message = session.scalars(select(MailMessage)).one()
        assert (enrollment.lead_id, enrollment.entered_at) == (lead_id, moment)
        assert (message.to_address, message.kind, message.lead_id) == (
            "ada@example.com",
            "program",
            lead_id,
        )
    assert ok(run("programs", "tick", "--at", moment.isoformat())) == ["nothing was due"]


def test_tick_reads_a_time_with_a_zone_in_that_zone(run: Run, db: Database) -> None:
    ok(run("programs", "from-template", "welcome", "--activate"))
    subscribed(db, "ada@example.com", at=utcnow() + timedelta(seconds=1))
    moment = (utcnow() + timedelta(days=1)).replace(hour=13, minute=0, second=0, microsecond=0)

    ok(run("programs", "tick", "--at", moment.strftime("%Y-%m-%dT14:00+01:00")))

    with db.read() as session:
        assert session.scalars(select(Enrollment.entered_at)).one() == moment
