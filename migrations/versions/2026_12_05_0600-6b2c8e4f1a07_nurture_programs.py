"""nurture programs

Revision ID: 6b2c8e4f1a07
Revises: 4d7e1f2a9b63
Create Date: 2026-12-05 06:00:00

Issue 16: programs (each version of a definition), enrollments with their next step and due
time (a partial index on the active ones' due time, and a partial unique index: a lead is in a
program at most once at a time), the step log, A/B verdicts, the guard rails, and the lead's
time zone (reported by its browser).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import content.orm

revision = "6b2c8e4f1a07"
down_revision = "4d7e1f2a9b63"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("activated_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_until", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program")),
        sa.UniqueConstraint("name", name=op.f("uq_program_name")),
    )
    op.create_table(
        "program_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("weekly_cap", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=False),
        sa.Column("quiet_end", sa.Integer(), nullable=False),
        sa.Column("updated_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_settings")),
    )
    op.create_table(
        "program_ab_decision",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("decided_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("winner", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=10), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["program.id"],
            name=op.f("fk_program_ab_decision_program_id_program"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "version", "step_id", name=op.f("pk_program_ab_decision")
        ),
    )
    op.create_table(
        "program_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["program.id"],
            name=op.f("fk_program_version_program_id_program"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_version")),
        sa.UniqueConstraint("program_id", "version", name=op.f("uq_program_version_program_id")),
    )
    op.create_table(
        "program_enrollment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(length=40), nullable=False),
        sa.Column("ended_at", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.String(length=80), nullable=False),
        sa.Column(
            "last_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("held_since", content.orm.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["last_message_id"],
            ["mail_message.id"],
            name=op.f("fk_program_enrollment_last_message_id_mail_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_program_enrollment_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["program.id"],
            name=op.f("fk_program_enrollment_program_id_program"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_enrollment")),
    )
    with op.batch_alter_table("program_enrollment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_enrollment_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index("ix_program_enrollment_lead", ["lead_id", "status"], unique=False)
        batch_op.create_index(
            "ix_program_enrollment_program", ["program_id", "entered_at"], unique=False
        )
        batch_op.create_index(
            "ux_program_enrollment_active",
            ["program_id", "lead_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "program_step_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", content.orm.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=True),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["program_enrollment.id"],
            name=op.f("fk_program_step_log_enrollment_id_program_enrollment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_program_step_log_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_message.id"],
            name=op.f("fk_program_step_log_message_id_mail_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["program.id"],
            name=op.f("fk_program_step_log_program_id_program"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_step_log")),
    )
    with op.batch_alter_table("program_step_log", schema=None) as batch_op:
        batch_op.create_index("ix_program_step_log_enrollment", ["enrollment_id"], unique=False)
        batch_op.create_index("ix_program_step_log_message", ["message_id"], unique=False)
        batch_op.create_index("ix_program_step_log_program", ["program_id", "at"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("time_zone")

    with op.batch_alter_table("program_step_log", schema=None) as batch_op:
        batch_op.drop_index("ix_program_step_log_program")
        batch_op.drop_index("ix_program_step_log_message")
        batch_op.drop_index("ix_program_step_log_enrollment")

    op.drop_table("program_step_log")
    with op.batch_alter_table("program_enrollment", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_program_enrollment_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_program_enrollment_program")
        batch_op.drop_index("ix_program_enrollment_lead")
        batch_op.drop_index(
            "ix_program_enrollment_due",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("program_enrollment")
    op.drop_table("program_version")
    op.drop_table("program_ab_decision")
    op.drop_table("program_settings")
    op.drop_table("program")
