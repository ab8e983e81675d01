"""The recommendation audience in shared tables: readers per asset, co-reading pairs, each
reader's counted trail, the queue of readers to count again and the generation; every reader
with engagement is queued, so the job counts the existing history once.

Revision ID: c7a1e9d4b2f6
Revises: d2cfc22d0ea3
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c7a1e9d4b2f6"
down_revision = "d2cfc22d0ea3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audience_reader",
        sa.Column("reader", sa.String(length=40), nullable=False),
        sa.Column("assets", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("reader", name=op.f("pk_audience_reader")),
    )
    op.create_table(
        "audience_asset",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_audience_asset_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_audience_asset")),
    )
    op.create_table(
        "audience_pair",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("later_id", sa.Integer(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_audience_pair_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["later_id"],
            ["asset.id"],
            name=op.f("fk_audience_pair_later_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "later_id", name=op.f("pk_audience_pair")),
    )
    op.create_table(
        "audience_dirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_dirty")),
    )
    state = op.create_table(
        "audience_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_state")),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0}])
    engagement = sa.table(
        "asset_engagement", sa.column("lead_id", sa.Integer), sa.column("visitor_id", sa.String)
    )
    reader = sa.case(
        (
            engagement.c.lead_id.is_not(None),
            sa.literal("l:") + sa.cast(engagement.c.lead_id, sa.String),
        ),
        else_=sa.literal("v:") + engagement.c.visitor_id,
    )
    dirty = sa.table("audience_dirty", sa.column("reader", sa.String))
    op.execute(dirty.insert().from_select(["reader"], sa.select(reader).distinct()))


def downgrade() -> None:
    for name in (
        "audience_state",
        "audience_dirty",
        "audience_pair",
        "audience_asset",
        "audience_reader",
    ):
        op.drop_table(name)
