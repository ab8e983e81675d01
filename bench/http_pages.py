"""Public pages over HTTP as a share of the framework's own ceiling (issue 19 §2).

In one run this starts the real ``leadshelf serve --demo`` (one process, the
demo library on SQLite in a temporary data dir) and a bare Litestar app that
renders a comparable Jinja page of 30 links (the ceiling: what Litestar,
uvicorn and Jinja answer on this machine), and drives both with wrk (or, when
wrk is missing, with a keep-alive client of its own) at BENCH_CONNECTIONS
connections as a returning desktop browser: its visitor, CSRF and time-zone
cookies, a Chrome user agent and ``Accept-Language``. For `/`, `/library`,
`/library?q=…`, an open and a gated asset page it prints requests/s, p50 and
p99, each as a share of the ceiling:

- *cold*: the content changes (an edit appended to the change log, as the
  console's editor does) right before the run and every BENCH_CHANGE_EVERY
  seconds during it, so every cache keyed by the content version is emptied
  over and over; the first page's cold run is also the first load after start;
- *warm*: after a warm-up, nothing changes.

Every page view is still recorded (the server answers once its event is
committed). The ceiling is measured right before each page (the machine's load
drifts within a run), and the share is the page's requests/s over it. The
fragments a shared page loads for a browser with an id ("Recommended for
you", "Read next") and /healthz are measured too, and the SQL statements one
request of each page runs are counted in-process. The load average is printed
with the figures: the machine is shared.

Run: make bench   (or .venv/bin/python bench/http_pages.py; BENCH_SECONDS, BENCH_CONNECTIONS,
BENCH_CHANGE_EVERY; BENCH_PAGES=gated,q= (words a page's label contains: only those
pages, fragments and /healthz); BENCH_GENERATOR=own for the script's own client; BENCH_SMOKE=1 or
BENCH_SECONDS=1, as CI sets it: one ceiling, 1 s runs, no fragments, under 30 s on a quiet
machine)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass

SMOKE = os.environ.get("BENCH_SMOKE") == "1" or os.environ.get("BENCH_SECONDS") == "1"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP = 2.0
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
CHANGE_EVERY = float(os.environ.get("BENCH_CHANGE_EVERY", "0.5"))
ONLY = [word for word in os.environ.get("BENCH_PAGES", "").split(",") if word]


def chosen(label: str) -> bool:
    """Whether BENCH_PAGES (empty: every page) names this page."""
    return not ONLY or any(word in label for word in ONLY)


LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
ACCEPT_LANGUAGE = "en-US,en;q=0.9"
OPEN_ASSET = "closed-loop-reporting"
GATED_ASSET = "crm-integration-patterns"
QUERY = "lead scoring"
FRAGMENTS = [
    ("fragment /recommended", "/recommended"),
    ("fragment: read next", f"/library/{OPEN_ASSET}/next"),
]
"""The personal parts a browser loads after a shared page (htmx), measured when present."""

CEILING_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><header><a href="/">Home</a> <a href="/library">Library</a></header>
<main><h1>{{ title }}</h1><ul>
{% for link in links %}
<li><a href="{{ link.href }}">{{ link.title }}</a> <span>{{ link.kind }}</span></li>
{% endfor %}</ul></main></body></html>
"""


def ceiling_app() -> object:
    """The ceiling: a bare Litestar app rendering a Jinja page of 30 links."""
    from jinja2 import DictLoader, Environment
    from litestar import Litestar, get
    from litestar.contrib.jinja import JinjaTemplateEngine
    from litestar.response import Template
    from litestar.template.config import TemplateConfig

    links = [
        {"href": f"/library/asset-{n}", "title": f"Asset number {n}", "kind": "whitepaper"}
        for n in range(30)
    ]

    @get("/", sync_to_thread=False)
    def page() -> Template:
        return Template("page.html", context={"title": "Resource library", "links": links})

    environment = Environment(loader=DictLoader({"page.html": CEILING_TEMPLATE}), autoescape=True)
    return Litestar(
        route_handlers=[page],
        signature_namespace={"Template": Template},
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    for _ in range(900):
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (http://127.0.0.1)
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    tail = log.read_text(errors="replace").splitlines()[-20:]
    raise SystemExit(f"{url} did not answer:\n" + "\n".join(tail))


def start_leadshelf(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_DATABASE_URL": f"sqlite:///{data_dir / 'leadshelf.db'}",
        "LEADSHELF_SECRET_KEYS": "bench-secret-key-0123456789",
    }
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own CLI)
            [LEADSHELF, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_for(process, f"http://127.0.0.1:{port}/healthz", log)
    return process, port


def start_ceiling(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = data_dir / "ceiling.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (this script)
            [sys.executable, __file__, "--ceiling", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_for(process, f"http://127.0.0.1:{port}/", log)
    return process, port


def serve_ceiling(port: int) -> None:
    import uvicorn

    # As `leadshelf serve` runs uvicorn: one process, the same loop and HTTP parser.
    uvicorn.run(ceiling_app(), host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]


def returning_browser(port: int) -> str:
    """The cookies of a desktop browser that has been here before: its visitor id, its CSRF
    token and its time zone (static/js/timezone.js)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        headers={"User-Agent": USER_AGENT, "Accept-Language": ACCEPT_LANGUAGE},
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 (http://127.0.0.1)
        cookies = [
            value.split(";")[0]
            for name, value in response.getheaders()
            if name.lower() == "set-cookie"  # the server sends its header names in lower case
        ]
    if not any(cookie.startswith("ls_visitor=") for cookie in cookies):
        raise SystemExit("the home page set no visitor cookie: each request would be a new browser")
    return "; ".join([*cookies, "leadshelf_tz=Europe%2FBerlin"])


@dataclass
class Figures:
    rate: float
    p50: float
    p99: float
    errors: int


def run_wrk(url: str, cookie: str, seconds: float, htmx: bool = False) -> Figures:
    out = subprocess.run(  # noqa: S603
        [  # noqa: S607 (wrk from PATH, as installed)
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-H",
            f"User-Agent: {USER_AGENT}",
            "-H",
            f"Accept-Language: {ACCEPT_LANGUAGE}",
            "-H",
            f"Cookie: {cookie}",
            *(["-H", "HX-Request: true"] if htmx else []),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out))
    p99 = _wrk_ms(re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in failed.groups()) if failed else 0
    return Figures(rate, p50, p99, errors)


def _wrk_ms(match: re.Match[str] | None) -> float:
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def _keep_alive(url: str, cookie: str, seconds: float, htmx: bool = False) -> Figures:
    """The fallback load generator: CONNECTIONS keep-alive HTTP/1.1 connections in a loop."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    head = (
        f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUser-Agent: {USER_AGENT}\r\n"
        f"Accept-Language: {ACCEPT_LANGUAGE}\r\nCookie: {cookie}\r\n"
        f"{'HX-Request: true' + chr(13) + chr(10) if htmx else ''}\r\n"
    ).encode()
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(head)
            status = int((await reader.readline()).split()[1])
            length = 0
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value:
                    chunked = True
            if chunked:
                while size := int((await reader.readline()).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readline()
            elif length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += status >= 400
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]
    return Figures(
        len(latencies) / elapsed,
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        errors,
    )


def use_wrk() -> bool:
    """wrk when it is installed, unless BENCH_GENERATOR=own asks for the script's own client."""
    return os.environ.get("BENCH_GENERATOR", "wrk") == "wrk" and shutil.which("wrk") is not None


def load(url: str, cookie: str, seconds: float, htmx: bool = False) -> Figures:
    if use_wrk():
        return run_wrk(url, cookie, seconds, htmx)
    return asyncio.run(_keep_alive(url, cookie, seconds, htmx))


def answers(url: str, cookie: str) -> bool:
    """Whether the server has this route (the fragments are newer than some checkouts)."""
    headers = {"Cookie": cookie, "HX-Request": "true"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http://127.0.0.1)
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            return True
    except OSError:
        return False


class ContentChanges:
    """Appends an edit to the content change log now and then every ``every`` seconds while
    running: every cache keyed by the content version starts over (the editor's save does
    the same)."""

    def __init__(self, database_url: str, every: float) -> None:
        from portal.db import Database

        self.database = Database(database_url)
        self.every = every
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.count = 0

    def change(self) -> None:
        from sqlalchemy import select

        from content.indexer import record_change
        from content.models import Asset

        with self.database.write() as session:
            asset_id = session.scalar(select(Asset.id).where(Asset.slug == OPEN_ASSET))
            assert asset_id is not None
            record_change(session, asset_id, "edited")
        self.count += 1

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.change()

    def __enter__(self) -> ContentChanges:
        self.change()
        self.stop.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def sql_per_request(data_dir: Path, paths: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """SQL statements one request of each page runs (in this process, on the same database,
    through Litestar's test client): in the handler, and in the event writer job for its view.
    The returning browser's second request of each page is counted."""
    from litestar.testing import TestClient
    from sqlalchemy import event

    from portal.app import create_app
    from portal.settings import Settings

    settings = Settings.from_env().with_overrides(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'leadshelf.db'}",
        secret_keys=("bench-secret-key-0123456789",),
    )
    app = create_app(settings)
    counted: list[str] = []

    def count(*_: object) -> None:
        counted.append(threading.current_thread().name)

    headers = {"User-Agent": USER_AGENT, "Accept-Language": ACCEPT_LANGUAGE}
    rows = []
    with TestClient(app) as client:
        engine = app.state.db.engine
        client.get("/", headers=headers)
        event.listen(engine, "before_cursor_execute", count)
        for label, path in paths:
            client.get(path, headers=headers)
            time.sleep(0.2)  # the writer job and the start-up jobs settle
            counted.clear()
            client.get(path, headers=headers)
            time.sleep(0.2)
            writer = sum(name == "leadshelf-job-event-writer" for name in counted)
            handler = sum(not name.startswith("leadshelf-job") for name in counted)
            rows.append((label, handler, writer))
        event.remove(engine, "before_cursor_execute", count)
    return rows


@dataclass
class Row:
    label: str
    ceiling: Figures
    cold: Figures | None
    warm: Figures


def report(rows: list[Row], seconds: float, cold_seconds: float, warmup: float) -> None:
    generator = "wrk -t2" if use_wrk() else "the script's own keep-alive client"
    print(
        f"\nPublic pages over HTTP: {generator}, {CONNECTIONS} connections, {seconds:g} s warm "
        f"(after {warmup:g} s warm-up), {cold_seconds:g} s cold (content changed every "
        f"{CHANGE_EVERY:g} s); a returning desktop browser; one server process, SQLite.\n"
        "share = the page's req/s over the ceiling's (a bare Litestar app rendering a Jinja page "
        "of 30 links), measured right before the page"
    )
    print(
        f"{'page':<24} {'ceiling':>7} {'warm req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'share':>6}"
        f" {'cold req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'share':>6} {'errors':>6}"
    )
    for row in rows:
        warm, cold, ceiling = row.warm, row.cold, row.ceiling.rate
        line = (
            f"{row.label:<24} {ceiling:>7,.0f} {warm.rate:>10,.0f} {warm.p50:>7.2f} "
            f"{warm.p99:>7.2f} {warm.rate / ceiling:>6.1%}"
        )
        if cold is not None:
            share = cold.rate / ceiling
            line += f" {cold.rate:>10,.0f} {cold.p50:>7.2f} {cold.p99:>7.2f} {share:>6.1%}"
        else:
            line += " " * 36
        errors = warm.errors + (cold.errors if cold else 0)
        print(f"{line} {errors:>6}")
    ceilings = [row.ceiling for row in rows]
    print(
        f"ceiling p50 {statistics.median(c.p50 for c in ceilings):.2f} ms, "
        f"p99 {statistics.median(c.p99 for c in ceilings):.2f} ms (median of the runs)"
    )
    print(f"load average: {loadavg()}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    seconds = 1.0 if SMOKE else SECONDS
    cold_seconds = 1.0 if SMOKE else max(2.0, seconds / 2)
    warmup = 0.0 if SMOKE else WARMUP  # in a smoke run the cold run is the warm-up
    pages = [
        ("/", "/"),
        ("/library", "/library"),
        (f"/library?q={QUERY}", "/library?q=" + QUERY.replace(" ", "+")),
        ("open asset", f"/library/{OPEN_ASSET}"),
        ("gated asset", f"/library/{GATED_ASSET}"),
    ]
    pages = [(label, path) for label, path in pages if chosen(label)]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        server, port = start_leadshelf(data_dir)
        ceiling_server, ceiling_port = start_ceiling(data_dir)
        print(f"leadshelf serve up in {time.perf_counter() - started:.1f} s (demo library)")
        try:
            cookie = returning_browser(port)
            ceiling_url = f"http://127.0.0.1:{ceiling_port}/"
            if warmup:
                load(ceiling_url, "", warmup)
            rows: list[Row] = []
            changes = ContentChanges(f"sqlite:///{data_dir / 'leadshelf.db'}", CHANGE_EVERY)
            ceiling = load(ceiling_url, "", seconds)
            for label, path in pages:
                url = f"http://127.0.0.1:{port}{path}"
                if not SMOKE:  # the ceiling right before each page: the load drifts in a run
                    ceiling = load(ceiling_url, "", seconds)
                with changes:
                    cold = load(url, cookie, cold_seconds)
                if warmup:
                    load(url, cookie, warmup)
                warm = load(url, cookie, seconds)
                rows.append(Row(label, ceiling, cold, warm))
            for label, path in [] if SMOKE else [f for f in FRAGMENTS if chosen(f[0])]:
                url = f"http://127.0.0.1:{port}{path}"
                if answers(url, cookie):
                    ceiling = load(ceiling_url, "", seconds)
                    if warmup:
                        load(url, cookie, warmup, htmx=True)
                    rows.append(Row(label, ceiling, None, load(url, cookie, seconds, htmx=True)))
            if not SMOKE and chosen("/healthz"):
                ceiling = load(ceiling_url, "", seconds)
                healthz = load(f"http://127.0.0.1:{port}/healthz", cookie, seconds)
                rows.append(Row("/healthz", ceiling, None, healthz))
            changes.database.dispose()
        finally:
            for process in (server, ceiling_server):
                process.terminate()
                process.wait(timeout=30)
        report(rows, seconds, cold_seconds, warmup)
        statements = sql_per_request(data_dir, pages)
    print("\nSQL statements per request (returning browser, in-process): handler / event writer")
    for label, handler, writer in statements:
        print(f"  {label:<24} {handler:>3} / {writer}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--ceiling":
        serve_ceiling(int(sys.argv[2]))
    else:
        main()
