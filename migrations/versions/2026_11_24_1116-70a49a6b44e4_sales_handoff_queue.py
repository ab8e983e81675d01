"""sales handoff queue

Revision ID: 70a49a6b44e4
Revises: a7c3e91b5d24
Create Date: 2026-11-24 11:16:46.741766
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "70a49a6b44e4"
down_revision = "a7c3e91b5d24"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "change_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("resolved_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_handoff_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff")),
    )
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_handoff_open", ["resolved_at", "opened_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_open")
        batch_op.drop_index(batch_op.f("ix_handoff_lead_id"))

    op.drop_table("handoff")
