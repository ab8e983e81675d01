"""Gate experiments' figures: what each arm's exposed browsers did (kept by the
content-intelligence job), and the exposures indexed by experiment and arm.

Revision ID: e4a7c2b9d150
Revises: 07583d875eab
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "e4a7c2b9d150"
down_revision = "07583d875eab"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_arm_figures",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=6), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.Column("engaged", sa.Integer(), nullable=False),
        sa.Column("engaged_seconds", sa.Float(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("new_leads", sa.Integer(), nullable=False),
        sa.Column("mql", sa.Integer(), nullable=False),
        sa.Column("sql", sa.Integer(), nullable=False),
        sa.Column("opportunity", sa.Integer(), nullable=False),
        sa.Column("computed_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["gate_experiment.id"],
            name=op.f("fk_gate_arm_figures_experiment_id_gate_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "arm", name=op.f("pk_gate_arm_figures")),
    )
    op.create_index("ix_gate_exposure_arm", "gate_exposure", ["experiment_id", "arm"])


def downgrade() -> None:
    op.drop_index("ix_gate_exposure_arm", table_name="gate_exposure")
    op.drop_table("gate_arm_figures")
