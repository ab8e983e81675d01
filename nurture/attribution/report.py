"""The attribution report, read from the monthly rollups: per asset (or kind, topic, stage),
source, campaign or program, the milestones and money each earned under one model and window,
over a range of months; what no touch explains; time from first touch to MQL and SQL per
source."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Asset, Topic, asset_topic
from content.words import N_, Said
from nurture.attribution.models import AttributionGap, AttributionMonth, SourceTiming
from nurture.attribution.rollup import COUNTED, MONEY
from nurture.attribution.rules import AttributionModel
from nurture.programs.models import Program
from tracking.models import AssetEngagement, FunnelMilestone, Lead


class View(StrEnum):
    ASSET = "asset"
    KIND = "kind"
    TOPIC = "topic"
    STAGE = "stage"
    SOURCE = "source"
    CAMPAIGN = "campaign"
    PROGRAM = "program"

    @property
    def family(self) -> str:
        if self in (View.ASSET, View.KIND, View.TOPIC, View.STAGE):
            return "content"
        return self.value

    @property
    def label(self) -> str:
        return VIEW_LABELS[self]


VIEW_LABELS = {
    View.ASSET: N_("Asset"),
    View.KIND: N_("Kind"),
    View.TOPIC: N_("Topic"),
    View.STAGE: N_("Stage"),
    View.SOURCE: N_("Source"),
    View.CAMPAIGN: N_("Campaign"),
    View.PROGRAM: N_("Program"),
}
"""Each view's name (English, marked: the console shows it in the reader's language)."""
DELETED_ASSET = N_("(a deleted asset)")
NO_TOPIC = N_("(no topic)")
DELETED_PROGRAM = N_("Program %(id)s")
"""The line of a program that no longer exists, by its id."""
MILESTONES = (*COUNTED, *MONEY)


@dataclass(slots=True)
class Line:
    """One row of the report: what ``key`` earned."""

    key: str
    label: str
    influenced: int = 0
    """Milestones of the period whose window held the key (any model): a lead that reached
    two milestones counts twice."""
    earned: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MILESTONES, 0.0))

    def add(self, milestone: str, credit: float, touched: int, share: float = 1.0) -> None:
        self.earned[milestone] += credit * share
        if milestone in COUNTED:
            self.influenced += round(touched * share)


@dataclass(frozen=True, slots=True)
class Report:
    view: View
    model: AttributionModel
    window: int
    months: tuple[datetime, datetime]
    lines: list[Line]
    reached: dict[str, float]
    """Milestones reached in the period (money: the amount), whatever their touches."""
    unattributed: dict[str, float]
    """Of those, what no touch of this view's family explains."""


def report(
    session: Session,
    view: View,
    model: AttributionModel,
    window: int,
    months: tuple[datetime, datetime],
) -> Report:
    """The report over the months ``months[0]`` to ``months[1]`` (first instants, inclusive),
    lines sorted by revenue, pipeline, then the later milestones first."""
    return reports(session, view, (model,), window, months)[model]


def reports(
    session: Session,
    view: View,
    models: Sequence[AttributionModel],
    window: int,
    months: tuple[datetime, datetime],
    milestones: Sequence[str] = MILESTONES,
) -> dict[AttributionModel, Report]:
    """``report`` under each of ``models``: one query for their credits (through the
    rollup's slice index), one for what no touch explains (the same for every model), and the
    keys' labels read once. With ``milestones`` the lines earn only those (the others 0)."""
    first, last = months
    wanted = [] if set(milestones) >= set(MILESTONES) else [
        AttributionMonth.milestone.in_(list(milestones))
    ]  # fmt: skip
    rows = session.execute(
        select(
            AttributionMonth.model,
            AttributionMonth.key,
            AttributionMonth.milestone,
            func.sum(AttributionMonth.credit),
            func.sum(AttributionMonth.touched),
        )
        .where(
            AttributionMonth.family == view.family,
            AttributionMonth.model.in_([model.value for model in models]),
            AttributionMonth.window_days == window,
            AttributionMonth.month >= first,
            AttributionMonth.month <= last,
            *wanted,
        )
        .group_by(AttributionMonth.model, AttributionMonth.key, AttributionMonth.milestone)
    ).all()
    by_model: dict[str, list[tuple[str, str, float, int]]] = defaultdict(list)
    for model_name, key, milestone, credit, touched in rows:
        by_model[model_name].append((key, milestone, credit, touched))
    groups = _groups(session, view, {key for _, key, *_ in rows})
    reached: dict[str, float] = dict.fromkeys(MILESTONES, 0.0)
    unattributed: dict[str, float] = dict.fromkeys(MILESTONES, 0.0)
    for milestone, count, missing in session.execute(
        select(
            AttributionGap.milestone,
            func.sum(AttributionGap.reached),
            func.sum(AttributionGap.unattributed),
        )
        .where(
            AttributionGap.family == view.family,
            AttributionGap.window_days == window,
            AttributionGap.month >= first,
            AttributionGap.month <= last,
        )
        .group_by(AttributionGap.milestone)
    ):
        reached[milestone], unattributed[milestone] = float(count or 0), float(missing or 0)
    order = ("revenue", "pipeline", "customer", "opportunity", "sql", "mql", "created")
    found = {}
    for model in models:
        lines = _grouped(by_model[model.value], groups)
        lines.sort(key=lambda line: ([-line.earned[m] for m in order], line.label.lower()))
        found[model] = Report(view, model, window, months, lines, dict(reached), dict(unattributed))
    return found


def _groups(
    session: Session, view: View, keys: Collection[str]
) -> Callable[[str], list[tuple[str, str, float]]]:
    """What each key of the view's family counts towards: (group, label, share)."""
    if view is View.PROGRAM:
        names = dict(session.execute(select(Program.id, Program.name)).tuples().all())
        return lambda key: [(key, names.get(int(key), DELETED_PROGRAM % {"id": key}), 1.0)]
    if view.family != "content":
        return lambda key: [(key, key, 1.0)]
    ids = sorted({int(key) for key in keys if key.isdigit()})
    assets = {
        str(asset_id): (slug, title, kind, stage)
        for asset_id, slug, title, kind, stage in session.execute(
            select(Asset.id, Asset.slug, Asset.title, Asset.kind, Asset.stage).where(
                Asset.id.in_(ids)
            )
        )
    }
    topics: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if view is View.TOPIC:
        for asset_id, slug, label in session.execute(
            select(asset_topic.c.asset_id, Topic.slug, Topic.label)
            .join(Topic, Topic.id == asset_topic.c.topic_id)
            .where(asset_topic.c.asset_id.in_(ids))
            .order_by(Topic.label)
        ):
            topics[str(asset_id)].append((slug, label))

    def groups(key: str) -> list[tuple[str, str, float]]:
        asset = assets.get(key)
        if asset is None:
            return [(key, DELETED_ASSET, 1.0)]
        slug, title, kind, stage = asset
        if view is View.ASSET:
            return [(slug, title, 1.0)]
        if view is View.KIND:
            return [(kind, kind.replace("_", " ").capitalize(), 1.0)]
        if view is View.STAGE:
            return [(stage, stage.capitalize(), 1.0)]
        if not topics[key]:
            return [("", NO_TOPIC, 1.0)]
        share = 1.0 / len(topics[key])  # an asset on two topics gives each half its credit
        return [(slug, label, share) for slug, label in topics[key]]

    return groups


def _grouped(
    rows: Sequence[tuple[str, str, float, int]],
    groups: Callable[[str], list[tuple[str, str, float]]],
) -> list[Line]:
    lines: dict[str, Line] = {}
    for key, milestone, credit, touched in rows:
        for group, label, share in groups(key):
            line = lines.setdefault(group, Line(group, label))
            line.add(milestone, float(credit or 0.0), int(touched or 0), share)
    return list(lines.values())


@dataclass(frozen=True, slots=True)
class Timing:
    source: str
    leads: dict[str, int]
    days: dict[str, float | None]
    """Average days from first touch to the milestone (None: no lead reached it)."""


def timings(session: Session, months: tuple[datetime, datetime]) -> list[Timing]:
    """Average days from a lead's first touch to its MQL and SQL, per original source."""
    found: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for source, milestone, leads, seconds in session.execute(
        select(
            SourceTiming.source,
            SourceTiming.milestone,
            func.sum(SourceTiming.leads),
            func.sum(SourceTiming.seconds),
        )
        .where(SourceTiming.month >= months[0], SourceTiming.month <= months[1])
        .group_by(SourceTiming.source, SourceTiming.milestone)
    ):
        found[source][milestone] = (int(leads or 0), int(seconds or 0))
    result = []
    for source, by in found.items():
        counts = {m: by.get(m, (0, 0))[0] for m in ("mql", "sql")}
        days = {
            m: (by[m][1] / by[m][0] / 86400 if m in by and by[m][0] else None)
            for m in ("mql", "sql")
        }
        result.append(Timing(source, counts, days))
    return sorted(result, key=lambda t: (-t.leads["mql"], t.source))


MONTH_TEXT_MAX = 7


def parse_month(text: str) -> datetime:
    """``2026-06`` as the first instant of that month (UTC); ValueError with the reason."""
    try:
        moment = datetime.strptime(text.strip()[:MONTH_TEXT_MAX], "%Y-%m")
    except ValueError:
        raise ValueError(
            Said(N_("%(text)s is not a month: write it as 2026-06"), text=repr(text[:20]))
        ) from None
    if moment.year < 2000:
        raise ValueError(Said(N_("months before 2000 hold no data")))
    return moment.replace(tzinfo=UTC)


def month_name(month: datetime) -> str:
    return f"{month:%Y-%m}"


def months_back(month: datetime, count: int) -> datetime:
    """The first instant of the month ``count`` months before ``month``."""
    index = month.year * 12 + month.month - 1 - count
    return month.replace(year=index // 12, month=index % 12 + 1)


COLUMNS = (
    ("influenced", N_("Influenced")),
    ("created", N_("Leads")),
    ("mql", N_("MQLs")),
    ("sql", N_("SQLs")),
    ("opportunity", N_("Opportunities")),
    ("customer", N_("Customers")),
    ("pipeline", N_("Pipeline")),
    ("revenue", N_("Revenue")),
)
"""The report's figures, in order (``influenced`` is the line's, the others its earnings), each
with its heading (marked: the console shows it in the reader's language)."""


def csv_header(currency: str) -> list[str]:
    """The CSV's machine column names (its first row, the same in every language)."""
    return ["view", "key", "label", "model", "window_days", "from", "to"] + [
        name if name not in MONEY else f"{name}_{currency.lower()}" for name, _ in COLUMNS
    ]


def csv_text(
    found: Report,
    currency: str,
    label: Callable[[Line], str] | None = None,
    titles: Sequence[str] | None = None,
) -> str:
    """The report as CSV: machine column names in the first row (``csv_header``), or
    ``titles`` instead when given (for a spreadsheet reader); money in the currency's major
    unit with two decimals, milestone credits with two decimals. ``label`` writes each line's
    label (the console's: in the reader's language)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(titles) if titles is not None else csv_header(currency))
    for line in found.lines:
        figures = [str(line.influenced)] + [
            f"{line.earned[name] / 100:.2f}" if name in MONEY else f"{line.earned[name]:.2f}"
            for name, _ in COLUMNS[1:]
        ]
        writer.writerow(
            [found.view.value, line.key, label(line) if label else line.label,
             found.model.value, found.window,
             month_name(found.months[0]), month_name(found.months[1]), *figures]
        )  # fmt: skip
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Path:
    """One lead's milestone and the content it read in the window before it, oldest first."""

    lead_id: int
    email: str
    name: str
    milestone: str
    at: datetime
    read: list[tuple[str, str, datetime]]
    """(slug, title, first read)"""


def paths(
    session: Session,
    milestone: str,
    months: tuple[datetime, datetime],
    window: int,
    limit: int = 25,
) -> list[Path]:
    """The latest ``limit`` milestones of a kind in the months, each with the content its lead
    read in the window before it (two queries, whatever the limit)."""
    end = months_back(months[1], -1)
    rows = session.execute(
        select(FunnelMilestone.lead_id, FunnelMilestone.at, Lead.email, Lead.name)
        .join(Lead, Lead.id == FunnelMilestone.lead_id)
        .where(
            FunnelMilestone.kind == milestone,
            FunnelMilestone.at >= months[0],
            FunnelMilestone.at < end,
        )
        .order_by(FunnelMilestone.at.desc(), FunnelMilestone.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    earliest = min(at for _, at, _, _ in rows) - timedelta(days=window)
    reads: dict[int, list[tuple[str, str, datetime]]] = defaultdict(list)
    for lead_id, slug, title, at in session.execute(
        select(AssetEngagement.lead_id, Asset.slug, Asset.title, AssetEngagement.first_at)
        .join(Asset, Asset.id == AssetEngagement.asset_id)
        .where(
            AssetEngagement.lead_id.in_({lead_id for lead_id, *_ in rows}),
            AssetEngagement.first_at >= earliest,
        )
        .order_by(AssetEngagement.first_at)
    ):
        if lead_id is not None:
            reads[lead_id].append((slug, title, at))
    return [
        Path(
            lead_id,
            email,
            name,
            milestone,
            at,
            [r for r in reads[lead_id] if at - timedelta(days=window) < r[2] <= at],
        )
        for lead_id, at, email, name in rows
    ]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One figure of every key under each model, side by side (same view, window, months)."""

    figure: str
    keys: list[tuple[str, str]]
    """(key, label), by the largest value under any model first."""
    values: dict[AttributionModel, dict[str, float]]


def compare(
    session: Session, view: View, figure: str, window: int, months: tuple[datetime, datetime]
) -> Comparison:
    """``figure`` (a milestone or ``pipeline``/``revenue``) per key under the four models."""
    values: dict[AttributionModel, dict[str, float]] = {}
    labels: dict[str, str] = {}
    side_by_side = reports(session, view, tuple(AttributionModel), window, months, (figure,))
    for model, found in side_by_side.items():
        values[model] = {line.key: line.earned[figure] for line in found.lines}
        labels.update((line.key, line.label) for line in found.lines)
    best = {key: max(values[model].get(key, 0.0) for model in AttributionModel) for key in labels}
    keys = sorted(labels.items(), key=lambda item: (-best[item[0]], item[1].lower()))
    return Comparison(figure, [item for item in keys if best[item[0]] > 0], values)
