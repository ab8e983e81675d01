"""email outbox, suppressions, double opt-in, identity claims

Revision ID: 4d7e1f2a9b63
Revises: 9a4e2b7c1d58
Create Date: 2026-12-05 04:00:00

Issue 15: the mail outbox (``mail_message``), the suppression list, bounces and
per-address state; double opt-in on consent records and the lead's consent
status, language and mail preferences; identity claims of unverified browsers; a partial
index of the webinar events (registrations and attendance) for the webinar mails.

Consent given before double opt-in was a ticked box only: those records become
``single_opt_in`` and their leads ``pending`` (no marketing mail until they confirm
a confirmation mail, which their next form with the box ticked sends).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "4d7e1f2a9b63"
down_revision = "9a4e2b7c1d58"
branch_labels = None
depends_on = None

WEBINAR_EVENTS = "type IN ('webinar_register', 'webinar_attend')"


def upgrade() -> None:
    op.create_table(
        "mail_address",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("soft_bounces", sa.Integer(), nullable=False),
        sa.Column("last_bounce_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mail_address")),
    )
    op.create_table(
        "mail_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("verp", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_until", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("sent_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("skip_reason", sa.String(length=40), nullable=False),
        sa.Column("opened_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clicked_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_mail_message_lead_id_lead"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_message_dedupe_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_message_message_id")),
        sa.UniqueConstraint("verp", name=op.f("uq_mail_message_verp")),
    )
    with op.batch_alter_table("mail_message", schema=None) as batch_op:
        batch_op.create_index("ix_mail_message_address", ["to_address", "id"], unique=False)
        batch_op.create_index("ix_mail_message_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_mail_message_lead", ["lead_id", "id"], unique=False)

    op.create_table(
        "identity_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("consent_ticked", sa.Boolean(), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_identity_claim_asset_id_asset"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_identity_claim_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_claim")),
    )
    with op.batch_alter_table("identity_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_claim_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_identity_claim_visitor", ["visitor_id", "asset_id"], unique=False)

    op.create_table(
        "mail_bounce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_message.id"],
            name=op.f("fk_mail_bounce_message_id_mail_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_bounce")),
    )
    with op.batch_alter_table("mail_bounce", schema=None) as batch_op:
        batch_op.create_index("ix_mail_bounce_address", ["address", "at"], unique=False)

    op.create_table(
        "mail_suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=254), nullable=False),
        sa.Column("lift_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_message.id"],
            name=op.f("fk_mail_suppression_message_id_mail_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_suppression")),
    )
    with op.batch_alter_table("mail_suppression", schema=None) as batch_op:
        batch_op.create_index("ix_mail_suppression_address", ["address", "lifted_at"], unique=False)

    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), server_default="pending", nullable=False)
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("confirmed_at", content.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("confirmed_ip", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "confirmed_user_agent", sa.String(length=300), server_default="", nullable=False
            )
        )

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_status", sa.String(length=12), server_default="none", nullable=False)
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("mail_topics", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("mail_frequency", sa.String(length=12), server_default="all", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_lead_consent_status"), ["consent_status"], unique=False
        )

    op.execute(
        "UPDATE consent SET status = CASE WHEN granted THEN 'single_opt_in' ELSE 'withdrawn' END"
    )
    op.execute(
        "UPDATE lead SET consent_status = 'pending', marketing_consent = false "
        "WHERE marketing_consent"
    )
    op.execute(
        "UPDATE lead SET consent_status = 'withdrawn' WHERE consent_status = 'none' AND EXISTS "
        "(SELECT 1 FROM consent WHERE consent.lead_id = lead.id AND NOT consent.granted)"
    )
    # Webinar mails find a webinar's registrants and attendees through this (a small index:
    # only the webinar events are in it). Created directly: a batch would copy the event table.
    op.create_index(
        "ix_event_webinar",
        "event",
        ["asset_id", "lead_id", "type", "occurred_at"],
        unique=False,
        sqlite_where=sa.text(WEBINAR_EVENTS),
        postgresql_where=sa.text(WEBINAR_EVENTS),
    )


def downgrade() -> None:
    op.drop_index("ix_event_webinar", table_name="event")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_consent_status"))
        batch_op.drop_column("mail_frequency")
        batch_op.drop_column("mail_topics")
        batch_op.drop_column("language")
        batch_op.drop_column("consent_status")

    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_column("confirmed_user_agent")
        batch_op.drop_column("confirmed_ip")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("language")
        batch_op.drop_column("status")

    with op.batch_alter_table("mail_suppression", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_suppression_address")

    op.drop_table("mail_suppression")
    with op.batch_alter_table("mail_bounce", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_bounce_address")

    op.drop_table("mail_bounce")
    with op.batch_alter_table("identity_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_claim_visitor")
        batch_op.drop_index(batch_op.f("ix_identity_claim_lead_id"))

    op.drop_table("identity_claim")
    with op.batch_alter_table("mail_message", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_message_lead")
        batch_op.drop_index("ix_mail_message_due")
        batch_op.drop_index("ix_mail_message_address")

    op.drop_table("mail_message")
    op.drop_table("mail_address")
