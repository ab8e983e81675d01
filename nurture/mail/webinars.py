"""Webinar mails (transactional: the reader asked for them by registering): the confirmation with
the calendar entry, reminders 24 hours and 1 hour before the start, and afterwards the recording,
or "sorry we missed you" with the recording to registrants who did not come.

``due`` decides which mails one registration needs now: a pure function of the webinar, the
registration and the time, tested exhaustively. ``queue_due`` (the ``webinar-mail`` job, every
minute) reads the webinars with something to send, their registrants and attendees through the
partial index ``ix_event_webinar``, and puts each due mail in the outbox once: its dedupe key
(``webinar-registered:LEAD:ASSET``, ``webinar-24h:…``, ``webinar-1h:…``, ``webinar-after:…``) is
checked first and is unique in the outbox, so a pass that runs twice, or on two nodes, sends
nothing twice. A mail whose moment passed while no job ran is left out rather than sent late
(the 24-hour reminder after the 1-hour point, a confirmation two days after the registration).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from content.models import Asset, Kind, Status
from nurture.mail.models import MailCategory, MailMessage
from nurture.mail.outbox import Mail, enqueue
from tracking.events import EventType
from tracking.models import WEBINAR_EVENTS, Event, Lead

DEFAULT_MINUTES = 45
"""A webinar without a duration lasts this long (as on its page and in its calendar entry)."""
DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
CONFIRM_WITHIN = timedelta(days=2)
"""A registration is confirmed within this time, or not at all (a job that was down for days
does not confirm old registrations; an imported registration from long ago neither)."""
ATTENDANCE_WAIT = timedelta(hours=12)
"""After the end, the follow-up waits this long for attendance to be imported (so no-shows get
"sorry we missed you"), unless attendance is there already."""
FOLLOW_UP_FOR = timedelta(days=7)
"""The follow-up goes within this time after the end (the recording may be set a few days
later), never afterwards."""
KEY_CHUNK = 500
"""Keys and lead ids per ``IN (…)`` query."""
T = TypeVar("T")


class WebinarMail(StrEnum):
    """The kinds of webinar mail (``templates/email/KIND.html``)."""

    REGISTERED = "webinar_registered"
    REMINDER_DAY = "webinar_reminder_24h"
    REMINDER_HOUR = "webinar_reminder_1h"
    RECORDING = "webinar_recording"
    MISSED = "webinar_missed"


_KEY = {
    WebinarMail.REGISTERED: "webinar-registered",
    WebinarMail.REMINDER_DAY: "webinar-24h",
    WebinarMail.REMINDER_HOUR: "webinar-1h",
    WebinarMail.RECORDING: "webinar-after",
    WebinarMail.MISSED: "webinar-after",  # one follow-up per registration, whichever it is
}


def dedupe_key(mail: WebinarMail, lead_id: int, asset_id: int) -> str:
    return f"{_KEY[mail]}:{lead_id}:{asset_id}"


@dataclass(frozen=True, slots=True)
class Webinar:
    """What the rules need of a webinar."""

    asset_id: int
    starts_at: datetime
    ends_at: datetime
    has_recording: bool
    attendance_known: bool
    """Attendance was imported (someone's ``webinar_attend`` is stored): whoever has none is
    a no-show."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One lead's part in a webinar."""

    lead_id: int
    registered_at: datetime | None
    """The first ``webinar_register`` (None: attendance imported without a registration)."""
    attended: bool


def due(webinar: Webinar, registration: Registration, now: datetime) -> list[WebinarMail]:
    """The mails this registration needs at ``now`` (the outbox's dedupe keys make each go
    once, so this says what is due, not what was sent).

    - confirmation: until the webinar ends, within ``CONFIRM_WITHIN`` of registering;
    - 24-hour reminder: between 24 h and 1 h before the start, to those registered before the
      24-hour point (a later registration just got its confirmation);
    - 1-hour reminder: in the last hour before the start, to those registered before it;
    - follow-up, once the webinar ended and has a recording, within ``FOLLOW_UP_FOR``, as soon
      as attendance is known or ``ATTENDANCE_WAIT`` has passed: "sorry we missed you" to a
      registrant who did not come (attendance known), the recording to everyone else.
    """
    mails: list[WebinarMail] = []
    registered = registration.registered_at
    if registered is not None:
        mails += _before(webinar, registered, now)
    if _follow_up_due(webinar, now):
        missed = webinar.attendance_known and not registration.attended
        mails.append(WebinarMail.MISSED if missed else WebinarMail.RECORDING)
    return mails


def _before(webinar: Webinar, registered: datetime, now: datetime) -> list[WebinarMail]:
    mails: list[WebinarMail] = []
    if now < webinar.ends_at and now - registered < CONFIRM_WITHIN:
        mails.append(WebinarMail.REGISTERED)
    day_point, hour_point = webinar.starts_at - DAY_BEFORE, webinar.starts_at - HOUR_BEFORE
    if day_point <= now < hour_point and registered < day_point:
        mails.append(WebinarMail.REMINDER_DAY)
    if hour_point <= now < webinar.starts_at and registered < hour_point:
        mails.append(WebinarMail.REMINDER_HOUR)
    return mails


def _follow_up_due(webinar: Webinar, now: datetime) -> bool:
    ended = webinar.ends_at
    if not (webinar.has_recording and ended <= now < ended + FOLLOW_UP_FOR):
        return False
    return webinar.attendance_known or now >= ended + ATTENDANCE_WAIT


def ends_at(starts_at: datetime, minutes: int | None) -> datetime:
    return starts_at + timedelta(minutes=minutes or DEFAULT_MINUTES)


def nothing_before(starts_at: datetime, now: datetime) -> datetime:
    """The earliest registration time that can still need a mail at ``now``: everyone while a
    reminder or the follow-up may be due, else only registrations young enough to confirm."""
    if now >= starts_at - DAY_BEFORE:
        return datetime.min.replace(tzinfo=now.tzinfo)
    return now - CONFIRM_WITHIN


# The service: reads through indexes, writes the outbox in the caller's transaction.


@dataclass(frozen=True, slots=True)
class DueMail:
    """One webinar mail to queue."""

    key: str
    """Its dedupe key."""
    asset_id: int
    mail: WebinarMail
    registration: Registration


@dataclass(frozen=True, slots=True)
class Queued:
    """What one pass put in the outbox, by kind."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def find_due(session: Session, now: datetime) -> list[DueMail]:
    """Every webinar mail due now and not in the outbox yet (reads only, through indexes)."""
    found: list[DueMail] = []
    for asset in _webinars(session, now):
        assert asset.webinar_starts_at is not None
        finish = ends_at(asset.webinar_starts_at, asset.webinar_duration_minutes)
        if now >= finish + FOLLOW_UP_FOR:
            continue
        registrations, attendance_known = _registrations(
            session, asset.id, since=nothing_before(asset.webinar_starts_at, now)
        )
        webinar = Webinar(
            asset.id,
            asset.webinar_starts_at,
            finish,
            has_recording=bool((asset.recording_url or "").strip()),
            attendance_known=attendance_known,
        )
        wanted = {
            dedupe_key(mail, registration.lead_id, asset.id): (registration, mail)
            for registration in registrations
            for mail in due(webinar, registration, now)
        }
        written = _written_before(session, list(wanted))
        found += [
            DueMail(key, asset.id, mail, registration)
            for key, (registration, mail) in wanted.items()
            if key not in written
        ]
    return found


def queue(
    session: Session,
    mails: Sequence[DueMail],
    now: datetime,
    *,
    domain: str,
    default_language: str = "en",
) -> Queued:
    """Write the mails in the caller's transaction; a key written meanwhile (another node) is
    skipped by the outbox's unique dedupe key. Leads erased meanwhile get nothing."""
    lead_ids = sorted({due_mail.registration.lead_id for due_mail in mails})
    leads: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(lead_ids):
        query = select(Lead.id, Lead.email, Lead.language).where(Lead.id.in_(chunk))
        leads.update((lead_id, (email, lang)) for lead_id, email, lang in session.execute(query))
    counts: dict[str, int] = defaultdict(int)
    for due_mail in mails:
        lead_id = due_mail.registration.lead_id
        if lead_id not in leads:
            continue
        email, language = leads[lead_id]
        params: dict[str, object] = {"asset": due_mail.asset_id}
        if due_mail.mail is WebinarMail.RECORDING:
            # Thanks for coming, or (attendance unknown) just the recording.
            params["attended"] = due_mail.registration.attended
        written = enqueue(
            session,
            Mail(
                to=email,
                kind=due_mail.mail.value,
                category=MailCategory.TRANSACTIONAL,
                language=language or default_language,
                lead_id=lead_id,
                params=params,
                dedupe_key=due_mail.key,
            ),
            domain=domain,
            now=now,
        )
        counts[due_mail.mail.value] += written is not None
    return Queued(dict(counts))


def queue_due(
    session: Session, now: datetime, *, domain: str, default_language: str = "en"
) -> Queued:
    """``find_due`` and ``queue`` in one transaction (the job reads first and writes only when
    something is due, so an idle minute takes no write lock)."""
    return queue(
        session, find_due(session, now), now, domain=domain, default_language=default_language
    )


def _webinars(session: Session, now: datetime) -> list[Asset]:
    """Published webinars that have not ended longer ago than the follow-up window (the longest
    webinar anyone runs is well under a day)."""
    earliest = now - FOLLOW_UP_FOR - timedelta(days=1)
    return list(
        session.scalars(
            select(Asset)
            .where(
                Asset.kind == Kind.WEBINAR.value,
                Asset.status == Status.PUBLISHED.value,
                Asset.webinar_starts_at >= earliest,
            )
            .order_by(Asset.webinar_starts_at, Asset.id)
        )
    )


def registrants(asset_id: int) -> Select[int | None, str, datetime]:
    """The webinar events of one webinar, by lead and time.

    It reads ``ix_event_webinar`` only: the index's condition is repeated word for word, which
    SQLite needs to use a partial index (PostgreSQL would prove it from ``type = …`` as well).
    """
    return (
        select(Event.lead_id, Event.type, Event.occurred_at)
        .where(text(WEBINAR_EVENTS), Event.asset_id == asset_id, Event.lead_id.is_not(None))
        .order_by(Event.lead_id, Event.occurred_at)
    )


def _registrations(
    session: Session, asset_id: int, since: datetime
) -> tuple[list[Registration], bool]:
    """The webinar's registrants and attendees (registered since ``since``, or attended), and
    whether attendance was imported at all."""
    rows = session.execute(registrants(asset_id)).all()
    registered: dict[int, datetime] = {}
    attended: set[int] = set()
    for lead_id, kind, at in rows:
        if lead_id is None:  # excluded by the query; the column is nullable
            continue
        if kind == EventType.WEBINAR_ATTEND.value:
            attended.add(lead_id)
        elif lead_id not in registered:
            registered[lead_id] = at
    leads = sorted(set(registered) | attended)
    found = [
        Registration(lead_id, registered.get(lead_id), lead_id in attended)
        for lead_id in leads
        if lead_id in attended or registered[lead_id] >= since
    ]
    return found, bool(attended)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), KEY_CHUNK):
        yield values[start : start + KEY_CHUNK]


def _written_before(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys the outbox holds already (read through its unique index)."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        query = select(MailMessage.dedupe_key).where(MailMessage.dedupe_key.in_(chunk))
        found.update(key for key in session.scalars(query) if key is not None)
    return found
