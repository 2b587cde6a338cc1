"""Test harness: a throwaway PostgreSQL started by the tests themselves (the same embedded
server the portal uses), real migrations, tables truncated between tests."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_PGROOT = Path(tempfile.mkdtemp(prefix="portal-test-pg-"))
os.environ.pop("PORTAL_DATABASE_URL", None)
os.environ["PORTAL_VAR_DIR"] = str(_PGROOT)
os.environ.setdefault("PORTAL_SECRET_KEY", "test-secret-key-not-for-production")

from portal import embedded  # noqa: E402

os.environ["PORTAL_DATABASE_URL"] = embedded.start_embedded(_PGROOT / "pgdata", cleanup_mode="delete")

from portal.cli import migrate  # noqa: E402

migrate()

from dealers.rules import DEFAULT_CALENDAR  # noqa: E402
from tests.helpers import *  # noqa: E402,F401,F403

KEEP = {"migration", "region", "reason_code"}


async def _reset() -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["PORTAL_DATABASE_URL"])
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") if r["tablename"] not in KEEP]
        await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        # The default calendar is reference data the migration loads (R2): put it back.
        await conn.executemany(
            "INSERT INTO calendar_assignment (region, week, effective_from, reason, created_at) "
            "SELECT id, $2, DATE '2000-01-01', 'seed 003 default', now() FROM region WHERE code = $1",
            list(DEFAULT_CALENDAR.items()))
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
async def clean_database():
    await _reset()
    yield


def pytest_sessionfinish(session, exitstatus):
    # Stop the server first (it deletes its pgdata), then the folder around it.
    if embedded._server is not None:
        embedded._server.cleanup()
    shutil.rmtree(_PGROOT, ignore_errors=True)
