"""The buying process per topic, kept by the content-intelligence job so its page reads one
row (``content_process``).

Revision ID: f3b8d1c6a274
Revises: e4a7c2b9d150
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "f3b8d1c6a274"
down_revision = "e4a7c2b9d150"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_process",
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("computed_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_content_process")),
    )


def downgrade() -> None:
    op.drop_table("content_process")
