"""The database: the engine, one connection per request, transactions, query counting
(the embedded PostgreSQL used when no URL is given is portal/embedded.py).

Every query the portal issues goes through `PortalEngine` or `raw_*` below, so tests and
benchmarks can count them (`count_queries`).
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from portal import idcache

T = TypeVar("T")
P = ParamSpec("P")
_lock = threading.Lock()
_queries = [0]
_replica_queries = [0]  # of those, the ones the read replica answered


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


class _Held:
    """The connection one request holds for its statements outside transactions (issue 17 §2):
    taken from the pool at its first statement and given back once, so a page's round trips
    are its queries, not a check-out and a release around each. Only the request's own task
    uses it (a task the request starts, e.g. the close, checks out its own per statement), so
    a handler must not wait on a task of its own that queries: under load, every connection
    could be held by a request waiting for one (the portal has none; asyncio.gather is not
    used on statements)."""

    __slots__ = ("owner", "connection", "busy", "open")

    def __init__(self, owner: asyncio.Task | None) -> None:
        self.owner, self.connection, self.busy, self.open = owner, None, False, True


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("held", default=None)


@contextlib.asynccontextmanager
async def request_connection() -> AsyncIterator[None]:
    """Around one request (the identity middleware): its statements share one connection."""
    held = _Held(asyncio.current_task())
    token = _held.set(held)
    try:
        yield
    finally:
        held.open = False
        await let_go()
        _held.reset(token)


async def let_go(*, last: bool = False) -> None:
    """Give the request's connection back to the pool: before it opens a transaction (which
    takes a connection of its own: holding one while waiting for another could starve the
    pool), and once its answer starts (`last`: later statements, e.g. a background task after
    the response, check out their own)."""
    held = _held.get()
    if held is None or held.owner is not asyncio.current_task():
        return
    if last:
        held.open = False
    if held.connection is not None and not held.busy:
        connection, held.connection = held.connection, None
        await engine().pool.release(connection)


class PortalEngine(PostgresEngine):
    async def run_querystring(self, querystring, in_pool: bool = True):
        _bump()
        sql, args = querystring.compile_string(engine_type=self.engine_type)
        if not sql.startswith("SELECT"):
            idcache.noticed_write(sql)
        current = self.current_transaction.get()
        if current is not None:
            return await current.connection.fetch(sql, *args)
        pool = replica.pool()
        if pool is not None:
            if replica.READS.match(sql):
                if replica.reading() and not getattr(replica.read_floor.get(), "wrote", False):
                    with _lock:
                        _replica_queries[0] += 1
                    async with pool.acquire() as connection:
                        return await connection.fetch(sql, *args)
            else:
                replica.wrote()  # a write outside a transaction (autocommit) is a write too
        held = _held.get()
        if (held is not None and held.open and not held.busy and in_pool and self.pool
                and held.owner is asyncio.current_task()):
            held.busy = True
            try:
                connection = held.connection
                if connection is None:
                    connection = held.connection = await self.pool.acquire()
                return await connection.fetch(sql, *args)
            finally:
                held.busy = False
        if in_pool and self.pool:
            return await self._run_in_pool(sql, args)
        return await self._run_in_new_connection(sql, args)

    async def run_ddl(self, ddl: str, in_pool: bool = True):
        _bump()
        return await super().run_ddl(ddl, in_pool=in_pool)


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


_ENGINE: PortalEngine | None = None


def engine() -> PortalEngine:
    """piccolo_conf.DB, found once: engine_finder re-reads the configuration module on every
    call, and raw_fetch calls this for every statement."""
    global _ENGINE
    if _ENGINE is None:
        from piccolo.engine import engine_finder

        found = engine_finder()
        assert isinstance(found, PortalEngine), "piccolo_conf.DB must be a PortalEngine"
        _ENGINE = found
    return _ENGINE


async def connection_for_write():
    """The current transaction's asyncpg connection (for executemany/COPY on bulk writes)."""
    current = engine().current_transaction.get()
    if current is None:
        raise RuntimeError("bulk writes must run inside a transaction")
    return current.connection


async def raw_fetch(sql: str, *args: Any) -> list[dict]:
    rows = await engine().run_querystring(_QS(sql, args))
    if not rows:
        return []
    # The column names once per result, not a mapping walk per row: dict(record) asks the
    # record for its keys and then each value by name, a third of a JSON list's row handling.
    keys = tuple(rows[0].keys())
    return [dict(zip(keys, row, strict=True)) for row in rows]


async def raw_rows(sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows as asyncpg gives them (read by column name, not changed): for a hot read whose
    rows are only looked at, where `raw_fetch`'s dicts would be built to be thrown away."""
    return await engine().run_querystring(_QS(sql, args))


async def raw_executemany(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One round trip for many rows, on the transaction's connection."""
    _bump()
    idcache.noticed_write(sql)
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
    await let_go()
    for attempt in range(retries):
        try:
            known = idcache.generation()
            async with engine().transaction():
                result = await fn()
            if idcache.generation() != known:  # it wrote what an identity reads: forget what
                idcache.forget()                # was read again before the commit
            replica.wrote()  # committed: this request's later reads, and the next, see it (replica)
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


# The read replica's routing (portal/replica.py) uses this module's engine and counters, and this
# module's engine consults it for every read: imported last, once both are defined.
from portal import replica  # noqa: E402
