"""iCalendar (RFC 5545) entries for webinars, so a visitor can add one to their calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from content.models import Asset
from content.orm import utcnow


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def webinar_ics(asset: Asset, base_url: str, now: datetime | None = None) -> bytes:
    assert asset.webinar_starts_at is not None
    starts = asset.webinar_starts_at
    ends = starts + timedelta(minutes=asset.webinar_duration_minutes or 45)
    url = f"{base_url.rstrip('/')}/library/{asset.slug}"
    host = base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Leadshelf//Webinars//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:webinar-{asset.id}@{host}",
        f"DTSTAMP:{_stamp(now or utcnow())}",
        f"DTSTART:{_stamp(starts)}",
        f"DTEND:{_stamp(ends)}",
        f"SUMMARY:{_escape(asset.title)}",
        f"DESCRIPTION:{_escape((asset.summary + chr(10) + chr(10) + url).strip())}",
        f"URL:{url}",
        f"LOCATION:{_escape(url)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
