"""The read replica (issue 17 §7).

PORTAL_READ_REPLICA_URL names a streaming standby. Dashboards, lists and exports read there
inside `on_replica()`; everything else, every write and anything inside a transaction stays on
the primary. A user's own writes are never read stale: a request that wrote leaves the primary's
WAL position (`pg_current_wal_lsn()`) in a cookie (portal/web.py), and a later request of that
browser reads the replica only once the standby has replayed that far
(`pg_last_wal_replay_lsn()`), else the primary. A request whose writes are unknown (an API
client, which carries no cookie) reads the primary."""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import asyncpg

from portal import db

T = TypeVar("T")
P = ParamSpec("P")

# One pool per event loop: a process serves from one loop; tests run an app per loop (thread).
_replica_pools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
_use_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("use_replica", default=False)
READS = re.compile(r"\s*(SELECT|WITH)\b(?!.*\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b)",
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


def wrote() -> None:
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


def pool() -> asyncpg.Pool | None:
    if not _replica_pools:
        return None
    try:
        return _replica_pools.get(asyncio.get_running_loop())
    except RuntimeError:  # no running loop
        return None


def replica_configured() -> bool:
    return pool() is not None


async def start_replica_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> None:
    _replayed[0] = 0  # what an earlier replica had replayed says nothing about this one
    _replica_pools[asyncio.get_running_loop()] = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, reset=db._keep_session,
        server_settings={"application_name": f"portal-{os.getpid()}-replica"})


async def close_replica_pool() -> None:
    pool = _replica_pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


async def primary_lsn() -> str:
    """Where the primary's WAL is now: what a request that wrote leaves in its cookie."""
    return (await db.raw_fetch("SELECT pg_current_wal_lsn()::text AS lsn"))[0]["lsn"]


async def _replica_fresh_enough(floor: ReadFloor | None) -> bool:
    if floor is None or floor.lsn is None:
        return floor is None or (floor.known and not floor.wrote)
    if not floor.known or floor.wrote:
        return False
    if floor.lsn <= _replayed[0]:
        return True  # seen replayed already: no query
    replica = pool()
    assert replica is not None
    db._bump()
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
    use = pool() is not None and await _replica_fresh_enough(read_floor.get())
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


def reading() -> bool:
    """Whether this request's reads are inside `on_replica()` and may go to the standby."""
    return _use_replica.get()
