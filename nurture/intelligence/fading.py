"""Fading content: each published asset's last 12 weeks against its own first 12 weeks (or the
median of its kind and stage), and assets whose webinar or title year has passed
(``rules.fading``, ``rules.dated``); editors snooze a flag with a reason.

One grouped statement over ``asset_daily`` (a row per asset and day) gives every asset's two
periods; nothing reads events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, delete, func, select
from sqlalchemy.orm import Session

from content.models import Asset, Status
from nurture.intelligence.models import AssetSnooze
from nurture.intelligence.rules import Fade, Period, dated, fading, median_period
from tracking.models import AssetDaily

WEEKS = 12
SNOOZE_DAYS = (30, 90, 365)


@dataclass(frozen=True, slots=True)
class Flag:
    asset_id: int
    slug: str
    title: str
    kind: str
    stage: str
    recent: Period
    fades: list[Fade]
    dated: str | None
    snoozed: AssetSnooze | None


def _period(rows: dict[str, float], prefix: str) -> Period:
    return Period(
        readers=int(rows.get(f"{prefix}_readers", 0) or 0),
        engaged_minutes=float(rows.get(f"{prefix}_seconds", 0) or 0) / 60,
        completions=int(rows.get(f"{prefix}_completions", 0) or 0),
        conversions=int(rows.get(f"{prefix}_conversions", 0) or 0),
    )


def _weeks_after_publishing(session: Session) -> ColumnElement[Any]:
    """The UTC day ``WEEKS`` weeks after an asset was published, in SQL (as ``first_until``
    has it in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Asset.published_at) + timedelta(weeks=WEEKS), Date)
    return func.date(Asset.published_at, f"+{WEEKS * 7} days")


def flags(session: Session, now: datetime) -> list[Flag]:
    """Every published asset that fades or reads out of date, the snoozed ones included
    (marked), most faded first."""
    assets = session.execute(
        select(
            Asset.id,
            Asset.slug,
            Asset.title,
            Asset.kind,
            Asset.stage,
            Asset.published_at,
            Asset.webinar_starts_at,
            Asset.webinar_duration_minutes,
            Asset.recording_url,
        ).where(Asset.status == Status.PUBLISHED.value)
    ).all()
    recent_from = (now - timedelta(weeks=WEEKS)).date()
    # the own baseline: the first 12 weeks after publishing, when they ended before the
    # recent 12 weeks began (an asset younger than that is compared with its peers)
    first_until = {
        row.id: (row.published_at + timedelta(weeks=WEEKS)).date()
        for row in assets
        if row.published_at is not None
        and row.published_at.date() + timedelta(weeks=WEEKS) <= recent_from
    }
    columns = {
        "recent_readers": func.sum(AssetDaily.readers),
        "recent_seconds": func.sum(AssetDaily.engaged_seconds),
        "recent_completions": func.sum(AssetDaily.completions),
        "recent_conversions": func.sum(AssetDaily.unlocks + AssetDaily.registrations),
    }
    recent_rows: dict[int, dict[str, float]] = {
        row[0]: dict(zip(columns, row[1:], strict=True))
        for row in session.execute(
            select(AssetDaily.asset_id, *columns.values())
            .where(AssetDaily.day >= recent_from)
            .group_by(AssetDaily.asset_id)
        )
    }
    first_rows: dict[int, dict[str, float]] = {}
    if first_until:
        # summed by the database, each asset up to its own 12th week (a few rows per asset)
        earliest = min(first_until.values()) - timedelta(weeks=WEEKS)
        first_columns = {
            "first_readers": func.sum(AssetDaily.readers),
            "first_seconds": func.sum(AssetDaily.engaged_seconds),
            "first_completions": func.sum(AssetDaily.completions),
            "first_conversions": func.sum(AssetDaily.unlocks + AssetDaily.registrations),
        }
        first_rows = {
            row[0]: dict(zip(first_columns, row[1:], strict=True))
            for row in session.execute(
                select(AssetDaily.asset_id, *first_columns.values())
                .join(Asset, Asset.id == AssetDaily.asset_id)
                .where(
                    AssetDaily.asset_id.in_(list(first_until)),
                    AssetDaily.day >= earliest,
                    AssetDaily.day < recent_from,
                    AssetDaily.day < _weeks_after_publishing(session),
                )
                .group_by(AssetDaily.asset_id)
            )
        }
    recent = {asset_id: _period(rows, "recent") for asset_id, rows in recent_rows.items()}
    peers: dict[tuple[str, str], list[Period]] = defaultdict(list)
    for asset_id, _slug, _title, kind, stage, *_ in assets:
        if asset_id in recent:
            peers[kind, stage].append(recent[asset_id])
    snoozes = {
        snooze.asset_id: snooze
        for snooze in session.scalars(select(AssetSnooze).where(AssetSnooze.until > now))
    }
    found = []
    for asset_id, slug, title, kind, stage, _published, starts, minutes, recording in assets:
        period = recent.get(asset_id, Period(0, 0.0, 0, 0))
        own = _period(first_rows[asset_id], "first") if asset_id in first_rows else None
        fades = fading(period, own, median_period(peers.get((kind, stage), [])))
        ends = starts + timedelta(minutes=minutes or 60) if starts and not recording else None
        reason = dated(title, ends, now)
        if fades or reason:
            found.append(
                Flag(
                    asset_id, slug, title, kind, stage, period, fades, reason, snoozes.get(asset_id)
                )
            )
    return sorted(
        found,
        key=lambda flag: (
            flag.snoozed is not None,
            min((fade.recent / fade.baseline for fade in flag.fades), default=1.0),
            flag.title.lower(),
        ),
    )


def snooze(session: Session, asset_id: int, reason: str, days: int, by: str, now: datetime) -> None:
    """Hide an asset's flag for ``days`` with a reason (replacing an earlier snooze)."""
    session.execute(delete(AssetSnooze).where(AssetSnooze.asset_id == asset_id))
    session.add(
        AssetSnooze(
            asset_id=asset_id,
            reason=reason,
            snoozed_by=by,
            snoozed_at=now,
            until=now + timedelta(days=days),
        )
    )
