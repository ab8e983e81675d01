"""Marketer console at scale: server time of its pages over 100,000 leads and 5,000,000 events.

For each backend (SQLite; PostgreSQL when LEADSHELF_TEST_POSTGRES_URL is set) this
generates a year of activity with bulk inserts (SQLite ``executemany``, PostgreSQL
``COPY``; the event table's three secondary indexes are dropped during the load and
built again after it): the 60-asset library of ``bench/journeys.py`` (published
through the content factories), leads with profile facts (name and company kept on
the lead row too), consent, stages, grades, categories and lifecycles, their
visitors and anonymous ones, events of every DESIGN.md type in sessions (a few
leads with very long trails, the longest BENCH_CONSOLE_LONG_TRAIL events), the
``asset_engagement`` rows, unlocks and journey states those events imply (every lead
row carries its ``journey.apply`` state, as ingestion keeps it), and the lead change log
(identification, stage, lifecycle, grade and category changes; stage and
lifecycle changes with their dwell time).

Closed-loop reporting (issue 17), in the same bulk load and consistent with it: every
session is a ``visit`` with its source (``tracking.sources.arrivals`` classifies a set of
addresses and referrers: direct, search, social, other sites and webmail, UTM campaigns on
social and partner newsletters, paid clicks with click ids; a session opened by a program
mail's ``email_click`` comes from that mail), each lead's and browser's first and latest
visit (a lead identifies during its first visit, a few minutes in); the funnel milestones
``changelog.append`` writes with the change log (``created`` per identification, ``mql``,
``sql``, ``opportunity``, ``customer`` per lifecycle change reaching them); the program mails
the email clicks came from (three programs, a sent/opened/clicked mail, an enrollment and a
step-log row each); BENCH_CONSOLE_ACCOUNTS accounts with business domains (15 % of leads use
free-mail addresses and join none; every account has a person, sizes log-normal: most have
one to three, a few hundreds, the largest over a thousand at full size); BENCH_CONSOLE_DEALS
deals (won for customers, open for opportunities, earlier lost ones and add-ons; EUR, one in
25 in USD or GBP) on opportunity and customer leads with their accounts.

Then it builds the daily roll-ups with ``tracking.pipeline.rollups.rebuild`` and
``refresh_lead_stats`` (what ``leadshelf rollup`` costs, timed; on PostgreSQL then VACUUM
ANALYZE of the roll-up tables, as autovacuum would do), runs the account job's first pass
(``Keeper.run``: every account's figures) and the attribution job
(``nurture.attribution.rollup.run``: the first full pass, a pass after
BENCH_CONSOLE_NEW_MILESTONES new MQLs, a pass after one deal changed), each timed with its
longest write transaction (on SQLite the write lock ingestion waits for), and prints the
rows of the attribution rollups. Content intelligence (issue 20): the content-intelligence
job's gap-matrix pass over the generated leads, timed, and a gate experiment on the most
read gated asset, started 120 days before, with BENCH_CONSOLE_EXPOSURES exposed browsers
(the asset's readers since then first, their arm by ``rules.arm_for`` at 50 %, then other
browsers), whose figures the job's experiment pass computes (timed); on a kept database
both are made once; then the job's buying-process pass (every topic's, timed, every run).

Pages are timed through the real ASGI app in process (Litestar's TestClient:
routing, guards, sessions, database, templates; no network), signed in as a
marketer through the login form, round robin over the pages: the dashboard, lead list, lead
pages and content analytics, and Console → Attribution (asset, topic, source, campaign and
program views under first-touch, linear and W-shaped models, 90- and 365-day windows, 6 and
12 months; the CSV), Console → KPIs, the account list (default, a search, two sorts, a deep
page) and the largest and a typical account's page, and Console → Content intelligence
(issue 20: the gap matrix by topic, by persona and for one language, a gate experiment's
report, the experiment list, fading content and the buying process). It prints p50/p99 per
page against
the issue's aim (p99 under 150 ms), the full CSV export's time and rows/s, and for every
page over the aim where one request spends its time (its statements, each with the time
until the next one: fetching and Python work) and the query plan of the costliest
statement. The app's 10-minute housekeeping
(re-scoring quiet leads, lead figures, retention) is held off while timing.

Environment (defaults in brackets; the smoke sizes apply when BENCH_SECONDS=1, as in
.ci/run, unless the variables are set):
  BENCH_CONSOLE_LEADS       leads [100000] (smoke: 2000)
  BENCH_CONSOLE_EVENTS      events [5000000] (smoke: 50000)
  BENCH_CONSOLE_LONG_TRAIL  events of the longest trail [50000] (smoke: 5000)
  BENCH_CONSOLE_ACCOUNTS    accounts [20000] (smoke: 400)
  BENCH_CONSOLE_DEALS       deals [10000] (smoke: 200)
  BENCH_CONSOLE_NEW_MILESTONES  MQLs added before the incremental attribution pass [1000]
                            (smoke: 50)
  BENCH_CONSOLE_EXPOSURES   browsers exposed to the gate experiment [20000] (smoke: 200)
  BENCH_CONSOLE_REQUESTS    timed requests per page [50] (smoke: 5, and fewer pages)
  BENCH_CONSOLE_EXPORTS     timed full CSV exports [3] (smoke: 1)
  BENCH_CONSOLE_PAGE_SECONDS  time budget per page: a page this slow stops after at least 5
                            requests, so a multi-second page does not hold the run [120]
  BENCH_CONSOLE_KEEP        a directory: keep the databases (SQLite file there, PostgreSQL
                            <test db>_bench_console) and re-use them when they hold the
                            same sizes, to re-time without generating again [unset]
  BENCH_CONSOLE_BACKENDS    which to run [sqlite,postgresql] (PostgreSQL needs the URL below)
  BENCH_CONSOLE_ONLY        ``intelligence``: time only Console → Content intelligence's pages
                            (and no CSV export) [unset: every page]
  BENCH_SEED                random seed [7]
  LEADSHELF_TEST_POSTGRES_URL  also run on a fresh PostgreSQL database

Run: .venv/bin/python bench/console.py   (make bench runs it too)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import TestClient
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

import portal.app
from bench._common import fresh_postgres
from bench.journeys import DOWNLOADABLE, build_library
from content import indexer
from content.models import Asset
from content.orm import utcnow
from content.search.index import SearchIndex
from nurture.attribution import rollup as attribution
from nurture.attribution.models import AttributionGap, AttributionMonth, SourceTiming
from nurture.attribution.report import month_name, months_back
from nurture.attribution.rules import month_of
from nurture.intelligence import experiments_report, gaps, process
from nurture.intelligence.models import ContentCell, GateExperiment, GateExposure
from nurture.intelligence.rules import arm_for
from nurture.programs import store
from nurture.programs.definition import parse
from nurture.recommendations import AudienceCache
from portal.account_jobs import account_rules
from portal.accounts import service
from portal.accounts.models import Role
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings
from tracking.accounts import listing
from tracking.accounts.models import Account
from tracking.accounts.refresh import Keeper
from tracking.deals.models import Deal
from tracking.folding import search_text
from tracking.models import AssetEngagement, AssetLeadStats, Event, Lead, LeadChange, Visitor
from tracking.pipeline import changelog, leadstate, rollups
from tracking.rules import journey
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState
from tracking.sources import arrivals

SMOKE = os.environ.get("BENCH_SECONDS") == "1"


def _env(name: str, full: int, smoke: int) -> int:
    return int(os.environ.get(name) or (smoke if SMOKE else full))


LEADS = _env("BENCH_CONSOLE_LEADS", 100_000, 2_000)
ACCOUNTS = _env("BENCH_CONSOLE_ACCOUNTS", 20_000, 400)
DEALS = _env("BENCH_CONSOLE_DEALS", 10_000, 200)
NEW_MILESTONES = _env("BENCH_CONSOLE_NEW_MILESTONES", 1_000, 50)
EVENTS = _env("BENCH_CONSOLE_EVENTS", 5_000_000, 50_000)
LONG_TRAIL = _env("BENCH_CONSOLE_LONG_TRAIL", 50_000, 5_000)
REQUESTS = _env("BENCH_CONSOLE_REQUESTS", 50, 5)
EXPORTS = _env("BENCH_CONSOLE_EXPORTS", 3, 1)
PAGE_SECONDS = _env("BENCH_CONSOLE_PAGE_SECONDS", 120, 30)
EXPOSURES = _env("BENCH_CONSOLE_EXPOSURES", 20_000, 200)
KEEP = os.environ.get("BENCH_CONSOLE_KEEP", "")
ONLY = os.environ.get("BENCH_CONSOLE_ONLY", "")
BACKENDS = os.environ.get("BENCH_CONSOLE_BACKENDS", "sqlite,postgresql").split(",")
SEED = int(os.environ.get("BENCH_SEED", "7"))
AIM_MS = 150.0
CURRENCY = "EUR"
"""The report currency (``LEADSHELF_REPORT_CURRENCY``'s default)."""

DAY = 86_400.0
STAGES = ("awareness", "consideration", "decision", "customer")
ANONYMOUS_SHARE = 0.25
"""Events of visitors who never identified."""
LONG_TRAILS = (1.0, 0.4, 0.2, 0.1, 0.1)
"""The long trails (leads 1 to 5), as shares of BENCH_CONSOLE_LONG_TRAIL."""
SESSION_EVENTS = 12
BLOCK = 2_000
"""Leads per generation block: a block's events are sorted by time before they are stored,
so a lead's events lie scattered among other readers' as they would after a year of use."""
PASSWORD = "correct horse battery"  # noqa: S105 (a staff user of the throwaway database)
TOPIC = "lead-scoring"

# fmt: off
FIRST = (
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Klara",
    "Leon", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sami", "Tara", "Uwe", "Vera", "Yusuf", "Zoe",
    "Ali", "Bea", "Carl", "Dana", "Erik", "Fatma", "Gil", "Hana", "Ivan", "Jana", "Kai", "Lea",
    "Max", "Nina", "Omar", "Pia", "Raj", "Sara", "Tom", "Ömer", "Søren", "Zoë",
)
LAST = (
    "Adler", "Bauer", "Costa", "Dietrich", "Evans", "Fischer", "Garcia", "Hoffmann", "Ivanova",
    "Jansen", "Keller", "Lopez", "Meyer", "Novak", "Olsen", "Peters", "Quinn", "Rossi", "Schmidt",
    "Tanaka", "Ulrich", "Vogel", "Weber", "Xu", "Young", "Zimmer", "Brown", "Klein", "Wolf",
    "Nowak", "Müller", "Łukasik",
)
WORDS = (
    "Nordic", "Blue", "Apex", "Bright", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor",
    "Iris", "Juniper", "Kite", "Lumen", "Maple", "Nova", "Orbit", "Pine", "Quartz", "River",
    "Summit", "Tide", "Umber", "Vertex", "Willow", "Zephyr",
)
# fmt: on
SUFFIXES = ("GmbH", "AG", "Ltd", "Inc", "SA", "BV", "Group", "Labs", "Systems", "Software")
JOBS = (
    "Marketing Manager", "Head of Marketing", "CMO", "Demand Generation Lead", "CEO",
    "Marketing Operations Manager", "Content Marketing Manager", "Sales Director",
    "Growth Marketer", "Product Marketing Manager",
)  # fmt: skip
INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Financial services",
    "Healthcare",
    "Retail",
    "Logistics",
)
COUNTRIES = ("DE", "AT", "CH", "GB", "FR", "NL", "US", "SE", "ES", "IT")
SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")
CONSENT_TEXT = "Yes, email me new resources and event invitations. I can unsubscribe at any time."


def _props(*values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(json.dumps(value) for value in values)


PAGE_PROPS = _props({"path": "/"}, {"path": "/library"}, {"path": "/library?kind=webinar"})
SEARCH_PROPS = _props(
    {"query": "lead scoring", "results": 14},
    {"query": "nurturing emails", "results": 9},
    {"query": "roi calculator", "results": 2},
)
EMAIL_PROPS = _props({"campaign": "newsletter"}, {"campaign": "welcome"}, {"campaign": "webinar"})
ASKED = _props(
    {"asked": ["email", "first_name"]},
    {"asked": ["company", "job_title"]},
    {"asked": ["company_size", "industry"]},
    {"asked": ["budget", "timeframe"]},
    {"asked": ["authority", "need"]},
)
ANSWERED = _props(
    {"answered": ["email", "first_name"], "form": "gate"},
    {"answered": ["company", "job_title"], "form": "gate"},
    {"answered": ["company_size"], "form": "gate"},
    {"answered": ["budget", "timeframe"], "form": "gate"},
)
OPEN, LOCKED = _props({"locked": False}, {"locked": True})
CTA = json.dumps({"target": "talk-to-sales"})
DEMO = json.dumps({"message": "Please call me about pricing."})
BEATS = (0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10)
"""read_progress heartbeats per asset opened (0: a bounce)."""
LIFECYCLE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "subscriber": (("subscriber",),),
    "lead": (("lead",),),
    "mql": (("lead", "mql"),),
    "sql": (("lead", "mql", "sql"),),
    "opportunity": (("lead", "mql", "sql", "opportunity"),),
    "customer": (("lead", "customer"), ("lead", "mql", "sql", "opportunity", "customer")),
    "recycled": (("lead", "mql", "recycled"),),
}
LIFECYCLES_BY_STAGE = (
    (("lead", "subscriber", "recycled"), (80, 15, 5)),
    (("lead", "mql", "recycled"), (55, 35, 10)),
    (("mql", "sql", "opportunity", "lead"), (35, 30, 25, 10)),
    (("customer",), (1,)),
)
EVENT_COLUMNS = (
    "occurred_at", "uid", "visitor_id", "lead_id", "type", "asset_id", "seconds", "depth",
    "properties",
)  # fmt: skip
LEAD_COLUMNS = (
    "id", "email", "name", "company", "search_text", "journey_stage", "stage_confidence",
    "fit_score", "engagement", "engagement_as_of", "grade", "category", "lifecycle",
    "lifecycle_changed_at", "stage_changed_at", "milestones", "marketing_consent",
    "marketing_consent_at", "created_at", "last_activity_at", "journey", "first_visit_id",
    "latest_visit_id", "account_id", "free_mail",
)  # fmt: skip
ENGAGEMENT_COLUMNS = (
    "visitor_id", "asset_id", "lead_id", "engaged_seconds", "max_depth", "views", "downloads",
    "first_at", "last_at",
)  # fmt: skip
FACT_COLUMNS = ("lead_id", "field", "value", "source", "source_ref", "recorded_at", "superseded_at")
CHANGE_COLUMNS = ("at", "lead_id", "kind", "old", "new", "reason", "dwell_seconds")
VISIT_COLUMNS = (
    "id", "visitor_id", "lead_id", "started_at", "last_at", "source", "medium", "campaign",
    "term", "content", "referrer", "channel", "click_id", "landing",
)  # fmt: skip
ACCOUNT_COLUMNS = (
    "id", "domain", "name", "created_at", "created_by", "people", "engagement",
    "furthest_stage", "common_stage",
)  # fmt: skip
DEAL_COLUMNS = (
    "external_id", "lead_id", "account_id", "name", "amount_minor", "currency", "stage",
    "created_at", "closed_at", "updated_at", "recycle_at",
)  # fmt: skip
MAIL_COLUMNS = (
    "id", "message_id", "verp", "lead_id", "to_address", "kind", "category", "language",
    "params", "dedupe_key", "status", "attempts", "created_at", "next_attempt_at",
    "retry_until", "subject", "sent_at", "last_error", "skip_reason", "opened_at", "clicked_at",
)  # fmt: skip
ENROLLMENT_COLUMNS = (
    "id", "program_id", "version", "lead_id", "status", "step", "due_at", "entered_at",
    "entered_by", "ended_at", "end_reason", "goal", "last_message_id",
)  # fmt: skip
STEP_COLUMNS = (
    "enrollment_id", "program_id", "version", "step_id", "lead_id", "at", "outcome", "detail",
    "message_id",
)  # fmt: skip

OWN_HOST = "portal.bench.example"
EMAIL_CAMPAIGNS = ("newsletter", "welcome", "webinar")
"""The campaigns of ``EMAIL_PROPS``: the program mails an ``email_click`` came from."""
PROGRAMS = {
    "newsletter": "Monthly digest",
    "welcome": "Welcome series",
    "webinar": "Webinar follow-up",
}
ARRIVALS = (
    # (weight, the page's address, its Referer): classified by tracking.sources.arrivals
    (22, "/", None), (6, "/library", None), (3, "/library?kind=webinar", None),
    (14, "/library/lead-scoring", "https://www.google.com/"),
    (6, "/library", "https://www.google.de/"), (3, "/", "https://www.bing.com/"),
    (2, "/library", "https://duckduckgo.com/"), (1, "/", "https://www.ecosia.org/"),
    (5, "/library", "https://www.linkedin.com/feed/"), (2, "/", "https://t.co/x1"),
    (1, "/", "https://www.xing.com/"), (1, "/library", "https://www.facebook.com/"),
    (2, "/library", "https://www.g2.com/categories/marketing-automation"),
    (1, "/", "https://www.capterra.com/lead-scoring-software/"),
    (2, "/library", "https://martech-weekly.com/issues/42"),
    (1, "/", "https://mail.google.com/"),
    (3, "/library?utm_source=linkedin&utm_medium=social&utm_campaign=lead-scoring-guide", None),
    (2, "/?utm_source=linkedin&utm_medium=social&utm_campaign=abm-playbook", None),
    (1, "/?utm_source=xing&utm_medium=social&utm_campaign=dach-roadshow", None),
    (3, "/?gclid=Cj0KbEnCh&utm_source=google&utm_medium=cpc&utm_campaign=brand-search", None),
    (2, "/library?gclid=Cj0KcOmP&utm_source=google&utm_medium=cpc"
        "&utm_campaign=competitor-search&utm_term=lead+scoring+tool", None),
    (2, "/?li_fat_id=a1b2c3&utm_source=linkedin&utm_medium=paid_social"
        "&utm_campaign=abm-manufacturing", None),
    (1, "/?msclkid=f00d&utm_source=bing&utm_medium=cpc&utm_campaign=brand-search", None),
    (2, "/library?utm_source=martech-weekly&utm_medium=newsletter"
        "&utm_campaign=sponsored-2026-q2", "https://martech-weekly.com/"),
    (1, "/?utm_source=pipewise&utm_medium=partner&utm_campaign=co-webinar", None),
)  # fmt: skip
"""Where visits come from: direct, search, social, other sites and webmail, UTM campaigns on
social and partner newsletters, paid clicks (a click id). A session that starts with a program
mail's click comes from that mail (``utm_medium=email``)."""
FREE_MAIL_SHARE = 0.15
FREE_MAIL = ("gmail.com", "gmx.de", "web.de", "outlook.com", "yahoo.com", "hotmail.com",
             "t-online.de", "icloud.com")  # fmt: skip
TLDS = ("com", "com", "com", "de", "de", "co.uk", "io", "ch", "fr", "nl", "at", "se")
OTHER_CURRENCIES = ("USD", "GBP")
PRODUCTS = ("Platform", "Starter", "Growth", "Enterprise", "Renewal", "Add-on seats")


# --- writers: the fastest bulk path of each backend -------------------------------------------


class SqliteWriter:
    """Plain sqlite3 executemany in one transaction per block (no fsync while loading)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("BEGIN")

    @staticmethod
    def stamp(at: float) -> str:
        """What SQLAlchemy stores for an aware UTC datetime on SQLite (naive UTC text)."""
        return datetime.fromtimestamp(at, UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        marks = ", ".join("?" * len(columns))
        self.connection.executemany(
            f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})',  # noqa: S608
            rows,
        )

    def commit(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("BEGIN")

    def close(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.close()


class PostgresWriter:
    """psycopg COPY FROM STDIN, committed per block."""

    def __init__(self, url: str) -> None:
        import psycopg

        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection = psycopg.connect(plain)

    @staticmethod
    def stamp(at: float) -> str:
        return datetime.fromtimestamp(at, UTC).isoformat(" ", "microseconds")

    def rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        self.connection.commit()

    def close(self) -> None:
        self.connection.commit()
        self.connection.close()


Writer = SqliteWriter | PostgresWriter


# --- the generator ----------------------------------------------------------------------------


@dataclass(slots=True)
class Subject:
    """A lead (with its browsers) or an anonymous browser, and what it did."""

    lead_id: int | None
    visitors: list[str]
    budget: int
    first: float
    stage: int
    last: float = 0.0
    unlocked: dict[int, float] = field(default_factory=dict)
    engagement: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    journey: str | None = None
    """A lead's journey state as JSON, as ingestion keeps it on the lead row."""
    visits: list[tuple[Any, ...]] = field(default_factory=list)
    """Its sessions as ``visit`` rows (times as epoch seconds), in the order generated."""
    clicks: list[tuple[float, str]] = field(default_factory=list)
    """A lead's program mail clicks: (when, the campaign of ``EMAIL_CAMPAIGNS``)."""


@dataclass(slots=True)
class Counts:
    events: int = 0
    engagement: int = 0
    facts: int = 0
    changes: int = 0
    visitors: int = 0
    unlocks: int = 0
    consents: int = 0
    visits: int = 0
    milestones: int = 0
    mails: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Visit:
    """One session of one browser: its events so far, on a clock that moves 3-40 s per event."""

    rng: random.Random
    subject: Subject
    visitor: str
    clock: float
    found: list[tuple[Any, ...]] = field(default_factory=list)
    opened: set[int] = field(default_factory=set)

    def add(
        self,
        kind: str,
        asset: int | None = None,
        seconds: float | None = None,
        depth: float | None = None,
        props: str | None = None,
        uid: str | None = None,
    ) -> None:
        self.clock += self.rng.uniform(3, 40)
        lead = self.subject.lead_id
        self.found.append((self.clock, uid, self.visitor, lead, kind, asset, seconds, depth, props))


class Generator:
    def __init__(self, library: dict[str, list[Any]], end: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.end = end
        self.start = end - 365 * DAY
        self.assets = [[(a.id, a.kind, a.gated) for a in library[stage]] for stage in STAGES]
        self.asset_stages = {a.id: a.stage for items in library.values() for a in items}
        self.scoring = Model().scoring
        self.companies = self.make_companies(max(1, ACCOUNTS))
        own = (OWN_HOST,)
        self.arrivals = [arrivals.arrival(page, referer, own) for _, page, referer in ARRIVALS]
        self.arrival_weights = [weight for weight, _, _ in ARRIVALS]
        self.mail_arrivals = {
            campaign: arrivals.arrival(
                f"/library?utm_source=leadshelf&utm_medium=email&utm_campaign={campaign}",
                "https://mail.google.com/",
                own,
            )
            for campaign in EMAIL_CAMPAIGNS
        }
        self.visit_id = self.mail_id = self.enrollment_id = 0
        self.programs: dict[str, int] = {}
        """Program ids by the campaign of their mails (``make_programs``)."""

    def make_companies(self, count: int) -> list[tuple[str, str]]:
        """``count`` companies with their email domains, names and domains unique (one in a
        hundred is an "Acme …", which the searches find)."""
        rng, names, domains_taken, found = self.rng, set(), set(), []
        while len(found) < count:
            words = [rng.choice(WORDS), rng.choice(WORDS)]
            if rng.random() < 0.6:
                words.append(rng.choice(WORDS))
            if len(found) % 100 == 7:
                words.insert(0, "Acme")
            suffix = rng.choice(SUFFIXES)
            name = f"{' '.join(words)} {suffix}"
            if name in names:
                continue
            stem, tld = "".join(words).lower(), rng.choice(TLDS)
            domain = f"{stem}.{tld}"
            if domain in domains_taken:
                domain = f"{stem}-{suffix.lower()}.{tld}"
            if domain in domains_taken:
                continue
            names.add(name)
            domains_taken.add(domain)
            found.append((name, domain))
        return found

    def uid(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def budgets(self, total: int, count: int, sigma: float, floor: int) -> list[int]:
        weights = [self.rng.lognormvariate(0, sigma) for _ in range(count)]
        scale = max(0, total - floor * count) / sum(weights)
        return [floor + int(w * scale + self.rng.random()) for w in weights]  # sums to ~total

    def pick_asset(self, stage: int) -> tuple[int, str, bool]:
        """75 % of reads at the reader's stage, 15 % one earlier, 10 % one later."""
        r = self.rng.random()
        if r < 0.15 and stage > 0:
            stage -= 1
        elif r > 0.9 and stage < len(STAGES) - 1:
            stage += 1
        return self.rng.choice(self.assets[stage])

    def subject_events(self, subject: Subject) -> list[tuple[Any, ...]]:
        """The subject's sessions over its time, exactly ``budget`` events."""
        rng = self.rng
        sessions = max(1, round(subject.budget / SESSION_EVENTS))
        span = max(60.0, self.end - 3_600 - subject.first)
        # A lead identifies during its first visit, after a few pages: that visit (its
        # source, what it read) comes before the lead's creation.
        opening = subject.first - (rng.uniform(30, 900) if subject.lead_id is not None else 0)
        starts = sorted(
            [opening] + [subject.first + rng.random() * span for _ in range(sessions - 1)]
        )
        left, per, found = subject.budget, subject.budget / sessions, []
        for number, at in enumerate(starts):
            last = number == sessions - 1
            quota = (
                left
                if last
                else min(left - (sessions - number - 1), max(1, round(rng.uniform(0.5, 1.5) * per)))
            )
            if quota <= 0:
                continue
            visitor = subject.visitors[0] if rng.random() < 0.8 else rng.choice(subject.visitors)
            found.extend(self.session(subject, visitor, at, quota))
            left -= quota
        found.sort(key=lambda row: row[0])  # visits may overlap
        self.aggregate(subject, found)
        if subject.lead_id is not None:
            subject.journey = self.journey_state(found)
        return found

    def journey_state(self, found: list[tuple[Any, ...]]) -> str:
        """The journey state ingestion would have folded from these events (``journey.apply``:
        decayed evidence per asset and event counts), as stored on the lead row."""
        rows = (
            {
                "visitor_id": e[2],
                "asset_id": e[5],
                "type": e[4],
                "occurred_at": datetime.fromtimestamp(e[0], UTC),
                "seconds": e[6],
                "depth": e[7],
            }
            for e in found
        )
        touches = (touch for _, touch in leadstate.touches(rows, self.asset_stages, {}))
        return json.dumps(journey.apply(JourneyState(), touches, self.scoring).to_json())

    def session(
        self, subject: Subject, visitor: str, at: float, quota: int
    ) -> list[tuple[Any, ...]]:
        """One visit: an email click or a page view now and then, a search, then assets."""
        rng, visit = self.rng, Visit(self.rng, subject, visitor, at)
        r = rng.random()
        came = None
        if subject.lead_id is not None and at >= subject.first and r < 0.25:
            mail = rng.randrange(len(EMAIL_PROPS))
            visit.add("email_click", props=EMAIL_PROPS[mail])
            came = self.mail_arrivals[EMAIL_CAMPAIGNS[mail]]
            subject.clicks.append((visit.clock, EMAIL_CAMPAIGNS[mail]))
        elif r < 0.55:
            visit.add("page_view", props=rng.choice(PAGE_PROPS))
        if rng.random() < 0.15:
            visit.add("search", props=rng.choice(SEARCH_PROPS))
        while len(visit.found) < quota:
            self.open_asset(visit, *self.pick_asset(subject.stage))
        found = visit.found[:quota]
        if came is None:
            came = rng.choices(self.arrivals, self.arrival_weights)[0]
        self.visit_id += 1
        subject.visits.append(
            (self.visit_id, visitor, subject.lead_id, found[0][0], found[-1][0], came.source,
             came.medium, came.campaign, came.term, came.content, came.referrer,
             came.channel.value, came.click_id, came.landing)
        )  # fmt: skip
        return found

    def open_asset(self, visit: Visit, asset: int, kind: str, gated: bool) -> None:
        """The asset page, its gate (sent by half the leads, never by anonymous readers: they
        would become leads), reading heartbeats, a download, a call to action."""
        rng, subject = self.rng, visit.subject
        locked = gated and asset not in subject.unlocked and asset not in visit.opened
        visit.add("asset_view", asset, props=LOCKED if locked else OPEN)
        if locked:
            visit.add("gate_view", asset, props=rng.choice(ASKED))
            if subject.lead_id is None or rng.random() < 0.5:
                return
            visit.add("form_submit", asset, props=rng.choice(ANSWERED))
            visit.add("unlock", asset)
            visit.opened.add(asset)
            if kind == "webinar":
                visit.add("webinar_register", asset)
                if rng.random() < 0.5:
                    visit.add("webinar_attend", asset, seconds=round(rng.uniform(600, 3600)))
        depth = 0.0
        for _ in range(rng.choice(BEATS)):
            depth = min(1.0, depth + rng.uniform(0.05, 0.3))
            seconds = round(rng.uniform(5, 30), 1)
            visit.add("read_progress", asset, seconds, round(depth, 2), uid=self.uid())
        if kind in DOWNLOADABLE and rng.random() < 0.12:
            visit.add("download", asset)
        if rng.random() < 0.04:
            visit.add("cta_click", asset, props=CTA, uid=self.uid())
        if subject.lead_id is not None and subject.stage >= 2 and rng.random() < 0.003:
            visit.add("demo_request", asset, props=DEMO)

    @staticmethod
    def aggregate(subject: Subject, found: list[tuple[Any, ...]]) -> None:
        """The asset_engagement rows and unlocks the events imply (as ingestion folds them)."""
        engagement = subject.engagement
        for at, _, visitor, _, kind, asset, seconds, depth, _ in found:
            if kind == "unlock" and asset not in subject.unlocked:
                subject.unlocked[asset] = at
            if asset is None:
                continue
            row = engagement.get((visitor, asset))
            if row is None:
                row = engagement[(visitor, asset)] = [0.0, 0.0, 0, 0, at, at]
            row[0] += seconds or 0.0
            row[1] = max(row[1], depth or 0.0)
            row[2] += kind == "asset_view"
            row[3] += kind == "download"
            row[4], row[5] = min(row[4], at), max(row[5], at)
        subject.last = max(at for at, *_ in found)


@dataclass(slots=True)
class LeadPlan:
    subject: Subject
    name: tuple[str, str]
    company: str
    lifecycle: str
    fit: int
    grade: str
    category: str
    consent: bool
    account: int | None = None
    """The index of its account in ``Generator.companies`` (None: a free-mail address)."""
    domain: str = ""
    email: str = ""
    reached: dict[str, float] = field(default_factory=dict)
    """When it reached each lifecycle of its path (``lead_rows`` fills it)."""


def plan_leads(gen: Generator, budgets: list[int]) -> list[LeadPlan]:
    rng, plans = gen.rng, []
    for number, budget in enumerate(budgets, 1):
        long = number <= len(LONG_TRAILS)
        first = gen.start + (
            rng.uniform(1, 5) * DAY
            if long
            else (gen.end - gen.start - DAY) * math.sqrt(rng.random())
        )
        heavy = budget > 60
        stage = (
            2 if long else rng.choices(range(4), (25, 30, 30, 15) if heavy else (55, 25, 12, 8))[0]
        )
        names, weights = LIFECYCLES_BY_STAGE[stage]
        visitors = [gen.uid() for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        fit = int(rng.triangular(0, 100, 30 + 15 * stage))
        grade = "ABCDE"[
            0 if fit >= 75 else 1 if fit >= 60 else 2 if fit >= 45 else 3 if fit >= 30 else 4
        ]
        plans.append(
            LeadPlan(
                subject=Subject(number, visitors, budget, first, stage),
                name=(rng.choice(FIRST), rng.choice(LAST)),
                company="",
                lifecycle=rng.choices(names, weights)[0],
                fit=fit,
                grade=grade,
                category=rng.choices(
                    ("known", "two_touch", "profiling_question", "qualified_question", "bant"),
                    (30, 30, 20, 12, 8),
                )[0],
                consent=rng.random() < 0.4,
            )
        )
    place_leads(gen, plans)
    return plans


def place_leads(gen: Generator, plans: list[LeadPlan]) -> None:
    """Each lead's company and email domain: ``FREE_MAIL_SHARE`` of them at a free-mail
    provider (no account; they still name a company), the others at one of the accounts'
    domains, every account with at least one person and their sizes log-normal (most
    accounts have one to three people, a few hundreds; the largest over a thousand at full
    size)."""
    rng = gen.rng
    free = [rng.random() < FREE_MAIL_SHARE for _ in plans]
    business = [plan for plan, is_free in zip(plans, free, strict=True) if not is_free]
    count = min(len(gen.companies), len(business))
    weights = [rng.lognormvariate(0, 1.8) for _ in range(count)]
    placed = list(range(count)) + rng.choices(range(count), weights, k=len(business) - count)
    rng.shuffle(placed)
    for plan, account in zip(business, placed, strict=True):
        plan.account = account
        plan.company, plan.domain = gen.companies[account]
    for plan, is_free in zip(plans, free, strict=True):
        if is_free:
            plan.company = rng.choice(gen.companies)[0] if rng.random() < 0.7 else ""
            plan.domain = rng.choice(FREE_MAIL)


def lead_rows(
    gen: Generator, writer: Writer, plan: LeadPlan, changes: list[tuple[Any, ...]]
) -> tuple[Any, ...]:
    """The lead row; its change log goes to ``changes`` (identification, stage, lifecycle,
    grade, category), its times between its first and last event."""
    rng, s, stamp = gen.rng, plan.subject, writer.stamp
    lead_id = s.lead_id
    path = rng.choice(LIFECYCLE_PATHS[plan.lifecycle])
    stages = ("awareness", "customer") if s.stage == 3 else STAGES[: s.stage + 1]
    changes.append((s.first, lead_id, "identified", None, path[0], "form on gate", None))
    moments: dict[str, float | None] = {"stage": None, "lifecycle": None}
    for kind, steps in (("stage", stages), ("lifecycle", path)):
        times = sorted(rng.uniform(s.first, s.last) for _ in steps[1:])
        previous = s.first
        for old, new, at in zip(steps, steps[1:], times, strict=False):
            changes.append((at, lead_id, kind, old, new, f"{kind} evidence", at - previous))
            previous = moments[kind] = at
            if kind == "lifecycle":
                plan.reached[new] = at
    if plan.grade != "E":
        changes.append(
            (
                rng.uniform(s.first, s.last),
                lead_id,
                "grade",
                "E",
                plan.grade,
                f"fit {plan.fit}",
                None,
            )
        )
    if plan.category != "known":
        changes.append(
            (
                rng.uniform(s.first, s.last),
                lead_id,
                "category",
                "known",
                plan.category,
                "answers",
                None,
            )
        )
    first, last = plan.name
    engagement = round(min(200.0, rng.lognormvariate(1.5, 1.0) * (1 + s.budget / 50)), 1)
    stamps = {k: stamp(v) if v is not None else None for k, v in moments.items()}
    email, name = f"{first}.{last}.{lead_id}@{plan.domain}".lower(), f"{first} {last}"
    plan.email = email
    visits = sorted(s.visits, key=lambda v: v[3])
    account = plan.account + 1 if plan.account is not None else None
    return (
        lead_id, email, name, plan.company, search_text(email, name, plan.company),
        STAGES[s.stage], round(rng.uniform(0.3, 0.99), 2), plan.fit, engagement,
        stamp(gen.end), plan.grade, plan.category, plan.lifecycle, stamps["lifecycle"],
        stamps["stage"], "[]", plan.consent, stamp(s.first) if plan.consent else None,
        stamp(s.first), stamp(s.last), s.journey, visits[0][0] if visits else None,
        visits[-1][0] if visits else None, account, plan.account is None,
    )  # fmt: skip


def fact_rows(gen: Generator, plan: LeadPlan, stamp: Any) -> list[tuple[Any, ...]]:
    """The lead's current profile (and a superseded job title now and then)."""
    rng, s = gen.rng, plan.subject
    at = stamp(s.first)
    facts = {"first_name": plan.name[0], "last_name": plan.name[1], "company": plan.company}
    for name, values, chance in (
        ("job_title", JOBS, 0.8), ("company_size", SIZES, 0.7), ("industry", INDUSTRIES, 0.6),
        ("country", COUNTRIES, 0.7),
    ):  # fmt: skip
        if rng.random() < chance:
            facts[name] = rng.choice(values)
    if s.stage >= 1 and rng.random() < 0.5:
        facts.update(
            timeframe=rng.choice(("0-3m", "3-6m", "6-12m", "12m+", "unknown")),
            budget=rng.choice(("none", "planned", "approved")),
            authority=rng.choice(("user", "influencer", "decision_maker")),
            need="Qualify inbound leads faster",
        )
    if s.stage >= 2 and rng.random() < 0.3:
        facts.update(project="yes", phone="+49 30 1234567")
    source, ref = ("import", "crm") if rng.random() < 0.3 else ("form", "gate")
    rows = [(s.lead_id, name, value, source, ref, at, None) for name, value in facts.items()]
    if "job_title" in facts and rng.random() < 0.1:
        rows.append((s.lead_id, "job_title", rng.choice(JOBS), "import", "crm", at, stamp(s.last)))
    return rows


def program_rows(
    gen: Generator, plans: list[LeadPlan], stamp: Any
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The program mails the leads' ``email_click`` events came from: a sent, opened and
    clicked ``mail_message`` per click, the lead's enrollment in that program (one per lead and
    program, completed) and the step log's ``sent`` row that names the mail (what attribution
    reads as a program touch)."""
    rng, mails, enrollments, steps = gen.rng, [], [], []
    for plan in plans:
        s, by_program = plan.subject, defaultdict(list)
        for clicked, campaign in s.clicks:
            by_program[campaign].append(clicked)
        for campaign, clicks in sorted(by_program.items()):
            program_id = gen.programs[campaign]
            gen.enrollment_id += 1
            enrollment, sent_times = gen.enrollment_id, []
            for number, clicked in enumerate(sorted(clicks)):
                sent = max(s.first, clicked - rng.uniform(600, 2 * DAY))
                gen.mail_id += 1
                sent_times.append(sent)
                params = json.dumps({"program": program_id, "version": 1, "step": "mail",
                                     "variant": 0, "enrollment": enrollment})  # fmt: skip
                mails.append((
                    gen.mail_id, f"<bench-{gen.mail_id}@{OWN_HOST}>", f"{gen.mail_id:032x}",
                    s.lead_id, plan.email, "program", "marketing", "en", params,
                    f"program:{enrollment}:mail-{number}", "sent", 1, stamp(sent), stamp(sent),
                    stamp(sent + 3 * DAY), f"{PROGRAMS[campaign]}: three reads for you",
                    stamp(sent), "", "", stamp(clicked - 1), stamp(clicked),
                ))  # fmt: skip
                steps.append((enrollment, program_id, 1, "mail", s.lead_id, stamp(sent), "sent",
                              PROGRAMS[campaign], gen.mail_id))  # fmt: skip
            enrollments.append((
                enrollment, program_id, 1, s.lead_id, "completed", 1, stamp(sent_times[-1]),
                stamp(sent_times[0] - 60), "bench", stamp(sent_times[-1]), "", "", gen.mail_id,
            ))  # fmt: skip
    return mails, enrollments, steps


def write_block(gen: Generator, writer: Writer, plans: list[LeadPlan], anonymous: list[Subject],
                counts: Counts, changes: list[tuple[Any, ...]]) -> None:  # fmt: skip
    """One block: its subjects' events (sorted by time), then every row that hangs on them."""
    stamp, started = writer.stamp, time.perf_counter()
    found: list[tuple[Any, ...]] = []
    subjects = [p.subject for p in plans] + anonymous
    for subject in subjects:
        found.extend(gen.subject_events(subject))
    found.sort(key=lambda row: row[0])
    generated = time.perf_counter()
    writer.rows("lead", LEAD_COLUMNS, [lead_rows(gen, writer, plan, changes) for plan in plans])
    visitors = []
    for s in subjects:
        seen: dict[str, tuple[float, float, int]] = {}  # visitor: first start, last page, visit
        for visit in sorted(s.visits, key=lambda v: v[3]):
            began = seen.get(visit[1], (visit[3], 0.0, 0))[0]
            seen[visit[1]] = (began, visit[4], visit[0])
        for v in s.visitors:
            began, last_page, visit_id = seen.get(v, (s.first, s.first, None))
            visitors.append(
                (
                    v,
                    s.lead_id,
                    stamp(min(began, s.first)),
                    stamp(s.first) if s.lead_id else None,
                    visit_id,
                    stamp(last_page),
                )
            )
    writer.rows("visitor", ("id", "lead_id", "created_at", "identified_at", "visit_id",
                            "last_seen_at"), visitors)  # fmt: skip
    visits = [
        (v[0], v[1], v[2], stamp(v[3]), stamp(v[4]), *v[5:]) for s in subjects for v in s.visits
    ]
    writer.rows("visit", VISIT_COLUMNS, visits)
    facts = [row for plan in plans for row in fact_rows(gen, plan, stamp)]
    writer.rows("profile_fact", FACT_COLUMNS, facts)
    consents = [
        (p.subject.lead_id, "marketing", True, "2026-11", CONSENT_TEXT, "form", "gate",
         stamp(p.subject.first))
        for p in plans if p.consent
    ]  # fmt: skip
    writer.rows(
        "consent",
        (
            "lead_id",
            "purpose",
            "granted",
            "text_version",
            "text",
            "source",
            "source_ref",
            "recorded_at",
        ),
        consents,
    )
    writer.rows("event", EVENT_COLUMNS, ((stamp(e[0]), *e[1:]) for e in found))
    engagement = [
        (visitor, asset, s.lead_id, round(r[0], 1), r[1], r[2], r[3], stamp(r[4]), stamp(r[5]))
        for s in subjects for (visitor, asset), r in sorted(s.engagement.items())
    ]  # fmt: skip
    writer.rows("asset_engagement", ENGAGEMENT_COLUMNS, engagement)
    unlocks = [
        (s.lead_id, a, stamp(at))
        for s in subjects
        for a, at in sorted(s.unlocked.items())
        if s.lead_id
    ]
    writer.rows("unlock", ("lead_id", "asset_id", "unlocked_at"), unlocks)
    mails, enrollments, steps = program_rows(gen, plans, stamp)
    writer.rows("mail_message", MAIL_COLUMNS, mails)
    writer.rows("program_enrollment", ENROLLMENT_COLUMNS, enrollments)
    writer.rows("program_step_log", STEP_COLUMNS, steps)
    writer.commit()
    for subject in subjects:  # done with: keep the memory flat
        subject.engagement.clear()
        subject.journey = None
        subject.visits.clear()
        subject.clicks.clear()
    counts.visits += len(visits)
    counts.mails += len(mails)
    counts.events += len(found)
    counts.engagement += len(engagement)
    counts.facts += len(facts)
    counts.visitors += len(visitors)
    counts.unlocks += len(unlocks)
    counts.consents += len(consents)
    counts.seconds["generate"] = counts.seconds.get("generate", 0.0) + generated - started
    counts.seconds["store"] = counts.seconds.get("store", 0.0) + time.perf_counter() - generated


def generate(database: Database, url: str) -> tuple[Counts, list[LeadPlan]]:
    """Every table the console reads, filled in bulk; returns what was stored."""
    library = build_library(database)
    gen = Generator(library, time.time() - 3_600, SEED)
    rng = gen.rng
    trails = [max(1, int(LONG_TRAIL * share)) for share in LONG_TRAILS]
    lead_events = int(EVENTS * (1 - ANONYMOUS_SHARE)) - sum(trails)
    plans = plan_leads(gen, trails + gen.budgets(lead_events, LEADS - len(trails), 1.1, 2))
    visitors = int(LEADS * 1.5)
    anonymous = [
        Subject(None, [gen.uid()], budget, gen.start + rng.random() * (gen.end - gen.start - DAY),
                rng.choices(range(3), (70, 20, 10))[0])
        for budget in gen.budgets(EVENTS - sum(p.subject.budget for p in plans), visitors, 1.0, 1)
    ]  # fmt: skip
    counts, changes = Counts(), []
    make_programs(database, gen)
    indexes = list(Event.__table__.indexes)  # type: ignore[attr-defined]
    with database.write_connection() as connection:
        for index in indexes:
            index.drop(connection)
    writer: Writer = (
        PostgresWriter(url) if not database.is_sqlite else SqliteWriter(str(database.url.database))
    )
    writer.rows("account", ACCOUNT_COLUMNS, account_rows(gen, plans, writer.stamp))
    blocks = max(1, math.ceil(LEADS / BLOCK))
    per_block = math.ceil(len(anonymous) / blocks)
    for block in range(blocks):
        leads = plans[block * BLOCK : (block + 1) * BLOCK]
        others = anonymous[block * per_block : (block + 1) * per_block]
        write_block(gen, writer, leads, others, counts, changes)
    started = time.perf_counter()
    changes.sort(key=lambda row: row[0])
    writer.rows("lead_change", CHANGE_COLUMNS, ((writer.stamp(c[0]), *c[1:]) for c in changes))
    # The funnel milestones changelog.append writes with the entries (in the same order).
    milestones = [
        (c[1], kind, writer.stamp(c[0]))
        for c in changes
        if (kind := changelog.milestone_of(c[2], c[4])) is not None
    ]
    writer.rows("funnel_milestone", ("lead_id", "kind", "at"), milestones)
    deals = deal_rows(gen, plans, writer.stamp)
    writer.rows("deal", DEAL_COLUMNS, deals)
    writer.close()
    counts.changes, counts.milestones = len(changes), len(milestones)
    counts.seconds["store"] += time.perf_counter() - started
    started = time.perf_counter()
    with database.write_connection() as connection:
        for index in indexes:
            index.create(connection)
        if not database.is_sqlite:  # the rows above were written with their ids
            for table in ("lead", "account", "visit", "mail_message", "program_enrollment"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    counts.seconds["event indexes"] = time.perf_counter() - started
    if not database.is_sqlite:  # what autovacuum would have done by now
        started = time.perf_counter()
        with database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("VACUUM ANALYZE"))
        counts.seconds["vacuum analyze"] = time.perf_counter() - started
    return counts, plans


def make_programs(database: Database, gen: Generator) -> None:
    """The three programs whose mails the leads' email clicks came from (one mail step)."""
    now = datetime.fromtimestamp(gen.start, UTC)
    with database.write() as session:
        for campaign, name in PROGRAMS.items():
            definition = {
                "name": name,
                "trigger": {"kind": "manual"},
                "steps": [{"id": "mail", "send": {"subjects": [f"{name}: three reads for you"],
                                                  "body": "{{ next_best_content 3 }}\n"}}],
            }  # fmt: skip
            saved = store.save(session, parse(definition), by="bench", now=now, status="active")
            gen.programs[campaign] = saved.program.id


def account_rows(gen: Generator, plans: list[LeadPlan], stamp: Any) -> list[tuple[Any, ...]]:
    """The accounts of the leads' business domains, made when their first lead arrived, with
    their head count (``tracking.accounts.membership`` keeps it); the figures are left to the
    account job, which the bench runs after the load (``refresh_accounts``)."""
    first: dict[int, float] = {}
    people: dict[int, int] = defaultdict(int)
    for plan in plans:
        if plan.account is not None:
            first[plan.account] = min(first.get(plan.account, math.inf), plan.subject.first)
            people[plan.account] += 1
    return [
        (index + 1, domain, name, stamp(first[index]), "", people[index], 0.0, "", "")
        for index, (name, domain) in enumerate(gen.companies)
        if index in first
    ]


def deal_rows(gen: Generator, plans: list[LeadPlan], stamp: Any) -> list[tuple[Any, ...]]:
    """``DEALS`` deals on leads whose lifecycle is opportunity or customer, with their
    accounts: a won deal per customer (opened at its opportunity, won when it became a
    customer), an open one per opportunity, up to 85 % of the deals; the rest earlier lost
    deals (recycled a month later, then back) and add-on deals of customers (open or won).
    Amounts log-normal around 12,000 EUR; one in 25 in USD or GBP."""
    rng, end = gen.rng, gen.end - DAY
    eligible = [p for p in plans if p.lifecycle in ("opportunity", "customer")]
    mains = rng.sample(eligible, min(len(eligible), round(DEALS * 0.85)))
    found: list[tuple[LeadPlan, str, float, float | None]] = []
    for plan in mains:
        reached, s = plan.reached, plan.subject
        if plan.lifecycle == "customer":
            won = reached.get("customer", s.last)
            opened = reached.get("opportunity") or max(s.first, won - rng.uniform(14, 90) * DAY)
            found.append((plan, "won", opened, won))
        else:
            found.append((plan, "open", reached.get("opportunity", s.last), None))
    while len(found) < DEALS and mains:
        plan, _, opened, closed = rng.choice(found[: len(mains)])
        s = plan.subject
        if closed is not None and closed + 10 * DAY < end and rng.random() < 0.5:
            extra = rng.uniform(closed + 10 * DAY, end)
            done = rng.uniform(extra, end) if rng.random() < 0.5 else None
            found.append((plan, "won" if done else "open", extra, done))
        else:
            lost_opened = rng.uniform(s.first, opened)
            found.append((plan, "lost", lost_opened, rng.uniform(lost_opened, opened)))
    found.sort(key=lambda deal: deal[2])
    rows = []
    for number, (plan, stage, opened, closed) in enumerate(found, 1):
        currency = rng.choice(OTHER_CURRENCIES) if rng.random() < 0.04 else "EUR"
        amount = round(rng.lognormvariate(math.log(12_000), 0.9)) * 100
        recycle = stamp(closed + 30 * DAY) if stage == "lost" and closed is not None else None
        rows.append((
            f"crm-{number:06d}", plan.subject.lead_id,
            plan.account + 1 if plan.account is not None else None,
            f"{plan.company or plan.name[1]}: {rng.choice(PRODUCTS)}", amount, currency, stage,
            stamp(opened), stamp(closed) if closed is not None else None,
            stamp(closed if closed is not None else opened), recycle,
        ))  # fmt: skip
    return rows


# --- after the load: roll-ups, journey states, the leads whose pages are timed ----------------


def build_rollups(database: Database) -> dict[str, Any]:
    """What ``leadshelf rollup`` does: daily roll-ups from the raw events, then lead figures."""
    started = time.perf_counter()
    with database.write() as session:
        read = rollups.rebuild(session)
    rebuilt = time.perf_counter() - started
    started = time.perf_counter()
    with database.write() as session:
        assets = rollups.refresh_lead_stats(session)
    refreshed = time.perf_counter() - started
    dead = 0
    if not database.is_sqlite:  # the rebuild's upserts leave dead rows until autovacuum
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE asset_daily"))
            dead = c.scalar(
                text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'asset_daily'")
            )
            c.execute(text("VACUUM ANALYZE asset_daily, field_daily, asset_lead_stats"))
    return {
        "events": read,
        "rebuild": rebuilt,
        "assets": assets,
        "lead stats": refreshed,
        "dead": dead,
    }


class TimedWrites:
    """The database as a job sees it (``read``/``write`` sessions), timing each write
    transaction: on SQLite a job holds the write lock that long, and ingestion waits."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.writes: list[float] = []

    def read(self) -> contextlib.AbstractContextManager[Session]:
        return self.database.read()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        started = time.perf_counter()
        try:
            with self.database.write() as session:
                yield session
        finally:
            self.writes.append((time.perf_counter() - started) * 1000)

    def longest(self) -> str:
        """The longest write transaction since the last call, and how many there were."""
        found, self.writes = self.writes, []
        if not found:
            return "no write transaction"
        return f"{len(found):,} write transactions, longest {max(found):,.0f} ms"


def refresh_accounts(database: Database) -> tuple[int, float, str]:
    """One pass of the real ``account-figures`` job over the fresh accounts (every one is
    stale): their people's engagement, stages and last activity; (accounts written, seconds,
    its write transactions)."""
    timed = TimedWrites(database)
    started = time.perf_counter()
    written = Keeper().run(timed.write, account_rules(Model()), read=database.read)
    return written, time.perf_counter() - started, timed.longest()


def attribution_passes(database: Database) -> dict[str, Any]:
    """The real ``attribution`` job (``nurture.attribution.rollup.run``): the first full pass
    (every milestone, then pipeline and revenue from every deal), a pass after
    ``NEW_MILESTONES`` new MQLs (written by ``changelog.append``, as a lifecycle change writes
    them), and a pass after one deal changed (money rebuilt from all deals)."""
    found: dict[str, Any] = {}
    timed = TimedWrites(database)
    started, credited, deals = time.perf_counter(), 0, None
    while True:  # a pass credits at most 200 batches; the job's next passes go on
        done = attribution.run(timed, CURRENCY, utcnow())
        credited += done.milestones
        deals = done.deals if deals is None else deals
        if done.milestones < 200 * attribution.BATCH:
            break
    found["first"] = (time.perf_counter() - started, credited, deals, timed.longest())
    now = utcnow()
    with database.write() as session:
        ids = list(
            session.scalars(
                select(Lead.id).where(Lead.lifecycle == "lead").order_by(Lead.id).limit(
                    NEW_MILESTONES)
            )
        )  # fmt: skip
        changelog.append(
            session,
            *(
                LeadChange(lead_id=lead_id, at=now - timedelta(minutes=5 + n % 600),
                           kind="lifecycle", old="lead", new="mql", reason="bench: new MQL")
                for n, lead_id in enumerate(ids)
            ),
        )  # fmt: skip
        session.execute(
            update(Lead).where(Lead.id.in_(ids)).values(lifecycle="mql", lifecycle_changed_at=now)
        )
    started = time.perf_counter()
    done = attribution.run(timed, CURRENCY, utcnow())
    found["incremental"] = (time.perf_counter() - started, done.milestones, done.deals,
                            timed.longest())  # fmt: skip
    with database.write() as session:
        deal = session.scalar(select(Deal).where(Deal.currency == CURRENCY).limit(1))
        assert deal is not None
        deal.amount_minor += 100
        deal.updated_at = utcnow()
    started = time.perf_counter()
    done = attribution.run(timed, CURRENCY, utcnow())
    found["deal"] = (time.perf_counter() - started, done.milestones, done.deals, timed.longest())
    with database.read() as session:
        found["rows"] = {
            table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (AttributionMonth, AttributionGap, SourceTiming)
        }
    if not database.is_sqlite:  # as autovacuum would after the load
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE attribution_month, attribution_gap, attribution_timing,"
                           " account, lead, deal, funnel_milestone"))  # fmt: skip
    return found


def closed_loop_pages(database: Database) -> list[tuple[str, str]]:
    """Attribution (views, models, windows, 6 or 12 months), its CSV, the KPIs, the account
    list (default, a search, two sorts, a deep page), the largest and a typical account's
    page. The smoke run times a few of them (one of each kind)."""
    month = month_of(utcnow())
    months = {n: f"from={month_name(months_back(month, n - 1))}&to={month_name(month)}"
              for n in (6, 12)}  # fmt: skip
    pages = [("attribution (default: asset, w, 90 d, 6 mo)", "/console/attribution")]
    variants = (
        ("asset", "first", 365, 12), ("topic", "linear", 90, 12), ("topic", "w", 365, 6),
        ("source", "first", 90, 6), ("source", "w", 365, 12), ("campaign", "linear", 365, 12),
        ("campaign", "first", 90, 6), ("program", "w", 90, 12), ("program", "linear", 365, 6),
    )  # fmt: skip
    for view, model, window, n in variants[4:8:3] if SMOKE else variants:
        pages.append((
            f"attribution, {view}, {model}, {window} d, {n} mo",
            f"/console/attribution?view={view}&model={model}&window={window}&{months[n]}",
        ))  # fmt: skip
    pages.append((
        "attribution, asset, w, 365 d, 12 mo, SQL paths",
        f"/console/attribution?view=asset&model=w&window=365&{months[12]}&milestone=sql",
    ))  # fmt: skip
    pages.append((
        "attribution CSV, asset, w, 365 d, 12 mo",
        f"/console/attribution/report.csv?view=asset&model=w&window=365&{months[12]}",
    ))  # fmt: skip
    with database.read() as session:
        by_size = session.execute(
            select(Account.id, Account.people).order_by(Account.people.desc(), Account.id)
        ).all()
    (largest, most), (typical, median) = by_size[0], by_size[len(by_size) // 2]
    deep = max(1, len(by_size) // listing.PER_PAGE - 5)
    pages += [
        ("KPIs", "/console/kpis"),
        ("accounts (default: engagement)", "/console/accounts"),
        ("accounts, q=acme", "/console/accounts?q=acme"),
        ("accounts, sort=people", "/console/accounts?sort=people"),
        ("accounts, sort=engagement, asc", "/console/accounts?sort=engagement&order=asc"),
        (f"accounts, page={deep}", f"/console/accounts?page={deep}"),
        (f"account page, the largest ({most:,} people)", f"/console/accounts/{largest}"),
        (f"account page, typical ({median} people)", f"/console/accounts/{typical}"),
    ]
    return [page for page in pages if not SMOKE or "sort=" not in page[1]]


def intelligence_pages(experiment_id: int, exposures: int) -> list[tuple[str, str]]:
    """Console → Content intelligence (issue 20); the smoke run times one of each kind."""
    url = "/console/content-intelligence"
    pages = [
        ("gap matrix, stage x topic", url),
        ("gap matrix, stage x persona", f"{url}?by=persona"),
        ("gap matrix, stage x topic, English", f"{url}?language=en"),
        (f"gate experiment report ({exposures:,} exposed)", f"{url}/experiments/{experiment_id}"),
        ("gate experiments list", f"{url}/experiments"),
        ("fading content", f"{url}/fading"),
        ("buying process", f"{url}/process"),
        (f"buying process, topic={TOPIC}", f"{url}/process?topic={TOPIC}"),
    ]
    return [page for page in pages if not SMOKE or "?" not in page[1]]


def make_experiment(database: Database) -> int:
    """A gate experiment on the most read gated asset, started 120 days ago, with EXPOSURES
    exposed browsers: the asset's readers since then (first sight when they first read it),
    then other browsers (first sight at a random time since the start)."""
    rng = random.Random(SEED + 20)
    now = utcnow()
    started = now - timedelta(days=120)
    with database.write() as session:
        readers = (
            select(func.count())
            .where(AssetEngagement.asset_id == Asset.id)
            .correlate(Asset)
            .scalar_subquery()
        )
        asset_id = session.scalar(
            select(Asset.id).where(Asset.gate == "gated").order_by(readers.desc()).limit(1)
        )
        assert asset_id is not None, "no gated asset"
        experiment = GateExperiment(
            asset_id=asset_id, gate="gated", open_share=0.5, window_days=90,
            started_at=started, started_by="bench@bench.example",
        )  # fmt: skip
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
        seen: dict[str, datetime] = dict(
            session.execute(
                select(AssetEngagement.visitor_id, AssetEngagement.first_at)
                .where(AssetEngagement.asset_id == asset_id, AssetEngagement.first_at >= started)
                .limit(EXPOSURES)
            ).all()
        )
        if len(seen) < EXPOSURES:
            for visitor_id in session.scalars(select(Visitor.id).limit(EXPOSURES * 2)):
                if len(seen) >= EXPOSURES:
                    break
                seen.setdefault(visitor_id, started + timedelta(seconds=rng.uniform(0, 120 * DAY)))
        rows = [
            {
                "experiment_id": experiment_id,
                "visitor_id": visitor_id,
                "arm": arm_for(experiment_id, visitor_id, 0.5).value,
                "first_at": first_at,
            }
            for visitor_id, first_at in seen.items()
        ]
        for start in range(0, len(rows), 5_000):
            session.execute(insert(GateExposure), rows[start : start + 5_000])
    return experiment_id


def content_intelligence(database: Database) -> tuple[int, int]:
    """The content-intelligence job's passes over the data (the gap matrix, then the gate
    experiment's figures), timed, made once on a kept database; (experiment id, exposures)."""
    with database.read() as session:
        cells = session.scalar(select(func.count()).select_from(ContentCell))
        experiment_id = session.scalar(select(func.min(GateExperiment.id)))
    if not cells:
        writes = TimedWrites(database)
        started = time.perf_counter()
        said = gaps.refresh(writes.read, writes.write, utcnow())
        print(
            f"  content-intelligence job, the gap matrix (`gaps.refresh`): "
            f"{time.perf_counter() - started:.1f} s ({said}; {writes.longest()})"
        )
    if experiment_id is None:
        started = time.perf_counter()
        experiment_id = make_experiment(database)
        print(f"  gate experiment: {EXPOSURES:,} exposures stored in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    with database.read() as session:
        exposures = session.scalar(
            select(func.count()).where(GateExposure.experiment_id == experiment_id)
        )
    writes = TimedWrites(database)  # every run: cheap enough, and the code may have changed
    started = time.perf_counter()
    said = experiments_report.refresh_all(writes.read, writes.write, utcnow())
    print(
        f"  the content-intelligence job's experiment pass (`experiments_report.refresh_all`,"
        f" {exposures or 0:,} exposures): {time.perf_counter() - started:.1f} s ({said};"
        f" {writes.longest()})"
    )
    writes = TimedWrites(database)  # the buying process per topic, as the job keeps it
    started = time.perf_counter()
    said = process.refresh(writes.read, writes.write, Model().stages, utcnow())
    print(
        f"  the content-intelligence job's buying-process pass (`process.refresh`):"
        f" {time.perf_counter() - started:.1f} s ({said}; {writes.longest()})"
    )
    return experiment_id, exposures or 0


def timed_leads(database: Database) -> tuple[tuple[int, int], tuple[int, int]]:
    """(id, events) of the longest trail (lead 1) and of a typical lead (the median of 100)."""
    with database.read() as session:
        longest = session.scalar(select(func.count()).where(Event.lead_id == 1)) or 0
        sample = sorted(
            (n, lead_id)
            for lead_id, n in session.execute(
                select(Event.lead_id, func.count())
                .where(Event.lead_id.between(len(LONG_TRAILS) + 1, len(LONG_TRAILS) + 100))
                .group_by(Event.lead_id)
            )
        )
    n, typical = sample[len(sample) // 2]
    return (1, longest), (typical, n)


# --- timing through the app -------------------------------------------------------------------


class StatementLog:
    """The statements of one request, each with its execute time and the time until the next
    statement starts (fetching its rows and the Python work on them)."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.marks: list[tuple[float, str, str, Any]] = []
        sa_event.listen(engine, "before_cursor_execute", self._before)
        sa_event.listen(engine, "after_cursor_execute", self._after)

    def _mark(self, kind: str, statement: str, parameters: Any, many: bool) -> None:
        # The app's background threads (search index sync, ingestion) are not the request.
        background = threading.current_thread().name.startswith("leadshelf-")
        if self.active and not many and not background:
            self.marks.append((time.perf_counter(), kind, statement, parameters))

    def _before(self, _c: Any, _cu: Any, sql: str, parameters: Any, _x: Any, many: bool) -> None:
        self._mark("before", sql, parameters, many)

    def _after(self, _c: Any, _cu: Any, sql: str, parameters: Any, _x: Any, many: bool) -> None:
        self._mark("after", sql, parameters, many)

    def costs(self, ended: float) -> tuple[list[tuple[float, float, str, Any]], float]:
        """(execute ms, ms until the next statement, statement, parameters) per statement, and
        the ms from the last statement to the response (templates, charts)."""
        found: list[list[Any]] = []
        started = 0.0
        for at, kind, statement, parameters in self.marks:
            if kind == "before":
                if found and found[-1][1] < 0:
                    found[-1][1] = (at - started - found[-1][0] / 1000) * 1000
                started = at
            else:
                found.append([(at - started) * 1000, -1.0, statement, parameters])
        rendering = 0.0
        if found:
            last_done = started + found[-1][0] / 1000
            rendering, found[-1][1] = (ended - last_done) * 1000, 0.0
        return [(e[0], e[1], e[2], e[3]) for e in found], rendering


def explain(database: Database, statement: str, parameters: Any) -> list[str]:
    """The query plan (PostgreSQL: EXPLAIN ANALYZE with buffers; SQLite: EXPLAIN QUERY PLAN)."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database.is_sqlite:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [detail for _, _, _, detail in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return [line for (line,) in cursor.fetchall()]
    finally:
        raw.rollback()
        raw.close()


def one_line(statement: str, width: int = 150) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def sign_in(client: TestClient[Any], database: Database) -> None:
    """A marketer, signed in through the real login form."""
    email = "marketer@bench.example"
    # ValueError: the user was kept from an earlier run (BENCH_CONSOLE_KEEP).
    with database.write() as session, contextlib.suppress(ValueError):
        service.create_user(session, email, Role.MARKETER, PASSWORD)
    form = client.get("/console/login").text
    tag = re.search(r'<input[^>]*name="_csrf_token"[^>]*>', form)
    token = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    assert token, "no CSRF field on the login form"
    answer = client.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "next": "", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.status_code


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_pages(client: TestClient[Any], pages: list[tuple[str, str]]) -> dict[str, list[float]]:
    """Up to N requests per page, round robin (a busy moment on the machine hits every page
    alike); a page stops once it has used its time budget (after at least 5 requests).

    Timing starts once the app's recommendation-audience job has made its first pass, which
    builds the recommendations' audience aggregates (seconds at a million engagement rows): a
    request arriving meanwhile waits for them once after start-up, which is not the steady
    state these figures describe (``print_background`` prints that build's cost)."""
    for _, path in pages:  # warm-up: templates compiled, caches filled
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    runner = client.app.state.runner
    deadline = time.monotonic() + 120
    waits = "recommendation-audience" in {job.name for job in runner.jobs}
    while (
        waits
        and runner.state("recommendation-audience").passes < 1
        and (time.monotonic() < deadline)
    ):
        time.sleep(0.1)
    timings: dict[str, list[float]] = {path: [] for _, path in pages}
    for _ in range(REQUESTS):
        for _, path in pages:
            done = timings[path]
            if len(done) >= 5 and sum(done) > PAGE_SECONDS * 1000:
                continue
            started = time.perf_counter()
            response = client.get(path)
            done.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return timings


def time_export(client: TestClient[Any]) -> tuple[list[float], int]:
    times, rows = [], 0
    for _ in range(EXPORTS):
        started = time.perf_counter()
        response = client.get("/console/leads/export.csv")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        rows = sum(1 for _ in csv.reader(io.StringIO(response.text))) - 1
    return times, rows


def print_cost(
    client: TestClient[Any], log: StatementLog, database: Database, label: str, path: str
) -> None:
    """Where one request of a page over the aim spends its time, and the costliest plan."""
    log.marks.clear()
    log.active = True
    started = time.perf_counter()
    client.get(path)
    ended = time.perf_counter()
    log.active = False
    costs, rendering = log.costs(ended)
    total = (ended - started) * 1000
    executing = sum(c[0] for c in costs)
    print(
        f"\n  {label} ({path}): one request {total:,.1f} ms; {len(costs)} statements,"
        f" {executing:,.1f} ms in execute; {rendering:,.1f} ms after the last statement"
        " (charts, template)"
    )
    if rendering > total / 2:
        print("    (most of it comes after the last statement: Python building the page)")
    ranked = sorted(costs, key=lambda c: c[0] + c[1], reverse=True)
    for executed, after, statement, _ in ranked[:4]:
        print(f"    {executed:8.1f} ms execute + {after:8.1f} ms after: {one_line(statement)}")
    _, _, statement, parameters = ranked[0]
    if statement.lstrip().upper().startswith(("SELECT", "WITH")):
        plan = explain(database, statement, parameters)
        how = "EXPLAIN QUERY PLAN" if database.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS)"
        print(f"    plan of the first ({how}):")
        for line in plan[:24]:
            print(f"      {line}")
        if len(plan) > 24:
            print(f"      … {len(plan) - 24} more lines")


def measure(
    label: str, url: str, data_dir: Path, database: Database, experiment: tuple[int, int]
) -> None:
    (long_id, long_events), (typical_id, typical_events) = timed_leads(database)
    pages = [
        ("dashboard, 30 days", "/console/dashboard?days=30"),
        ("dashboard, 365 days", "/console/dashboard?days=365"),
        ("leads, stage=decision", "/console/leads?stage=decision"),
        ("leads, grade=A, sort=fit", "/console/leads?grade=A&sort=fit"),
        (f"leads, topic={TOPIC}", f"/console/leads?topic={TOPIC}"),
        ("leads, q=acme", "/console/leads?q=acme"),
        ("leads, page=500", "/console/leads?page=500"),
        (f"lead page, {long_events:,}-event trail", f"/console/leads/{long_id}"),
        (f"lead page, {typical_events}-event trail", f"/console/leads/{typical_id}"),
        ("content analytics, 365 days", "/console/analytics?days=365"),
        *closed_loop_pages(database),
    ]
    pages = [*([] if ONLY == "intelligence" else pages), *intelligence_pages(*experiment)]
    # Web-only jobs (``serve --no-jobs``): the housekeeping passes (quiet leads re-scored,
    # lead figures, retention) would run next to the timed requests; their cost is the
    # refresh timed above.
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_keys=("bench-secret-key-0123456789",),
        jobs_in_process=False,
    )
    with database.read() as session:  # the index the app would have (its job stays idle)
        indexer.rebuild(session, SearchIndex(settings.search_dir))
    app = portal.app.create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    with TestClient(app) as client:
        sign_in(client, database)
        log = StatementLog(app.state.db.engine)
        timings = time_pages(client, pages)
        exports, rows = time_export(client) if ONLY != "intelligence" else ([], 0)
        over = print_table(label, pages, timings, exports, rows)
        print_background(app)
        for name, path in over:
            print_cost(client, log, database, name, path)


def print_background(app: Any) -> None:
    """What the pages above no longer wait for: the dashboard snapshots (the first view of a
    period after start-up waits once, then the app's background thread recomputes them) and
    the recommendations' audience, which every process reads from the tables the
    ``recommendation-audience`` job keeps (reading it is what a process pays)."""
    dashboards = app.state.dashboards
    for days in (30, 365):
        took = []
        for _ in range(3):
            started = time.perf_counter()
            dashboards.compute(days)
            took.append((time.perf_counter() - started) * 1000)
        print(
            f"  dashboard snapshot, {days} days: computed in {statistics.median(took):,.0f} ms"
            f" (median of 3; queries and charts), once a minute in the background while viewed"
        )
    with app.state.db.read() as session:
        cache = AudienceCache()
        started = time.perf_counter()
        cache.audience(session, cache.catalog(session))
    print(
        f"  recommendations' audience: read in {time.perf_counter() - started:,.1f} s from the"
        " tables the recommendation-audience job keeps, never built on a request"
    )


def print_table(
    label: str,
    pages: list[tuple[str, str]],
    timings: dict[str, list[float]],
    exports: list[float],
    rows: int,
) -> list[tuple[str, str]]:
    """The figures per page; returns the pages over the aim."""
    print(
        f"\n{label}: server time per page (in process through Litestar's TestClient, up to"
        f" {REQUESTS} requests each, round robin; aim: p99 < {AIM_MS:.0f} ms)"
    )
    print(f"  {'page':<48} {'n':>4} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  aim")
    over = []
    for name, path in pages:
        values = timings[path]
        p99 = quantile(values, 0.99)
        if p99 >= AIM_MS:
            over.append((name, path))
        print(
            f"  {name:<48} {len(values):>4} {statistics.median(values):9.1f} {p99:9.1f}"
            f" {max(values):9.1f}  {'met' if p99 < AIM_MS else 'NOT met'}"
        )
    if not exports:
        return over
    middle = statistics.median(exports)
    print(
        f"  {'full CSV export, ' + format(rows, ',') + ' rows':<48} {len(exports):>4}"
        f" {middle * 1000:9.0f} {max(exports) * 1000:9.0f} {max(exports) * 1000:9.0f}"
        f"  {rows / middle:,.0f} rows/s (a download, not a page)"
    )
    return over


# --- databases --------------------------------------------------------------------------------


def kept_postgres(url: str) -> str:
    base = make_url(Settings(database_url=url).resolved_database_url)
    return base.set(database=f"{base.database}_bench_console").render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def ready(database: Database) -> bool:
    """A kept database that already holds this run's sizes and roll-ups."""
    try:
        with database.read() as session:
            leads = session.scalar(select(func.count()).select_from(Lead))
            figures = session.scalar(select(func.count()).select_from(AssetLeadStats))
            accounts = session.scalar(select(func.count()).select_from(Account))
            deals = session.scalar(select(func.count()).select_from(Deal))
            credited = session.scalar(select(func.count()).select_from(AttributionMonth))
    except Exception:
        return False
    return leads == LEADS and bool(figures) and bool(accounts) and deals == DEALS and bool(credited)


def closed_loop(database: Database) -> None:
    """The account and attribution jobs over the fresh data, timed, with what they made."""
    written, took, writes = refresh_accounts(database)
    with database.read() as session:
        sizes = sorted(session.scalars(select(Account.people)), reverse=True)
        placed = session.scalar(
            select(func.count()).select_from(Lead).where(Lead.account_id.is_not(None))
        )
    print(
        f"  accounts: {len(sizes):,} ({placed:,} leads in one; people per account: largest"
        f" {', '.join(f'{n:,}' for n in sizes[:3])}, median {sizes[len(sizes) // 2]},"
        f" {sum(1 for n in sizes if n >= 50):,} with 50 or more); the account job's first pass"
        f" (`Keeper.run`: unplaced leads looked at, every account recomputed) {took:.1f} s"
        f" for {written:,} accounts ({writes})"
    )
    found = attribution_passes(database)
    took, credited, deals, writes = found["first"]
    print(
        f"  attribution job (`rollup.run`), first full pass: {took:.1f} s ({credited:,}"
        f" milestones, {credited / took:,.0f}/s, then pipeline and revenue from {deals or 0:,}"
        f" {CURRENCY} deals; {writes})"
    )
    took, credited, deals, writes = found["incremental"]
    print(
        f"    after {NEW_MILESTONES:,} new milestones: {took * 1000:,.0f} ms ({credited:,}"
        f" credited{', money rebuilt' if deals is not None else ''}; {writes})"
    )
    took, credited, deals, writes = found["deal"]
    print(
        f"    after one deal changed: {took * 1000:,.0f} ms (pipeline and revenue rebuilt from"
        f" {deals or 0:,} deals; {writes})"
    )
    print("    rollup rows: " + ", ".join(f"{name} {n:,}" for name, n in found["rows"].items()))


def bench_backend(label: str, url: str, data_dir: Path, reuse: bool) -> None:
    database = Database(url)
    if reuse and ready(database):
        print(f"\n{label}: re-using the kept database ({url.split('@')[-1]})")
        upgrade_to_head(database)  # a migration added since it was kept
    else:
        upgrade_to_head(database)
        started = time.perf_counter()
        counts, _ = generate(database, url)
        took = time.perf_counter() - started
        parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in counts.seconds.items())
        print(f"\n{label}: generated {LEADS:,} leads, {counts.events:,} events, "
              f"{counts.engagement:,} asset_engagement rows, {counts.facts:,} profile facts, "
              f"{counts.changes:,} lead changes, {counts.visitors:,} visitors, {counts.unlocks:,} "
              f"unlocks, {counts.consents:,} consents, {counts.visits:,} visits, "
              f"{counts.milestones:,} funnel milestones, {counts.mails:,} program mails clicked, "
              f"{DEALS:,} deals in {took:.0f} s ({parts}; "
              f"{counts.events / took:,.0f} events/s overall)")  # fmt: skip
        built = build_rollups(database)
        print(
            f"  roll-ups (`leadshelf rollup`): rollups.rebuild {built['rebuild']:.1f} s"
            f" ({built['events']:,} events, {built['events'] / built['rebuild']:,.0f}/s);"
            f" refresh_lead_stats {built['lead stats']:.1f} s ({built['assets']} assets)"
        )
        if built["dead"]:
            print(
                f"  (PostgreSQL: the rebuild left {built['dead']:,} dead asset_daily rows;"
                " vacuumed before timing, as autovacuum would)"
            )
        closed_loop(database)
    experiment = content_intelligence(database)
    try:
        measure(label, url, data_dir, database, experiment)
    finally:
        database.dispose()


def main() -> None:
    started = time.perf_counter()
    print(f"console benchmark: {LEADS:,} leads, {EVENTS:,} events, longest trail {LONG_TRAIL:,}, "
          f"seed {SEED}{' (smoke sizes)' if SMOKE else ''}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        keep = Path(KEEP) if KEEP else None
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        sqlite_dir = keep or Path(tmp)
        if "sqlite" in BACKENDS:
            bench_backend(
                "SQLite",
                f"sqlite:///{sqlite_dir / 'console.db'}",
                Path(tmp) / "sqlite",
                keep is not None,
            )
        postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
        if postgres and "postgresql" in BACKENDS:
            if keep is not None:
                url = kept_postgres(postgres)
                try:
                    reuse = ready(Database(url))
                except Exception:
                    reuse = False
                url = url if reuse else fresh_postgres(postgres, "bench_console")
            else:
                url, reuse = fresh_postgres(postgres, "bench_console"), False
            try:
                bench_backend("PostgreSQL", url, Path(tmp) / "pg", reuse)
            finally:
                if keep is None:
                    drop_postgres(url)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
