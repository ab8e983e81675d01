"""closed loop reporting

Revision ID: 7c5d3e9a2b14
Revises: 6b2c8e4f1a07
Create Date: 2026-12-05 10:39:03

Issue 17: visits with their source (UTM, click id, referrer) and each lead's first and latest,
accounts (by company domain or made by hand), deals from the CRM, and funnel milestones (a lead
created, MQL, SQL, opportunity, customer) that attribution credits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "7c5d3e9a2b14"
down_revision = "6b2c8e4f1a07"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("engagement_as_of", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("furthest_stage", sa.String(length=40), nullable=False),
        sa.Column("common_stage", sa.String(length=40), nullable=False),
        sa.Column("last_activity_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("domain", name=op.f("uq_account_domain")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_engagement"), ["engagement"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_account_last_activity_at"), ["last_activity_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_account_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_people"), ["people"], unique=False)

    op.create_table(
        "deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recycle_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_deal_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_deal_lead_id_lead"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal")),
        sa.UniqueConstraint("external_id", name=op.f("uq_deal_external_id")),
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_recycle_at"), ["recycle_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_stage"), ["stage"], unique=False)

    op.create_table(
        "funnel_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_funnel_milestone_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_milestone")),
    )
    with op.batch_alter_table("funnel_milestone", schema=None) as batch_op:
        batch_op.create_index("ix_funnel_milestone_kind_at", ["kind", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_funnel_milestone_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("started_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("medium", sa.String(length=100), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("content", sa.String(length=200), nullable=False),
        sa.Column("referrer", sa.String(length=253), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("click_id", sa.String(length=200), nullable=False),
        sa.Column("landing", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_visit_lead_id_lead"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitor.id"],
            name=op.f("fk_visit_visitor_id_visitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_campaign"), ["campaign"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_channel"), ["channel"], unique=False)
        batch_op.create_index(
            "ix_visit_lead_id_started_at", ["lead_id", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_visit_started_at"), ["started_at"], unique=False)
        batch_op.create_index(
            "ix_visit_visitor_id_started_at", ["visitor_id", "started_at"], unique=False
        )

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latest_visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("account_by_hand", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("free_mail", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_lead_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_lead_account_id_account"),
            "account",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("last_seen_at", content.orm.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("visit_id")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lead_account_id_account"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_lead_account_id"))
        batch_op.drop_column("free_mail")
        batch_op.drop_column("account_by_hand")
        batch_op.drop_column("account_id")
        batch_op.drop_column("latest_visit_id")
        batch_op.drop_column("first_visit_id")

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_visitor_id_started_at")
        batch_op.drop_index(batch_op.f("ix_visit_started_at"))
        batch_op.drop_index("ix_visit_lead_id_started_at")
        batch_op.drop_index(batch_op.f("ix_visit_channel"))
        batch_op.drop_index(batch_op.f("ix_visit_campaign"))

    op.drop_table("visit")
    with op.batch_alter_table("funnel_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funnel_milestone_lead_id"))
        batch_op.drop_index("ix_funnel_milestone_kind_at")

    op.drop_table("funnel_milestone")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_stage"))
        batch_op.drop_index(batch_op.f("ix_deal_recycle_at"))
        batch_op.drop_index(batch_op.f("ix_deal_lead_id"))
        batch_op.drop_index(batch_op.f("ix_deal_created_at"))
        batch_op.drop_index(batch_op.f("ix_deal_closed_at"))
        batch_op.drop_index(batch_op.f("ix_deal_account_id"))

    op.drop_table("deal")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_people"))
        batch_op.drop_index(batch_op.f("ix_account_name"))
        batch_op.drop_index(batch_op.f("ix_account_last_activity_at"))
        batch_op.drop_index(batch_op.f("ix_account_engagement"))

    op.drop_table("account")
