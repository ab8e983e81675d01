"""Helpers the benchmarks share (files starting with "_" are not run by `make bench`)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.settings import Settings


def fresh_postgres(url: str, suffix: str) -> str:
    """Create (or re-create) the database ``<test database>_<suffix>`` and return its URL."""
    base = make_url(Settings(database_url=url).resolved_database_url)
    name = f"{base.database}_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)
