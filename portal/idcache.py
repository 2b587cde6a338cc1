"""Who is asking, remembered (issue 17 §1): a session's or an API token's identity row is kept
in the process for a short while, so a request's first statement is the page's own.

Correctly forgotten:
- in this process, at once: every statement the portal issues that writes a table the identity
  reads (users, organisations, a manager's coverage, sessions, API tokens) forgets everything,
  at the statement and again when its transaction commits (`portal.db` calls `noticed_write`);
- in every other process (`portal serve --workers N`, other machines): the database's triggers
  on those tables send a notification when the change commits (migration
  portal_2026_12_02t12_40_00), and each process listens for it on a connection of its own;
- a process that is not listening (its listening connection dropped, or it never started one)
  keeps nothing.
An entry also lasts at most `TTL_SECONDS`. A fetch that began before a forget is not kept
(`generation`), so a row read before a change commits cannot outlive it."""
from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "portal_identity"
TTL_SECONDS = 60.0
MAX_ENTRIES = 10_000

# A write to a table the identity statement (portal/auth.py `_IDENTITY`) reads.
_WRITES = re.compile(
    r'\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?'
    r'"?(?:portal_user|organisation|manager_coverage|user_session|api_token)\b', re.IGNORECASE)
# The once-a-minute keep-alive writes change nothing the identity decides with; the entry they
# concern is updated in place instead (portal/auth.py).
SESSION_SEEN = "UPDATE user_session SET last_seen_at = $1 WHERE id = $2"
TOKEN_USED = "UPDATE api_token SET last_used_at = $1 WHERE id = $2"
_KEEP_ALIVE = frozenset((SESSION_SEEN, TOKEN_USED))

_entries: dict[str, tuple[float, dict[str, Any]]] = {}
_generation = [0]
_lock = threading.Lock()  # the tests' servers run apps on other threads of the process
_listeners: set[asyncpg.Connection] = set()


def generation() -> int:
    return _generation[0]


def forget() -> None:
    with _lock:
        _generation[0] += 1
        _entries.clear()


def noticed_write(sql: str) -> None:
    """Called for every statement the portal runs that is not a plain read."""
    if sql not in _KEEP_ALIVE and _WRITES.match(sql):
        forget()


def get(key: str) -> dict[str, Any] | None:
    if not _listeners:
        return None
    found = _entries.get(key)
    if found is None or time.monotonic() - found[0] > TTL_SECONDS:
        return None
    return found[1]


def put(key: str, row: dict[str, Any], since: int) -> None:
    """Keep `row`, read after `generation()` was `since`, unless something changed meanwhile."""
    if not _listeners or since != _generation[0]:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (time.monotonic(), row)


def drop(key: str) -> None:
    _entries.pop(key, None)


def _notified(*_: Any) -> None:
    _heard()


def _heard() -> None:
    """Another process, or anyone, changed what an identity reads (a database notification)."""
    forget()


def _lost(connection: asyncpg.Connection) -> None:
    if connection not in _listeners:  # closed by `stop`
        return
    _listeners.discard(connection)
    forget()
    log.warning("identity notifications lost: this process keeps no identity until restarted")


async def listen(dsn: str) -> asyncpg.Connection:
    """Start listening (the app's lifespan); from then on this process may keep identities."""
    connection = await asyncpg.connect(dsn)
    await connection.add_listener(CHANNEL, _notified)
    connection.add_termination_listener(_lost)
    forget()  # whatever was kept before the listening began may have missed a notification
    _listeners.add(connection)
    return connection


async def stop(connection: asyncpg.Connection) -> None:
    _listeners.discard(connection)
    forget()
    await connection.close()
