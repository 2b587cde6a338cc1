"""The raw twin of the portal's main pages, for bench/http_bench.py (issue 17 §6).

A bare ASGI application (Starlette is not installed with the portal; this is lighter still):
one asyncpg pool, the same SQL the portal runs for each page, and the portal's own Jinja
templates rendered through its own environment (issue 17: "the same Jinja template") — no
authentication, CSRF, scoping, middleware or framework. The template context is the one the
portal rendered the page with for the same user (recorded in-process by http_bench.py), with the
twin's own rows, badges and inbox count where the page shows query results; http_bench.py checks
that both answer the same page, byte for byte less the CSRF token. What the portal spends above
this on a page is the price of its framework, identity, scoping and helpers.

Pages (the portal's paths, so the load generator sends the same requests to both):
- GET /batches?queue=to_decide — the HQ list: the inbox badge, the page of batches, their line
  totals and the queue badges (4 statements, the portal's text copied from
  dealers/queries.py list_batches / queue_counts and portal/notify.py unread_count for an
  actor who sees everything; http_bench.py checks the copies against what the portal runs).
- GET /api/v1/batches?queue=to_decide — the JSON list: the page and its totals (2 statements),
  the fields of the portal's /api/v1/batches.
- GET / — a dealer clerk's home: the statements the portal's home runs for that clerk, except
  who is asking (the window card's organisation and weeks, each domain's queue counts, the inbox
  badge). The home is assembled from five domains' providers (dealers, spares, settlements,
  service, portal), each building its SQL inline, so instead of a hand copy that would go stale
  http_bench.py records the portal's statements for the clerk in-process and gives them to
  the twin (TWIN_HOME_STATEMENTS, a pickle of [(sql, args)]); the twin runs them as they are
  and renders the home with the context the portal built from them (TWIN_PAGE_CONTEXTS).

Each request holds one pool connection for all its statements; the pool releases connections
without asyncpg's reset query, as the portal's does. Every answer carries `x-queries`.

Environment: TWIN_DATABASE_URL (else PORTAL_DATABASE_URL); TWIN_HQ_USER (the user whose inbox
badge the HQ list shows); TWIN_HOME_STATEMENTS.
Run: .venv/bin/python -m uvicorn bench.raw_twin:app --no-access-log"""
from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import jinja2
import msgspec

CHINA = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50

# --- the SQL, as the portal runs it (dealers/queries.py, portal/notify.py) --------------------
_CHINA_DAY = "date_trunc('day', b.arrived_at AT TIME ZONE 'Asia/Shanghai')"
RECEIVE_DUE = f"(({_CHINA_DAY} + interval '2 days') AT TIME ZONE 'Asia/Shanghai')"
DECIDE_DUE = f"(({_CHINA_DAY} + interval '4 days') AT TIME ZONE 'Asia/Shanghai')"
# list_batches(queue="to_decide") for an actor who sees everything (scope "TRUE")
LIST_SQL = (
    "SELECT b.id, b.number, b.month, b.kind, b.status, b.organisation, b.arrived_at, "
    "b.received_at, b.decided_at, b.submitted_at, o.name AS org_name, o.name_en AS org_name_en, "
    f"{RECEIVE_DUE} AS receive_due, {DECIDE_DUE} AS decide_due, $1::timestamptz AS as_of "
    "FROM return_batch b JOIN organisation o ON o.id = b.organisation "
    f"WHERE TRUE AND b.status = 'received' ORDER BY b.id DESC LIMIT {PAGE_SIZE}")
TOTALS_SQL = (
    "SELECT batch, count(*) AS lines, sum(quantity) AS filed, sum(received_qty) AS received "
    "FROM return_line WHERE batch = ANY($1::int[]) GROUP BY batch")
QUEUES = {
    "to_sign": "b.status = 'submitted'",
    "to_approve": "b.status = 'signed'",
    "to_dispatch": "b.status = 'approved' AND b.arrived_at IS NULL",
    "in_transit": "b.status = 'dispatched' AND b.arrived_at IS NULL",
    "to_receive": "b.status IN ('approved', 'dispatched') AND b.arrived_at IS NOT NULL",
    "to_decide": "b.status = 'received'",
    "breaching": (f"((b.arrived_at IS NOT NULL AND b.received_at IS NULL AND $1 >= {RECEIVE_DUE}) "
                  f"OR (b.status = 'received' AND $1 >= {DECIDE_DUE}))"),
}
OPEN_STATUSES = ["submitted", "signed", "approved", "dispatched", "received"]
COUNTS_SQL = (
    "SELECT " + ", ".join(f"count(*) FILTER (WHERE {sql}) AS {name}"
                          for name, sql in QUEUES.items())
    + ", (SELECT count(*) FROM quality_dispute d WHERE d.verified_at IS NULL) AS to_verify "
    "FROM return_batch b WHERE b.status = ANY($2::varchar[])")
UNREAD_SQL = ('SELECT count(*) AS n FROM notification WHERE "user" = $1 '
              "AND read_at IS NULL")

# What each page runs, in order (http_bench.py compares these with the portal's statements).
STATEMENTS = {"/batches": [UNREAD_SQL, LIST_SQL, TOTALS_SQL, COUNTS_SQL],
              "/api/v1/batches": [LIST_SQL, TOTALS_SQL]}
JSON_FIELDS = ("id", "number", "organisation", "month", "status", "lines", "filed", "received",
               "breaching")

_encode = msgspec.json.Encoder().encode


class _Request:
    """What the portal's base template reads of a request: the inbox badge in its state."""

    def __init__(self, unread: int | None) -> None:
        self.scope = {"state": {"unread": unread}}


async def _no_reset(connection: asyncpg.Connection) -> None:
    """As portal.db._keep_session: release without asyncpg's reset round trip."""


class Twin:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.hq_user = int(os.environ.get("TWIN_HQ_USER", "0"))
        self.home: list[tuple[str, list]] = []
        self.pages: dict[str, tuple[jinja2.Template, dict]] = {}

    async def start(self) -> None:
        dsn = os.environ.get("TWIN_DATABASE_URL") or os.environ["PORTAL_DATABASE_URL"]
        # the portal's lifespan: db.start_pool(min_size=1, max_size=10)
        self.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, reset=_no_reset)
        statements = os.environ.get("TWIN_HOME_STATEMENTS")
        if statements:
            self.home = pickle.loads(Path(statements).read_bytes())
        contexts = os.environ.get("TWIN_PAGE_CONTEXTS")
        if contexts:
            # the portal's own templates through its own Jinja environment (issue 17's twin:
            # "the same Jinja template"); the navigation and i18n globals come with it
            import portal.nav  # noqa: F401  (registers nav_links on the environment)
            from portal.web import ENV

            self.pages = {path: (ENV.get_template(name), context) for path, (name, context)
                          in pickle.loads(Path(contexts).read_bytes()).items()}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path, query = scope["path"], scope["query_string"]
        if path == "/batches" and query == b"queue=to_decide":
            body, kind, n = await self.batches(html=True)
        elif path == "/api/v1/batches" and query == b"queue=to_decide":
            body, kind, n = await self.batches(html=False)
        elif path == "/" and self.home:
            body, kind, n = await self.dealer_home()
        else:
            body, kind, n = b"not found", b"text/plain", 0
        await send({"type": "http.response.start", "status": 200 if n else 404,
                    "headers": [(b"content-type", kind),
                                (b"content-length", str(len(body)).encode()),
                                (b"x-queries", str(n).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def batches(self, *, html: bool) -> tuple[bytes, bytes, int]:
        now = datetime.now(UTC)
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            unread = await conn.fetchval(UNREAD_SQL, self.hq_user) if html else None
            rows = [dict(r) for r in await conn.fetch(LIST_SQL, now)]
            totals = {r["batch"]: r for r in await conn.fetch(TOTALS_SQL,
                                                               [r["id"] for r in rows])}
            counts = await conn.fetchrow(COUNTS_SQL, now, OPEN_STATUSES) if html else None
        for b in rows:
            t = totals.get(b["id"])
            b["lines"], b["filed"] = (t["lines"], t["filed"] or 0) if t else (0, 0)
            b["received"] = t["received"] if t else None
            b["breaching"] = bool(b["arrived_at"]) and (
                (b["received_at"] is None and now >= b["receive_due"])
                or (b["status"] == "received" and now >= b["decide_due"]))
        if not html:
            return _encode([{k: b[k] for k in JSON_FIELDS} for b in rows]), \
                b"application/json", 2
        template, context = self.pages["/batches"]
        more = (f"/batches?queue=to_decide&after={rows[-1]['id']}" if len(rows) == PAGE_SIZE
                else None)
        page = template.render({**context, "request": _Request(unread), "rows": rows,
                                "counts": dict(counts), "more_url": more})
        return page.encode(), b"text/html; charset=utf-8", 4

    async def dealer_home(self) -> tuple[bytes, bytes, int]:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            for sql, args in self.home:
                [dict(r) for r in await conn.fetch(sql, *args)]
        # The home's context (each domain's queue cards) is assembled by the portal's
        # providers from these rows; the twin renders the context the portal built for the
        # clerk (recorded in-process by http_bench.py), so its template work is the same.
        template, context = self.pages["/"]
        page = template.render({**context, "request": _Request(context["_unread"])})
        return page.encode(), b"text/html; charset=utf-8", len(self.home)


app = Twin()
