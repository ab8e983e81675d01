"""Languages: an asset links to the original it translates, topics and personas carry labels in
other languages, a staff member has a console language. And an account's people are read by
engagement from an index (its page shows fifty of hundreds).

Revision ID: 9a4b2c7d1e58
Revises: 3f6a9c1d7e42
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a4b2c7d1e58"
down_revision = "3f6a9c1d7e42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("translation_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_asset_translation_of_id"), ["translation_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_asset_translation_of_id_asset"),
            "asset",
            ["translation_of_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_account_id")
        batch_op.create_index("ix_lead_account_engagement", ["account_id", "engagement", "id"])

    with op.batch_alter_table("persona", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), server_default="{}", nullable=False))

    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), server_default="", nullable=False)
        )

    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_column("labels")

    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("language")

    with op.batch_alter_table("persona", schema=None) as batch_op:
        batch_op.drop_column("labels")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_account_engagement")
        batch_op.create_index("ix_lead_account_id", ["account_id"])

    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_asset_translation_of_id_asset"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_asset_translation_of_id"))
        batch_op.drop_column("translation_of_id")
