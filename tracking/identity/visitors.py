"""Visitors: random browser ids, crawler detection, and the rows behind them."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache

from crawlerdetect import CrawlerDetect
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import dialect_insert, utcnow
from tracking.models import VISITOR_ID_LENGTH, Visitor

_detector = CrawlerDetect()


def new_visitor_id() -> str:
    """A fresh random visitor id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(24)[:VISITOR_ID_LENGTH]


@lru_cache(maxsize=4096)
def is_crawler(user_agent: str) -> bool:
    """True for search engines, link previewers and other bots (CrawlerDetect's maintained list).

    An empty user agent counts as a bot: every real browser sends one.
    """
    if not user_agent.strip():
        return True
    return bool(_detector.isCrawler(user_agent))


def ensure_visitor(session: Session, visitor_id: str, now: datetime | None = None) -> None:
    """Create the visitor row if this id has not been stored yet (safe under concurrency)."""
    insert = dialect_insert(session)
    session.execute(
        insert(Visitor)
        .values(id=visitor_id, created_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=[Visitor.id])
    )


def active_lead_id(session: Session, visitor_id: str) -> int | None:
    """The lead this browser speaks for, or None (unknown, anonymous, or retired id)."""
    return session.scalar(
        select(Visitor.lead_id).where(Visitor.id == visitor_id, Visitor.retired_at.is_(None))
    )
