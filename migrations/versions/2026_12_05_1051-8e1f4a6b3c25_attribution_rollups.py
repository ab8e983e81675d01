"""attribution rollups

Revision ID: 8e1f4a6b3c25
Revises: 7c5d3e9a2b14
Create Date: 2026-12-05 10:51:11

Issue 17: the attribution job's monthly rollups (credits per milestone, family, key, model and
window; what no touch explains; time from first touch to MQL and SQL per source) and its state.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "8e1f4a6b3c25"
down_revision = "7c5d3e9a2b14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attribution_gap",
        sa.Column("month", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("milestone", sa.String(length=12), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Float(), nullable=False),
        sa.Column("unattributed", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "milestone", "family", "window_days", name=op.f("pk_attribution_gap")
        ),
    )
    op.create_table(
        "attribution_month",
        sa.Column("month", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("milestone", sa.String(length=12), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=6), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("touched", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "milestone",
            "family",
            "key",
            "model",
            "window_days",
            name=op.f("pk_attribution_month"),
        ),
    )
    op.create_table(
        "attribution_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=False),
        sa.Column("deals_seen_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deals", sa.Integer(), nullable=False),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution_state")),
    )
    op.create_table(
        "attribution_timing",
        sa.Column("month", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("milestone", sa.String(length=12), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "source", "milestone", name=op.f("pk_attribution_timing")),
    )


def downgrade() -> None:
    op.drop_table("attribution_timing")
    op.drop_table("attribution_state")
    op.drop_table("attribution_month")
    op.drop_table("attribution_gap")
