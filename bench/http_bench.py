"""The HTTP bench (issue 17 §6): the real portal and its raw twin (bench/raw_twin.py), each
served by uvicorn in its own process (one worker) on the same embedded PostgreSQL, driven by
bench/loadgen.py at concurrency 1 and 16 over the HQ batch list, a dealer clerk's home and the
JSON list, at 100k and 1M return lines (and 10M with --lines 10000000).

Every size has its own database (a copy of the smaller one, grown) and its own two servers, all
started before anything is timed, so both ratios the issue asks for are measured interleaved:
portal over twin, and a page's p99 at the largest size over the smallest. For each page and
concurrency, `--rounds` rounds visit every (size, server) pair for `--seconds` each, in an order
that turns from round to round, after a short untimed warm-up of each. Measured minutes apart,
a change of load on this shared machine moved the p99 of both servers by half; interleaved, the
sizes see the same machine.

Printed per case: requests per second (median of the rounds, and the lowest round), their
ratio portal/twin (issue 17's goal is ≥ 0.8×), p50 and p99 latency (median over the rounds, and
the lowest), each server process's CPU per request (/proc, user + system), and the queries per
request: the portal's counted in-process (portal.db.count_queries around the same request
through Litestar's test client), the twin's from its `x-queries` header. Then the p99 at each
larger size against the smallest (goal: ≤ 1.2× at 10M), for both servers. Before loading, it
checks that the twin's SQL is the portal's and that both answer the same rows.

The load generator runs in this process and shares the machine's cores with the servers and
PostgreSQL; it prints its own share of a core at the end. CPU per request is the figure least
moved by whatever else runs on the machine.

Run: .venv/bin/python bench/http_bench.py [--lines 1000000] [--seconds 2] [--rounds 3]"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import pickle
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Importing bench.batches starts the bench's embedded PostgreSQL, migrated (it calls
# bench.common.start_database at import), and gives its seeding functions: the same network and
# the same history of return lines as bench/batches.py.
import asyncpg  # noqa: E402
import httpx  # noqa: E402
import jinja2  # noqa: E402

from bench import batches as seeding  # noqa: E402
from bench import raw_twin  # noqa: E402
from bench.common import _ROOT as WORK_DIR  # noqa: E402
from bench.common import run  # noqa: E402
from bench.loadgen import Result, build_request, run_load  # noqa: E402
from portal import auth, db  # noqa: E402
from portal.web import SESSION_COOKIE  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
HOST = "127.0.0.1"
SIZES = (100_000, 1_000_000, 10_000_000)
WARM_UP_SECONDS = 0.5


@dataclass
class Page:
    name: str
    path: str
    who: str  # "cs" (an HQ customer-service session), "clerk" (a dealer clerk's), "token" (API)


PAGES = [
    Page("HQ batch list", "/batches?queue=to_decide", "cs"),
    Page("dealer clerk's home", "/", "clerk"),
    Page("JSON batch list", "/api/v1/batches?queue=to_decide", "token"),
]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (/proc, in clock ticks)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Rounds:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds per request
    errors: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)  # every round's

    def add(self, result: Result, cpu: float) -> None:
        self.latencies.extend(result.latencies)
        self.rps.append(result.rps)
        self.p50.append(result.p50)
        self.p99.append(result.p99)
        self.cpu.append(cpu / max(result.requests, 1))
        self.errors += result.errors

    @property
    def p99_all(self) -> float:
        """p99 of every request of every round (more requests than one round's)."""
        return Result(len(self.latencies), 1.0, self.latencies).p99


@dataclass
class Case:
    page: Page
    concurrency: int
    lines: int
    queries: tuple[int, int]
    portal: Rounds = field(default_factory=Rounds)
    twin: Rounds = field(default_factory=Rounds)
    client_cpu: list[float] = field(default_factory=list)  # the load generator's share of a core

    @property
    def ratio(self) -> float:
        return statistics.median(self.portal.rps) / statistics.median(self.twin.rps)

    @property
    def ratio_min(self) -> float:
        return min(self.portal.rps) / min(self.twin.rps)


# --- data and identities ----------------------------------------------------------------------

async def add_clerk(conn) -> int:
    """A dealer clerk at the first office (bench/batches.py seeds HQ users only)."""
    office = await conn.fetchval("SELECT min(id) FROM organisation WHERE kind = 'office'")
    return await conn.fetchval(
        "INSERT INTO portal_user (username, display_name, email, password_hash, organisation, "
        "roles, locale, active, created_at) VALUES ('clerk', 'clerk', '', $1, $2, "
        "ARRAY['dealer_clerk'], 'zh_CN', true, now()) RETURNING id",
        auth.hash_password("bench-password"), office)


async def identities(users: dict[str, int], token: str) -> dict[str, dict[str, str]]:
    """Request headers for each `Page.who`: fresh sessions (one per size, so a long seeding
    cannot outlast their idle timeout) made as the login form would, and the API token."""
    headers = {"token": {"Authorization": f"Bearer {token}"}}
    for who in ("cs", "clerk"):
        actor = await auth.load_actor(users[who])
        assert actor is not None
        session = await auth.start_session(actor)
        headers[who] = {"Cookie": f"{SESSION_COOKIE}={session.token}"}
    return headers


def _is_identity(sql: str) -> bool:
    """Who is asking (portal/auth.py `_IDENTITY`) and its once-a-minute keep-alive write."""
    return " AS covered FROM " in sql or re.match(r'UPDATE "(user_session|api_token)"', sql) \
        is not None


async def portal_statements(headers: dict[str, dict[str, str]]) -> dict[str, list]:
    """Each page requested once in-process (the real app, Litestar's test client): the number
    of queries (portal.db.count_queries) and every statement with its arguments."""
    from litestar.testing import AsyncTestClient

    from portal.app import create_app

    recorded: list[tuple[str, list]] = []
    original = db.PortalEngine.run_querystring

    async def recording(self, querystring, in_pool: bool = True):
        recorded.append(querystring.compile_string("postgres"))
        return await original(self, querystring, in_pool=in_pool)

    rendered: list[tuple[str, dict]] = []
    original_render = jinja2.Template.render

    def recording_render(self, *args, **kwargs):
        context = dict(args[0]) if args else dict(kwargs)
        rendered.append((self.name, context))
        return original_render(self, *args, **kwargs)

    found: dict[str, list] = {}
    db.PortalEngine.run_querystring = recording  # type: ignore[method-assign]
    jinja2.Template.render = recording_render  # type: ignore[method-assign]
    try:
        async with AsyncTestClient(app=create_app()) as client:
            for page in PAGES:
                # once untimed: a session's first request may refresh it (a write a minute)
                await client.get(page.path, headers=headers[page.who])
                recorded.clear()
                rendered.clear()
                with db.count_queries() as counter:
                    response = await client.get(page.path, headers=headers[page.who])
                if response.status_code != 200:
                    raise SystemExit(f"{page.path} answered {response.status_code} in-process")
                found[page.path] = [counter.count, list(recorded), _page_context(rendered)]
    finally:
        db.PortalEngine.run_querystring = original  # type: ignore[method-assign]
        jinja2.Template.render = original_render  # type: ignore[method-assign]
    return found


def _page_context(rendered: list[tuple[str, dict]]) -> tuple[str, dict] | None:
    """The page's template and the context the portal rendered it with, less the request
    (the twin gives its own stand-in): what the twin renders the same template with."""
    if not rendered:
        return None
    name, context = rendered[-1]
    request = context.pop("request", None)
    state = request.scope.get("state", {}) if request is not None else {}
    context["_unread"] = state.get("unread")
    return name, context


def check_twin_sql(statements: dict[str, list]) -> None:
    """The twin's hand copies must be the statements the portal runs (else it is no twin)."""
    for path, (_, recorded, _) in statements.items():
        twin = raw_twin.STATEMENTS.get(path.split("?")[0])
        if twin is None:
            continue
        portal = [sql for sql, _ in recorded if not _is_identity(sql)]
        if portal != twin:
            print(f"WARNING: bench/raw_twin.py runs other SQL than the portal for {path}; "
                  "update its copies. The portal runs:", *portal, sep="\n  ", flush=True)
        else:
            print(f"checked: the twin runs the portal's statements for {path}", flush=True)


# --- the two servers --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(name: str, target: list[str], env: dict[str, str]) -> Server:
    """uvicorn in its own process, one worker, the same options for both servers (its defaults
    pick uvloop and httptools for both; no access log, as neither server's figure should
    include log writes)."""
    port = free_port()
    log = WORK_DIR / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *target, "--host", HOST, "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--no-proxy-headers"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return Server(name, process, port, log)


async def wait_ready(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                await client.get(f"http://{HOST}:{server.port}/static/app.css")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise SystemExit(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


async def check_answers(portal: Server, twin: Server, headers: dict[str, dict[str, str]]) -> str:
    """Same rows from both: the JSON lists equal, the HTML lists the same batch ids."""
    async with httpx.AsyncClient() as client:
        answers = {}
        for page in PAGES:
            a = await client.get(f"http://{HOST}:{portal.port}{page.path}",
                                 headers=headers[page.who])
            b = await client.get(f"http://{HOST}:{twin.port}{page.path}")
            if a.status_code != 200 or b.status_code != 200:
                raise SystemExit(f"{page.path}: portal {a.status_code}, twin {b.status_code}")
            answers[page.path] = (a, b)
    a, b = answers["/api/v1/batches?queue=to_decide"]
    same_json = a.json() == b.json()
    if not same_json:
        print("WARNING: the twin's JSON list differs from the portal's", flush=True)
    ids = [re.findall(r'id="batch-(\d+)"', r.text) for r in answers["/batches?queue=to_decide"]]
    if ids[0] != ids[1]:
        print("WARNING: the twin's HTML list shows other batches than the portal's", flush=True)
    for page in PAGES:
        a, b = answers[page.path]
        if "html" in a.headers.get("content-type", "") and _comparable(a.text) != _comparable(b.text):
            print(f"WARNING: the twin's page {page.path} is not the portal's page", flush=True)
        elif "html" in a.headers.get("content-type", ""):
            print(f"checked: the twin's {page.path} is the portal's page, byte for byte "
                  "(less the CSRF token)", flush=True)
    sizes = ", ".join(f"{page.path} {len(answers[page.path][0].content) / 1000:.1f} / "
                      f"{len(answers[page.path][1].content) / 1000:.1f} kB" for page in PAGES)
    return (f"checked: {len(ids[0])} rows on each HTML list, the same batches: "
            f"{ids[0] == ids[1]}; JSON lists equal: {same_json}; portal / twin answers: {sizes}")


def _comparable(html: str) -> str:
    """A page less what is per session (its CSRF token) and per minute (a home's clock)."""
    html = re.sub(r'("x-csrftoken": "|name="_csrf" value=")[^"]*', r"\1", html)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", html)


# --- load ---------------------------------------------------------------------------------------

async def measure(cases: list[Case], servers: dict[int, tuple[Server, Server]],
                  headers: dict[int, dict[str, dict[str, str]]], seconds: float, rounds: int,
                  verbose: bool = False) -> None:
    """One page at one concurrency, at every size: each size has its own database and its own
    two servers, all running, so a round visits every (size, server) pair, in an order that
    turns from round to round. Both ratios the issue asks for — portal over twin, and p99 at
    the largest size over the smallest — are then measured interleaved, not minutes apart."""
    slots = []
    for case in cases:
        portal, twin = servers[case.lines]
        slots.append((case, "portal", portal, build_request(
            HOST, portal.port, case.page.path, headers[case.lines][case.page.who])))
        slots.append((case, "twin", twin, build_request(HOST, twin.port, case.page.path)))
    for _, _, server, request in slots:  # untimed warm-up: pools, caches, plans
        await run_load(HOST, server.port, request, concurrency=cases[0].concurrency,
                       seconds=WARM_UP_SECONDS)
    for round_no in range(rounds):
        # sizes and servers in turn: 100k portal, 100k twin, 1M portal… then reversed, then
        # shifted, so no pair always runs first, last or right after the same other
        turned = slots[round_no % len(slots):] + slots[:round_no % len(slots)]
        for case, name, server, request in turned[::-1 if round_no % 2 else 1]:
            cpu, own = server.cpu_seconds(), time.process_time()
            result = await run_load(HOST, server.port, request,
                                    concurrency=case.concurrency, seconds=seconds)
            getattr(case, name).add(result, server.cpu_seconds() - cpu)
            case.client_cpu.append((time.process_time() - own) / result.seconds)
            if verbose:
                print(f"    round {round_no + 1} {case.lines:>10,} {name:<6} "
                      f"{result.rps:7.0f} req/s   p50 {ms(result.p50)} ms   "
                      f"p99 {ms(result.p99)} ms   {result.requests} requests", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(case: Case) -> None:
    med = statistics.median
    print(f"{case.page.name} {case.page.path}, concurrency {case.concurrency}, "
          f"{case.lines:,} lines", flush=True)
    for name, r, queries in (("portal", case.portal, case.queries[0]),
                             ("twin", case.twin, case.queries[1])):
        errors = f"   ERRORS {r.errors}" if r.errors else ""
        print(f"  {name:<6} {med(r.rps):7.0f} req/s (min {min(r.rps):5.0f})   "
              f"p50 {ms(med(r.p50)):>6} ms (min {ms(min(r.p50))})   "
              f"p99 {ms(med(r.p99)):>6} ms (min {ms(min(r.p99))})   "
              f"CPU {ms(med(r.cpu))} ms/request   {queries} queries{errors}", flush=True)
    print(f"  ratio  {case.ratio:.2f}x (min {case.ratio_min:.2f}x)", flush=True)


def table(cases: list[Case]) -> None:
    med = statistics.median
    print("\n| page | conc. | lines | portal req/s (min) | twin req/s (min) | ratio (min) | "
          "p50 portal / twin | p99 portal / twin | CPU per request portal / twin | "
          "queries portal / twin |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in cases:
        p, t = c.portal, c.twin
        print(f"| {c.page.name} `{c.page.path}` | {c.concurrency} | {c.lines:,} | "
              f"{med(p.rps):.0f} ({min(p.rps):.0f}) | {med(t.rps):.0f} ({min(t.rps):.0f}) | "
              f"{c.ratio:.2f}× ({c.ratio_min:.2f}×) | {ms(med(p.p50))} / {ms(med(t.p50))} ms | "
              f"{ms(med(p.p99))} / {ms(med(t.p99))} ms | {ms(med(p.cpu))} / {ms(med(t.cpu))} ms"
              f" | {c.queries[0]} / {c.queries[1]} |")
    shares = [share for c in cases for share in c.client_cpu]
    print(f"\nload generator: {min(shares):.0%}–{max(shares):.0%} of one core while measuring; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)


def growth(cases: list[Case], sizes: list[int]) -> None:
    """p99 at each larger size against the smallest (issue 17's goal: at most 1.2× at 10M),
    for the portal and for the twin on the same statements, from the same interleaved rounds:
    the p99 of all the rounds' requests pooled, and the median of the rounds' p99."""
    if len(sizes) < 2:
        return
    med = statistics.median
    print(f"\n| page | conc. | lines | p99 portal (all rounds / median round) | p99 × {sizes[0]:,} "
          "portal | p99 twin (all rounds / median round) | p99 × twin |")
    print("|---|---|---|---|---|---|---|")
    base = {(c.page.path, c.concurrency): c for c in cases if c.lines == sizes[0]}
    for c in cases:
        if c.lines == sizes[0]:
            continue
        b = base[(c.page.path, c.concurrency)]
        print(f"| {c.page.name} | {c.concurrency} | {c.lines:,} | "
              f"{ms(c.portal.p99_all)} / {ms(med(c.portal.p99))} ms | "
              f"{c.portal.p99_all / b.portal.p99_all:.2f}× / "
              f"{med(c.portal.p99) / med(b.portal.p99):.2f}× | "
              f"{ms(c.twin.p99_all)} / {ms(med(c.twin.p99))} ms | "
              f"{c.twin.p99_all / b.twin.p99_all:.2f}× / "
              f"{med(c.twin.p99) / med(b.twin.p99):.2f}× |", flush=True)


async def twin_queries(twin: Server) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        return {page.path: int((await client.get(f"http://{HOST}:{twin.port}{page.path}"))
                               .headers["x-queries"]) for page in PAGES}


def with_database(dsn: str, name: str) -> str:
    """The same server's URL for database `name` (the embedded server's URLs name the
    database in the path and the socket in the query)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def portal_database(dsn: str) -> Iterator[None]:
    """The portal's engine in this process (sessions, tokens, the in-process recording) on
    another database of the same server, for as long as the block runs."""
    config = db.engine().config
    kept, config["dsn"] = config["dsn"], dsn
    try:
        yield
    finally:
        config["dsn"] = kept


async def seed_sizes(dsn: str, sizes: list[int]) -> tuple[dict, dict[int, str]]:
    """The network in the migrated database, then one database per size, each a copy of the
    one before grown to its number of lines (CREATE DATABASE … TEMPLATE copies files: the
    sizes cost the seeding of the largest). Returns the seeded ids and each size's URL."""
    conn = await asyncpg.connect(dsn)
    ids = await seeding.seed_network(conn)
    ids["users"]["clerk"] = await add_clerk(conn)
    await conn.close()
    urls: dict[int, str] = {}
    source = urlsplit(dsn).path.lstrip("/")
    for lines in sizes:
        started = time.monotonic()
        name = f"bench_{lines}"
        admin = await asyncpg.connect(with_database(dsn, "postgres"))
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        await admin.close()
        urls[lines] = with_database(dsn, name)
        conn = await asyncpg.connect(urls[lines])
        await seeding.grow_lines(conn, lines)
        # settled tables, as autovacuum would leave them, so it does not start mid-run
        for table_name in ("return_batch", "return_line"):
            await conn.execute(f"VACUUM ANALYZE {table_name}")
        await conn.close()
        source = name
        print(f"--- {lines:,} return lines in database {name} (seeded in "
              f"{time.monotonic() - started:.0f} s)", flush=True)
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    await admin.execute("CHECKPOINT")  # the seeding's writes on disk before anything is timed
    await admin.close()
    return ids, urls


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000,
                        help="the largest size; smaller standard sizes (100k, 1M) run too")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every (size, server) pair")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--verbose", action="store_true", help="print every round")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the statements the portal runs for each page")
    args = parser.parse_args()
    sizes = [s for s in SIZES if s < args.lines] + [args.lines]
    levels = [int(c) for c in args.concurrency.split(",")]

    dsn = db.engine().config["dsn"]
    ids, urls = await seed_sizes(dsn, sizes)
    users = {"cs": ids["users"]["cs"], "clerk": ids["users"]["clerk"]}
    servers: dict[int, tuple[Server, Server]] = {}
    headers: dict[int, dict[str, dict[str, str]]] = {}
    statements: dict[int, dict[str, list]] = {}
    try:
        for lines in sizes:
            with portal_database(urls[lines]):
                cs = await auth.load_actor(users["cs"])
                assert cs is not None
                token = await auth.create_api_token(actor=cs, name="http bench")
                headers[lines] = await identities(users, token)
                statements[lines] = found = await portal_statements(headers[lines])
            check_twin_sql(found)
            if args.show_sql:
                for path, (count, recorded, _) in found.items():
                    print(f"{path}: {count} queries", *(sql for sql, _ in recorded),
                          sep="\n  ", flush=True)
            home = WORK_DIR / f"home_statements_{lines}.pickle"
            home.write_bytes(pickle.dumps([
                (sql, args) for sql, args in found["/"][1] if not _is_identity(sql)]))
            contexts = WORK_DIR / f"page_contexts_{lines}.pickle"
            contexts.write_bytes(pickle.dumps({
                path.split("?")[0]: page[2] for path, page in found.items()
                if page[2] is not None}))
            common = {"PORTAL_DATABASE_URL": urls[lines], "PORTAL_SECURE_COOKIES": "0",
                      "PORTAL_DB_POOL": "1"}
            servers[lines] = (
                start_server(f"portal-{lines}", ["portal.app:create_app", "--factory"], common),
                start_server(f"twin-{lines}", ["bench.raw_twin:app"],
                             {**common, "TWIN_HQ_USER": str(users["cs"]),
                              "TWIN_HOME_STATEMENTS": str(home),
                              "TWIN_PAGE_CONTEXTS": str(contexts)}))
        for lines in sizes:
            portal, twin = servers[lines]
            await wait_ready(portal)
            await wait_ready(twin)
            print(f"{lines:,} lines: {await check_answers(portal, twin, headers[lines])}",
                  flush=True)
        twin_counts = {lines: await twin_queries(servers[lines][1]) for lines in sizes}
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"{len(sizes) * 2} servers running", flush=True)
        cases: list[Case] = []
        for page in PAGES:
            for concurrency in levels:
                group = [Case(page, concurrency, lines,
                              (statements[lines][page.path][0], twin_counts[lines][page.path]))
                         for lines in sizes]
                await measure(group, servers, headers, args.seconds, args.rounds, args.verbose)
                for case in group:
                    report(case)
                cases.extend(group)
    finally:
        for pair in servers.values():
            for server in pair:
                server.stop()
    table(cases)
    growth(cases, sizes)


if __name__ == "__main__":
    import uvloop  # the cheapest client loop: the load generator shares the cores

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    run(main)
