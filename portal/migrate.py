"""Bring a database to the newest schema with Alembic (the only way the schema changes)."""

from __future__ import annotations

import functools
import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from portal.db import Database
from portal.resources import resource_path
from tracking.pipeline import partitions

# Any constant works; it only has to be the same for every Leadshelf process.
_PG_MIGRATION_LOCK = 0x1EAD5E1F


def include_in_comparison(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object`` for comparing the schema with the models: on PostgreSQL
    the event table's partitions are tables of their own, and its ``uid`` is unique per
    partition (``tracking.pipeline.partitions``) rather than by the model's one constraint."""
    if type_ == "table" and reflected and name is not None and partitions.is_partition(name):
        return False
    return not (type_ == "unique_constraint" and name == "uq_event_uid" and compare_to is None)


def alembic_config() -> Config:
    """The Alembic configuration of the shipped migrations folder."""
    config = Config(str(resource_path("alembic.ini")))
    config.set_main_option("script_location", str(resource_path("migrations")))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the shipped migrations, read once a process (parsing the
    migration scripts takes 35 ms, and every app start-up asks)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    # Alembic narrates every context at INFO; Leadshelf reports what it applied itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(database: Database) -> bool:
    """Migrate to head; returns True when something was applied.

    On PostgreSQL a transaction-scoped advisory lock makes concurrent starters
    (several workers) wait for each other; on SQLite the IMMEDIATE write
    transaction does the same.
    """
    if current_revision(database) == head_revision():
        return False
    config = alembic_config()
    with database.write_connection() as connection:
        if not database.is_sqlite:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return True
