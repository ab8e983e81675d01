"""What every ``leadshelf`` command shares: settings, the database, one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from portal.accounts import service
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings, SettingsError
from tracking.rules.config import ModelError
from tracking.rules.config_file import load_model


class CliError(click.ClickException):
    """A one-line error on stderr and exit status 1."""


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except (SettingsError, ModelError, service.AccountError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(
            f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        ) from None


def settings_for(ctx: click.Context, listening: tuple[str, int] | None = None) -> Settings:
    config: Path | None = ctx.find_root().params.get("config")
    with friendly_errors():
        settings = Settings.from_env(config_file=config, listening=listening)
        load_model(settings.model)  # a wrong model file stops every command with its key and reason
        return settings


def open_database(settings: Settings) -> Database:
    with friendly_errors():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.resolved_database_url)
    try:
        upgrade_to_head(database)
    except Exception as exc:
        database.dispose()
        raise CliError(f"cannot open the database: {first_line(exc)}") from None
    return database


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def with_session(settings: Settings, work: Callable[[Any], Any]) -> Any:
    database = open_database(settings)
    try:
        with friendly_errors(), database.write() as session:
            return work(session)
    finally:
        database.dispose()
