"""The webinar mails (``nurture.mail.webinars`` decides when each is due; the ``webinar-mail`` job
queues them): the registration confirmation with the calendar entry attached, reminders a day
and an hour before, and afterwards the recording or "sorry we missed you".

What a mail shows is read at send time (the asset's current title, time and recording). The
time reads in UTC in English mail and in Central European time in German mail (where our
German-speaking readers are); the attached ``.ics`` puts the webinar into the reader's calendar
in their own zone either way. The join link is the webinar's video URL (the live stream or
meeting) when it has one, else its page in the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from content.models import Asset
from nurture.mail.webinars import DEFAULT_MINUTES, WebinarMail
from portal.calendar import webinar_ics
from portal.mail.i18n import Entry
from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.mime import Attachment
from tracking.lead_profile import profile

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}  # fmt: skip
GERMAN_ZONES = {"CET": "MEZ", "CEST": "MESZ"}


def when(moment: datetime, language: str) -> str:
    """``Thursday, 3 December 2026, 14:00 UTC`` or ``Donnerstag, 3. Dezember 2026, 15:00 Uhr
    (MEZ)``: written out, so no mail client or locale reads the date the wrong way round."""
    if language == "de":
        local = moment.astimezone(BERLIN)
        zone = local.tzname() or ""
        day = f"{WEEKDAYS['de'][local.weekday()]}, {local.day}. {MONTHS['de'][local.month - 1]}"
        return f"{day} {local.year}, {local:%H:%M} Uhr ({GERMAN_ZONES.get(zone, zone)})"
    utc = moment.astimezone(ZoneInfo("UTC"))
    day = f"{WEEKDAYS['en'][utc.weekday()]}, {utc.day} {MONTHS['en'][utc.month - 1]}"
    return f"{day} {utc.year}, {utc:%H:%M} UTC"


def _asset(context: KindContext) -> Asset:
    asset = context.session.get(Asset, int(context.message.params["asset"]))
    if asset is None or asset.webinar_starts_at is None:
        # Deleted, or its time removed since the mail was queued: nothing true to say.
        raise LookupError(f"webinar {context.message.params['asset']} has no time any more")
    return asset


def webinar_context(context: KindContext) -> dict[str, Any]:
    """What every webinar mail shows: title, time, length, join link, recording, the name."""
    asset = _asset(context)
    assert asset.webinar_starts_at is not None
    message = context.message
    page_url = context.links.url(f"/library/{asset.slug}")
    first_name = (
        profile(context.session, message.lead_id).get("first_name", "")
        if message.lead_id is not None
        else ""
    )
    return {
        "title": asset.title,
        "starts": when(asset.webinar_starts_at, message.language),
        "minutes": asset.webinar_duration_minutes or DEFAULT_MINUTES,
        "join_url": (asset.video_url or "").strip() or page_url,
        "page_url": page_url,
        "recording_url": (asset.recording_url or "").strip() or page_url,
        "first_name": first_name,
        "attended": bool(message.params.get("attended")),
    }


def attachments(context: KindContext) -> list[Attachment]:
    """The calendar entry of the webinar (``portal.calendar.webinar_ics``, as on its page)."""
    asset = _asset(context)
    return [
        Attachment(
            filename=f"{asset.slug}.ics",
            content_type="text/calendar; charset=utf-8; method=PUBLISH",
            data=webinar_ics(asset, context.links.base_url),
        )
    ]


def registered(context: KindContext) -> Mapping[str, Any]:
    """The confirmation: the join link, and the webinar in the reader's calendar."""
    return {**webinar_context(context), "attachments": attachments(context)}


CONTEXTS: dict[str, ContextFunction] = {
    WebinarMail.REGISTERED.value: registered,
    WebinarMail.REMINDER_DAY.value: webinar_context,
    WebinarMail.REMINDER_HOUR.value: webinar_context,
    WebinarMail.RECORDING.value: webinar_context,
    WebinarMail.MISSED.value: webinar_context,
}

GERMAN: Mapping[str, Entry] = {
    "Hi %(first_name)s,": "Hallo %(first_name)s,",
    "Hi,": "Hallo,",
    "When: %(starts)s, %(minutes)s minutes": "Wann: %(starts)s, %(minutes)s Minuten",
    "Join the webinar": "Zum Webinar",
    "You get this email because you registered for the webinar “%(title)s” as %(address)s.": (
        "Sie erhalten diese E-Mail, weil Sie sich mit %(address)s für das Webinar „%(title)s“ "
        "angemeldet haben."
    ),
    # webinar_registered.html
    "You are registered: %(title)s": "Sie sind angemeldet: %(title)s",
    "%(starts)s. The calendar entry is attached.": "%(starts)s. Der Kalendereintrag hängt an.",
    "You are registered for the webinar “%(title)s”.": (
        "Sie sind für das Webinar „%(title)s“ angemeldet."
    ),
    "The attached calendar entry puts the webinar into your calendar. We will remind you a "
    "day and an hour before it starts.": (
        "Mit dem angehängten Kalendereintrag landet das Webinar in Ihrem Kalender. Wir erinnern "
        "Sie einen Tag und eine Stunde vor dem Beginn."
    ),
    # webinar_reminder_24h.html
    "Coming up: %(title)s": "Bald ist es so weit: %(title)s",
    "The webinar “%(title)s” starts %(starts)s.": "Das Webinar „%(title)s“ beginnt %(starts)s.",
    "A reminder: the webinar “%(title)s” you registered for is coming up.": (
        "Zur Erinnerung: Das Webinar „%(title)s“, für das Sie sich angemeldet haben, steht bald an."
    ),
    "Keep this email: the button takes you straight in when it starts.": (
        "Heben Sie diese E-Mail auf: Der Button bringt Sie zum Beginn direkt hinein."
    ),
    # webinar_reminder_1h.html
    "Starting soon: %(title)s": "Gleich geht es los: %(title)s",
    "Starts %(starts)s. Here is your link.": "Beginn %(starts)s. Hier ist Ihr Link.",
    "The webinar “%(title)s” starts soon, %(starts)s.": (
        "Das Webinar „%(title)s“ beginnt gleich, %(starts)s."
    ),
    "Join a few minutes early to check your sound.": (
        "Kommen Sie ein paar Minuten früher, um Ihren Ton zu prüfen."
    ),
    # webinar_recording.html
    "The recording: %(title)s": "Die Aufzeichnung: %(title)s",
    "Watch it whenever you like.": "Sehen Sie sie an, wann Sie möchten.",
    "Thank you for joining us for “%(title)s”. Here is the recording, to watch again or to "
    "share with your team.": (
        "Danke, dass Sie bei „%(title)s“ dabei waren. Hier ist die Aufzeichnung, zum "
        "Nachschauen oder zum Teilen mit Ihrem Team."
    ),
    "The recording of “%(title)s” is ready: watch it whenever you like.": (
        "Die Aufzeichnung von „%(title)s“ ist da: Sehen Sie sie an, wann Sie möchten."
    ),
    "Watch the recording": "Aufzeichnung ansehen",
    # webinar_missed.html
    "Sorry we missed you: %(title)s": "Schade, dass Sie nicht dabei waren: %(title)s",
    "The recording is ready for you.": "Die Aufzeichnung ist für Sie bereit.",
    "We missed you at “%(title)s”. No problem: the recording is ready, so you can watch it "
    "whenever it suits you.": (
        "Wir haben Sie bei „%(title)s“ vermisst. Kein Problem: Die Aufzeichnung ist da, Sie "
        "können sie ansehen, wann es Ihnen passt."
    ),
}
"""The German of the webinar mails (``portal.mail.render`` merges it into the catalog)."""
