"""One transaction helper (portal/db.py: `in_transaction`, `transactional`): every write opens
its transaction there, and a transaction the database aborts for a deadlock or a serialization
failure runs again from the start, a bounded number of times. The failures here are real ones,
raised by PostgreSQL."""
from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import asyncpg
import pytest

from portal.db import RETRIES, engine, in_transaction, raw_fetch, transactional
from tests.helpers import make_org

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "dealers", "spares", "settlements")


def test_no_write_opens_a_transaction_of_its_own():
    """`X._meta.db.transaction()` or `engine().transaction()` outside portal/db.py would be a
    transaction nobody retries."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.match("*/migrations/*") or path == ROOT / "portal" / "db.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "transaction"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


async def test_a_deadlock_victim_runs_again_and_both_writes_land_once():
    """Two writers lock the same two rows in opposite orders: PostgreSQL aborts one (40P01);
    it is rolled back and run again, so each row carries each writer's mark exactly once."""
    first, second = await make_org("hq", name="总部"), await make_org("hq", name="分部")
    attempts = {"a": 0, "b": 0}
    holding = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def writer(me: str, other: str, rows: tuple[int, int]) -> None:
        attempts[me] += 1
        await raw_fetch("UPDATE organisation SET name = name || $2 WHERE id = $1", rows[0], me)
        holding[me].set()
        await holding[other].wait()
        await raw_fetch("UPDATE organisation SET name = name || $2 WHERE id = $1", rows[1], me)

    await asyncio.gather(
        in_transaction(lambda: writer("a", "b", (first["id"], second["id"]))),
        in_transaction(lambda: writer("b", "a", (second["id"], first["id"]))))
    assert sorted(attempts.values()) == [1, 2]
    names = await raw_fetch("SELECT name FROM organisation WHERE id = ANY($1::int[]) ORDER BY id",
                            [first["id"], second["id"]])
    for row in names:
        assert sorted(row["name"][-2:]) == ["a", "b"]


SERIALIZATION_FAILURE = "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"


async def test_retries_are_bounded_and_the_last_failure_is_raised():
    calls = []

    @transactional
    async def always_conflicts() -> None:
        calls.append(1)
        await raw_fetch(SERIALIZATION_FAILURE)

    with pytest.raises(asyncpg.exceptions.SerializationError):
        await always_conflicts()
    assert len(calls) == RETRIES


async def test_a_failure_that_is_not_the_database_asking_is_not_retried():
    calls = []

    @transactional
    async def refuses() -> None:
        calls.append(1)
        raise ValueError("a rule said no")

    with pytest.raises(ValueError):
        await refuses()
    assert calls == [1]


async def test_inside_a_transaction_the_outer_one_decides():
    """A nested call joins the running transaction: retrying only its part would replay half
    a transaction the database has already aborted."""
    calls = []

    @transactional
    async def inner() -> None:
        calls.append(1)
        await raw_fetch(SERIALIZATION_FAILURE)

    with pytest.raises(asyncpg.exceptions.SerializationError):
        async with engine().transaction():
            await inner()
    assert calls == [1]


async def test_a_retried_write_commits_once():
    org = await make_org("hq", name="总部")
    calls = []

    @transactional
    async def mark_then_conflict_once() -> None:
        calls.append(1)
        await raw_fetch("UPDATE organisation SET name = name || '!' WHERE id = $1", org["id"])
        if len(calls) == 1:
            await raw_fetch(SERIALIZATION_FAILURE)

    await mark_then_conflict_once()
    row = await raw_fetch("SELECT name FROM organisation WHERE id = $1", org["id"])
    assert len(calls) == 2 and row[0]["name"] == "总部!"


async def test_returning_a_connection_to_the_pool_costs_no_query_and_keeps_no_transaction():
    """Issue 17 §2: asyncpg's default reset runs a statement on every release (once per query
    here); the portal's pool skips it. A transaction left open is still rolled back."""
    from portal.db import start_pool

    engine().pool = None  # the tests run without a pool: make one of a single connection
    await start_pool(min_size=1, max_size=1)
    try:
        pool = engine().pool
        seen: list[str] = []
        async with pool.acquire() as connection:
            connection.add_query_logger(lambda record: seen.append(record.query))
            await connection.execute("BEGIN")
            await connection.execute("UPDATE organisation SET name = name")
        async with pool.acquire() as again:  # the same connection, returned and taken again
            assert again.is_in_transaction() is False
            await again.fetchval("SELECT 1")
        assert seen == ["BEGIN", "UPDATE organisation SET name = name", "ROLLBACK", "SELECT 1"]
    finally:
        await engine().close_connection_pool()
