"""``leadshelf programs …``: nurture programs as code and from the command line.

- ``list``: every program with its status, version and how many leads are in it;
- ``from-template NAME [--activate]``: create the programs of a built-in template;
- ``export [NAME] [--output FILE]``: the programs (or one) as readable YAML;
- ``import FILE [--activate]``: create or update programs from such a file. A program whose
  definition changed gets a new version when leads ever entered it (they finish the version
  they started); a draft nobody entered is edited in place. A wrong file changes nothing and
  says where the fault is;
- ``tick [--at ISO-8601]``: run the scheduler once, as if at that time (operators catching
  up, tests and demos driving time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.definition import DefinitionError, Status, from_yaml, to_yaml
from nurture.programs.models import Enrollment, EnrollmentStatus, Program
from nurture.programs.templates import TEMPLATES, template
from portal import program_jobs
from portal.cli_support import CliError, open_database, settings_for
from tracking.rules.config_file import load_model

BY = "cli"


@click.group(help="Nurture programs: templates, YAML export and import, and the scheduler.")
def programs() -> None:
    pass


@programs.command("list", help="Every program: status, version, leads in it now.")
@click.pass_context
def list_programs(ctx: click.Context) -> None:
    database = open_database(settings_for(ctx))
    try:
        with database.read() as session:
            active = dict(
                session.execute(
                    select(Enrollment.program_id, func.count())
                    .where(Enrollment.status == EnrollmentStatus.ACTIVE.value)
                    .group_by(Enrollment.program_id)
                ).all()
            )
            rows = list(session.scalars(select(Program).order_by(Program.name)))
            if not rows:
                click.echo("No programs yet: leadshelf programs from-template welcome")
            for program in rows:
                click.echo(
                    f"{program.name}  [{program.status}, version {program.version}, "
                    f"trigger {program.trigger}, {active.get(program.id, 0)} lead(s) in it]"
                )
    finally:
        database.dispose()


@programs.command(
    "from-template",
    help=f"Create the programs of a built-in template ({', '.join(TEMPLATES)}) as drafts, or "
    "active with --activate. A program of the same name is left as it is.",
)
@click.argument("name", type=click.Choice(list(TEMPLATES)))
@click.option("--activate", is_flag=True, help="Activate the new programs at once.")
@click.pass_context
def from_template(ctx: click.Context, name: str, activate: bool) -> None:
    database = open_database(settings_for(ctx))
    now = utcnow()
    try:
        with database.write() as session:
            for definition in template(name):
                if session.scalar(select(Program.id).where(Program.name == definition.name)):
                    click.echo(f"{definition.name}: exists already, left as it is")
                    continue
                status = Status.ACTIVE.value if activate else None
                saved = store.save(session, definition, by=BY, now=now, status=status,
                                   note=f"template {name}")  # fmt: skip
                click.echo(f"{definition.name}: created ({saved.program.status})")
    finally:
        database.dispose()


@programs.command("export", help="Write the programs (or the one named) as YAML.")
@click.argument("name", required=False)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
@click.pass_context
def export(ctx: click.Context, name: str | None, output: Path | None) -> None:
    database = open_database(settings_for(ctx))
    try:
        with database.read() as session:
            query = select(Program).order_by(Program.name)
            if name is not None:
                query = query.where(Program.name == name)
            rows = list(session.scalars(query))
            if name is not None and not rows:
                raise CliError(f"no program named {name!r}")
            text = to_yaml([(store.current(session, p), p.status) for p in rows]) if rows else ""
    finally:
        database.dispose()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(rows)} program(s) written to {output}", err=True)


@programs.command(
    "import",
    help="Create or update programs from a YAML file (several separated by ---). A status in "
    "the file is applied; --activate activates every program of the file.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--activate", is_flag=True, help="Activate every program of the file.")
@click.pass_context
def import_programs(ctx: click.Context, file: Path, activate: bool) -> None:
    try:
        found = from_yaml(file.read_text(encoding="utf-8"))
    except DefinitionError as exc:
        raise CliError(f"{file}: {exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{file}: not a UTF-8 text file") from None
    database = open_database(settings_for(ctx))
    now = utcnow()
    try:
        with database.write() as session:
            lines = []
            for definition, status in found:
                wanted = Status.ACTIVE.value if activate else status
                before = session.scalar(
                    select(Program.status).where(Program.name == definition.name)
                )
                try:
                    saved = store.save(session, definition, by=BY, now=now, status=wanted,
                                       note=f"imported from {file.name}")  # fmt: skip
                except ValueError as exc:
                    raise CliError(f"{definition.name}: {exc}") from None
                moved = f"; was {before}" if before and before != saved.program.status else ""
                lines.append(
                    f"{definition.name}: {saved.outcome} (version {saved.program.version}, "
                    f"{saved.program.status}{moved})"
                )
    finally:
        database.dispose()
    for line in lines:
        click.echo(line)


def _moment(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--at {value!r}: write an ISO-8601 time, e.g. 2026-12-24T09:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@programs.command(
    "tick", help="Run due program work once: triggers, goals and due steps, as if at --at."
)
@click.option("--at", "at", help="ISO-8601 time to act as if it were now (default: now).")
@click.pass_context
def tick(ctx: click.Context, at: str | None) -> None:
    settings = settings_for(ctx)
    now = _moment(at)
    database = open_database(settings)
    try:
        done = program_jobs.tick(database, settings, load_model(settings.model), now)
    finally:
        database.dispose()
    click.echo(done.describe() or "nothing was due")
