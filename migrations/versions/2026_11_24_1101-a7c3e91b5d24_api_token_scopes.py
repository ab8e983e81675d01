"""api token scopes

Revision ID: a7c3e91b5d24
Revises: 704e9a42eaf4
Create Date: 2026-11-24 11:01:00

Existing tokens keep full access (``write``): scripts that created them with
``leadshelf token add NAME`` and then post events must keep working.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a7c3e91b5d24"
down_revision = "704e9a42eaf4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=8), nullable=False, server_default="write")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("scope")
