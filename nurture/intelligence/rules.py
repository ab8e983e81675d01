"""Content intelligence, the rules: where leads stall, which library cells are thin, which
arm of a gate experiment a browser gets and when one arm has clearly won, which assets are
fading, and the buying process of leads that reached a decision.

Pure functions over plain values (no database, no clock: ``now`` is passed in); the jobs and
pages in ``nurture.intelligence`` feed them and show what they return.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

STALL_DAYS = 30
"""A lead stalls when its journey stage has not moved for this long while it keeps reading."""
READING_DAYS = 30
"""…and it read something in this many days before now."""


# --- stalls and gaps ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reader:
    """One lead as the stall rule sees it."""

    lead_id: int
    stage: str
    stage_since: datetime
    """When the lead reached its current journey stage (its creation if it never moved)."""
    last_read_at: datetime | None
    last_cells: tuple[tuple[str, str], ...]
    """The cells of the asset it read last: (the asset's stage, each of its topics); empty
    when that asset has no topic."""
    read: frozenset[int] = frozenset()
    """The assets it has read."""


def is_stalled(reader: Reader, now: datetime) -> bool:
    """Stage unchanged for ``STALL_DAYS`` or more and something read in the last
    ``READING_DAYS``: still interested, not moving."""
    return (
        now - reader.stage_since >= timedelta(days=STALL_DAYS)
        and reader.last_read_at is not None
        and now - reader.last_read_at <= timedelta(days=READING_DAYS)
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of the gap matrix: a journey stage and a topic (or persona)."""

    stage: str
    topic: str
    assets: int = 0
    """Published assets in the cell."""
    readers: int = 0
    """Distinct readers of the cell's assets in the last 90 days."""
    engaged_minutes: float = 0.0
    stalled: int = 0
    """Stalled leads whose last read was in this cell, whatever their own stage."""
    stalled_here: int = 0
    """Of those, the ones whose own stage is the cell's stage."""
    exhausted: int = 0
    """Of ``stalled_here``, how many have read every asset of the cell: nothing left for them."""

    @property
    def exhausted_share(self) -> float:
        return self.exhausted / self.stalled_here if self.stalled_here else 0.0


def stalls_by_cell(
    readers: Iterable[Reader],
    cell_assets: Mapping[tuple[str, str], frozenset[int]],
    now: datetime,
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """For each cell some stalled lead read last: (stalled, stalled at the cell's stage, of
    those the ones with no unread asset of the cell). ``cell_assets`` holds each cell's
    published assets. A lead whose last asset has two topics counts in both cells."""
    found: dict[tuple[str, str], list[int]] = {}
    for reader in readers:
        if not reader.last_cells or not is_stalled(reader, now):
            continue
        for cell in reader.last_cells:
            counts = found.setdefault(cell, [0, 0, 0])
            counts[0] += 1
            if reader.stage == cell[0]:
                counts[1] += 1
                if not (cell_assets.get(cell, frozenset()) - reader.read):
                    counts[2] += 1
    return {cell: (a, b, c) for cell, (a, b, c) in found.items()}


THIN = 2
"""A cell with at most this many published assets is thin."""


def gap_score(cell: Cell) -> float:
    """How urgently a cell wants content: its stalled leads at its stage, weighted up when the
    cell is empty or thin and when they have read all of it. Zero without stalled leads."""
    if not cell.stalled_here:
        return 0.0
    thinness = 2.0 if cell.assets == 0 else 1.5 if cell.assets <= THIN else 1.0
    return cell.stalled_here * thinness * (1.0 + cell.exhausted_share)


def ranked_gaps(cells: Iterable[Cell]) -> list[Cell]:
    """Cells with stalled leads, the most urgent first (ties: more stalled, fewer assets)."""
    wanting = [cell for cell in cells if cell.stalled_here]
    return sorted(
        wanting, key=lambda c: (-gap_score(c), -c.stalled_here, c.assets, c.stage, c.topic)
    )


# --- gate experiments -----------------------------------------------------------------------


class Arm(StrEnum):
    OPEN = "open"
    GATED = "gated"


def arm_for(experiment_id: int, browser: str, open_share: float) -> Arm:
    """The arm a browser gets: the same every time for one experiment (a hash of both, not
    a stored draw), ``open_share`` of browsers open."""
    digest = hashlib.sha256(f"{experiment_id}:{browser}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return Arm.OPEN if position < open_share else Arm.GATED


def arm_shown(
    experiment_id: int,
    browser: str,
    open_share: float,
    *,
    passed_gate: bool,
) -> tuple[Arm, bool]:
    """The arm to show and whether the visit counts for the experiment. A browser (or lead)
    that has already passed this gate is never gated again: it sees the asset open and is
    left out of the comparison, which would otherwise count old conversions."""
    if passed_gate:
        return Arm.OPEN, False
    return arm_for(experiment_id, browser, open_share), True


@dataclass(frozen=True, slots=True)
class Share:
    """Successes out of trials, with a 95 % Wilson interval."""

    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.successes, self.trials)


Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound at small counts and at 0 or 1)."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(a: Share, b: Share) -> float:
    """Two-sided p-value that two shares differ (pooled z-test); 1.0 when untestable."""
    if not a.trials or not b.trials:
        return 1.0
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
    if spread == 0:
        return 1.0
    z = abs(a.rate - b.rate) / spread
    return math.erfc(z / math.sqrt(2))


MIN_TRIALS = 30
"""Below this many visitors in an arm no verdict is given, whatever the p-value."""
SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which arm won a comparison, if any: ``winner`` is None unless the difference is
    significant (p < 0.05) with at least ``MIN_TRIALS`` in each arm."""

    metric: str
    open: Share
    gated: Share
    p_value: float
    winner: Arm | None
    reason: str


def verdict(metric: str, open_arm: Share, gated_arm: Share) -> Verdict:
    p = two_proportion_p(open_arm, gated_arm)
    if min(open_arm.trials, gated_arm.trials) < MIN_TRIALS:
        return Verdict(metric, open_arm, gated_arm, p, None, "too few visitors yet")
    if p >= SIGNIFICANCE:
        return Verdict(metric, open_arm, gated_arm, p, None, "no clear difference")
    winner = Arm.OPEN if open_arm.rate > gated_arm.rate else Arm.GATED
    return Verdict(metric, open_arm, gated_arm, p, winner, "significant")


# --- fading content -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """An asset's figures over some weeks."""

    readers: int
    engaged_minutes: float
    completions: int
    conversions: int

    @property
    def minutes_per_reader(self) -> float:
        return self.engaged_minutes / self.readers if self.readers else 0.0

    @property
    def completion(self) -> float:
        return self.completions / self.readers if self.readers else 0.0

    @property
    def conversion(self) -> float:
        return self.conversions / self.readers if self.readers else 0.0


FADE_RATIO = 0.6
"""An asset fades when a figure of its last 12 weeks is under 60 % of its baseline…"""
MIN_READERS = 20
"""…and both periods had at least this many readers (fewer say nothing)."""


@dataclass(frozen=True, slots=True)
class Fade:
    figure: str
    recent: float
    baseline: float
    against: str
    """``own first weeks`` or ``library median``."""


def fading(recent: Period, own_start: Period | None, median: Period | None) -> list[Fade]:
    """Which figures of an asset fell clearly below its baseline: its own first 12 weeks
    when it had enough readers then, else the library median for its kind and stage."""
    if recent.readers < MIN_READERS:
        return []
    if own_start is not None and own_start.readers >= MIN_READERS:
        baseline, against = own_start, "own first weeks"
    elif median is not None and median.readers >= MIN_READERS:
        baseline, against = median, "library median"
    else:
        return []
    found = []
    for figure in ("minutes_per_reader", "completion", "conversion"):
        now_value = getattr(recent, figure)
        then_value = getattr(baseline, figure)
        if then_value > 0 and now_value < FADE_RATIO * then_value:
            found.append(Fade(figure, now_value, then_value, against))
    return found


YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def dated(title: str, webinar_ends_at: datetime | None, now: datetime) -> str | None:
    """Why an asset reads out of date, or None: a webinar whose date has passed (and no
    recording replaced it, the caller decides) or a year in the title before this one."""
    if webinar_ends_at is not None and webinar_ends_at < now:
        return "webinar date passed"
    years = [int(year) for year in YEAR.findall(title)]
    if years and max(years) < now.year:
        return f"{max(years)} in the title"
    return None


def median_period(periods: Sequence[Period]) -> Period | None:
    """The median asset of a kind and stage, figure by figure (None without assets)."""
    if not periods:
        return None
    readers = int(statistics.median(p.readers for p in periods))
    return Period(
        readers=readers,
        engaged_minutes=statistics.median(p.minutes_per_reader for p in periods) * readers,
        completions=round(statistics.median(p.completion for p in periods) * readers),
        conversions=round(statistics.median(p.conversion for p in periods) * readers),
    )


# --- the buying process --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Journey:
    """One lead that reached decision: the assets it read in order (first reads) and when it
    reached each stage."""

    reads: tuple[int, ...]
    reached: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Process:
    leads: int
    median_assets: float
    most_read: list[tuple[int, int]]
    """(asset, leads that read it), most first."""
    paths: list[tuple[tuple[int, int, int], int]]
    """The most common runs of three consecutive reads and how many leads had each."""
    stage_days: dict[str, float]
    """Median days from reaching each stage to reaching the next."""


def buying_process(journeys: Sequence[Journey], stages: Sequence[str], top: int = 10) -> Process:
    """How leads that reached decision got there: how many assets (median), which ones most,
    the most common three-step paths (a path counted once per lead), and the median time
    each stage took."""
    most = Counter(asset for journey in journeys for asset in set(journey.reads))
    paths: Counter[tuple[int, int, int]] = Counter()
    for journey in journeys:
        reads = journey.reads
        paths.update({(reads[i], reads[i + 1], reads[i + 2]) for i in range(len(reads) - 2)})
    stage_days: dict[str, float] = {}
    for this, following in itertools.pairwise(stages):
        spans = [
            (journey.reached[following] - journey.reached[this]).total_seconds() / 86400
            for journey in journeys
            if this in journey.reached and following in journey.reached
        ]
        if spans:
            stage_days[this] = statistics.median(spans)
    return Process(
        leads=len(journeys),
        median_assets=statistics.median(len(j.reads) for j in journeys) if journeys else 0.0,
        most_read=sorted(most.items(), key=lambda item: (-item[1], item[0]))[:top],
        paths=sorted(paths.items(), key=lambda item: (-item[1], item[0]))[:top],
        stage_days=stage_days,
    )
