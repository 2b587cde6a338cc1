"""Period close (R13, R26): one statement per dealer customer with its rebate, the repair fees
of the points it runs, credits from decided returns, freight reimbursements, approved
adjustments and charges, and any negative balance carried from an earlier statement.

Set-based: a fixed number of queries however many dealers (settlements/close_sql.py). The data
work is one transaction, so a failed close leaves nothing half done; running it twice changes
nothing; items that come after a dealer's statement of the month is approved go to the next
period. A long close runs in the background (`start_close`) and writes its progress on a
connection of its own, so a reader sees the bar move while the data is not yet committed.
"""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import date, datetime, time, timedelta

import asyncpg

from portal import audit, clock
from portal.actor import Actor
from portal.db import engine, in_transaction, raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation
from settlements import close_sql as sql

log = logging.getLogger(__name__)
LOCK_CLASS = 26  # pg advisory lock (LOCK_CLASS, yyyymm): one close of a month at a time
STALE_AFTER = timedelta(minutes=1)
_tasks: dict[int, asyncio.Task] = {}  # keep background closes referenced until they end


def step_count() -> int:
    """The line kinds (with those registered from above, close_sql.register_source), then the
    totals."""
    return len(sql.STEPS) + 1


def _check(actor: Actor, period: date) -> date:
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")
    period = period.replace(day=1)
    if period >= clock.china_today().replace(day=1):
        raise RuleViolation("Only a past month can be closed.")
    return period


def period_end(period: date) -> datetime:
    """The instant a month ends in China time (exclusive)."""
    return datetime.combine(clock.next_month(period), time(0), clock.CHINA)


class _Progress:
    """Writes a run's progress on its own connection, committed at once (outside the close's
    transaction), so the page shows it moving. No run id: writes nothing."""

    def __init__(self, run_id: int | None):
        self.run_id = run_id
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> _Progress:
        if self.run_id is not None:
            dsn = os.environ.get("PORTAL_DATABASE_URL") or engine().config["dsn"]
            self.conn = conn = await asyncpg.connect(dsn)
            await conn.execute("UPDATE period_close SET steps = $2 WHERE id = $1",
                               self.run_id, step_count())
        return self

    async def step(self, number: int) -> None:
        if self.conn is not None:
            await self.conn.execute("UPDATE period_close SET step = $2 WHERE id = $1",
                                    self.run_id, number)

    async def failed(self, error: BaseException) -> None:
        if self.conn is not None:
            await self.conn.execute(
                "UPDATE period_close SET status = 'failed', error = $2, finished_at = $3 "
                "WHERE id = $1", self.run_id, (str(error) or type(error).__name__)[:2000],
                clock.now())

    async def __aexit__(self, *exc) -> None:
        if self.conn is not None:
            await self.conn.close()


async def close_period(*, actor: Actor, period: date, run_id: int | None = None) -> int:
    """Close a month for every dealer at once. Returns the number of draft statements of the
    month. With `run_id` (a PeriodClose row), reports progress and marks the run done or failed."""
    period = _check(actor, period)
    ends, today = period_end(period), clock.china_today()
    async with _Progress(run_id) as progress:
        try:
            count = await in_transaction(
                lambda: _close(actor, period, ends, today, progress, run_id))
        except BaseException as exc:
            await progress.failed(exc)
            raise
    return count


async def _close(actor: Actor, period: date, ends: datetime, today: date,
                 progress: _Progress, run_id: int | None) -> int:
    await raw_fetch("SELECT pg_advisory_xact_lock($1, $2)", LOCK_CLASS,
                    period.year * 100 + period.month)
    mark = (await raw_fetch(sql.LOCK_DRAFTS, period))[0]["mark"]
    base = (period, actor.user_id, clock.now(), ends, today)
    for number, (_name, statement, params) in enumerate(sql.STEPS, start=1):
        await raw_fetch(statement, *base[:params])
        await progress.step(number)
    await raw_fetch(sql.TOTALS, period, actor.user_id, mark)
    summary = (await raw_fetch(sql.SUMMARY, period, ends, today))[0]
    await audit.record(actor=actor, object_type="period", object_id=period.isoformat(),
                       action="closed", after={"draft_statements": summary["drafts"],
                                               "credits_waiting": list(summary["waiting"])})
    if run_id is not None:  # done only if the data commits with it
        await raw_fetch("UPDATE period_close SET status = 'done', step = $2, statements = $3, "
                        "finished_at = $4 WHERE id = $1", run_id, step_count(), summary["drafts"],
                        clock.now())
    return summary["drafts"]


@transactional
async def _insert_run(actor: Actor, period: date, now: datetime) -> int:
    # A run left 'running' whose close no longer holds the month's lock was interrupted
    # (the process stopped): mark it so, or the month could never be closed again.
    await raw_fetch(
        "UPDATE period_close SET status = 'failed', error = 'Interrupted.', "
        "finished_at = $3 WHERE period = $1 AND status = 'running' AND started_at < $2 "
        "AND pg_try_advisory_xact_lock($4, $5)", period, now - STALE_AFTER, now,
        LOCK_CLASS, period.year * 100 + period.month)
    run_id = (await raw_fetch(
        "INSERT INTO period_close (period, status, step, steps, started_by, started_at) "
        "VALUES ($1, 'running', 0, $2, $3, $4) RETURNING id",
        period, step_count(), actor.user_id, now))[0]["id"]
    await audit.record(actor=actor, object_type="period", object_id=period.isoformat(),
                       action="close_started", after={"run": run_id})
    return run_id


async def start_close(*, actor: Actor, period: date) -> int:
    """Start closing a month in the background; returns the run id (see `close_progress`).
    One run per month at a time (a unique index): a second start while one runs is refused."""
    period = _check(actor, period)
    now = clock.now()
    try:
        run_id = await _insert_run(actor, period, now)
    except asyncpg.exceptions.UniqueViolationError:
        raise Conflict("This month is already being closed.") from None
    _tasks[run_id] = asyncio.create_task(_run(actor, period, run_id))
    return run_id


async def _run(actor: Actor, period: date, run_id: int) -> None:
    try:
        await close_period(actor=actor, period=period, run_id=run_id)
    except Exception:  # recorded on the run; the log keeps the traceback
        log.exception("closing %s (run %s) failed", period, run_id)
    finally:
        _tasks.pop(run_id, None)


async def close_progress(run_id: int) -> dict:
    """id, period, status (running|done|failed), step, steps, statements, error, started_by,
    started_at, finished_at, and once the run ended `credits_waiting`: the decided batches
    still waiting for a credit price (R13, see `credits_waiting`)."""
    rows = await raw_fetch("SELECT id, period, status, step, steps, statements, error, "
                           "started_by, started_at, finished_at FROM period_close WHERE id = $1",
                           run_id)
    if not rows:
        raise NotFound("Not found.")
    run = rows[0]
    # while it runs the answer would change at commit anyway; spare the polling page the work
    run["credits_waiting"] = ([] if run["status"] == "running"
                              else await credits_waiting(period=run["period"]))
    return run


async def wait_close(run_id: int) -> dict:
    """Wait for a background close of this process to end (tests, CLI); its final progress."""
    task = _tasks.get(run_id)
    if task is not None:
        await asyncio.shield(task)
    return await close_progress(run_id)


async def credits_waiting(*, period: date) -> list[dict]:
    """R13: decided batches of the month or before, in no statement, with credited products
    that have no credit price yet (batch, number, dealer, dealer_name, decided_at,
    unpriced_models). They are credited by the first close after HQ prices them."""
    return await raw_fetch(sql.CREDITS_WAITING, period_end(period.replace(day=1)),
                           clock.china_today())
