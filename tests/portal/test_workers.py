"""More than one process (issue 17 §7): `portal serve --workers 2`, started as a user would, on
the test database. Requests spread over both workers, and the guarantees that hold in one
process hold across them: one batch a month (a unique index), at most the allowed number of
password guesses evaluated (advisory locks), the periodic jobs run by one process at a time."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dealers.tables import ReturnBatch
from portal import db
from portal.db import raw_fetch
from portal.tables import LoginAttempt
from tests.dealers.factory import network
from tests.helpers import api_token, csrf_from, make_org, make_user

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 5  # Settings.login_max_failures


@pytest.fixture(scope="module")
def two_workers():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORTAL_SECURE_COOKIES": "0", "PORTAL_DEBUG": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                pytest.fail(f"portal serve --workers 2 did not start:\n{output[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()


async def test_two_worker_processes_each_with_its_own_pool(two_workers):
    """Each worker opened its pool (named after its process) and answers."""
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as c:
        answers = await asyncio.gather(*(c.get("/login") for _ in range(40)))
    assert {r.status_code for r in answers} == {200}
    rows = await raw_fetch("SELECT DISTINCT application_name FROM pg_stat_activity "
                           "WHERE application_name LIKE 'portal-%'")
    assert len(rows) == 2, rows


async def test_r6_ten_concurrent_drafts_across_processes_one_201_nine_409(two_workers):
    net = await network()
    token = await api_token(net["users"]["clerk"])
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as c:
        answers = await asyncio.gather(*(c.post("/api/v1/batches", headers=headers)
                                         for _ in range(10)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9, \
        [(r.status_code, r.text[:100]) for r in answers]
    assert await ReturnBatch.count() == 1


async def test_password_guesses_across_processes_are_bounded(two_workers):
    office = await make_org("office", parent=await make_org("hq", region=None))
    await make_user(office, ["dealer_clerk"], username="clerk")
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as c:
        token = csrf_from((await c.get("/login")).text)

        async def guess(i: int) -> int:
            return (await c.post("/login", data={"username": "clerk", "password": f"guess-{i}",
                                                 "_csrf": token, "next": "/"})).status_code

        statuses = await asyncio.gather(*(guess(i) for i in range(20)))
    evaluated = await LoginAttempt.count()
    assert evaluated <= LIMIT, f"{evaluated} guesses were evaluated"
    assert statuses.count(422) == evaluated and statuses.count(429) == 20 - evaluated


async def test_the_periodic_jobs_run_in_one_process_at_a_time():
    """What each worker's job loop does before running the jobs: the second holder is told no,
    and once the first is done the lock is free again."""
    async with db.exclusive(db.JOBS_LOCK) as first:
        async with db.exclusive(db.JOBS_LOCK) as second:
            assert (first, second) == (True, False)
    async with db.exclusive(db.JOBS_LOCK) as again:
        assert again is True


async def test_a_token_revoked_elsewhere_stops_on_every_worker(two_workers):
    """Both workers remember who a token is (issue 17 §1); a revocation committed by another
    process (here the test's own connection) reaches both as the database's notification."""
    net = await network()
    token = await api_token(net["users"]["clerk"])
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    async with httpx.AsyncClient(base_url=two_workers, timeout=60) as c:
        before = await asyncio.gather(*(c.get("/api/v1/me", headers=headers) for _ in range(40)))
        assert {r.status_code for r in before} == {200}
        await raw_fetch("UPDATE api_token SET revoked_at = now()")
        after = await asyncio.gather(*(c.get("/api/v1/me", headers=headers) for _ in range(40)))
    assert {r.status_code for r in after} == {401}
