"""The ``leadshelf`` command line (CONTRACT.md, "CLI")."""

from __future__ import annotations

import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import content
from content import indexer
from content.files import FileStore
from content.importer import ImportReport, asset_files, import_folder
from content.search.index import SearchIndex
from portal import __version__, account_jobs, jobs, listening
from portal.accounts import service
from portal.accounts.models import Role
from portal.background import Runner
from portal.cli_accounts import token, user
from portal.cli_bounces import bounces
from portal.cli_company_accounts import accounts
from portal.cli_mail import mail
from portal.cli_programs import programs
from portal.cli_support import (
    CliError,
    friendly_errors,
    open_database,
    settings_for,
)
from portal.db import Database
from portal.demo_mail import DemoCatcher
from portal.settings import Settings, env_names, listening_url
from tracking.pipeline import leadstate, rollups
from tracking.rules.config_file import load_model

DEMO_LIBRARY = Path(content.__file__).resolve().parent / "demo_library"
DEMO_POSTAL_ADDRESS = "Leadshelf Demo, Example Street 1, 20095 Hamburg, Germany"
DEMO_PASSWORD_FILE = "demo-login.txt"  # noqa: S105 (a file name)
DEMO_STAFF = (
    ("admin@leadshelf.example", Role.ADMIN, "Ada Admin"),
    ("editor@leadshelf.example", Role.EDITOR, "Eddie Editor"),
    ("marketer@leadshelf.example", Role.MARKETER, "Mia Marketer"),
)

_SETTINGS_HELP = "Settings (environment, or the same keys in ./leadshelf.toml): " + ", ".join(
    env_names()
)


@click.group(
    help=f"Leadshelf {__version__}: content library and self-nurturing portal.\n\n{_SETTINGS_HELP}"
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file with settings (default: $LEADSHELF_CONFIG or ./leadshelf.toml).",
)
@click.version_option(__version__, prog_name="leadshelf")
def main(config: Path | None) -> None:
    pass


@main.command(help="Create the data dir and bring the database to the newest schema (idempotent).")
@click.pass_context
def init(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    database = open_database(settings)
    database.dispose()
    click.echo(f"Data dir {settings.data_dir.resolve()} ready; database at the newest schema.")


@main.command(help="Run the web app.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--demo", is_flag=True, help="Load the demo staff users (and library) if the database is empty."
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--no-jobs",
    is_flag=True,
    help="Web only: leave the shared background jobs to `leadshelf worker` "
    "(sets LEADSHELF_JOBS_IN_PROCESS=false).",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, demo: bool, workers: int, no_jobs: bool
) -> None:
    if no_jobs:
        os.environ["LEADSHELF_JOBS_IN_PROCESS"] = "false"  # read by every worker process
    settings = settings_for(ctx, listening=(host, port))
    try:
        sock = listening.bind(host, port)
    except OSError as exc:
        shown = f"[{host}]" if ":" in host else host
        raise CliError(f"cannot listen on {shown}:{port}: {exc.strerror or exc}") from None
    try:
        database = open_database(settings)
        try:
            if demo:
                _load_demo_staff(database, settings)
                if _asset_count(database) == 0:
                    _import(settings, database, DEMO_LIBRARY, publish_all=True)
        finally:
            database.dispose()
        # The demo catches its mail unless an SMTP server is configured (that one wins).
        catcher = DemoCatcher(settings.data_dir).start() if demo and not settings.smtp_url else None
    except BaseException:
        sock.close()
        raise
    click.echo(f"Leadshelf is running at {listening_url(host, port)}  (console: /console)")
    if demo:
        _print_demo_logins(settings)
    if catcher is not None:
        os.environ["LEADSHELF_SMTP_URL"] = catcher.url  # read by every worker process
        click.echo(f"Demo mailbox: mail is caught at {catcher.url} and shown at /console/mailbox")
        if address := demo_postal_address(settings):
            os.environ["LEADSHELF_POSTAL_ADDRESS"] = address  # read by every worker process
            click.echo(f"Demo postal address for marketing mail: {address}")
    _exportsettings_for(ctx)
    os.environ["LEADSHELF_BASE_URL"] = settings.base_url  # links follow the port (workers too)
    try:
        started = listening.serve(
            sock,
            app="portal.app:create_app_from_env",
            factory=True,
            workers=workers,
            log_level="warning",
            access_log=False,  # access lines are INFO: never shown at this level, yet formatted
            # Forwarded headers only from the proxies named in LEADSHELF_TRUSTED_PROXIES.
            proxy_headers=bool(settings.trusted_proxies.strip()),
            forwarded_allow_ips=settings.trusted_proxies.strip() or None,
        )
    finally:
        if catcher is not None:
            catcher.stop()
    if not started:
        ctx.exit(3)


def demo_postal_address(settings: Settings) -> str | None:
    """The footer address the demo's catcher mail gets when none is set: marketing mail
    (programs) is refused without one, and the demo should show programs end to end."""
    return None if settings.postal_address.strip() else DEMO_POSTAL_ADDRESS


def _exportsettings_for(ctx: click.Context) -> None:
    """Workers rebuild settings from the environment, so hand them the --config choice."""
    config = ctx.find_root().params.get("config")
    if config is not None:
        os.environ["LEADSHELF_CONFIG"] = str(Path(config).resolve())


def _load_demo_staff(database: Database, settings: Settings) -> None:
    with database.write() as session:
        if service.count_users(session) > 0:
            return
        password = secrets.token_urlsafe(12)
        for email, role, name in DEMO_STAFF:
            service.create_user(session, email, role, password, display_name=name)
    path = settings.data_dir / DEMO_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")


def _print_demo_logins(settings: Settings) -> None:
    path = settings.data_dir / DEMO_PASSWORD_FILE
    if not path.exists():
        click.echo("Staff users already exist; sign in with your own account.")
        return
    password = path.read_text(encoding="utf-8").strip()
    click.echo(f"Demo staff login (password {password}):")
    for email, role, _ in DEMO_STAFF:
        click.echo(f"  {role.value:<9} {email}")


def _asset_count(database: Database) -> int:
    from sqlalchemy import func, select

    from content.models import Asset

    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Asset)) or 0


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _import(
    settings: Settings, database: Database, folder: Path, *, publish_all: bool
) -> ImportReport:
    store = FileStore(settings.files_dir, max_bytes=settings.max_upload_mb * 1024 * 1024)
    with friendly_errors():
        paths = asset_files(folder)
    with _progress() as progress:
        task = progress.add_task(f"Importing {folder}", total=len(paths))
        report = import_folder(
            database.write,
            store,
            folder,
            publish_all=publish_all,
            progress=lambda _path: progress.advance(task),
        )
    with database.read() as session:
        indexer.sync(session, SearchIndex(settings.search_dir))
    return report


@main.command(
    "import", help="Import assets from a folder of Markdown files with YAML front matter."
)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--publish", is_flag=True, help="Publish every imported asset (default: as each file says)."
)
@click.pass_context
def import_command(ctx: click.Context, folder: Path, publish: bool) -> None:
    settings = settings_for(ctx)
    database = open_database(settings)
    try:
        report = _import(settings, database, folder, publish_all=publish)
    finally:
        database.dispose()
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.problems)} with problems."
    )
    for problem in report.problems:
        click.echo(f"  {problem.path}: {problem.reason}", err=True)
    if report.problems:
        ctx.exit(1)


@main.command(help="Load the demo library (idempotent: re-running updates it by slug).")
@click.pass_context
def demo(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    with friendly_errors():
        model = load_model(settings.model)
    database = open_database(settings)
    try:
        report = _import(settings, database, DEMO_LIBRARY, publish_all=True)
        placed, made = account_jobs.backfill(database, model)  # the demo's leads, if any
    finally:
        database.dispose()
    click.echo(
        f"Demo library: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged. Accounts: {placed} lead(s) in {made} account(s)."
    )
    if report.problems:
        raise CliError(
            f"{len(report.problems)} demo files failed; first: "
            f"{report.problems[0].path}: {report.problems[0].reason}"
        )


@main.command(help="Rebuild the search index from the database.")
@click.pass_context
def reindex(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    database = open_database(settings)
    index = SearchIndex(settings.search_dir)
    try:
        with _progress() as progress, database.read() as session:
            task = progress.add_task("Indexing", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            count = indexer.rebuild(session, index, progress=advance)
    finally:
        database.dispose()
    click.echo(f"Search index rebuilt: {count} live assets.")


@main.command(
    help="Recompute every lead's stage and scores from its events under the current model."
)
@click.pass_context
def rescore(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    with friendly_errors():
        model = load_model(settings.model)
    database = open_database(settings)
    try:
        with _progress() as progress:
            task = progress.add_task("Rescoring leads", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            leads, changes = leadstate.rescore_all(database, model, progress=advance)
    finally:
        database.dispose()
    click.echo(f"Rescored {leads} leads; {changes} changes logged.")


@main.command(
    help="Rebuild the console's daily roll-ups from the raw events still kept, and the per-asset "
    "lead figures (after an upgrade, or to repair them)."
)
@click.pass_context
def rollup(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    database = open_database(settings)
    try:
        with _progress() as progress:
            task = progress.add_task("Rolling up events by day", total=None)
            with database.write() as session:
                events = rollups.rebuild(session)
            progress.update(task, description="Counting leads per asset", completed=1, total=2)
            with database.write() as session:
                assets = rollups.refresh_lead_stats(session)
            progress.update(task, completed=2, total=2)
    finally:
        database.dispose()
    click.echo(f"Rolled up {events} events; lead figures for {assets} assets.")


@main.command(
    help="Run the background jobs without HTTP (publishing, re-scoring, retention, webhook "
    "delivery, PDF text …) until stopped; SIGTERM or Ctrl-C finish the passes in hand, then exit. "
    "Run beside `serve --no-jobs`; several workers share the work, each singleton job runs in "
    "one of them at a time."
)
@click.option("--once", is_flag=True, help="One pass of each job, then exit (1 if one failed).")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    settings = settings_for(ctx)
    with friendly_errors():
        model = load_model(settings.model)
    database = open_database(settings)
    try:
        with friendly_errors():
            runner = jobs.runner_for(jobs.parts_for(settings, database, model), jobs.for_worker)
        if once:
            states = runner.run_all_once().values()
            runner.locks.release_all()
            for state in states:
                said = state.waiting or (
                    f"failed: {state.last_error}" if state.failures else state.last_outcome
                )
                click.echo(f"{state.name}: {said}")
            if any(state.failures for state in states):
                ctx.exit(1)
            return
        _run_until_signalled(runner)
    finally:
        database.dispose()


def _run_until_signalled(runner: Runner) -> None:
    """Run the jobs until SIGTERM or SIGINT, then stop them (the passes in hand finish)."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        runner.start()
        names = ", ".join(job.name for job in runner.jobs)
        click.echo(f"Worker running jobs: {names}. Stop with Ctrl-C or SIGTERM.", err=True)
        stop.wait()
    finally:
        stragglers = runner.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stragglers:
        click.echo(
            f"Worker stopped; still running when it left: {', '.join(stragglers)}.", err=True
        )
    else:
        click.echo("Worker stopped.", err=True)


main.add_command(user)
main.add_command(token)
main.add_command(mail)
main.add_command(bounces)
main.add_command(programs)
main.add_command(accounts)
