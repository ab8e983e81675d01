"""file text status

Revision ID: 5e1f0c2a9d31
Revises: b20e72356582
Create Date: 2026-12-04 22:00:00

Placeholder reserved for the bounded PDF text extraction (issue 13, item 9).
"""

from __future__ import annotations

revision = "5e1f0c2a9d31"
down_revision = "b20e72356582"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
