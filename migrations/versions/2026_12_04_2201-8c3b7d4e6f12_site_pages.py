"""site pages

Revision ID: 8c3b7d4e6f12
Revises: 5e1f0c2a9d31
Create Date: 2026-12-04 22:01:00

The built-in privacy page's text as an admin writes it (issue 13, item 17): one row per
page name and language (``content.site_pages.SitePage``); without a row the page shows
its built-in text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "8c3b7d4e6f12"
down_revision = "5e1f0c2a9d31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_page",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("name", "language", name=op.f("pk_site_page")),
    )


def downgrade() -> None:
    op.drop_table("site_page")
