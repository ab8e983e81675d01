"""lead engagement_as_of index

Revision ID: 3f6a2d8c1b07
Revises: 70a49a6b44e4
Create Date: 2026-11-24 16:10:00

The background task re-evaluates leads not scored for a day, oldest first, in
batches; without an index every batch scanned and sorted the whole lead table.
"""

from __future__ import annotations

from alembic import op

revision = "3f6a2d8c1b07"
down_revision = "70a49a6b44e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lead_engagement_as_of", "lead", ["engagement_as_of"])


def downgrade() -> None:
    op.drop_index("ix_lead_engagement_as_of", table_name="lead")
