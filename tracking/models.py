"""Who reads: visitors (browsers), leads (known people), their profile facts, consent and unlocks,
and the events they leave behind."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from content.orm import Base, utcnow
from tracking import folding

VISITOR_ID_LENGTH = 32
LIST_SORT_COLUMNS = (
    "last_activity_at",
    "created_at",
    "fit_score",
    "engagement",
    "email",
    "name",
    "company",
)
"""The lead columns the console's lead list sorts by, each indexed with ``id`` after it."""


class Lead(Base):
    """A known person: one normalized email, many visitors (devices), a growing profile."""

    __tablename__ = "lead"
    __table_args__ = (
        # A trigram index on PostgreSQL (the migration skips it when pg_trgm cannot be
        # created); on SQLite a plain index, which a search scans instead of the wide rows.
        Index(
            "ix_lead_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        # An account's people, most engaged first (read backwards): its page reads fifty of
        # hundreds, never all of them; and every lookup by account.
        Index("ix_lead_account_engagement", "account_id", "engagement", "id"),
        # The lead list's sort orders: each page is one range of its sort's index, ties in
        # id order (``tracking.reporting.lead_cursor``), however deep the page is.
        *(Index(f"ix_lead_{name}_id", name, "id") for name in LIST_SORT_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    """First and last name from the current profile (kept for lists and search)."""
    company: Mapped[str] = mapped_column(String(200), default="")
    """The current profile's company (kept for lists and search)."""
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    """``tracking.folding.search_text`` of email, name and company, which the lead list's
    search matches. Kept by ``_fold_for_search`` on every ORM assignment of those three; a
    Core insert or update of them must set it too (``identity.get_or_create_lead`` does)."""
    journey_stage: Mapped[str] = mapped_column(String(40), default="awareness", index=True)
    stage_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    fit_score: Mapped[int] = mapped_column(default=0)
    engagement: Mapped[float] = mapped_column(Float, default=0.0)
    """Engagement as it stood at ``engagement_as_of`` (it decays from there)."""
    engagement_as_of: Mapped[datetime | None] = mapped_column(index=True)
    grade: Mapped[str] = mapped_column(String(1), default="E", index=True)
    category: Mapped[str] = mapped_column(String(20), default="known", index=True)
    lifecycle: Mapped[str] = mapped_column(String(20), default="lead", index=True)
    lifecycle_changed_at: Mapped[datetime | None]
    stage_changed_at: Mapped[datetime | None]
    journey: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The incremental ``JourneyState`` (decayed accumulators per asset, event counts)."""
    milestones: Mapped[list[str]] = mapped_column(JSON, default=list)
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    """Subscribed to marketing mail: true only once double opt-in is confirmed."""
    marketing_consent_at: Mapped[datetime | None]
    consent_status: Mapped[str] = mapped_column(
        String(12), default="none", server_default="none", index=True
    )
    """``none``, ``pending`` (confirmation mail sent), ``confirmed`` or ``withdrawn``
    (``tracking.identity.consent.ConsentStatus``)."""
    language: Mapped[str] = mapped_column(String(5), default="", server_default="")
    """The language mail is written in (``en``/``de``): the first form's, or the lead's choice
    in the preference center; empty: the site default."""
    mail_topics: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    """Topic slugs the lead chose in the preference center; empty: every topic."""
    mail_frequency: Mapped[str] = mapped_column(String(12), default="all", server_default="all")
    """``all``, ``weekly`` or ``monthly``: how often marketing mail may come."""
    time_zone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The IANA zone the lead's browser reported on its last form (``Europe/Berlin``); empty:
    unknown (program waits "until Tuesday 10:00" then use the language's zone, else UTC)."""
    first_visit_id: Mapped[int | None]
    """The lead's first visit ever (``tracking.sources.models.Visit``): its original source."""
    latest_visit_id: Mapped[int | None]
    """The lead's latest visit: its latest source."""
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    account_by_hand: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A marketer put the lead in its account: a change of email does not move it."""
    free_mail: Mapped[bool] = mapped_column(default=False, server_default=false())
    """The address is at a free-mail provider (flagged when the gate accepts such addresses)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("email", "name", "company")
    def _fold_for_search(self, key: str, value: str) -> str:
        """Keep ``search_text`` in step with the three columns it folds."""
        listed = {"email": self.email, "name": self.name, "company": self.company, key: value}
        self.search_text = folding.search_text(
            listed["email"] or "", listed["name"] or "", listed["company"] or ""
        )
        return value


class Visitor(Base):
    """A browser, known by the random id in its signed cookie; anonymous until identified.

    ``retired_at`` is set when the browser's id is rotated (identification) or
    dropped ("Not you?"): a retired id never again speaks for its lead.
    """

    __tablename__ = "visitor"

    id: Mapped[str] = mapped_column(String(VISITOR_ID_LENGTH), primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    identified_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    visit_id: Mapped[int | None]
    """The browser's current visit (``tracking.sources.models.Visit``)."""
    last_seen_at: Mapped[datetime | None]
    """The browser's latest page: 30 minutes later a page starts a new visit."""


class ProfileFact(Base):
    """One value of one profile field, with where it came from; a new value supersedes the old.

    The current profile is the facts with ``superseded_at`` unset (at most one
    per field, enforced by a partial unique index); older values stay as history.
    """

    __tablename__ = "profile_fact"
    __table_args__ = (
        Index(
            "uq_profile_fact_current",
            "lead_id",
            "field",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("ix_profile_fact_lead_history", "lead_id", "field", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    """form, import or api."""
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    """The asset slug of a gate form, the import or API token name."""
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]


class Consent(Base):
    """A consent decision as given: purpose, granted or withdrawn, the text and its version.

    A grant by form starts ``pending`` and becomes ``confirmed`` when the confirmation link
    is clicked (double opt-in), keeping when it was asked and when and from where it was
    confirmed; a withdrawal is a row of its own.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20), default="marketing")
    granted: Mapped[bool]
    text_version: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When it was asked (a grant) or given (a withdrawal)."""
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    """``pending``, ``confirmed`` or ``withdrawn``; rows from before double opt-in are
    ``single_opt_in``."""
    language: Mapped[str] = mapped_column(String(5), default="", server_default="")
    """The language the text was shown in."""
    confirmed_at: Mapped[datetime | None]
    confirmed_ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    confirmed_user_agent: Mapped[str] = mapped_column(String(300), default="", server_default="")


class IdentityClaim(Base):
    """A browser typed the email of a lead it does not speak for: it may read the asset it
    asked for, but nothing reaches the lead until a "continue on this device" link from that
    inbox is clicked (``tracking.identity.claims``). Its answers wait here unverified."""

    __tablename__ = "identity_claim"
    __table_args__ = (Index("ix_identity_claim_visitor", "visitor_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(VISITOR_ID_LENGTH))
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    consent_ticked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]


class Unlock(Base):
    """A gated asset a lead has unlocked; it stays unlocked on every device they identify on."""

    __tablename__ = "unlock"

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    unlocked_at: Mapped[datetime] = mapped_column(default=utcnow)


WEBINAR_EVENTS = "type IN ('webinar_register', 'webinar_attend')"
"""The condition of the partial index ``ix_event_webinar``."""


class Event(Base):
    """One thing a visitor did (DESIGN.md's event names); ``lead_id`` once they are known.

    On PostgreSQL the table is partitioned by month on ``occurred_at``
    (``tracking.pipeline.partitions``): its primary key there is ``(id, occurred_at)`` and
    ``uid`` is unique within each partition; ids stay unique (one sequence), so the mapping
    keeps ``id`` as the identity. A query that bounds ``occurred_at`` reads only the months
    it needs. On SQLite it is one table."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_lead_trail", "lead_id", "occurred_at", "id"),
        Index("ix_event_visitor", "visitor_id", "id"),
        Index("ix_event_occurred_at", "occurred_at"),
        # Only webinar registrations and attendance: who registered for a webinar, who came
        # (the webinar mails read it; a query must repeat this condition to use it).
        Index(
            "ix_event_webinar",
            "asset_id",
            "lead_id",
            "type",
            "occurred_at",
            sqlite_where=text(WEBINAR_EVENTS),
            postgresql_where=text(WEBINAR_EVENTS),
        ),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    uid: Mapped[str | None] = mapped_column(String(64), unique=True)
    """An id the sender chose (beacon or API import), making a resend harmless."""
    visitor_id: Mapped[str | None] = mapped_column(String(VISITOR_ID_LENGTH))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(24))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float | None] = mapped_column(Float)
    depth: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AssetEngagement(Base):
    """What one visitor (browser) did with one asset, kept current by ingestion.

    ``lead_id`` is set once the visitor is known, so a lead's view of an asset
    is the sum over its few visitors. These rows survive raw-event retention.
    """

    __tablename__ = "asset_engagement"
    __table_args__ = (Index("ix_asset_engagement_lead", "lead_id", "asset_id"),)

    visitor_id: Mapped[str] = mapped_column(String(VISITOR_ID_LENGTH), primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    engaged_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    max_depth: Mapped[float] = mapped_column(Float, default=0.0)
    views: Mapped[int] = mapped_column(default=0)
    downloads: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class VisitorJourney(Base):
    """The journey state of an anonymous visitor (for recommendations); folded into its lead's
    state when it identifies."""

    __tablename__ = "visitor_journey"

    visitor_id: Mapped[str] = mapped_column(String(VISITOR_ID_LENGTH), primary_key=True)
    journey: Mapped[dict[str, Any]] = mapped_column(JSON)
    journey_stage: Mapped[str] = mapped_column(String(40), default="awareness")


class LeadChange(Base):
    """The lead change log: every change of stage, lifecycle, grade, category or milestone,
    identification and first unlock of an asset, with its reason, numbered by a monotonic
    sequence the nurturing core reads in order (it is the outbox of webhooks)."""

    __tablename__ = "lead_change"
    __table_args__ = (
        Index("ix_lead_change_kind_new_at", "kind", "new", "at"),
        {"sqlite_autoincrement": True},  # never reuse a sequence number
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    """identified, stage, lifecycle, grade, category, milestone or unlocked (new: asset id)."""
    old: Mapped[str | None] = mapped_column(String(40))
    new: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    dwell_seconds: Mapped[float | None] = mapped_column(Float)
    """For stage and lifecycle changes: how long the lead had been in ``old``."""


class FunnelMilestone(Base):
    """A lead reached a stage of the funnel at a moment: it was created (``created``), became
    ``mql``, ``sql``, ``opportunity`` or ``customer``. Written with the change-log entry that
    records it (``tracking.pipeline.changelog.append``); attribution credits its touches."""

    __tablename__ = "funnel_milestone"
    __table_args__ = (Index("ix_funnel_milestone_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetDaily(Base):
    """One asset on one UTC day: what readers did with it. Kept current by ingestion in the
    same transaction as the events, so reports never scan raw events."""

    __tablename__ = "asset_daily"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    views: Mapped[int] = mapped_column(default=0)
    readers: Mapped[int] = mapped_column(default=0)
    """Unique visitors: visitors who opened (viewed) the asset for the first time that day."""
    completions: Mapped[int] = mapped_column(default=0)
    """Of those readers, the ones whose reading first reached the completion depth that day."""
    engaged_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    gate_views: Mapped[int] = mapped_column(default=0)
    form_submits: Mapped[int] = mapped_column(default=0)
    unlocks: Mapped[int] = mapped_column(default=0)
    downloads: Mapped[int] = mapped_column(default=0)
    registrations: Mapped[int] = mapped_column(default=0)


class FieldDaily(Base):
    """One profile field on one UTC day: how often gate forms asked it and how often it was
    answered (progressive-profiling performance)."""

    __tablename__ = "field_daily"

    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    asked: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)


class AssetLeadStats(Base):
    """Per asset: leads it influenced and leads who read it before becoming MQL. Needs joins
    over all aggregates, so the background task refreshes it (``computed_at``)."""

    __tablename__ = "asset_lead_stats"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    leads_influenced: Mapped[int] = mapped_column(default=0)
    read_before_mql: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class StalledLead(Base):
    """A stalled lead in a cell it read last: what the gap matrix links to the lead list.
    Written by the ``content-intelligence`` job (``nurture.intelligence.gaps``)."""

    __tablename__ = "content_stalled_lead"
    __table_args__ = (Index("ix_content_stalled_lead_lead", "lead_id"),)

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    lead_id: Mapped[int] = mapped_column(
        ForeignKey("lead.id", ondelete="CASCADE"), primary_key=True
    )
