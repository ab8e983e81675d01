"""file text status

Revision ID: 5e1f0c2a9d31
Revises: b20e72356582
Create Date: 2026-12-04 22:00:00

Whether the text of an asset's PDF is searchable (issue 13, item 9): PDF text is no
longer read in the upload request but by a background job, in a child process with a
time and memory limit. ``asset.file_text_status`` is ``pending``, ``indexed`` or
``not_indexed`` (NULL without a PDF), ``file_text_reason`` tells the editor why text
is missing or cut, ``file_text_claimed_at`` marks the file a process is reading.
Existing PDFs whose text was read are ``indexed``; those that gave no text are
``pending``, so the job tries them once more under the new limits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "5e1f0c2a9d31"
down_revision = "b20e72356582"
branch_labels = None
depends_on = None

asset = sa.table(
    "asset",
    sa.column("file_sha256", sa.String()),
    sa.column("file_text", sa.Text()),
    sa.column("file_text_status", sa.String()),
)
stored_file = sa.table(
    "stored_file", sa.column("sha256", sa.String()), sa.column("content_type", sa.String())
)


def upgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_text_status", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("file_text_reason", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("file_text_claimed_at", content.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_asset_file_text_status"), ["file_text_status"], unique=False
        )
    pdfs = sa.select(stored_file.c.sha256).where(stored_file.c.content_type == "application/pdf")
    has_pdf = asset.c.file_sha256.in_(pdfs)
    op.execute(
        asset.update()
        .where(has_pdf)
        .values(file_text_status=sa.case((asset.c.file_text == "", "pending"), else_="indexed"))
    )


def downgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_file_text_status"))
        batch_op.drop_column("file_text_claimed_at")
        batch_op.drop_column("file_text_reason")
        batch_op.drop_column("file_text_status")
