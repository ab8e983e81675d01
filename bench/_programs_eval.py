"""Nurture programs on the simulated journeys (used by bench/journeys.py).

Three runs ("arms") of the same planned buyers, each on a database of its own:

- **off**: no program is active;
- **recommender**: the built-in welcome sequence and stage tracks are active; the real
  scheduler (``nurture.programs.scheduler.tick``) runs every simulated hour, and each mail it
  writes is "delivered" with its ``{{ next_best_content N }}`` blocks resolved as the send job
  does (``recommend_for_lead`` for the lead at the moment of sending);
- **popularity**: the same programs, but the blocks list the N most read assets the lead has
  not read (the popularity baseline).

In every arm a buyer who ticks the consent box of a gate form confirms the opt-in mail with
probability ``CONFIRM`` (``tracking.identity.consent.confirm``, which writes the ``subscribed``
change the welcome sequence starts from). Only subscribers get program mail.

How a buyer answers a mail (the simulation's assumptions, not measurements): it opens the mail
with probability ``OPEN``; then it looks down the list and clicks the first asset it has not
read with probability ``CLICK`` times the asset's fit: ``STAGE_FIT`` by the asset's stage
against the buyer's true stage (the same, the next, the one before, else) times ``TOPIC_FIT``
(one of the buyer's topics or not). A click is a session through the real ingestion (the
email click, the asset, perhaps one more read). A click on an asset of the buyer's current
or next stage stands in for the buyer's next planned session of its current stage: that
session is dropped and the rest of the plan comes forward by the time saved (at most
``MAX_PULL``). So fitting mail shortens journeys; mail that does not fit changes nothing.

The assumptions can be varied: BENCH_OPEN [0.35], BENCH_CLICK [0.3], BENCH_MAX_PULL_DAYS [7].
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.mail.models import MailMessage, MailStatus
from nurture.programs import merge, scheduler, store
from nurture.programs.definition import Definition, Send
from nurture.programs.models import Enrollment
from nurture.programs.rules import two_proportion_p, wilson
from nurture.programs.templates import template
from nurture.recommendations import AudienceCache, recommend_for_lead
from portal import program_jobs
from portal.db import Database
from portal.settings import Settings
from tracking.identity import consent
from tracking.models import AssetEngagement, Consent, Lead, Unlock
from tracking.pipeline import audience
from tracking.rules.config import Model

ARMS = ("off", "recommender", "popularity")
STAGES = ("awareness", "consideration", "decision", "customer")
CONFIRM = 0.8
OPEN = float(os.environ.get("BENCH_OPEN", "0.35"))
CLICK = float(os.environ.get("BENCH_CLICK", "0.3"))
STAGE_FIT = {0: 1.0, 1: 0.6, -1: 0.25}
"""By the asset's stage minus the buyer's (in STAGES order); any other: ``OTHER_STAGE``."""
OTHER_STAGE = 0.1
TOPIC_FIT = (1.0, 0.35)
"""(the asset's topic is one of the buyer's, it is not)."""
MAX_PULL = timedelta(days=float(os.environ.get("BENCH_MAX_PULL_DAYS", "7")))
TICK_EVERY = timedelta(hours=1)
HIT_WINDOW = timedelta(days=14)
DECISION_WITHIN = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class AssetFacts:
    slug: str
    stage: str
    topic: str


@dataclass(frozen=True, slots=True)
class Mailed:
    """A program mail as delivered: who got it, when, and the assets its blocks listed."""

    message_id: int
    lead_id: int
    at: datetime
    program: str
    assets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Click:
    at: datetime
    asset_id: int
    message_id: int


def fit(asset: AssetFacts, stage: str, topics: Iterable[str]) -> float:
    """How well an asset fits a buyer in ``stage`` with ``topics`` (0-1)."""
    step = STAGES.index(asset.stage) - STAGES.index(stage)
    stage_fit = STAGE_FIT.get(step, OTHER_STAGE)
    return stage_fit * TOPIC_FIT[0 if asset.topic in topics else 1]


def moves_forward(asset: AssetFacts, stage: str) -> bool:
    """A read of the buyer's current or next stage: research the buyer had to do anyway."""
    return STAGES.index(asset.stage) - STAGES.index(stage) in (0, 1)


@dataclass
class ProgramArm:
    """One arm: its programs (or none), its clock-driven scheduler, its mail and clicks."""

    name: str
    model: Model
    seed: int
    assets: dict[int, AssetFacts]
    cache: AudienceCache = field(default_factory=AudienceCache)
    mailed: list[Mailed] = field(default_factory=list)
    clicks: list[tuple[int, Click]] = field(default_factory=list)
    """(buyer number, click) of every click on program mail."""
    opened: int = 0
    advanced: int = 0
    """Clicks that brought a buyer's plan forward."""
    subscribed: set[int] = field(default_factory=set)
    """Buyer numbers whose opt-in was confirmed."""
    asked: set[int] = field(default_factory=set)
    """Buyer numbers whose ticked box was answered (confirmed or not)."""
    buyers_by_lead: dict[int, int] = field(default_factory=dict)
    ticks: int = 0
    changed: bool = True
    """A session or a confirmation since the last pass (the change log may have grown)."""
    next_due: datetime | None = None
    """The earliest due step after the last pass."""
    rngs: dict[int, random.Random] = field(default_factory=dict)
    definitions: dict[tuple[int, int], Definition] = field(default_factory=dict)

    @property
    def programs_on(self) -> bool:
        return self.name != "off"

    def rng_of(self, number: int) -> random.Random:
        """The buyer's own dice for mail (its plan's dice stay as they are without mail)."""
        if number not in self.rngs:
            self.rngs[number] = random.Random(self.seed * 7_919 + number)
        return self.rngs[number]

    def activate(self, database: Database, at: datetime) -> None:
        if not self.programs_on:
            return
        with database.write() as session:
            for name in ("welcome", "stage-tracks"):
                for definition in template(name):
                    store.save(session, definition, by="bench", now=at, status="active")

    # -- consent ----------------------------------------------------------------------------

    def after_session(
        self, database: Database, number: int, lead_id: int | None, at: datetime
    ) -> datetime | None:
        """When the buyer confirms a consent it ticked in this session (None: it did not tick,
        or leaves the opt-in mail unanswered)."""
        if lead_id is None:
            return None
        self.changed = True
        self.buyers_by_lead[lead_id] = number
        if number in self.asked:
            return None
        with database.read() as session:
            status = session.scalar(select(Lead.consent_status).where(Lead.id == lead_id))
        if status != "pending":
            return None
        self.asked.add(number)
        rng = self.rng_of(number)
        if rng.random() >= CONFIRM:
            return None
        return at + timedelta(minutes=rng.uniform(5, 180))

    def confirm(self, database: Database, number: int, lead_id: int, at: datetime) -> None:
        with database.write() as session:
            pending = session.scalar(
                select(Consent.id)
                .where(Consent.lead_id == lead_id, Consent.status == "pending")
                .order_by(Consent.id.desc())
            )
            if pending is not None:
                consent.confirm(session, lead_id, pending, now=at)
                self.subscribed.add(number)
                self.changed = True

    # -- the scheduler and delivery ---------------------------------------------------------

    def tick(self, database: Database, at: datetime) -> list[Mailed]:
        """The program-scheduler job at ``at``, then the send job: every program mail it wrote
        delivered now, its content blocks resolved for the lead now."""
        if not self.programs_on:
            return []
        if not self.changed and (self.next_due is None or at < self.next_due):
            return []  # has_due would say no: spare the database the question every hour
        self.changed = False
        with database.read() as session:
            if not scheduler.has_due(session, at):
                return []
        self.ticks += 1
        context = program_jobs.context_for(Settings(), self.model)
        scheduler.tick(database.write, at, context)
        audience.catch_up(database)  # the recommendation-audience job, before the send job
        delivered = []
        with database.write() as session:
            waiting = session.scalars(
                select(MailMessage).where(
                    MailMessage.kind == scheduler.MAIL_KIND,
                    MailMessage.status == MailStatus.PENDING.value,
                )
            ).all()
            for message in waiting:
                assert message.lead_id is not None
                assets, program = self.blocks(session, message, at)
                message.status = MailStatus.SENT.value
                message.sent_at = at
                delivered.append(Mailed(message.id, message.lead_id, at, program, assets))
            self.next_due = session.scalar(
                select(func.min(Enrollment.due_at)).where(Enrollment.status == "active")
            )
        self.mailed += delivered
        return delivered

    def definition(self, session: Session, program: int, version: int) -> Definition:
        key = (program, version)
        if key not in self.definitions:
            self.definitions[key] = store.definition(session, program, version)
        return self.definitions[key]

    def blocks(
        self, session: Session, message: MailMessage, at: datetime
    ) -> tuple[tuple[int, ...], str]:
        """The assets the mail's ``next_best_content`` blocks list, in order, and the
        program's name."""
        params = message.params
        current = self.definition(session, int(params["program"]), int(params["version"]))
        step = current.steps[current.index(str(params["step"]))].action
        assert isinstance(step, Send)
        listed: list[int] = []
        for part in merge.split(step.body):
            if isinstance(part, merge.Block) and part.name == "next_best_content":
                for asset_id in self.pick(session, message.lead_id or 0, part.count, at):
                    if asset_id not in listed:
                        listed.append(asset_id)
        return tuple(listed), current.name

    def pick(self, session: Session, lead_id: int, count: int, at: datetime) -> list[int]:
        by_slug = {facts.slug: asset_id for asset_id, facts in self.assets.items()}
        if self.name == "recommender":
            found = recommend_for_lead(session, lead_id, self.model, at, count, cache=self.cache)
            return [by_slug[r.slug] for r in found if r.slug in by_slug]
        read = set(
            session.scalars(
                select(AssetEngagement.asset_id).where(AssetEngagement.lead_id == lead_id)
            )
        ) | set(session.scalars(select(Unlock.asset_id).where(Unlock.lead_id == lead_id)))
        catalog = self.cache.catalog(session)
        readers = self.cache.audience(session, catalog).readers
        unread = [a for a in self.assets if a not in read]
        unread.sort(key=lambda a: (-readers.get(self.assets[a].slug, 0), self.assets[a].slug))
        return unread[:count]

    # -- the buyer's answer ------------------------------------------------------------------

    def react(
        self, number: int, mail: Mailed, stage: str, topics: tuple[str, ...], read: set[int]
    ) -> Click | None:
        """Whether (and when) the buyer clicks an asset of this mail."""
        rng = self.rng_of(number)
        if rng.random() >= OPEN:
            return None
        self.opened += 1
        for asset_id in mail.assets:
            if asset_id in read:
                continue
            if rng.random() < CLICK * fit(self.assets[asset_id], stage, topics):
                click = Click(mail.at + timedelta(hours=rng.uniform(0.1, 30)), asset_id,
                              mail.message_id)  # fmt: skip
                self.clicks.append((number, click))
                return click
        return None

    def mark_clicked(self, session: Session, click: Click) -> None:
        message = session.get(MailMessage, click.message_id)
        if message is not None:
            message.opened_at = message.opened_at or click.at
            message.clicked_at = message.clicked_at or click.at


# -- figures -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """One buyer's journey as the figures need it."""

    number: int
    persona: str
    eligible: bool
    """A prospect (not a customer) whose journey started early enough to be watched 90 days."""
    decided: bool
    """Its true stage reached decision within 90 days of its first session."""
    inferred: bool
    """The product's stage for it reached decision within 90 days of its first session."""
    reads: tuple[tuple[datetime, int], ...]


def hit_rate(arm: ProgramArm, outcomes: dict[int, Outcome]) -> tuple[int, int, int]:
    """(mails with a listed asset, mails followed by a read of one of them within
    ``HIT_WINDOW``, of which through the mail's own link)."""
    clicked = {click.message_id for _, click in arm.clicks}
    mails = hits = through = 0
    for mail in arm.mailed:
        number = arm.buyers_by_lead.get(mail.lead_id)
        if not mail.assets or number is None:
            continue
        mails += 1
        listed = set(mail.assets)
        if any(
            mail.at <= when <= mail.at + HIT_WINDOW and asset in listed
            for when, asset in outcomes[number].reads
        ):
            hits += 1
            through += mail.message_id in clicked
    return mails, hits, through


def share(count: int, total: int) -> str:
    interval = wilson(count, total)
    rate = count / total if total else 0.0
    return f"{rate:>6.1%} [{interval.low:.0%}-{interval.high:.0%}] of {total:<4}"


def decided(outcomes: Iterable[Outcome], truth: bool = True) -> tuple[int, int]:
    """(buyers at decision within 90 days, eligible buyers) of ``outcomes``."""
    eligible = [o for o in outcomes if o.eligible]
    return sum(o.decided if truth else o.inferred for o in eligible), len(eligible)


def report(arms: list[ProgramArm], outcomes: dict[str, dict[int, Outcome]], buyers: int) -> None:
    print(
        f"nurture programs on the simulated buyers ({buyers} buyers, the same plans in each arm;"
        f" welcome + stage tracks; open {OPEN:.0%}, click {CLICK:.0%} x fit, a read brings the"
        f" plan forward by up to {MAX_PULL.days} days):"
    )
    print(
        f"  {'arm':<12} {'subscribed':>10} {'mails':>6} {'opened':>7} {'clicked':>8}"
        "   decision within 90 days: true stage [95 % CI]   inferred stage   subscribers only"
    )
    for arm in arms:
        found = outcomes[arm.name].values()
        inferred, eligible = decided(found, truth=False)
        print(
            f"  {arm.name:<12} {len(arm.subscribed):>10} {len(arm.mailed):>6} {arm.opened:>7}"
            f" {len(arm.clicks):>8}   {share(*decided(found))}"
            f"   {inferred / max(1, eligible):>6.1%}"
            f"   {share(*decided(o for o in found if o.number in arm.subscribed))}"
        )
    off, off_eligible = decided(outcomes["off"].values())
    for arm in arms[1:]:
        count, eligible = decided(outcomes[arm.name].values())
        difference = count / max(1, eligible) - off / max(1, off_eligible)
        p_value = two_proportion_p(count, eligible, off, off_eligible)
        print(
            f"  {arm.name} vs off: {difference:+.1%} points (two-proportion test p = {p_value:.2f})"
        )
    personas = sorted({o.persona for o in outcomes["off"].values() if o.eligible})
    cells = []
    for persona in personas:
        rates = []
        for arm in arms:
            count, eligible = decided(
                o for o in outcomes[arm.name].values() if o.persona == persona
            )
            rates.append(f"{count / max(1, eligible):.0%}")
        cells.append(f"{persona} {' / '.join(rates)}")
    print(f"  by persona ({' / '.join(ARMS)}): " + "; ".join(cells))
    brought = ", ".join(f"{arm.name} {arm.advanced} of {len(arm.clicks)}" for arm in arms[1:])
    print(f"  clicks that brought a plan forward: {brought}")
    programs = Counter(mail.program for mail in arms[1].mailed)
    listed = ", ".join(f"{name} {count}" for name, count in programs.most_common())
    print(f"  mails of the {arms[1].name} arm by program: {listed}")
    print(
        "content blocks: hit rate at 3 (the buyer read one of the mailed assets within"
        f" {HIT_WINDOW.days} days, by any way)"
    )
    rates = {}
    for arm in arms[1:]:
        mails, hits, through = hit_rate(arm, outcomes[arm.name])
        rates[arm.name] = hits / max(1, mails)
        print(
            f"  {arm.name:<12} {share(hits, mails)} mails;"
            f" {through} of the hits through the mail's own link"
        )
    if rates.get("popularity"):
        ratio = rates["recommender"] / rates["popularity"]
        print(f"  recommender / popularity: {ratio:.2f}x   [aim: 1.5x]")
