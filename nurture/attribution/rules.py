"""The attribution models, pure: how one milestone's credit (1, or a deal's amount) is shared
among the touches of one family (content read, visit sources, campaigns, program mails) that
came in the window before it.

A touch is a moment and a key (an asset id, a source, a campaign, a program id); touches of
each family are credited on their own, so the content report answers "which assets" and the
source report "which sources", each summing to the whole milestone.

- **first touch**: all to the earliest touch in the window;
- **last touch**: all to the latest touch at or before the milestone;
- **linear**: an equal share to every touch;
- **W-shaped**: 90 % shared equally by the anchor touches, 10 % by the others. The anchors
  are the first touch and, for the credited milestone and each milestone the lead reached
  before it (lead creation, MQL, opportunity; one reached at the same moment is the same
  anchor), the latest touch at or before it. For a lead's creation that is the first and the
  creating touch (U-shaped); for an MQL, first, creation and MQL (the W); for an opportunity
  or a customer also the opportunity (the full path). One touch may be several anchors and
  gets each share. With no other touch the 10 % goes to the anchors too.

A lead with no touch in the window gets no credit: the milestone counts as unattributed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from content.words import N_


class AttributionModel(StrEnum):
    FIRST_TOUCH = "first"
    LAST_TOUCH = "last"
    LINEAR = "linear"
    W_SHAPED = "w"

    @property
    def label(self) -> str:
        return MODEL_LABELS[self]


MODEL_LABELS = {
    AttributionModel.FIRST_TOUCH: N_("First touch"),
    AttributionModel.LAST_TOUCH: N_("Last touch"),
    AttributionModel.LINEAR: N_("Linear"),
    AttributionModel.W_SHAPED: N_("W-shaped"),
}
"""Each model's name (English, marked: the console shows it in the reader's language)."""
WINDOWS = (30, 90, 180, 365)
"""Days before a milestone whose touches count; the report offers these."""
ANCHOR_SHARE = 0.9
ANCHOR_MILESTONES = ("created", "mql", "opportunity")
"""Milestones whose touch is an anchor of the W-shaped model (besides the first touch)."""


@dataclass(frozen=True, slots=True)
class Touch:
    at: datetime
    key: str


def in_window(touches: Iterable[Touch], at: datetime, days: int) -> list[Touch]:
    """The touches in the ``days`` before ``at`` (inclusive of ``at``), oldest first; ties keep
    their order."""
    since = at - timedelta(days=days)
    return sorted((t for t in touches if since < t.at <= at), key=lambda t: t.at)


def credits(
    model: AttributionModel,
    touches: Sequence[Touch],
    at: datetime,
    reached: Mapping[str, datetime] | None = None,
    *,
    window: int,
    amount: float = 1.0,
) -> dict[str, float]:
    """The share of ``amount`` each key earns for a milestone at ``at``. ``touches``: the
    lead's touches of one family (any order; those outside the window are ignored);
    ``reached``: when the lead reached each earlier milestone (``created``, ``mql``,
    ``opportunity``), for the W-shaped anchors. The shares sum to ``amount``, or the result is
    empty when no touch is in the window."""
    found = in_window(touches, at, window)
    if not found:
        return {}
    weights = _weights(model, found, at, reached or {})
    earned: dict[str, float] = defaultdict(float)
    for touch, weight in zip(found, weights, strict=True):
        if weight:
            earned[touch.key] += weight * amount
    return dict(earned)


def _weights(
    model: AttributionModel, found: Sequence[Touch], at: datetime, reached: Mapping[str, datetime]
) -> list[float]:
    count = len(found)
    if model is AttributionModel.FIRST_TOUCH:
        return [1.0] + [0.0] * (count - 1)
    if model is AttributionModel.LAST_TOUCH:
        return [0.0] * (count - 1) + [1.0]
    if model is AttributionModel.LINEAR:
        return [1.0 / count] * count
    anchors = [0]
    earlier = {reached[name] for name in ANCHOR_MILESTONES if name in reached}
    for moment in [*sorted(m for m in earlier if m < at), at]:
        latest = _latest_at_or_before(found, moment)
        if latest is not None:
            anchors.append(latest)
    weights = [0.0] * count
    others = [index for index in range(count) if index not in anchors]
    anchor_share = ANCHOR_SHARE if others else 1.0
    for index in anchors:
        weights[index] += anchor_share / len(anchors)
    for index in others:
        weights[index] += (1.0 - ANCHOR_SHARE) / len(others)
    return weights


def _latest_at_or_before(found: Sequence[Touch], moment: datetime) -> int | None:
    latest = None
    for index, touch in enumerate(found):
        if touch.at > moment:
            break
        latest = index
    return latest


def month_of(at: datetime) -> datetime:
    """The first instant of ``at``'s month (UTC): the rollups' period."""
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
