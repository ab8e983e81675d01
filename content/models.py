"""What the library holds: assets, their taxonomies, revisions, files and the change log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from content.orm import Base, utcnow
from content.words import N_


class Kind(StrEnum):
    WHITEPAPER = "whitepaper"
    EBOOK = "ebook"
    WEBINAR = "webinar"
    CASE_STUDY = "case_study"
    CHECKLIST = "checklist"
    VIDEO = "video"
    ARTICLE = "article"
    DATASHEET = "datasheet"


KIND_LABELS = {
    Kind.WHITEPAPER: N_("Whitepaper"),
    Kind.EBOOK: N_("E-book"),
    Kind.WEBINAR: N_("Webinar"),
    Kind.CASE_STUDY: N_("Case study"),
    Kind.CHECKLIST: N_("Checklist"),
    Kind.VIDEO: N_("Video"),
    Kind.ARTICLE: N_("Article"),
    Kind.DATASHEET: N_("Datasheet"),
}
"""How a reader knows each kind (English; the portal shows ``_(label)``)."""


class Gate(StrEnum):
    """``open``: anyone reads; ``gated``: teaser + form; ``soft``: readable, form offered."""

    OPEN = "open"
    GATED = "gated"
    SOFT = "soft"


GATE_LABELS = {Gate.OPEN: N_("Open"), Gate.GATED: N_("Gated"), Gate.SOFT: N_("Soft")}


class Status(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    ARCHIVED = "archived"


STATUS_LABELS = {
    Status.DRAFT: N_("Draft"),
    Status.SCHEDULED: N_("Scheduled"),
    Status.PUBLISHED: N_("Published"),
    Status.ARCHIVED: N_("Archived"),
}


class FileTextStatus(StrEnum):
    """Whether the words of an attached PDF are searchable (None on an asset without a PDF).

    ``pending``: stored, its text not read yet (the background job reads it);
    ``indexed``: its text is searchable (``file_text_reason`` notes any part left out);
    ``not_indexed``: its text could not be read within the limits; the reason says why.
    """

    PENDING = "pending"
    INDEXED = "indexed"
    NOT_INDEXED = "not_indexed"


LANGUAGES = {"en": "English", "de": "Deutsch"}
"""The languages an asset may be written in, each named in its own words (never translated)."""

asset_topic = Table(
    "asset_topic",
    Base.metadata,
    Column("asset_id", ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True),
)

asset_persona = Table(
    "asset_persona",
    Base.metadata,
    Column("asset_id", ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "persona_id", ForeignKey("persona.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Topic(Base):
    """A managed subject (e.g. "lead-scoring"); assets carry several."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    """The label in other languages (``{"de": "…"}``); ``label`` is the English one."""


class Persona(Base):
    """A managed audience (e.g. "marketing-ops"); assets address one or more."""

    __tablename__ = "persona"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    """The label in other languages (``{"de": "…"}``); ``label`` is the English one."""


class StoredFile(Base):
    """A file in the content-addressed store (named by its SHA-256 under the data dir)."""

    __tablename__ = "stored_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Asset(Base):
    """One piece of content: kind, stage, gate, topics and personas, body and/or file."""

    __tablename__ = "asset"
    __table_args__ = (Index("ix_asset_status_published_at", "status", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str] = mapped_column(String(40), index=True)
    gate: Mapped[str] = mapped_column(String(10), default=Gate.OPEN.value)
    language: Mapped[str] = mapped_column(String(5), default="en")
    translation_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    """The asset this one translates (its original); translations of one original are one
    piece of content in several languages."""
    status: Mapped[str] = mapped_column(String(10), default=Status.DRAFT.value)
    published_at: Mapped[datetime | None]
    featured: Mapped[bool] = mapped_column(default=False)
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_file.sha256"))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_text: Mapped[str] = mapped_column(Text, default="")
    file_pages: Mapped[int | None]
    file_text_status: Mapped[str | None] = mapped_column(String(12), index=True)
    file_text_reason: Mapped[str] = mapped_column(String(300), default="")
    # When a process took the PDF to read its text; a claim older than the reading limit is free.
    file_text_claimed_at: Mapped[datetime | None]
    video_url: Mapped[str | None] = mapped_column(String(500))
    webinar_starts_at: Mapped[datetime | None]
    webinar_duration_minutes: Mapped[int | None]
    recording_url: Mapped[str | None] = mapped_column(String(500))
    reading_minutes: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=asset_topic, order_by=Topic.label)
    personas: Mapped[list[Persona]] = relationship(secondary=asset_persona, order_by=Persona.label)
    file: Mapped[StoredFile | None] = relationship()
    revisions: Mapped[list[AssetRevision]] = relationship(
        back_populates="asset",
        cascade="all, delete-orphan",
        order_by="AssetRevision.number.desc()",
        passive_deletes=True,
    )


class AssetSlug(Base):
    """A former slug of an asset; requests for it redirect to the current one."""

    __tablename__ = "asset_slug"

    slug: Mapped[str] = mapped_column(String(120), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)


class AssetRevision(Base):
    """Who changed what on an asset, when: the changed fields with their old and new values."""

    __tablename__ = "asset_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    asset: Mapped[Asset] = relationship(back_populates="revisions")


class ContentChange(Base):
    """The content change log: a monotonic sequence the search index (and others) catch up from."""

    __tablename__ = "content_change"
    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a sequence number

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
