"""The lead list's sort orders, each indexed with the id after its column, so every page of
the list (cut by a cursor on the sort value and id) is one index range, however deep; the
single-column indexes on created_at and last_activity_at give way to their (column, id) pairs.

Revision ID: 07583d875eab
Revises: c7a1e9d4b2f6
"""

from __future__ import annotations

from alembic import op

revision = "07583d875eab"
down_revision = "c7a1e9d4b2f6"
branch_labels = None
depends_on = None

SORTED = ("last_activity_at", "created_at", "fit_score", "engagement", "email", "name", "company")
REPLACED = ("last_activity_at", "created_at")


def upgrade() -> None:
    for column in REPLACED:
        op.drop_index(f"ix_lead_{column}", table_name="lead")
    for column in SORTED:
        op.create_index(f"ix_lead_{column}_id", "lead", [column, "id"])


def downgrade() -> None:
    for column in SORTED:
        op.drop_index(f"ix_lead_{column}_id", table_name="lead")
    for column in REPLACED:
        op.create_index(f"ix_lead_{column}", "lead", [column])
