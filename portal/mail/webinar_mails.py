"""The webinar mails (``nurture.mail.webinars`` decides when each is due; the ``webinar-mail`` job
queues them): the registration confirmation with the calendar entry attached, reminders a day
and an hour before, and afterwards the recording or "sorry we missed you".

What a mail shows is read at send time (the asset's current title, time and recording). The
time reads in the lead's own zone (the one its browser reported), else its language's (Central
European time for German, UTC for English), written out in the mail's language with the zone's
name; the attached ``.ics`` puts the webinar into the reader's calendar in their own zone.
The join link is the webinar's video URL (the live stream or
meeting) when it has one, else its page in the library.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from babel import dates as babel_dates

from content.models import Asset
from nurture.mail.webinars import DEFAULT_MINUTES, WebinarMail
from nurture.programs.rules import zone_of
from portal import i18n
from portal.calendar import webinar_ics
from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.mime import Attachment
from tracking.lead_profile import profile
from tracking.models import Lead


def when(moment: datetime, zone: tzinfo) -> str:
    """The webinar's time in ``zone``, written out in the current language with the zone's
    name (``Thursday, 3 December 2026, 14:00 UTC``, ``Donnerstag, 3. Dezember 2026, 15:00
    MEZ``), so no mail client or locale reads the date the wrong way round."""
    local = moment.astimezone(zone)
    here = i18n.locale()
    day = babel_dates.format_date(local, "full", locale=here)
    time = babel_dates.format_time(local, "short", tzinfo=zone, locale=here)
    written = str(babel_dates.get_datetime_format("full", locale=here)).format(time, day)
    name = babel_dates.get_timezone_name(local, width="short", zone_variant=None, locale=here)
    if name[:1] in "+-":  # no name in this language: "GMT-05:00" reads better than "-0500"
        name = babel_dates.get_timezone_gmt(local, locale=here)
    return f"{written} {name}"


def reader_zone(context: KindContext) -> tzinfo:
    """The zone the mail's reader reads times in: the lead's, else its language's."""
    message = context.message
    lead = context.session.get(Lead, message.lead_id) if message.lead_id is not None else None
    return zone_of(lead.time_zone if lead is not None else "", i18n.current())


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
        "starts": when(asset.webinar_starts_at, reader_zone(context)),
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
