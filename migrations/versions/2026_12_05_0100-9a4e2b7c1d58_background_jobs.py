"""background jobs

Revision ID: 9a4e2b7c1d58
Revises: 8c3b7d4e6f12
Create Date: 2026-12-05 01:00:00

The last known state of each background job in each process (issue 14,
``portal.job_records.JobRecord``): what /console/system and /healthz read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "9a4e2b7c1d58"
down_revision = "8c3b7d4e6f12"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "background_job",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_started_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_duration", sa.Float(), nullable=True),
        sa.Column("last_outcome", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "node", name=op.f("pk_background_job")),
    )


def downgrade() -> None:
    op.drop_table("background_job")
