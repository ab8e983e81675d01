"""Journey-stage inference against simulated buyers: accuracy, lag, and cost per event.

A seeded simulator builds a 60-asset library and lets buyers of four personas
(fast decider, slow researcher, stalled tire-kicker, existing customer) move
through awareness → consideration → decision over months of simulated time.
They read mostly content of their current stage (75 % current, 15 % one stage
earlier, 10 % one later: customer content for a buyer in decision), dwell
(read_progress beacons of at most 60 s with growing depth) or bounce, unlock
gated assets through the real gate forms (``tracking.identity.gate_forms``: progressive
profiling, identification with stitching), register for and attend webinars,
download, and go quiet for weeks. Every session is one write transaction through
``tracking.pipeline.ingest.store(..., now=<simulated time>, model=...)``, so the stored
``Lead.journey_stage`` is the product's own verdict.

It prints (figures only, never pass/fail): stage accuracy against the simulator's
true final stage (overall, per persona), the confusion matrix, the recommendation hit
rate at 3 for the next asset a buyer opens against popularity and random
(``bench/_recommend_eval.py``; with a re-ranking table of other weights), how many events and
simulated days the inferred stage needs to follow a true stage change, the check
"never decision from a single awareness read" (organic and explicit cases), a
sensitivity table of alternative thresholds and half-lives (replayed in memory
from the stored trails, after the default figures), the stored stage after the
app's housekeeping re-evaluates quiet leads at the horizon, and the cost per stored
event for one lead whose trail is 10, 1,000 and 100,000 events long.

Then (SQLite only) the nurture programs comparison of ``bench/_programs_eval.py``: the same
planned buyers, now each with a topic or two it prefers, three times: programs off; the
welcome sequence and stage tracks on, their content blocks resolved by the recommender; on,
with the most popular unread assets in the blocks instead. Subscribers (a ticked consent box,
confirmed) get the mail the real scheduler writes, open and click it as their stage and topics
fit, and a fitting read brings the rest of their plan forward. It prints the share of buyers
at decision within 90 days in each run, and the hit rate at 3 of the mailed blocks.

Environment (defaults in brackets; the CI smoke run wants the small values):
  BENCH_JOURNEYS       simulated buyers [300]          (smoke: 30)
  BENCH_SINGLE_READS   explicit single-read leads [60] (smoke: 9)
  BENCH_TRAIL_MAX      cap on the trail lengths [100000] (smoke: 2000)
  BENCH_TRAIL_SAMPLES  timed single-event batches per trail length [300] (smoke: 50)
  BENCH_SEED           random seed [7]
  BENCH_SENSITIVITY    1 to print the sensitivity table [1]
  BENCH_PROGRAM_BUYERS simulated buyers of each programs run [150] (smoke: 20; 0: none)
  LEADSHELF_TEST_POSTGRES_URL  also run on a fresh PostgreSQL database

Run: make bench   (or .venv/bin/python bench/journeys.py; --programs: the programs
comparison only)
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench._common import fresh_postgres
from bench._programs_eval import (
    ARMS,
    DECISION_WITHIN,
    MAX_PULL,
    TICK_EVERY,
    AssetFacts,
    Click,
    Outcome,
    ProgramArm,
    moves_forward,
    report,
)
from bench._recommend_eval import RecommendEval, print_weight_sensitivity
from content.editing import save_asset, validate_draft
from content.models import Asset
from content.publishing import publish
from portal.db import Database
from portal.migrate import upgrade_to_head
from tracking import events
from tracking.identity import gate_forms, identify
from tracking.identity.facts import Source
from tracking.models import Event, Lead, ProfileFact, VisitorJourney
from tracking.pipeline import leadstate
from tracking.pipeline.ingest import store
from tracking.rules import journey
from tracking.rules.config import Model, ScoringModel
from tracking.rules.journey import JourneyState
from tracking.rules.scoring import Lifecycle

JOURNEYS = int(os.environ.get("BENCH_JOURNEYS", "300"))
SINGLE_READS = int(os.environ.get("BENCH_SINGLE_READS", "60"))
TRAIL_MAX = int(os.environ.get("BENCH_TRAIL_MAX", "100000"))
TRAIL_SAMPLES = int(os.environ.get("BENCH_TRAIL_SAMPLES", "300"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
SENSITIVITY = os.environ.get("BENCH_SENSITIVITY", "1") == "1"
PROGRAM_BUYERS = int(os.environ.get("BENCH_PROGRAM_BUYERS", "150"))
PROGRAMS_ONLY = "--programs" in sys.argv[1:]

A, C, D, CUSTOMER = "awareness", "consideration", "decision", "customer"
PROSPECT_STAGES = (A, C, D)
ALL_STAGES = (A, C, D, CUSTOMER)
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
HORIZON_DAYS = 200.0
"""Journeys start in the first 160 days and are cut off here (so final stages vary)."""

# --- the library ------------------------------------------------------------------------------

TOPICS = ("lead-scoring", "email-nurturing", "marketing-automation", "content-strategy", "crm")
LIBRARY: dict[str, tuple[tuple[str, int, int], ...]] = {
    # stage: (kind, how many, how many of them gated); webinars are always gated (registration)
    A: (("article", 8, 0), ("checklist", 4, 2), ("whitepaper", 3, 1), ("webinar", 3, 3)),
    C: (
        ("whitepaper", 5, 3),
        ("webinar", 4, 4),
        ("checklist", 3, 0),
        ("article", 3, 0),
        ("case_study", 3, 1),
    ),
    D: (("case_study", 5, 2), ("datasheet", 5, 2), ("webinar", 3, 3), ("whitepaper", 3, 1)),
    CUSTOMER: (("article", 4, 0), ("webinar", 2, 2), ("checklist", 2, 0)),
}
DOWNLOADABLE = frozenset({"whitepaper", "checklist", "datasheet", "case_study"})


@dataclass(frozen=True, slots=True)
class LibraryAsset:
    id: int
    slug: str
    stage: str
    kind: str
    gated: bool
    topic: str = ""


def build_library(database: Database) -> dict[str, list[LibraryAsset]]:
    """~60 published assets spread over stages, kinds and topics (see ``LIBRARY``)."""
    by_stage: dict[str, list[LibraryAsset]] = defaultdict(list)
    webinar_at = (START + timedelta(days=30)).isoformat()
    with database.write() as session:
        for stage, kinds in LIBRARY.items():
            number = 0
            for kind, count, gated in kinds:
                for i in range(count):
                    topic = TOPICS[number % len(TOPICS)]
                    number += 1
                    slug = f"{stage}-{kind.replace('_', '-')}-{i + 1}"
                    values = {
                        "title": f"{topic.replace('-', ' ').title()}: {kind} for {stage} {i + 1}",
                        "slug": slug,
                        "kind": kind,
                        "stage": stage,
                        "gate": "gated" if i < gated else "open",
                        "topics": [topic],
                        "summary": f"A {kind} about {topic} for the {stage} stage.",
                        "body": f"Body of {slug}.",
                        **({"webinar_starts_at": webinar_at} if kind == "webinar" else {}),
                    }
                    draft, errors = validate_draft(values)
                    assert draft is not None, errors
                    asset = save_asset(session, draft, "bench@example.com")
                    publish(session, asset, "bench", now=START - timedelta(days=60))
                    session.flush()
                    by_stage[stage].append(
                        LibraryAsset(asset.id, slug, stage, kind, i < gated, topic)
                    )
    return dict(by_stage)


# --- personas and plans -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float
    plan: Callable[[random.Random], list[tuple[float, str]]]
    """(days since the previous session, true stage) for each planned session."""
    reads: tuple[int, int]
    dwell: float
    """Median engaged seconds of a read that is not a bounce."""
    bounce: float


def _leg(
    rng: random.Random, stage: str, sessions: tuple[int, int], gap: float
) -> list[tuple[float, str]]:
    return [(rng.expovariate(1 / gap) + 0.05, stage) for _ in range(rng.randint(*sessions))]


def _fast(rng: random.Random) -> list[tuple[float, str]]:
    return _leg(rng, A, (1, 2), 3) + _leg(rng, C, (2, 3), 3) + _leg(rng, D, (2, 4), 3)


def _slow(rng: random.Random) -> list[tuple[float, str]]:
    plan = _leg(rng, A, (3, 6), 11) + _leg(rng, C, (4, 8), 11) + _leg(rng, D, (2, 4), 11)
    if rng.random() < 0.3:  # a holiday or a reorganisation: weeks of silence, same stage
        at = rng.randrange(2, len(plan))
        plan[at] = (plan[at][0] + rng.uniform(21, 56), plan[at][1])
    return plan


def _tire_kicker(rng: random.Random) -> list[tuple[float, str]]:
    plan = _leg(rng, A, (2, 5), 7)
    if rng.random() < 0.6:
        plan += _leg(rng, C, (1, 3), 7)
    for _ in range(1 + (rng.random() < 0.3)):  # stalls, and comes back browsing from scratch
        back = _leg(rng, A, (1, 3), 7)
        back[0] = (rng.uniform(21, 70), A)
        plan += back
    return plan


def _customer(rng: random.Random) -> list[tuple[float, str]]:
    return _leg(rng, CUSTOMER, (2, 6), 14)


PERSONAS = (
    Persona("fast decider", 0.25, _fast, reads=(1, 3), dwell=150, bounce=0.15),
    Persona("slow researcher", 0.35, _slow, reads=(1, 2), dwell=120, bounce=0.2),
    Persona("tire-kicker", 0.30, _tire_kicker, reads=(1, 2), dwell=60, bounce=0.35),
    Persona("customer", 0.10, _customer, reads=(1, 2), dwell=120, bounce=0.2),
)
TOPIC_PICK = 0.6
"""With topics (the programs runs), this share of a buyer's picks stays within its topics."""
DOWNLOAD_CHANCE = {A: 0.05, C: 0.25, D: 0.35, CUSTOMER: 0.15}
REGISTER_CHANCE = {A: 0.15, C: 0.4, D: 0.6, CUSTOMER: 0.5}


@dataclass(slots=True)
class Journey:
    """One simulated buyer: the plan, where it truly stands, and what the product inferred."""

    number: int
    persona: Persona
    rng: random.Random
    sessions: list[tuple[datetime, str]]
    identify_at: int
    """Session index of identification (0 with ``known``: imported / email link)."""
    known: bool
    visitor: str
    email: str
    lead_id: int | None = None
    truth: str | None = None
    events: int = 0
    touched: dict[int, str] = field(default_factory=dict)
    """Asset id → stage of every asset shown to the buyer so far."""
    unlocked: set[int] = field(default_factory=set)
    changes: list[tuple[datetime, int, str | None, str]] = field(default_factory=list)
    """(when, events stored before, old true stage, new true stage)."""
    seen: list[tuple[datetime, int, str]] = field(default_factory=list)
    """(batch time, events stored so far, inferred stage) after every transaction."""
    last_batch: datetime | None = None
    single_read_stages: list[str] = field(default_factory=list)
    """Inferred stages seen while the buyer had touched exactly one asset, an awareness one."""
    topics: tuple[str, ...] = ()
    """Topics the buyer cares about (only with programs: it then reads them more often)."""
    reads: list[tuple[datetime, int]] = field(default_factory=list)
    """(when, asset id) of every asset the buyer opened."""
    next_index: int = 0
    """The next planned session not run yet."""
    plan_version: int = 0
    """Bumped when a mailed read brings the rest of the plan forward."""


def plan_journeys(count: int, seed: int, topics: bool = False) -> list[Journey]:
    """Buyers and their plans; ``topics`` gives each one or two topics of interest (drawn
    apart, so the plans are the same with or without)."""
    master = random.Random(seed)
    shares = [p.share for p in PERSONAS]
    journeys = []
    for number in range(count):
        persona = master.choices(PERSONAS, shares)[0]
        rng = random.Random(master.getrandbits(64))
        at = START + timedelta(days=rng.uniform(0, 160))
        sessions: list[tuple[datetime, str]] = []
        for gap, stage in persona.plan(rng):
            at += timedelta(days=gap if sessions else 0)
            if at > START + timedelta(days=HORIZON_DAYS):
                break
            sessions.append((at, stage))
        known = persona.name == "customer" or rng.random() < 0.35
        identify_at = 0 if known else min(rng.randint(1, 3), len(sessions) - 1)
        journeys.append(
            Journey(
                number=number,
                persona=persona,
                rng=rng,
                sessions=sessions,
                identify_at=identify_at,
                known=known,
                visitor=f"sim-{number:05d}-{rng.getrandbits(48):012x}",
                email=f"buyer{number:05d}@company{number % 97}.example",
                topics=interests(seed, number) if topics else (),
            )
        )
    return journeys


def interests(seed: int, number: int) -> tuple[str, ...]:
    """One topic, and a second one for a third of the buyers."""
    rng = random.Random(seed * 100_003 + number)
    return tuple(rng.sample(TOPICS, 2 if rng.random() < 0.33 else 1))


# --- one session: events through the real ingestion and gate paths ----------------------------


def truthful(name: str, buyer: Journey, stage: str) -> str:
    """What this buyer answers to a profile question, given where it truly stands."""
    rng = buyer.rng
    tire = buyer.persona.name == "tire-kicker"
    choices: dict[str, Any] = {
        "email": buyer.email,
        "company_size": rng.choice(("10-49", "50-249", "250-999", "1000+")),
        "authority": rng.choice(("user", "influencer", "decision_maker")),
        "need": "Qualify inbound leads faster",
        "phone": "+49 30 1234567",
        "timeframe": {
            D: rng.choices(("0-3m", "3-6m"), (7, 3))[0],
            C: rng.choice(("12m+", "unknown", "6-12m", "3-6m") if tire else ("3-6m", "6-12m")),
            A: rng.choice(("12m+", "unknown", "6-12m")),
        }.get(stage, "unknown"),
        "budget": {D: rng.choice(("approved", "planned")), C: rng.choice(("planned", "none"))}.get(
            stage, "none"
        ),
        "project": "yes" if stage == D and rng.random() < 0.7 else "no",
    }
    return str(choices.get(name, f"{name.replace('_', ' ').title()} {buyer.number}"))


@dataclass(slots=True)
class Visit:
    """One session of one buyer in one write transaction; events are flushed in batches."""

    session: Session
    buyer: Journey
    stage: str
    clock: datetime
    model: Model
    index: int = 0
    forced_done: bool = False
    """The identifying gate form of this session has been submitted."""
    pending: list[events.TrackedEvent] = field(default_factory=list)
    attends: list[tuple[datetime, int]] = field(default_factory=list)

    def tick(self, seconds: float) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def add(self, event_type: type[events.TrackedEvent], **values: Any) -> None:
        self.pending.append(
            event_type(
                visitor_id=self.buyer.visitor,
                lead_id=self.buyer.lead_id,
                occurred_at=self.tick(self.buyer.rng.uniform(2, 20)),
                **values,
            )
        )

    def flush(self) -> None:
        if self.pending:
            counts = store(self.session, [self.pending], now=self.clock, model=self.model)
            self.buyer.events += counts[0]
            self.pending = []

    def identify_known(self) -> None:
        """An imported contact (or an email link) identifies the browser before it reads."""
        buyer = self.buyer
        firmographics = {
            name: truthful(name, buyer, self.stage)
            for name in ("first_name", "last_name", "company", "job_title", "company_size")
        }
        found = identify.identify(
            self.session,
            visitor_id=buyer.visitor,
            email=buyer.email,
            answers=firmographics,
            consent=None,
            source=Source("import"),
            now=self.clock,
            model=self.model,
        )
        buyer.visitor, buyer.lead_id = found.visitor_id, found.lead_id
        if self.stage == CUSTOMER:  # the CRM knows its customers
            lead = self.session.get(Lead, found.lead_id)
            assert lead is not None
            leadstate.set_lifecycle(self.session, lead, Lifecycle.CUSTOMER, "crm", self.clock)
        self.add(events.EmailClick, campaign="welcome")

    def gate(self, asset: LibraryAsset) -> bool:
        """The gate form of a locked asset: submitted (True) or left; the real gate path."""
        buyer, rng = self.buyer, self.buyer.rng
        self.add(events.AssetView, asset_id=asset.id, locked=True)
        self.add(events.GateView, asset_id=asset.id)
        if buyer.lead_id is None:
            submit = not self.forced_done and self.index == buyer.identify_at
        else:
            submit = rng.random() < (
                REGISTER_CHANCE[self.stage] if asset.kind == "webinar" else 0.8
            )
        if not submit:
            return False
        self.flush()
        row = self.session.get(Asset, asset.id)
        assert row is not None
        form = gate_forms.gate_form(self.session, row, buyer.visitor, self.model)
        answers = {spec.name: truthful(spec.name, buyer, self.stage) for spec in form.fields}
        result = gate_forms.submit_gate(
            self.session,
            row,
            buyer.visitor,
            answers,
            consent_ticked=rng.random() < 0.6,
            model=self.model,
            now=self.tick(rng.uniform(20, 90)),
        )
        assert result.accepted, result.errors
        buyer.lead_id = result.lead_id
        buyer.visitor = result.visitor_id or buyer.visitor
        buyer.events += 3 if asset.kind == "webinar" else 2
        buyer.unlocked.add(asset.id)
        self.forced_done = True
        if asset.kind == "webinar" and rng.random() < 0.7:
            self.attends.append((self.clock + timedelta(days=rng.uniform(1, 10)), asset.id))
        return True

    def read(self, asset: LibraryAsset) -> None:
        buyer, rng = self.buyer, self.buyer.rng
        buyer.touched[asset.id] = asset.stage
        buyer.reads.append((self.clock, asset.id))
        if asset.gated and asset.id not in buyer.unlocked:
            if not self.gate(asset) or asset.kind == "webinar":
                return
        else:
            self.add(events.AssetView, asset_id=asset.id)
        if rng.random() < buyer.persona.bounce:
            if rng.random() < 0.5:
                self.add(
                    events.ReadProgress, asset_id=asset.id, seconds=rng.uniform(2, 8), depth=0.1
                )
            return
        dwell = min(900.0, max(15.0, rng.lognormvariate(math.log(buyer.persona.dwell), 0.6)))
        depth = min(1.0, 0.2 + dwell / 300 * rng.uniform(0.5, 1.2))
        beats = math.ceil(dwell / 60)
        for beat in range(1, beats + 1):
            self.add(
                events.ReadProgress,
                asset_id=asset.id,
                seconds=round(dwell / beats, 1),
                depth=round(depth * beat / beats, 3),
            )
        if (
            buyer.lead_id
            and asset.kind in DOWNLOADABLE
            and rng.random() < DOWNLOAD_CHANCE[self.stage]
        ):
            self.add(events.Download, asset_id=asset.id)
        if depth >= 0.9 and rng.random() < 0.15:
            self.add(events.CtaClick, asset_id=asset.id, target="next-step")


def pick_asset(visit: Visit, library: dict[str, list[LibraryAsset]], first: bool) -> LibraryAsset:
    """Mostly the buyer's current stage (75 %), else one stage earlier (15 %) or later (10 %)."""
    buyer, rng, stage = visit.buyer, visit.buyer.rng, visit.stage
    if first and buyer.lead_id is None and visit.index == buyer.identify_at:
        return rng.choice([a for a in library[stage] if a.gated and a.kind != "webinar"])
    if stage == CUSTOMER:
        shown = stage if rng.random() < 0.75 else rng.choice(PROSPECT_STAGES)
    else:  # a decision-stage buyer's "later" is customer content (what onboarding looks like)
        at = ALL_STAGES.index(stage)
        roll = rng.random()
        step = -1 if roll < 0.15 else 1 if roll >= 0.9 else 0
        shown = ALL_STAGES[max(at + step, 0)]
    candidates = library[shown]
    if buyer.topics and rng.random() < TOPIC_PICK:
        candidates = [a for a in candidates if a.topic in buyer.topics] or candidates
    fresh = [a for a in candidates if a.id not in buyer.touched]
    return rng.choice(fresh if fresh and rng.random() < 0.7 else candidates)


def observe(session: Session, buyer: Journey, at: datetime) -> None:
    """Record the stage the product now infers for this buyer (its lead's, or its browser's)."""
    if buyer.lead_id is not None:
        lead = session.get(Lead, buyer.lead_id)
        assert lead is not None
        stage = lead.journey_stage
    else:
        found = session.scalar(
            select(VisitorJourney.journey_stage).where(VisitorJourney.visitor_id == buyer.visitor)
        )
        stage = found or A
    buyer.seen.append((at, buyer.events, stage))
    buyer.last_batch = at
    if len(buyer.touched) == 1 and A in buyer.touched.values():
        buyer.single_read_stages.append(stage)


def run_session(
    database: Database,
    library: dict[str, list[LibraryAsset]],
    buyer: Journey,
    index: int,
    model: Model,
    recommendations: RecommendEval | None = None,
) -> list[tuple[datetime, int]]:
    at, stage = buyer.sessions[index]
    if stage != buyer.truth:
        buyer.changes.append((at, buyer.events, buyer.truth, stage))
        buyer.truth = stage
    rng = buyer.rng
    if recommendations is not None:  # read-only, and never draws from the buyer's rng
        recommendations.catch_up(database)
        with database.read() as session:
            recommendations.before(
                session, buyer.number, buyer.persona.name, buyer.lead_id, buyer.visitor,
                set(buyer.touched), at, stage,
            )  # fmt: skip
    with database.write() as session:
        visit = Visit(session, buyer, stage, at, model, index=index)
        if index == 0 and buyer.known:
            visit.identify_known()
        visit.add(events.PageView, path="/library")
        if rng.random() < 0.25:
            visit.add(events.Search, query=rng.choice(TOPICS), results=rng.randint(1, 12))
        for number in range(rng.randint(*buyer.persona.reads)):
            visit.read(pick_asset(visit, library, first=number == 0))
        visit.flush()
        observe(session, buyer, visit.clock)
    if recommendations is not None:
        recommendations.after(buyer.number, buyer.touched)
    return visit.attends


def run_attend(
    database: Database, buyer: Journey, at: datetime, asset_id: int, model: Model
) -> None:
    """The webinar platform reports attendance (imported by email, so no browser)."""
    seconds = buyer.rng.uniform(900, 2700)
    with database.write() as session:
        attended = events.WebinarAttend(
            lead_id=buyer.lead_id, asset_id=asset_id, seconds=round(seconds), occurred_at=at
        )
        buyer.events += store(session, [[attended]], now=at, model=model)[0]
        observe(session, buyer, at)


SESSION, ATTEND, TICK, CONFIRM, CLICK = range(5)


@dataclass
class Simulation:
    """The simulated clock: a queue of what happens next, taken in time order. A buyer's next
    session is queued when its last one ran, so a mailed read can bring its plan forward."""

    database: Database
    library: dict[str, list[LibraryAsset]]
    buyers: list[Journey]
    model: Model
    recommendations: RecommendEval | None = None
    arm: ProgramArm | None = None
    queue: list[tuple[datetime, int, int, int, Any]] = field(default_factory=list)
    """(at, order, kind, buyer number, payload)."""
    order: Iterator[int] = field(default_factory=itertools.count)
    transactions: int = 0

    def push(self, at: datetime, kind: int, number: int, payload: Any = None) -> None:
        heapq.heappush(self.queue, (at, next(self.order), kind, number, payload))

    def queue_next(self, buyer: Journey) -> None:
        if buyer.next_index < len(buyer.sessions):
            at = buyer.sessions[buyer.next_index][0]
            self.push(at, SESSION, buyer.number, buyer.plan_version)

    def run(self) -> None:
        for buyer in self.buyers:
            self.queue_next(buyer)
        if self.arm is not None and self.arm.programs_on:
            self.push(START, TICK, -1)
        while self.queue:
            at, _, kind, number, payload = heapq.heappop(self.queue)
            if kind == TICK:
                self.tick(at)
            elif kind == CONFIRM:
                buyer = self.buyers[number]
                assert self.arm is not None
                assert buyer.lead_id is not None
                self.arm.confirm(self.database, number, buyer.lead_id, at)
            else:
                self.visit(kind, self.buyers[number], at, payload)

    def visit(self, kind: int, buyer: Journey, at: datetime, payload: Any) -> None:
        """A session, an attendance or a click on program mail."""
        attends: list[tuple[datetime, int]] = []
        if kind == SESSION:
            if payload != buyer.plan_version:
                return  # the plan came forward since this was queued
            buyer.next_index += 1
            attends = run_session(self.database, self.library, buyer, buyer.next_index - 1,
                                  self.model, self.recommendations)  # fmt: skip
            self.queue_next(buyer)
        elif kind == ATTEND:
            run_attend(self.database, buyer, at, payload, self.model)
        else:
            assert self.arm is not None
            attends = run_click(self.database, self.library, buyer, payload, self.model, self.arm)
            if advance_plan(buyer, payload.at, self.arm.assets[payload.asset_id]):
                self.arm.advanced += 1
                self.queue_next(buyer)
        self.transactions += 1
        for attend_at, asset_id in attends:
            self.push(attend_at, ATTEND, buyer.number, asset_id)
        if self.arm is not None:
            confirm_at = self.arm.after_session(self.database, buyer.number, buyer.lead_id, at)
            if confirm_at is not None:
                self.push(confirm_at, CONFIRM, buyer.number)

    def tick(self, at: datetime) -> None:
        """The program scheduler's pass and the send job: mail delivered, clicks to come."""
        arm = self.arm
        assert arm is not None
        for mail in arm.tick(self.database, at):
            number = arm.buyers_by_lead.get(mail.lead_id)
            if number is None:
                continue
            buyer = self.buyers[number]
            click = arm.react(number, mail, buyer.truth or A, buyer.topics, set(buyer.touched))
            if click is not None:
                self.push(click.at, CLICK, number, click)
        if at + TICK_EVERY <= START + timedelta(days=HORIZON_DAYS):
            self.push(at + TICK_EVERY, TICK, -1)


def simulate(
    database: Database,
    library: dict[str, list[LibraryAsset]],
    buyers: list[Journey],
    model: Model,
    recommendations: RecommendEval | None = None,
    arm: ProgramArm | None = None,
) -> tuple[int, float]:
    """Every session and attendance in simulated time order (with ``arm``: also the program
    scheduler every simulated hour, opt-in confirmations and clicks on program mail); returns
    (transactions, seconds)."""
    started = time.perf_counter()
    simulation = Simulation(database, library, buyers, model, recommendations, arm)
    simulation.run()
    return simulation.transactions, time.perf_counter() - started


# --- programs: mail, clicks, and plans brought forward ----------------------------------------


def run_click(
    database: Database,
    library: dict[str, list[LibraryAsset]],
    buyer: Journey,
    click: Click,
    model: Model,
    arm: ProgramArm,
) -> list[tuple[datetime, int]]:
    """The buyer follows a program mail's link: the click, the asset, maybe one more read
    (with the arm's dice for this buyer, so its planned sessions draw as they would)."""
    asset = next(a for assets in library.values() for a in assets if a.id == click.asset_id)
    own, buyer.rng = buyer.rng, arm.rng_of(buyer.number)
    try:
        with database.write() as session:
            visit = Visit(session, buyer, buyer.truth or A, click.at, model, index=-1)
            visit.add(
                events.EmailClick, asset_id=asset.id, message=click.message_id, kind="program"
            )
            visit.read(asset)
            if buyer.rng.random() < 0.5:
                visit.read(pick_asset(visit, library, first=False))
            visit.flush()
            arm.mark_clicked(session, click)
            observe(session, buyer, visit.clock)
    finally:
        buyer.rng = own
    return visit.attends


def advance_plan(buyer: Journey, at: datetime, asset: AssetFacts) -> bool:
    """A mailed read of the buyer's current or next stage stands in for its next planned
    session of its current stage: that one goes, the rest comes forward by the time saved."""
    if buyer.truth is None or not moves_forward(asset, buyer.truth):
        return False
    if buyer.next_index >= len(buyer.sessions):
        return False
    planned, stage = buyer.sessions[buyer.next_index]
    if stage != buyer.truth or planned <= at:
        return False
    saved = min(planned - at, MAX_PULL)
    later = buyer.sessions[buyer.next_index + 1 :]
    buyer.sessions[buyer.next_index :] = [(max(when - saved, at), s) for when, s in later]
    buyer.plan_version += 1
    return True


def outcome(buyer: Journey) -> Outcome:
    start = buyer.sessions[0][0] if buyer.sessions else START
    horizon = START + timedelta(days=HORIZON_DAYS)
    eligible = buyer.persona.name != "customer" and start + DECISION_WITHIN <= horizon
    decided = any(new == D and when - start <= DECISION_WITHIN for when, _, _, new in buyer.changes)
    inferred = any(stage == D and when - start <= DECISION_WITHIN for when, _, stage in buyer.seen)
    return Outcome(
        buyer.number, buyer.persona.name, eligible, decided, inferred, tuple(buyer.reads)
    )


def run_arms(count: int, seed: int) -> None:
    """The programs comparison: each arm on a fresh SQLite database, the same planned buyers."""
    arms, outcomes = [], {}
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 (fsyncs cost here)
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        for name in ARMS:
            started = time.perf_counter()
            database = Database(f"sqlite:///{Path(tmp) / f'{name}.db'}")
            upgrade_to_head(database)
            library = build_library(database)
            buyers = plan_journeys(count, seed, topics=True)
            facts = {
                a.id: AssetFacts(a.slug, a.stage, a.topic) for v in library.values() for a in v
            }
            arm = ProgramArm(name, Model(), seed, facts)
            arm.activate(database, START - timedelta(days=1))
            transactions, _ = simulate(database, library, buyers, Model(), arm=arm)
            outcomes[name] = {b.number: outcome(b) for b in buyers}
            arms.append(arm)
            database.dispose()
            print(
                f"  (arm {name}: {transactions:,} transactions, {arm.ticks:,} scheduler passes,"
                f" {time.perf_counter() - started:.0f} s)"
            )
    report(arms, outcomes, count)


# --- figures ----------------------------------------------------------------------------------


def stored_stages(database: Database, buyers: list[Journey]) -> dict[int, str]:
    """Buyer number → the ``Lead.journey_stage`` stored by the ingestion path."""
    with database.read() as session:
        found = dict(session.execute(select(Lead.email, Lead.journey_stage)).all())
    return {b.number: found[b.email] for b in buyers if b.email in found}


def accuracy(buyers: list[Journey], inferred: dict[int, str]) -> tuple[float, dict[str, float]]:
    """Overall and per-persona share of leads whose inferred stage is the true final stage."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for buyer in buyers:
        if buyer.number in inferred:
            hits[buyer.persona.name].append(inferred[buyer.number] == buyer.truth)
    every = [hit for persona in hits.values() for hit in persona]
    return sum(every) / max(1, len(every)), {k: sum(v) / len(v) for k, v in hits.items()}


def print_accuracy(buyers: list[Journey], inferred: dict[int, str]) -> None:
    overall, per_persona = accuracy(buyers, inferred)
    counted = [b for b in buyers if b.number in inferred]
    print(
        f"stage accuracy (stored Lead.journey_stage vs true final stage): {overall:.1%}"
        f" of {len(counted)} leads   [aim ≥ 85 %]"
    )
    for persona in PERSONAS:
        group = [b for b in counted if b.persona is persona]
        truths = Counter(b.truth for b in group)
        spread = ", ".join(f"{stage} {truths[stage]}" for stage in ALL_STAGES if truths[stage])
        print(
            f"  {persona.name:<16} {per_persona.get(persona.name, 0):>6.1%}"
            f"  n={len(group):<4} true final: {spread}"
        )
    print("confusion (rows: true final stage, columns: inferred):")
    print(f"  {'':<14}" + "".join(f"{s:>14}" for s in ALL_STAGES))
    cells = Counter((b.truth, inferred[b.number]) for b in counted)
    for truth in ALL_STAGES:
        print(f"  {truth:<14}" + "".join(f"{cells[(truth, s)]:>14}" for s in ALL_STAGES))
    wrong = [b for b in counted if inferred[b.number] != b.truth]
    recent = [b for b in wrong if sessions_in_stage(b) <= 2]
    print(
        f"  of the {len(wrong)} wrong, {len(recent)} entered their true final stage in their"
        f" last one or two sessions (the inference is still catching up)"
    )


def print_quiet(database: Database, buyers: list[Journey], model: Model) -> None:
    """The stored stage once the app's housekeeping has re-evaluated quiet leads at the
    horizon (``leadstate.reevaluate_quiet``: decay moves the stage without new events)."""
    horizon = START + timedelta(days=HORIZON_DAYS)
    leadstate.reevaluate_quiet(database, model, now=horizon, budget_seconds=math.inf)
    inferred = stored_stages(database, buyers)
    overall, _ = accuracy(buyers, inferred)
    print(
        f"after the housekeeping re-evaluates quiet leads at the horizon (reevaluate_quiet):"
        f" {overall:.1%}; true stage = the last session's, so decay counts as an error here"
    )
    bins: dict[str, list[Journey]] = defaultdict(list)
    for buyer in buyers:
        if buyer.number in inferred and buyer.last_batch is not None:
            quiet = (horizon - buyer.last_batch).days
            bins["≤ 30" if quiet <= 30 else "31-60" if quiet <= 60 else "> 60"].append(buyer)
    for label in ("≤ 30", "31-60", "> 60"):
        group = bins[label]
        right = sum(inferred[b.number] == b.truth for b in group)
        spread = Counter(inferred[b.number] for b in group)
        print(
            f"  quiet {label:>5} days: {len(group):>4} leads, {right / max(1, len(group)):>6.1%}"
            f" still in their true stage; inferred {dict(spread)}"
        )


def sessions_in_stage(buyer: Journey) -> int:
    """How many sessions the buyer has had since its last true stage change."""
    since = buyer.changes[-1][0]
    return sum(1 for at, _ in buyer.sessions if at >= since)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def follow_lags(buyers: list[Journey]) -> dict[tuple[str, str], tuple[list[int], list[float], int]]:
    """Per true transition: events and days until the inferred stage first equals the new one
    (before the next true change), and how many changes it never followed."""
    found: dict[tuple[str, str], tuple[list[int], list[float], int]] = {}
    for buyer in buyers:
        ends = [at for at, _, _, _ in buyer.changes[1:]] + [datetime.max.replace(tzinfo=UTC)]
        for (at, before, old, new), until in zip(buyer.changes, ends, strict=True):
            if old is None and new == A:
                continue
            key = (old or "(start)", new)
            events_lag, days_lag, missed = found.get(key, ([], [], 0))
            match = next(
                (
                    (seen_at, n)
                    for seen_at, n, stage in buyer.seen
                    if at <= seen_at < until and n > before and stage == new
                ),
                None,
            )
            if match is None:
                missed += 1
            else:
                events_lag.append(match[1] - before)
                days_lag.append((match[0] - at).total_seconds() / 86_400)
            found[key] = (events_lag, days_lag, missed)
    return found


def print_lags(buyers: list[Journey]) -> None:
    print("inferred stage following a true stage change (events / simulated days after it):")
    print(
        f"  {'transition':<30} {'changes':>7} {'followed':>8} {'events p50':>10} {'p90':>5}"
        f" {'days p50':>9} {'p90':>6}"
    )
    for (old, new), (events_lag, days_lag, missed) in sorted(follow_lags(buyers).items()):
        total = len(events_lag) + missed
        if events_lag:
            figures = (
                f"{statistics.median(events_lag):>10.0f} {quantile(events_lag, 0.9):>5.0f}"
                f" {statistics.median(days_lag):>9.1f} {quantile(days_lag, 0.9):>6.1f}"
            )
        else:
            figures = f"{'-':>10} {'-':>5} {'-':>9} {'-':>6}"
        print(f"  {old + ' → ' + new:<30} {total:>7} {len(events_lag):>8} {figures}")
    print("  (followed: the inferred stage reached the new stage before the next true change)")


def print_single_read_organic(buyers: list[Journey]) -> None:
    observed = [stage for b in buyers for stage in b.single_read_stages]
    leads = [b for b in buyers if D in b.single_read_stages]
    print(
        f"never decision from a single awareness read, organic: {len(leads)} subjects in"
        f" decision of {sum(1 for b in buyers if b.single_read_stages)} seen after touching"
        f" exactly one asset, an awareness one ({len(observed)} observations:"
        f" {dict(Counter(observed))})"
    )


SINGLE_READ_VARIANTS = (
    "known lead: one awareness read, 1-30 min to 100 %",
    "anonymous: gate form, then that read + download",
    "known lead: that read + answers timeframe 0-3m, budget approved",
)


def single_read_lead(
    session: Session, asset: LibraryAsset, variant: int, number: int, at: datetime, model: Model
) -> int:
    """One lead whose whole trail is one (long, deep) read of one awareness asset."""
    rng = random.Random(number)
    visitor, email = f"single-{number:06d}", f"single{number}@reader.example"
    lead_id = None
    if variant != 1:
        answers = {"timeframe": "0-3m", "budget": "approved"} if variant == 2 else {}
        found = identify.identify(
            session,
            visitor_id=visitor,
            email=email,
            answers=answers,
            consent=None,
            source=Source("import"),
            now=at,
            model=model,
        )
        visitor, lead_id = found.visitor_id, found.lead_id
    else:
        view = events.AssetView(visitor_id=visitor, asset_id=asset.id, locked=True, occurred_at=at)
        store(session, [[view]], now=at, model=model)
        row = session.get(Asset, asset.id)
        assert row is not None
        form = gate_forms.gate_form(session, row, visitor, model)
        answers = {
            spec.name: "x@reader.example" if spec.name == "email" else "Reader"
            for spec in form.fields
        }
        answers["email"] = email
        result = gate_forms.submit_gate(
            session, row, visitor, answers, consent_ticked=False, model=model, now=at
        )
        assert result.accepted, result.errors
        visitor, lead_id = result.visitor_id or visitor, result.lead_id
    minutes = rng.randint(1, 30)
    trail: list[events.TrackedEvent] = [
        events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at)
    ]
    for minute in range(1, minutes + 1):
        trail.append(
            events.ReadProgress(
                visitor_id=visitor,
                asset_id=asset.id,
                seconds=60,
                depth=minute / minutes,
                occurred_at=at + timedelta(minutes=minute),
            )
        )
    if variant == 1:
        trail.append(events.Download(visitor_id=visitor, asset_id=asset.id, occurred_at=at))
    end = at + timedelta(minutes=minutes + 1)
    store(session, [trail], now=end, model=model)
    assert lead_id is not None
    return lead_id


def print_single_read_cases(
    database: Database, library: dict[str, list[LibraryAsset]], model: Model, count: int
) -> None:
    at = START + timedelta(days=HORIZON_DAYS + 10)
    gated = [a for a in library[A] if a.gated and a.kind != "webinar"]
    results: dict[int, Counter[str]] = defaultdict(Counter)
    for number in range(count):
        variant = number % len(SINGLE_READ_VARIANTS)
        asset = gated[number % len(gated)] if variant == 1 else library[A][number % len(library[A])]
        with database.write() as session:
            lead_id = single_read_lead(session, asset, variant, number, at, model)
            lead = session.get(Lead, lead_id)
            assert lead is not None
            results[variant][lead.journey_stage] += 1
    print("never decision from a single awareness read, explicit cases:")
    for variant, label in enumerate(SINGLE_READ_VARIANTS):
        stages = results[variant]
        print(f"  {label:<66} decision {stages[D]:>3} of {sum(stages.values()):<3} {dict(stages)}")
    print(
        "  (the last row has no decision read: the two profile answers alone are decision evidence)"
    )


# --- replay: the same trails under other models (no database writes) --------------------------


@dataclass(frozen=True, slots=True)
class StoredTrails:
    """What the database holds of the simulated leads, loaded once for in-memory replays."""

    leads: dict[int, int]
    """Buyer number → lead id."""
    trails: dict[int, list[dict[str, Any]]]
    """Lead id → its event rows in stored order."""
    profiles: dict[int, dict[str, str]]
    lifecycles: dict[int, str]
    asset_stages: dict[int, str]


def load_trails(database: Database, buyers: list[Journey]) -> StoredTrails:
    with database.read() as session:
        leads = {
            email: (id_, lifecycle)
            for email, id_, lifecycle in session.execute(
                select(Lead.email, Lead.id, Lead.lifecycle)
            )
        }
        trails: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rows = session.execute(
            select(
                Event.lead_id,
                Event.id,
                Event.visitor_id,
                Event.asset_id,
                Event.type,
                Event.occurred_at,
                Event.seconds,
                Event.depth,
            )
            .where(Event.lead_id.is_not(None))
            .order_by(Event.lead_id, Event.id)
        )
        for row in rows:
            trails[row.lead_id].append(dict(row._mapping))
        profiles: dict[int, dict[str, str]] = defaultdict(dict)
        for lead_id, name, value in session.execute(
            select(ProfileFact.lead_id, ProfileFact.field, ProfileFact.value).where(
                ProfileFact.superseded_at.is_(None)
            )
        ):
            profiles[lead_id][name] = value
        asset_stages = dict(session.execute(select(Asset.id, Asset.stage)).all())
    return StoredTrails(
        leads={b.number: leads[b.email][0] for b in buyers if b.email in leads},
        trails=trails,
        profiles=profiles,
        lifecycles=dict(leads.values()),
        asset_stages=asset_stages,
    )


def replayed_stages(
    stored: StoredTrails,
    buyers: list[Journey],
    model: Model,
    at: datetime | None = None,
) -> dict[int, str]:
    """Buyer → stage inferred from its whole stored trail under ``model`` (at its last batch,
    as the ingestion path evaluated it, or at ``at``), with the lead's stored lifecycle."""
    inferred = {}
    for buyer in buyers:
        lead_id = stored.leads.get(buyer.number)
        if lead_id is None or buyer.last_batch is None:
            continue
        rows = stored.trails[lead_id]
        touches = (touch for _, touch in leadstate.touches(rows, stored.asset_stages, {}))
        state = journey.apply(JourneyState(), touches, model.scoring)
        verdict = journey.infer_stage(
            state, stored.profiles[lead_id], at or buyer.last_batch, model,
            stored.lifecycles[lead_id],
        )  # fmt: skip
        inferred[buyer.number] = verdict.stage
    return inferred


def variant(
    thresholds: tuple[float, float, float] | None = None,
    half_life_days: float = 21.0,
    customer_from_reading: bool = False,
) -> Model:
    """The default model with other stage thresholds (consideration, decision, customer),
    half-life, and (optionally) the customer stage inferred from reading."""
    scoring = dataclasses.replace(
        ScoringModel(),
        half_life_days=half_life_days,
        customer_stage="" if customer_from_reading else CUSTOMER,
    )
    if thresholds is not None:
        limits = dict(zip((C, D, CUSTOMER), thresholds, strict=True))
        scoring = dataclasses.replace(scoring, stage_thresholds={A: 0.0, **limits})
    return dataclasses.replace(Model(), scoring=scoring)


SENSITIVITY_VARIANTS: tuple[tuple[str, Model], ...] = (
    ("default: 8/12, 21 d, customer = lifecycle", Model()),
    ("before: 6/12/15, 30 d, customer from reading", variant((6, 12, 15), 30, True)),
    ("8/12/15, 21 d, customer from reading", variant((8, 12, 15), 21, True)),
    ("thresholds 6/12", variant((6, 12, 15))),
    ("thresholds 4/8", variant((4, 8, 15))),
    ("thresholds 10/20", variant((10, 20, 15))),
    ("thresholds 8/10", variant((8, 10, 15))),
    ("half-life 14 d", variant(half_life_days=14)),
    ("half-life 30 d", variant(half_life_days=30)),
    ("half-life 60 d", variant(half_life_days=60)),
)


def print_replay(database: Database, buyers: list[Journey], inferred: dict[int, str]) -> None:
    stored = load_trails(database, buyers)
    default = replayed_stages(stored, buyers, Model())
    agree = sum(default.get(n) == stage for n, stage in inferred.items())
    print(
        f"replay check: replaying the stored trails in memory gives the stored stage for"
        f" {agree} of {len(inferred)} leads"
    )
    answered = Counter(p["timeframe"] for p in stored.profiles.values() if "timeframe" in p)
    print(
        f"profile answers: {sum(answered.values())} leads answered the timeframe question"
        f" {dict(sorted(answered.items()))}"
    )
    if SENSITIVITY:
        print_sensitivity(stored, buyers)


def print_sensitivity(stored: StoredTrails, buyers: list[Journey]) -> None:
    print("sensitivity (exploratory; the first row is the default model): the same stored trails")
    print(
        "replayed under other stage thresholds (consideration/decision[/customer]) and half-lives:"
    )
    names = [p.name for p in PERSONAS]
    print(
        f"  {'model':<48} {'overall':>7}"
        + "".join(f" {n[:12]:>12}" for n in names)
        + "  top confusions (true→inferred)"
    )
    for label, model in SENSITIVITY_VARIANTS:
        inferred = replayed_stages(stored, buyers, model)
        overall, per_persona = accuracy(buyers, inferred)
        wrong = Counter(
            (b.truth or "", inferred[b.number])
            for b in buyers
            if b.number in inferred and inferred[b.number] != b.truth
        ).most_common(2)
        top = ", ".join(f"{t[:4]}→{i[:4]} {n}" for (t, i), n in wrong)
        print(
            f"  {label:<48} {overall:>7.1%}"
            + "".join(f" {per_persona.get(n, 0):>12.1%}" for n in names)
            + f"  {top}"
        )


# --- cost per event against trail length ------------------------------------------------------


@dataclass(slots=True)
class TrailLead:
    """One lead whose trail (and journey state) is ``length`` events long before timing."""

    length: int
    visitor: str
    lead_id: int
    assets: list[int]
    at: datetime
    sent: int = 0
    in_store: list[float] = field(default_factory=list)
    in_transaction: list[float] = field(default_factory=list)
    unscored: list[float] = field(default_factory=list)

    def beacon(self) -> events.ReadProgress:
        i = self.sent
        self.sent += 1
        return events.ReadProgress(
            visitor_id=self.visitor,
            asset_id=self.assets[i % len(self.assets)],
            seconds=15.0,
            depth=(i // len(self.assets) % 10 + 1) / 10,
            occurred_at=self.at + timedelta(seconds=30 * i),
            uid=f"trail-{self.length}-{i}",
        )


def prefill(
    database: Database, library: dict[str, list[LibraryAsset]], model: Model, length: int
) -> TrailLead:
    """A lead with ``length`` stored events, its journey state brought along by ``store``."""
    at = START + timedelta(days=HORIZON_DAYS + 30)
    with database.write() as session:
        found = identify.identify(
            session,
            visitor_id=None,
            email=f"trail{length}@bench.example",
            answers={},
            consent=None,
            source=Source("import"),
            now=at,
            model=model,
        )
    assets = [a.id for stage in PROSPECT_STAGES for a in library[stage]][:40]
    lead = TrailLead(length, found.visitor_id, found.lead_id, assets, at)
    while lead.sent < length:  # big batches: the trail and its state in a few transactions
        chunk = [lead.beacon() for _ in range(min(5000, length - lead.sent))]
        with database.write() as session:
            store(session, [chunk], now=chunk[-1].occurred_at, model=model)
    return lead


def time_one(database: Database, lead: TrailLead, model: Model | None) -> None:
    event = lead.beacon()
    started = time.perf_counter()
    with database.write() as session:
        before = time.perf_counter()
        store(session, [[event]], now=event.occurred_at, model=model)
        after = time.perf_counter()
    done = time.perf_counter()
    if model is None:
        lead.unscored.append((after - before) * 1e6)
    else:
        lead.in_store.append((after - before) * 1e6)
        lead.in_transaction.append((done - started) * 1e6)


def print_trail_cost(
    database: Database, library: dict[str, list[LibraryAsset]], model: Model
) -> None:
    started = time.perf_counter()
    leads = [
        prefill(database, library, model, n)
        for n in sorted({min(n, TRAIL_MAX) for n in (10, 1_000, 100_000)})
    ]
    filled = time.perf_counter() - started
    for _ in range(20):  # warm-up, not counted
        for lead in leads:
            time_one(database, lead, model)
    for lead in leads:
        lead.in_store.clear()
        lead.in_transaction.clear()
    for _ in range(TRAIL_SAMPLES):  # round robin, so a busy moment hits every length alike
        for lead in leads:
            time_one(database, lead, model)
    with database.read() as session:
        states = [
            session.scalar(select(Lead.journey).where(Lead.id == lead.lead_id)) for lead in leads
        ]
    counted = [sum(JourneyState.from_json(state).counts.values()) for state in states]
    for _ in range(TRAIL_SAMPLES):
        for lead in leads:
            time_one(database, lead, None)
    print(
        f"cost per event for one lead by trail length ({TRAIL_SAMPLES} single-event batches"
        f" each through store(..., model=...), round robin after 20 warm-up):"
    )
    print(f"  {'':<34}" + "".join(f"{f'{lead.length:,} events':>16}" for lead in leads))
    lines: tuple[tuple[str, Callable[[TrailLead], float]], ...] = (
        ("store() p50 µs", lambda lead: statistics.median(lead.in_store)),
        ("store() mean µs", lambda lead: statistics.fmean(lead.in_store)),
        ("whole transaction p50 µs", lambda lead: statistics.median(lead.in_transaction)),
        ("whole transaction mean µs", lambda lead: statistics.fmean(lead.in_transaction)),
        ("store(model=None) p50 µs (no scoring)", lambda lead: statistics.median(lead.unscored)),
    )
    for label, figure in lines:
        print(f"  {label:<34}" + "".join(f"{figure(lead):>16,.0f}" for lead in leads))
    print(
        "  events the lead's journey state counted after the scored timings: "
        + ", ".join(f"{n:,}" for n in counted)
        + f" (the trails and their state were filled in {filled:.1f} s)"
    )


# --- main -------------------------------------------------------------------------------------


def bench_backend(label: str, url: str) -> None:
    database = Database(url)
    upgrade_to_head(database)
    library = build_library(database)
    buyers = plan_journeys(JOURNEYS, SEED)
    model = Model()
    recommendations = RecommendEval(model, SEED)
    transactions, seconds = simulate(database, library, buyers, model, recommendations)
    stored = stored_stages(database, buyers)
    total = sum(b.events for b in buyers)
    print(
        f"\n{label}: {len(buyers)} simulated buyers, {sum(len(v) for v in library.values())}"
        f" assets, {total:,} events in {transactions:,} transactions over {HORIZON_DAYS:g}"
        f" simulated days ({seconds:.1f} s, {total / seconds:,.0f} events/s)"
    )
    missing = len(buyers) - len(stored)
    if missing:
        print(f"  ({missing} buyers never identified: not counted)")
    print(f"  (the time includes {len(recommendations.call_ms):,} recommendation calls)")
    print_accuracy(buyers, stored)
    recommendations.report()
    if SENSITIVITY:
        print_weight_sensitivity(recommendations)
    print_lags(buyers)
    print_single_read_organic(buyers)
    print_replay(database, buyers, stored)
    print_quiet(database, buyers, model)
    print_single_read_cases(database, library, model, SINGLE_READS)
    print_trail_cost(database, library, model)
    database.dispose()


def main() -> None:
    started = time.perf_counter()
    if not PROGRAMS_ONLY:
        with tempfile.TemporaryDirectory() as tmp:
            bench_backend("SQLite", f"sqlite:///{Path(tmp) / 'journeys.db'}")
        postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
        if postgres:
            bench_backend("PostgreSQL", fresh_postgres(postgres, "bench_journeys"))
    if PROGRAM_BUYERS:
        print(f"\nSQLite, programs off and on ({len(ARMS)} runs):")
        run_arms(PROGRAM_BUYERS, SEED)
    print(f"\n(total {time.perf_counter() - started:.0f} s, seed {SEED})")


if __name__ == "__main__":
    main()
