"""Programs in the database: each version of a program's definition, each lead's enrollment
with its next step and due time, the log of every step taken (the weekly review reads it), the
A/B verdicts, and the guard rails that hold across all programs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow

ACTIVE_ENROLLMENT = "status = 'active'"
"""The condition of the partial indexes on active enrollments (a query repeats it to use them)."""


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    """Went through every step."""
    CONVERTED = "converted"
    """Reached a goal (``goal`` says which)."""
    EXITED = "exited"
    """Left otherwise: an exit step or branch, unsubscribed, suppressed, removed by hand, the
    program archived (``end_reason`` says which)."""


class Program(Base):
    """A program: its name, status and current version (the definition is in the version)."""

    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    """The current version: new leads enter it; leads in an older one finish that one."""
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    """The trigger kind of the current version (what the scheduler asks about each change)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    activated_at: Mapped[datetime | None]
    """Since when it is active: changes before it enter nobody (no backfill of history)."""
    checked_until: Mapped[datetime | None]
    """How far the time-driven triggers (inactive, webinar attended/missed) have looked."""


class ProgramVersion(Base):
    """One version of a program's definition (``nurture.programs.definition``, as its YAML
    mapping). Editing an active program writes a new version."""

    __tablename__ = "program_version"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    note: Mapped[str] = mapped_column(String(200), default="")


class Enrollment(Base):
    """A lead in a program: which version, the step it is at and when that step is due."""

    __tablename__ = "program_enrollment"
    __table_args__ = (
        # The scheduler's only way in: due steps of active enrollments, oldest first.
        Index(
            "ix_program_enrollment_due",
            "due_at",
            sqlite_where=text(ACTIVE_ENROLLMENT),
            postgresql_where=text(ACTIVE_ENROLLMENT),
        ),
        # A lead is in a program at most once at a time.
        Index(
            "ux_program_enrollment_active",
            "program_id",
            "lead_id",
            unique=True,
            sqlite_where=text(ACTIVE_ENROLLMENT),
            postgresql_where=text(ACTIVE_ENROLLMENT),
        ),
        Index("ix_program_enrollment_lead", "lead_id", "status"),
        Index("ix_program_enrollment_program", "program_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    version: Mapped[int]
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default=EnrollmentStatus.ACTIVE.value)
    step: Mapped[int] = mapped_column(default=0)
    """The index of the next step to run in the version's steps."""
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_by: Mapped[str] = mapped_column(String(40), default="")
    """The trigger (``subscribed``, ``stage decision`` …), ``console`` or ``api``."""
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    goal: Mapped[str] = mapped_column(String(80), default="")
    last_message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("mail_message.id", ondelete="SET NULL"),
    )
    """The program's previous mail to the lead (branches on opened/clicked read it)."""
    held_since: Mapped[datetime | None]
    """Since when the current send step holds the lead back (the weekly cap, the reader's own
    frequency, quiet hours); the step is skipped once it held for ``LONGEST_POSTPONE``. (The
    rest of an A/B test's audience waits for the verdict without it.)"""


class StepLog(Base):
    """Every step a lead took: what happened, and the mail it wrote (for the weekly review)."""

    __tablename__ = "program_step_log"
    __table_args__ = (
        Index("ix_program_step_log_program", "program_id", "at"),
        Index("ix_program_step_log_message", "message_id"),
        Index("ix_program_step_log_enrollment", "enrollment_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    enrollment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("program_enrollment.id", ondelete="CASCADE"),
    )
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    version: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    """``entered``, ``sent``, ``skipped``, ``capped``, ``waited``, ``branched``, ``set``,
    ``notified``, ``converted``, ``exited``, ``completed``."""
    detail: Mapped[str] = mapped_column(String(300), default="")
    variant: Mapped[int | None]
    message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("mail_message.id", ondelete="SET NULL"),
    )


class AbDecision(Base):
    """The verdict of an A/B test of subject lines (one per program version and step)."""

    __tablename__ = "program_ab_decision"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("program.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    winner: Mapped[int | None]
    metric: Mapped[str] = mapped_column(String(10), default="")
    p_value: Mapped[float] = mapped_column(Float, default=1.0)
    explanation: Mapped[str] = mapped_column(Text, default="")


class ProgramSettings(Base):
    """The guard rails of all programs (one row, id 1)."""

    __tablename__ = "program_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    """The global pause: no program takes a step while it is set (leads still enter)."""
    weekly_cap: Mapped[int] = mapped_column(default=3)
    """At most this many marketing mails per lead per 7 days, across all programs (0: none)."""
    quiet_start: Mapped[int] = mapped_column(default=21)
    quiet_end: Mapped[int] = mapped_column(default=8)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
