"""Every background job of Leadshelf, listed in one place (the composition root).

Each job's function comes from the package that owns the duty; this module
only names them, gives them an interval and a scope (``portal.background``),
and says which process runs which:

- a web process (``leadshelf serve``) runs all of them, or with ``--no-jobs``
  (``LEADSHELF_JOBS_IN_PROCESS=false``) only the node jobs it needs itself;
- ``leadshelf worker`` runs the singleton and shared jobs, without HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from content import indexer
from content.extraction import extract_pending_texts, waiting_count
from content.files import FileStore
from content.orm import utcnow
from content.publishing import publish_due
from content.search.index import SearchIndex
from content.words import N_
from nurture import delivery, handoff
from nurture.attribution import rollup as attribution
from nurture.intelligence import experiments_report as content_intelligence
from nurture.mail.sender import MailSender
from nurture.recommendations import AudienceCache
from nurture.worker import OutboxWorker
from portal import account_jobs, job_records, program_jobs, ratelimit
from portal.background import Backlog, Job, Runner, Scope, older_than, when
from portal.db import Database
from portal.job_locks import locks_for
from portal.mail import jobs as mail_jobs
from portal.settings import Settings, SettingsError
from portal.signing import Signer, load_secret_keys
from tracking.accounts.refresh import Keeper
from tracking.identity import deals
from tracking.pipeline import audience, leadstate, rollups
from tracking.pipeline.group_commit import Ingestor
from tracking.pipeline.partitions import keep_partitions
from tracking.pipeline.retention import delete_expired_events
from tracking.rules.config import Model

logger = logging.getLogger("leadshelf.background")
T = TypeVar("T")

SETTLE = 2.0
"""Seconds after start-up before a job's first pass, but for ``AT_START``'s: the others would
compete with a process's first requests (4-5 passes at once cost 30-50 ms of CPU on an empty
database)."""
AT_START = frozenset({"event-writer", "search-index"})
"""The jobs whose first pass is at start-up: events are stored and the search index is caught
up from the first request on."""
HOUSEKEEPING_EVERY = 600.0
"""Seconds between passes of the slow singleton jobs (re-scoring, retention, pruning …)."""
INTELLIGENCE_EVERY = 900.0
"""Seconds between passes of the ``content-intelligence`` job (the page says 15 minutes)."""
SEARCH_BEHIND_AFTER = timedelta(minutes=5)
"""A change the search index has not applied for this long makes /healthz degraded."""
DELIVERY_BEHIND_AFTER = timedelta(minutes=5)
"""A webhook delivery due for this long and not sent makes /healthz degraded."""
PDF_TEXT_BEHIND = 50
"""More PDFs than this waiting for their text to be read makes /healthz degraded."""


@dataclass(frozen=True, slots=True)
class Parts:
    """What the jobs work on: the app's objects (built once per process by ``create_app``)."""

    settings: Settings
    database: Database
    model: Model
    search: SearchIndex
    files: FileStore
    ingestor: Ingestor
    audience: AudienceCache
    signer: Signer


def parts_for(settings: Settings, database: Database, model: Model) -> Parts:
    """Parts for a process that serves no pages (``leadshelf worker``)."""
    return Parts(
        settings,
        database,
        model,
        SearchIndex(settings.search_dir),
        FileStore(settings.files_dir),
        Ingestor(database, model=model),
        AudienceCache(),
        Signer(load_secret_keys(settings)),
    )


def runner_for(
    parts: Parts,
    choose: Callable[[list[Job], Settings], list[Job]],
    *,
    refresh_dashboards: Callable[[], int] = lambda: 0,
) -> Runner:
    """A runner of the jobs ``choose`` picks (``for_web`` or ``for_worker``), with the singleton
    locks that fit the database and job states recorded in it for /console/system."""
    stopping = threading.Event()
    outbox = outbox_worker(parts.settings, parts.database, parts.model, stopping)
    mailer = mail_jobs.mail_sender(
        parts.settings, parts.database, parts.signer, stopping, model=parts.model
    )
    every = all_jobs(parts, outbox, refresh_dashboards, mailer)
    return Runner(
        choose(every, parts.settings),
        locks=locks_for(parts.database),
        record=job_records.recorder(parts.database),
        stopping=stopping,
        catalogue=every,
    )


def outbox_worker(
    settings: Settings, database: Database, model: Model, stopping: threading.Event | None = None
) -> OutboxWorker:
    """The webhook worker for these settings; ``stopping`` ends a round early."""
    return OutboxWorker(
        database,
        model,
        allowed_networks=settings.webhook_networks,
        stopping=stopping,
        default_language=settings.default_language,
    )


def all_jobs(
    parts: Parts,
    outbox: OutboxWorker,
    refresh_dashboards: Callable[[], int],
    mailer: MailSender | None = None,
) -> list[Job]:
    """Every job, in the order ``run_all_once`` runs them (writes before what reads them)."""
    database, settings = parts.database, parts.settings
    outbox_scope = Scope.SINGLETON if database.is_sqlite else Scope.SHARED  # one SQLite writer
    accounts = Keeper()
    jobs = [
        Job(
            "event-writer",
            0,
            lambda stopping: _read("event(s) stored", parts.ingestor.write_pending(stopping)),
            on_start=parts.ingestor.open,
            on_stop=parts.ingestor.close,
            on_stopping=parts.ingestor.wake,
            description=N_("Writes tracked events in group-committed batches."),
        ),
        Job(
            "scheduled-publishing",
            2,
            lambda _: ", ".join(_in_write(database, publish_due)) or None,
            Scope.SINGLETON,
            description=N_("Publishes scheduled assets when their time has come."),
        ),
        Job(
            "search-index",
            2,
            lambda _: indexer.catch_up(database, parts.search),
            backlog=lambda: _search_backlog(database, parts.search),
            description=N_("Applies the content change log to this process's search index."),
        ),
        Job(
            "pdf-text",
            2,
            lambda stopping: _read(
                "PDF(s) read",
                extract_pending_texts(database, parts.files, stopping=stopping),
            ),
            Scope.SHARED,
            backlog=lambda: _pdf_backlog(database),
            description=N_("Reads the text of uploaded PDFs, in bounded child processes."),
        ),
        Job(
            "quiet-lead-rescoring",
            HOUSEKEEPING_EVERY,
            lambda _: _read("lead(s) re-scored", leadstate.reevaluate_quiet(database, parts.model)),
            Scope.SINGLETON,
            description=N_(
                "Re-scores leads gone quiet, so fading engagement moves their verdicts."
            ),
        ),
        Job(
            "deal-recycling",
            60,
            lambda _: _read(
                "lead(s) back to nurturing after a lost deal",
                deals.recycle_due(database, parts.model),
            ),
            Scope.SINGLETON,
            description=N_(
                "Sends the leads of lost deals back to nurturing (recycled) after "
                "LEADSHELF_RECYCLE_LOST_AFTER_DAYS, unless another deal is open or won."
            ),
        ),
        Job(
            "lead-figures",
            HOUSEKEEPING_EVERY,
            lambda _: _read("asset(s) with lead figures", rollups.recompute_lead_stats(database)),
            Scope.SINGLETON,
            description=N_("Recomputes the per-asset lead figures (influenced leads, before MQL)."),
        ),
        Job(
            "account-figures",
            account_jobs.EVERY,
            lambda _: account_jobs.keep_accounts(database, parts.model, accounts),
            Scope.SINGLETON,
            description=N_(
                "Places new leads in their accounts and recomputes the accounts whose "
                "people changed (engagement, stages, head count)."
            ),
        ),
        Job(
            "handoff-catch-up",
            HOUSEKEEPING_EVERY,
            lambda _: _read("lead change(s) read", _in_write(database, handoff.catch_up)),
            Scope.SINGLETON,
            description=N_("Applies lifecycle changes to the sales handoff queue."),
        ),
        Job(
            "event-partitions",
            HOUSEKEEPING_EVERY,
            lambda _: ", ".join(keep_partitions(database)) or None,
            Scope.SINGLETON,
            description=N_(
                "Creates the event log's monthly partitions three months ahead (PostgreSQL)."
            ),
        ),
        Job(
            "event-retention",
            HOUSEKEEPING_EVERY,
            lambda _: _read(
                "raw event(s) deleted",
                delete_expired_events(database, settings.event_retention_days),
            ),
            Scope.SINGLETON,
            description=N_("Deletes raw events past LEADSHELF_EVENT_RETENTION_DAYS."),
        ),
        Job(
            "rate-limit-pruning",
            HOUSEKEEPING_EVERY,
            lambda _: _read("old row(s) deleted", _in_write(database, _prune_portal_rows)),
            Scope.SINGLETON,
            description=N_("Forgets old rate-limit windows and job records of vanished processes."),
        ),
        Job(
            "webhook-delivery",
            1,
            lambda _: _delivered(outbox),
            outbox_scope,
            backlog=lambda: _delivery_backlog(database),
            on_stop=outbox.close,
            description=N_("Relays lead changes into webhook deliveries and sends what is due."),
        ),
        Job(
            "webinar-mail",
            60,
            lambda _: mail_jobs.queue_webinar_mail(database, settings),
            Scope.SINGLETON,
            description=N_(
                "Queues webinar confirmations, reminders and recordings when they are due."
            ),
        ),
        Job(
            "program-scheduler",
            5,
            lambda _: program_jobs.run(database, settings, parts.model),
            outbox_scope,
            backlog=lambda: program_jobs.backlog(database),
            description=N_("Enters leads into nurture programs and takes their due steps."),
        ),
        Job(
            "mail-sending",
            1,
            lambda _: mail_jobs.sent(mailer) if mailer is not None else None,
            outbox_scope,
            backlog=lambda: mail_jobs.backlog(database, settings),
            description=N_("Sends the mail outbox over SMTP: retries, bounces, suppressions."),
        ),
        Job(
            "delivery-pruning",
            HOUSEKEEPING_EVERY,
            lambda _: _read("settled delivery(ies) deleted", outbox.prune_settled()),
            Scope.SINGLETON,
            description=N_("Deletes delivered and dead webhook deliveries after 30 days."),
        ),
        Job(
            "content-intelligence",
            INTELLIGENCE_EVERY,
            lambda _: content_intelligence.intelligence_pass(
                database.read, database.write, parts.model.stages, utcnow()
            ),
            Scope.SINGLETON,
            description=N_(
                "Recomputes the gap matrix (published assets, recent reading and stalled "
                "leads per stage and topic or persona), the gate experiments' figures and the "
                "buying process per topic (Console → Content intelligence)."
            ),
        ),
        Job(
            "attribution",
            60,
            lambda _: attribution.run(database, settings.report_currency, utcnow()).describe(),
            Scope.SINGLETON,
            description=N_(
                "Credits new funnel milestones and deals to the content, sources, "
                "campaigns and programs before them (Console → Attribution)."
            ),
        ),
        Job(
            "dashboard-snapshots",
            5,
            lambda _: _read("dashboard period(s) recomputed", refresh_dashboards()),
            description=N_("Recomputes the funnel dashboard periods someone looked at lately."),
        ),
        Job(
            "recommendation-audience",
            2,
            lambda stopping: _read(
                "reader(s) counted again", audience.catch_up(database, stopping=stopping)
            ),
            Scope.SINGLETON,
            description=N_(
                "Counts the readers whose trail changed again into the co-reading and "
                "popularity figures every process recommends from."
            ),
        ),
    ]
    settled = [job if job.name in AT_START else replace(job, first_after=SETTLE) for job in jobs]
    return with_intervals(settled, settings.interval_overrides())


def for_web(jobs: Iterable[Job], settings: Settings) -> list[Job]:
    """The jobs a web process runs: all of them, or only the node jobs with ``--no-jobs``;
    webhook delivery only while ``LEADSHELF_OUTBOX_IN_PROCESS`` is true."""
    return [
        job
        for job in jobs
        if (settings.jobs_in_process or job.scope is Scope.NODE)
        and (settings.outbox_in_process or job.name != "webhook-delivery")
    ]


def for_worker(jobs: Iterable[Job], settings: Settings | None = None) -> list[Job]:
    """The jobs ``leadshelf worker`` runs: the singleton and shared ones (it serves no pages, so
    it keeps no search index, caches or event writer of its own)."""
    return [job for job in jobs if job.scope is not Scope.NODE]


def with_intervals(jobs: list[Job], overrides: dict[str, float]) -> list[Job]:
    """The jobs with ``LEADSHELF_JOB_INTERVALS`` applied; an unknown name is refused."""
    names = [job.name for job in jobs]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise SettingsError(
            f"job_intervals: no job named {', '.join(unknown)} (jobs: {', '.join(names)})"
        )
    return [
        replace(job, interval=overrides[job.name]) if job.name in overrides else job for job in jobs
    ]


def _in_write(database: Database, work: Callable[[Session], T]) -> T:
    with database.write() as session:
        return work(session)


def _read(what: str, count: int) -> str | None:
    return f"{count} {what}" if count else None


def _delivered(outbox: OutboxWorker) -> str | None:
    done = outbox.run_once()
    if not (done.relayed or done.delivered or done.failed):
        return None
    return f"{done.relayed} queued, {done.delivered} delivered, {done.failed} failed"


def _prune_portal_rows(session: Session) -> int:
    return ratelimit.prune(session) + job_records.forget_old(session)


def _search_backlog(database: Database, search: SearchIndex) -> Backlog:
    with database.read() as session:
        waiting, oldest = indexer.backlog(session, search)
    if not waiting:
        return Backlog("up to date")
    return Backlog(
        f"{waiting} change(s) waiting since {when(oldest)}",
        behind=older_than(oldest, SEARCH_BEHIND_AFTER),
    )


def _delivery_backlog(database: Database) -> Backlog:
    with database.read() as session:
        waiting = delivery.backlog(session, utcnow())
    if not waiting.undelivered:
        return Backlog("nothing waiting")
    summary = f"{waiting.undelivered} undelivered, oldest queued {when(waiting.oldest_undelivered)}"
    if waiting.due_since is not None:
        summary += f"; due since {when(waiting.due_since)}"
    return Backlog(summary, behind=older_than(waiting.due_since, DELIVERY_BEHIND_AFTER))


def _pdf_backlog(database: Database) -> Backlog:
    with database.read() as session:
        waiting = waiting_count(session)
    return Backlog(
        f"{waiting} PDF(s) waiting" if waiting else "nothing waiting",
        behind=waiting > PDF_TEXT_BEHIND,
    )
