"""Issue 17 §1–2: a request's statements share one pooled connection, and who is asking is
remembered by the process until something it depends on changes."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import httpx
from litestar import get

from portal import auth, clock, db, idcache
from portal.db import count_queries, raw_fetch, transactional
from portal.tables import ApiToken, User, UserSession
from tests.browser.live import live_portal
from tests.helpers import (
    actor_of,
    api_token,
    client,
    csrf_from,
    login,
    make_org,
    make_user,
    test_settings,
)

HANG_GUARD = 60  # seconds: only so a deadlock fails the test instead of hanging the run


@transactional
async def _write_in_transaction() -> int:
    return (await raw_fetch("SELECT pg_backend_pid() AS pid, txid_current() AS tx"))[0]["pid"]


async def _pid() -> int:
    return (await raw_fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"]


@get("/api/v1/probe-connection", include_in_schema=False, guards=[])
async def probe_connection() -> dict:
    """Reads, a transaction, reads again; and a task of its own reading meanwhile."""
    before = [await _pid(), await _pid()]
    held = db._held.get()
    held_pid = held.connection.get_server_pid() if held and held.connection else None
    in_transaction = await _write_in_transaction()
    after = [await _pid(), await _pid()]

    async def elsewhere() -> list[int]:
        return [await _pid() for _ in range(5)]

    task = asyncio.create_task(elsewhere())
    mine = [await _pid() for _ in range(5)]
    return {"before": before, "held": held_pid, "transaction": in_transaction, "after": after,
            "task": await task, "mine": mine}


@get("/api/v1/probe-read-write-read", include_in_schema=False, guards=[])
async def probe_read_write_read() -> list[int]:
    return [await _pid(), await _write_in_transaction(), await _pid()]


async def test_a_requests_reads_share_one_connection_and_a_transaction_takes_its_own():
    async with client(extra_handlers=(probe_connection,), db_pool=True) as c:
        r = await c.get("/api/v1/probe-connection")
        assert r.status_code == 200, r.text
        got = r.json()
    assert len(set(got["before"])) == 1 and len(set(got["after"])) == 1
    assert got["held"] == got["before"][0]  # checked out once, kept between statements
    assert len(set(got["mine"])) == 1
    # the task the request started never used the request's connection at the same time
    # (asyncpg would have refused: "another operation is in progress")
    assert len(got["task"]) == 5


async def test_more_requests_than_pooled_connections_each_opening_a_transaction_all_finish():
    """Each request reads (holding a connection), then opens a transaction (another one): with
    more requests than the pool's 10 connections, holding the first while waiting for the
    second would starve the pool. The request's connection goes back before a transaction."""
    async with live_portal(extra_handlers=(probe_read_write_read,), db_pool=True) as base, \
            httpx.AsyncClient(base_url=base, timeout=HANG_GUARD) as c:
        answers = await asyncio.wait_for(asyncio.gather(
            *(c.get("/api/v1/probe-read-write-read") for _ in range(25))), HANG_GUARD)
    assert [r.status_code for r in answers] == [200] * 25


async def _clerk_with_token() -> tuple[dict, str]:
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq)
    clerk = await make_user(office, ["dealer_clerk"], username="clerk")
    await make_user(hq, ["hq_admin"], username="admin")
    return clerk, await api_token(clerk)


async def _until(condition) -> None:
    """Wait for what the app's event loop does on its own (a notification heard, a lost
    connection reported)."""
    while not condition():
        await asyncio.sleep(0.01)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


async def test_who_is_asking_is_remembered_one_query_less_per_request():
    _, token = await _clerk_with_token()
    async with client() as c:
        assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        with count_queries() as known:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        idcache.forget()
        with count_queries() as asked:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
    assert asked.count == known.count + 1


async def _keep_alive_writes(monkeypatch, sql: str, calls) -> list:
    """Runs `calls` concurrently; returns the keep-alive writes `sql` they made."""
    written: list = []
    real = auth.raw_fetch

    async def spy(statement, *args):
        if statement == sql:
            written.append(args)
        return await real(statement, *args)

    monkeypatch.setattr(auth, "raw_fetch", spy)
    results = await asyncio.gather(*calls)
    assert all(result is not None for result in results)
    return written


async def test_concurrent_calls_of_a_token_idle_for_a_minute_write_its_use_once(monkeypatch):
    """16 concurrent calls each read the token as unused for two minutes: one writes that it is
    in use; the others do not queue behind its row lock to write it again."""
    _, token = await _clerk_with_token()
    await ApiToken.update({ApiToken.last_used_at: clock.now() - timedelta(minutes=2)}, force=True)
    idcache.forget()
    written = await _keep_alive_writes(monkeypatch, idcache.TOKEN_USED,
                                       [auth.actor_for_api_token(token) for _ in range(16)])
    assert len(written) == 1
    row = await ApiToken.select(ApiToken.last_used_at).first()
    assert (clock.now() - row["last_used_at"]).total_seconds() < 60
    # a minute later the next call writes again
    later = clock.now() + timedelta(seconds=auth.KEEP_ALIVE_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    written = await _keep_alive_writes(monkeypatch, idcache.TOKEN_USED,
                                       [auth.actor_for_api_token(token)])
    assert len(written) == 1


async def test_concurrent_pages_of_a_session_seen_a_minute_ago_write_it_once(monkeypatch):
    clerk, _ = await _clerk_with_token()
    session = await auth.start_session(await actor_of(clerk))
    await UserSession.update({UserSession.last_seen_at: clock.now() - timedelta(minutes=2)},
                             force=True)
    idcache.forget()
    settings = test_settings()
    written = await _keep_alive_writes(
        monkeypatch, idcache.SESSION_SEEN,
        [auth.resume_session(settings, session.token) for _ in range(16)])
    assert len(written) == 1
    row = await UserSession.select(UserSession.last_seen_at).first()
    assert (clock.now() - row["last_seen_at"]).total_seconds() < 60


async def test_a_token_revoked_in_the_portal_stops_at_once_though_it_was_remembered():
    _, token = await _clerk_with_token()
    async with client() as c:
        for _ in range(2):
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        await login(c, "clerk")
        page = await c.get("/tokens")
        token_id = (await ApiToken.select(ApiToken.id).first())["id"]
        r = await c.post(f"/tokens/{token_id}/revoke", data={"_csrf": csrf_from(page.text)})
        assert r.status_code == 303
        assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 401


async def test_a_deactivation_by_another_process_is_heard_and_forgotten():
    """A change made outside this process (here: a connection of its own, as another worker
    or an operator's psql would) reaches the process as the database's notification."""
    clerk, token = await _clerk_with_token()
    async with client() as c:
        assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        with count_queries() as known:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        before = idcache.generation()
        other = await asyncpg.connect(db.engine().config["dsn"])
        try:
            await other.execute("UPDATE portal_user SET active = false WHERE id = $1", clerk["id"])
        finally:
            await other.close()
        await asyncio.wait_for(_until(lambda: idcache.generation() != before), HANG_GUARD)
        r = await c.get("/api/v1/me", headers=_bearer(token))
    assert known.count == 0  # /api/v1/me reads nothing but who is asking: it was remembered
    assert r.status_code == 401


async def test_changes_in_this_process_forget_at_once(monkeypatch):
    clerk, token = await _clerk_with_token()
    # deaf to the database's notifications: what forgets here is the process itself
    monkeypatch.setattr(idcache, "_heard", lambda: None)
    async with client() as c:
        for change, undo in [
            (User.update({User.active: False}).where(User.id == clerk["id"]),
             User.update({User.active: True}).where(User.id == clerk["id"])),
            (raw_fetch("UPDATE organisation SET active = false WHERE id = $1",
                       clerk["org"]["id"]),
             raw_fetch("UPDATE organisation SET active = true WHERE id = $1",
                       clerk["org"]["id"])),
            (raw_fetch("UPDATE api_token SET revoked_at = now()"),
             raw_fetch("UPDATE api_token SET revoked_at = NULL")),
        ]:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
            await change
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 401
            await undo


def test_which_statements_make_the_process_forget():
    forgets = ['UPDATE "portal_user" SET "roles" = $1 WHERE "portal_user"."id" = $2',
               "DELETE FROM user_session WHERE id = $1",
               'INSERT INTO "manager_coverage" ("user", "organisation") VALUES ($1, $2)',
               "TRUNCATE organisation CASCADE",
               "update api_token set revoked_at = now()"]
    keeps = [idcache.SESSION_SEEN, idcache.TOKEN_USED, "INSERT INTO return_batch (id) VALUES (1)",
             'UPDATE "organisation_note" SET x = 1']
    for sql in forgets:
        before = idcache.generation()
        idcache.noticed_write(sql)
        assert idcache.generation() == before + 1, sql
    for sql in keeps:
        before = idcache.generation()
        idcache.noticed_write(sql)
        assert idcache.generation() == before, sql


async def test_a_row_read_before_a_change_is_not_kept_after_it():
    _, token = await _clerk_with_token()
    async with client():  # listening
        since = idcache.generation()
        idcache.forget()  # a change committed while the row was being read
        idcache.put("tX", {"actor": None}, since)
        assert idcache.get("tX") is None
        idcache.put("tX", {"actor": None}, idcache.generation())
        assert idcache.get("tX") is not None
        assert await auth.actor_for_api_token(token) is not None


async def test_a_process_that_stops_listening_keeps_nothing():
    _, token = await _clerk_with_token()
    async with client() as c:
        assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        (listener,) = idcache._listeners
        await raw_fetch("SELECT pg_terminate_backend($1)", listener.get_server_pid())
        await asyncio.wait_for(_until(lambda: not idcache._listeners), HANG_GUARD)
        with count_queries() as asked:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
        with count_queries() as again:
            assert (await c.get("/api/v1/me", headers=_bearer(token))).status_code == 200
    assert again.count == asked.count  # the identity is read every time


async def test_a_served_app_freezes_its_start_up_heap_and_collects_less_often():
    import gc

    from portal.app import GC_THRESHOLDS

    defaults = gc.get_threshold()
    try:
        async with client(gc_tuned=True) as c:
            assert (await c.get("/login")).status_code == 200
            assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*defaults)
