"""Content intelligence: the gap matrix's cells and their stalled leads, gate experiments and
the browsers exposed to them, snoozed fading flags.

Revision ID: b5d2e8f3a961
Revises: 9a4b2c7d1e58
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "b5d2e8f3a961"
down_revision = "9a4b2c7d1e58"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_cell",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("assets", sa.Integer(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.Column("engaged_seconds", sa.Float(), nullable=False),
        sa.Column("stalled", sa.Integer(), nullable=False),
        sa.Column("stalled_here", sa.Integer(), nullable=False),
        sa.Column("exhausted", sa.Integer(), nullable=False),
        sa.Column("computed_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "language", "stage", "key", name=op.f("pk_content_cell")
        ),
    )
    op.create_table(
        "asset_snooze",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("snoozed_by", sa.String(length=254), nullable=False),
        sa.Column("snoozed_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_snooze_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_snooze")),
    )
    op.create_table(
        "content_stalled_lead",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_content_stalled_lead_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "dimension", "stage", "key", "lead_id", name=op.f("pk_content_stalled_lead")
        ),
    )
    with op.batch_alter_table("content_stalled_lead", schema=None) as batch_op:
        batch_op.create_index("ix_content_stalled_lead_lead", ["lead_id"], unique=False)

    op.create_table(
        "gate_experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(length=10), nullable=False),
        sa.Column("open_share", sa.Float(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("started_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=254), nullable=False),
        sa.Column("ended_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=False),
        sa.Column("applied", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_gate_experiment_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_experiment")),
    )
    with op.batch_alter_table("gate_experiment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_experiment_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "gate_exposure",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=32), nullable=False),
        sa.Column("arm", sa.String(length=6), nullable=False),
        sa.Column("first_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["gate_experiment.id"],
            name=op.f("fk_gate_exposure_experiment_id_gate_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "visitor_id", name=op.f("pk_gate_exposure")),
    )


def downgrade() -> None:
    op.drop_table("gate_exposure")
    with op.batch_alter_table("gate_experiment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_experiment_asset_id"))

    op.drop_table("gate_experiment")
    with op.batch_alter_table("content_stalled_lead", schema=None) as batch_op:
        batch_op.drop_index("ix_content_stalled_lead_lead")

    op.drop_table("content_stalled_lead")
    op.drop_table("asset_snooze")
    op.drop_table("content_cell")
