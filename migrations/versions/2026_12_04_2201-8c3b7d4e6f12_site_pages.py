"""site pages

Revision ID: 8c3b7d4e6f12
Revises: 5e1f0c2a9d31
Create Date: 2026-12-04 22:01:00

Placeholder reserved for the editable built-in privacy page (issue 13, item 17).
"""

from __future__ import annotations

revision = "8c3b7d4e6f12"
down_revision = "5e1f0c2a9d31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
