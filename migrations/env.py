"""Alembic environment: runs on the connection portal/migrate.py hands over, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from portal.migrate import include_in_comparison
from portal.models import metadata
from portal.settings import Settings

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Developer use (`alembic upgrade head`, `alembic revision --autogenerate`).
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().resolved_database_url
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
