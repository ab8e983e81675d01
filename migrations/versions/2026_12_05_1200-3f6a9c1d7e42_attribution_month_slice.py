"""attribution month slice index

Revision ID: 3f6a9c1d7e42
Revises: 8e1f4a6b3c25
Create Date: 2026-12-05 12:00:00

Issue 17's evaluation: the attribution report reads one family under one model and window
over a range of months; the primary key starts with the month, so every report scanned all
families, models and windows of its months (82,000 of 89,000 rollup rows at 20,000 leads for
12 months). The index holds the slice and the summed columns, so a report reads only its rows.
"""

from __future__ import annotations

from alembic import op

revision = "3f6a9c1d7e42"
down_revision = "8e1f4a6b3c25"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_attribution_month_slice"),
        "attribution_month",
        ["family", "model", "window_days", "month", "milestone", "key", "credit", "touched"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_attribution_month_slice"), table_name="attribution_month")
