"""Mail: messages per second from the outbox to a local SMTP sink, as the send job does it.

For each backend (SQLite; PostgreSQL when LEADSHELF_TEST_POSTGRES_URL is set) this writes
BENCH_MAILS marketing mails (a nurture digest: three asset links, each rewritten to a signed
click-through URL, List-Unsubscribe, the open pixel, CSS inlined, text part made from the
HTML) to as many leads with confirmed consent, then times the send job (``MailSender`` with
the real ``MailRenderer``, DKIM-signed with a 2048-bit RSA key) until the outbox is empty:
with one worker process, then with two side by side (SKIP LOCKED on PostgreSQL; on SQLite
the job runs as a singleton in production, the two-worker row shows what the write lock
costs). The sink is aiosmtpd in a process of its own; it counts what it accepted and checks
that no Message-ID arrived twice. Each row ends with the machine's state, since other work on
a shared machine slows the workers down: the 1-minute load average just before the run and
how many of the machine's cores were busy (anything, this run included) while it was timed.

Run: make bench   (or .venv/bin/python bench/mail.py [--quick]; BENCH_MAILS, BENCH_BATCH)
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update

from bench._common import fresh_postgres
from content.orm import utcnow
from nurture.mail import dkim
from nurture.mail.models import MailCategory, MailMessage, MailStatus
from nurture.mail.outbox import Mail, enqueue
from nurture.mail.sender import BATCH, MailSender
from nurture.mail.smtp import parse_sender, parse_smtp_url
from portal.db import Database
from portal.mail.kinds import KindContext
from portal.mail.render import MailRenderer
from portal.migrate import upgrade_to_head
from portal.settings import Settings
from portal.signing import Signer
from tests.mailbox import dkim_key
from tests.servers import free_port
from tracking.models import Lead

QUICK = "--quick" in sys.argv[1:]
COUNT = int(os.environ.get("BENCH_MAILS", "100" if QUICK else "400"))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH", str(BATCH)))
SELECTOR = "bench"
DIGEST = """\
{% block subject %}Three reads for {{ first_name }} this week{% endblock %}
{% block preheader %}Picked from what you read last{% endblock %}
{% block body %}
<h1>Hi {{ first_name }},</h1>
<p>Teams at your stage usually read these next:</p>
<ul>
{% for title, url in picks %}<li><a href="{{ url }}">{{ title }}</a></li>
{% endfor %}
</ul>
<p><a class="button" href="{{ picks[0][1] }}">Read {{ picks[0][0] }}</a></p>
<p class="muted">You read "Pipeline hygiene in 5 steps" on {{ read_on }}.</p>
{% endblock %}
"""


def digest(context: KindContext) -> dict[str, Any]:
    base = context.links.base_url
    return {
        "first_name": context.message.to.split("@")[0].title(),
        "picks": [
            ("Pricing guide", f"{base}/library/pricing-guide"),
            ("ROI calculator checklist", f"{base}/library/roi-checklist"),
            ("Customer story: Nordwind", f"{base}/library/nordwind-case-study"),
        ],
        "read_on": "12 November",
    }


def settings_for(url: str, smtp_url: str, folder: Path, key: Path | None) -> Settings:
    return Settings(
        data_dir=folder / "data",
        database_url=url,
        secret_keys=("bench-secret-key-0123456789abcdef",),
        base_url="https://portal.pipewise.example",
        smtp_url=smtp_url,
        mail_from="Pipewise <news@pipewise.example>",
        postal_address="Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
        dkim_key_file=key,
        dkim_selector=SELECTOR if key else "",
    )


def build_sender(settings: Settings, database: Database, templates: Path) -> MailSender:
    """The job's sender (``portal.jobs.mail_sender``), with the bench's digest kind added."""
    sender = parse_sender(settings.mail_from)
    renderer = MailRenderer(settings, Signer(settings.secret_keys), template_dirs=[templates])
    renderer.kinds["digest"] = digest
    render = dkim.signing_if_set(
        renderer, settings.dkim_key_file, settings.dkim_selector, sender.domain
    )
    return MailSender(
        database,
        render,
        parse_smtp_url(settings.smtp_url),
        sender,
        postal_address=settings.postal_address,
        batch=BATCH_SIZE,
    )


# The sink: aiosmtpd in its own process, counting Message-IDs.


def sink_process(port: int, pipe: Pipe) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []
    pattern = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            found = pattern.search(envelope.content)
            received.append(found.group(1) if found else b"")
            return "250 2.0.0 Ok: queued"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    pipe.send("ready")
    while True:
        command = pipe.recv()
        if command == "count":
            counts = Counter(received)
            pipe.send((len(received), sum(1 for n in counts.values() if n > 1)))
        elif command == "reset":
            received.clear()
            pipe.send("ok")
        else:
            break
    controller.stop()


@dataclass
class Sink:
    process: multiprocessing.process.BaseProcess
    pipe: Pipe
    url: str

    def ask(self, command: str) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()


def start_sink(context: multiprocessing.context.SpawnContext) -> Sink:
    port = free_port()
    ours, theirs = context.Pipe()
    process = context.Process(target=sink_process, args=(port, theirs), daemon=True)
    process.start()
    assert ours.recv() == "ready"
    return Sink(process, ours, f"smtp://127.0.0.1:{port}")


@dataclass(frozen=True)
class Outcome:
    seconds: float
    sent: int
    failed: int
    cpu: float
    """CPU seconds the workers used (all of them together)."""
    busy_cores: float
    """Cores the whole machine kept busy while the run was timed (nan off Linux)."""


def cpu_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine since boot (Linux ``/proc/stat``)."""
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, line.split()[1:9])
    except (OSError, ValueError):
        return 0, 0
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def busy_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    if total <= 0:
        return float("nan")
    return (after[0] - before[0]) / total * (os.cpu_count() or 1)


# Workers: each a process with its own engine, renderer and SMTP connection.


def worker_process(
    settings: Settings, templates: Path, go: Event, results: Pipe, profile: bool
) -> None:
    database = Database(settings.resolved_database_url)
    sender = build_sender(settings, database, templates)
    results.send("ready")
    go.wait()
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        done = profiler.runcall(sender.run_once)
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(35)
    else:
        done = sender.run_once()
    results.send(
        (
            done.sent,
            done.retried + done.failed,
            time.perf_counter() - started,
            time.process_time() - cpu,
        )
    )
    database.dispose()


def send_all(
    context: multiprocessing.context.SpawnContext,
    settings: Settings,
    templates: Path,
    workers: int,
    profile: bool = False,
) -> Outcome:
    """Run ``workers`` senders at once until the outbox is empty."""
    go = context.Event()
    pipes, processes = [], []
    for _ in range(workers):
        ours, theirs = context.Pipe()
        process = context.Process(
            target=worker_process, args=(settings, templates, go, theirs, profile)
        )
        process.start()
        pipes.append(ours)
        processes.append(process)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    ticks = cpu_ticks()
    started = time.perf_counter()
    go.set()
    outcomes = [pipe.recv() for pipe in pipes]
    elapsed = time.perf_counter() - started
    busy = busy_cores(ticks, cpu_ticks())
    for process in processes:
        process.join()
    return Outcome(
        elapsed,
        sum(o[0] for o in outcomes),
        sum(o[1] for o in outcomes),
        sum(o[3] for o in outcomes),
        busy,
    )


def seed(database: Database) -> None:
    now = utcnow()
    with database.write() as session:
        session.execute(
            insert(Lead),
            [
                {
                    "email": f"reader{n}@example.com",
                    "consent_status": "confirmed",
                    "created_at": now,
                    "last_activity_at": now,
                }
                for n in range(COUNT)
            ],
        )
        leads = session.execute(select(Lead.id, Lead.email).order_by(Lead.id)).all()
        for lead_id, email in leads:
            mail = Mail(email, "digest", MailCategory.MARKETING, lead_id=lead_id)
            enqueue(session, mail, domain="pipewise.example", now=now)


def requeue(database: Database) -> None:
    with database.write() as session:
        session.execute(
            update(MailMessage).values(
                status=MailStatus.PENDING.value,
                attempts=0,
                next_attempt_at=utcnow(),
                sent_at=None,
                claim=None,
                lease_until=None,
            )
        )


def run(
    name: str,
    url: str,
    context: multiprocessing.context.SpawnContext,
    sink: Sink,
    folder: Path,
    key: Path,
) -> None:
    database = Database(url)
    upgrade_to_head(database)
    seed(database)
    for workers, signed in ((1, False), (1, True), (2, True)):
        settings = settings_for(url, sink.url, folder, key if signed else None)
        requeue(database)
        sink.ask("reset")
        load = os.getloadavg()[0]
        outcome = send_all(context, settings, folder, workers)
        received, twice = sink.ask("count")
        with database.read() as session:
            left = session.scalar(
                select(func.count())
                .select_from(MailMessage)
                .where(MailMessage.status != MailStatus.SENT.value)
            )
        sent = outcome.sent
        print(
            f"{name}, {workers} worker(s), {'DKIM' if signed else 'no DKIM'}: "
            f"sent {sent} mails in {outcome.seconds:.2f} s "
            f"({sent / outcome.seconds:,.0f} mails/s; worker CPU "
            f"{outcome.cpu / max(sent, 1) * 1000:.1f} ms/mail); sink got {received}, "
            f"{twice} twice; failed attempts {outcome.failed}, not sent at the end {left}; "
            f"load {load:.2f} before, {outcome.busy_cores:.1f} of {os.cpu_count()} cores busy"
        )
    database.dispose()


def main() -> None:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "digest.html").write_text(DIGEST)
        key, _record = dkim_key(folder)
        sink = start_sink(context)
        try:
            print(
                f"{COUNT} marketing mails per run, batch {BATCH_SIZE}; DKIM: rsa-sha256, 2048 bits"
            )
            if "--profile" in sys.argv[1:]:
                url = f"sqlite:///{folder}/profile.db"
                database = Database(url)
                upgrade_to_head(database)
                seed(database)
                settings = settings_for(url, sink.url, folder, key)
                print(send_all(context, settings, folder, 1, profile=True))
                return
            run("SQLite", f"sqlite:///{folder}/bench.db", context, sink, folder, key)
            pg = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
            if pg:
                run("PostgreSQL", fresh_postgres(pg, "mail"), context, sink, folder, key)
        finally:
            sink.pipe.send("stop")
            sink.process.join(timeout=5)


if __name__ == "__main__":
    main()
