"""lead search text

Revision ID: b20e72356582
Revises: 3f6a2d8c1b07
Create Date: 2026-11-24 16:20:00

``lead.search_text``: email, name and company folded by ``tracking.folding.search_text``
(case and accents removed), which the console's lead search matches with one ``LIKE``.
Existing leads are filled in batches with the same function. On PostgreSQL a GIN
trigram index serves the search; it needs the ``pg_trgm`` extension (trusted, so a
user allowed to create objects in the database may create it). Where it cannot be
created the migration goes on without the index, says why, and the search scans the
table instead. On SQLite a plain index on the column: a search scans it rather than
the wide lead rows.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

from tracking.folding import search_text

revision = "b20e72356582"
down_revision = "3f6a2d8c1b07"
branch_labels = None
depends_on = None

BATCH = 2_000
logger = logging.getLogger("leadshelf")
lead = sa.table(
    "lead",
    sa.column("id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("name", sa.String()),
    sa.column("company", sa.String()),
    sa.column("search_text", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    _fill(bind)
    if bind.dialect.name != "postgresql":
        op.create_index("ix_lead_search_text", "lead", ["search_text"], unique=False)
    elif _trigram_extension(bind):
        op.create_index(
            "ix_lead_search_text",
            "lead",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def _fill(bind: Connection) -> None:
    """Every existing lead's search text, ``BATCH`` leads per statement, in id order."""
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(lead.c.id, lead.c.email, lead.c.name, lead.c.company)
            .where(lead.c.id > last_id)
            .order_by(lead.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            lead.update().where(lead.c.id == sa.bindparam("lead_id")),
            [
                {"lead_id": row.id, "search_text": search_text(row.email, row.name, row.company)}
                for row in rows
            ],
        )
        last_id = rows[-1].id


def _trigram_extension(bind: Connection) -> bool:
    """Create ``pg_trgm`` if needed; False (and a warning) when the database refuses. A
    savepoint keeps the refusal from aborting the migration's transaction."""
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as refused:
        reason = str(refused.orig).strip().splitlines()[0]
        logger.warning(
            "lead search: no trigram index, searches scan the lead table (cannot create the"
            " pg_trgm extension: %s). A superuser can add it later: CREATE EXTENSION pg_trgm;"
            " CREATE INDEX ix_lead_search_text ON lead USING gin (search_text gin_trgm_ops);",
            reason,
        )
        return False
    return True


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_lead_search_text")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("search_text")
