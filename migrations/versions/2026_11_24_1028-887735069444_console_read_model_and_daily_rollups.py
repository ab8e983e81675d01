"""console read model and daily rollups

Revision ID: 887735069444
Revises: d1c9c0ce438c
Create Date: 2026-11-24 10:28:12.921300
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "887735069444"
down_revision = "d1c9c0ce438c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_daily",
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("field", "day", name=op.f("pk_field_daily")),
    )
    with op.batch_alter_table("field_daily", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_daily_day"), ["day"], unique=False)

    op.create_table(
        "asset_daily",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("engaged_seconds", sa.Float(), nullable=False),
        sa.Column("gate_views", sa.Integer(), nullable=False),
        sa.Column("form_submits", sa.Integer(), nullable=False),
        sa.Column("unlocks", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_daily_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "day", name=op.f("pk_asset_daily")),
    )
    with op.batch_alter_table("asset_daily", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_daily_day"), ["day"], unique=False)

    op.create_table(
        "asset_lead_stats",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("leads_influenced", sa.Integer(), nullable=False),
        sa.Column("read_before_mql", sa.Integer(), nullable=False),
        sa.Column("computed_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_lead_stats_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_lead_stats")),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("company", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("stage_changed_at", content.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_lead_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("lead_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dwell_seconds", sa.Float(), nullable=True))
        batch_op.create_index("ix_lead_change_kind_new_at", ["kind", "new", "at"], unique=False)

    # Names and companies of existing leads from their current profile facts. The daily
    # roll-ups of existing events are built by `leadshelf rollup` (see CHANGELOG).
    postgres = op.get_bind().dialect.name == "postgresql"
    joined = "string_agg(value, ' ' ORDER BY field)" if postgres else "group_concat(value, ' ')"
    for column, fields in (("name", "'first_name', 'last_name'"), ("company", "'company'")):
        op.execute(
            f"UPDATE lead SET {column} = COALESCE((SELECT {joined} FROM profile_fact "  # noqa: S608
            "WHERE profile_fact.lead_id = lead.id AND superseded_at IS NULL "
            f"AND field IN ({fields})), '')"
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_change", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_change_kind_new_at")
        batch_op.drop_column("dwell_seconds")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_created_at"))
        batch_op.drop_column("stage_changed_at")
        batch_op.drop_column("company")
        batch_op.drop_column("name")

    op.drop_table("asset_lead_stats")
    with op.batch_alter_table("asset_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_daily_day"))

    op.drop_table("asset_daily")
    with op.batch_alter_table("field_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_daily_day"))

    op.drop_table("field_daily")
