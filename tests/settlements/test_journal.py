"""R26/R27 journal: every entry balances (the database refuses the commit otherwise), entries
are append-only (a correction is a reversal, R20), the journal reconciles with the approved
statements, and a dealer's balance is the sum of its approved unpaid statements."""
from datetime import datetime

import asyncpg
import pytest

from portal import clock
from portal.db import engine, raw_fetch
from settlements import adjustments, close, journal, service
from settlements import statements as review
from settlements.tables import JournalEntry
from tests.settlements.close_factory import (
    CHINA,
    DECEMBER,
    DECEMBER_10,
    JANUARY_5,
    NOVEMBER,
    settlement_network,
    statement_of,
)

OCTOBER = NOVEMBER.replace(month=10)


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(JournalEntry._meta.db.config["dsn"])


async def _adjust(net: dict, at: datetime, kind: str, amount_fen: int) -> None:
    with clock.frozen(at):
        made = await adjustments.request_adjustment(
            actor=net["actors"]["finance"], dealer_id=net["office"]["id"], kind=kind,
            amount_fen=amount_fen, reason=f"{kind} {amount_fen}")
        await adjustments.decide_adjustment(actor=net["actors"]["finance2"], adjustment_id=made,
                                            approve=True)


async def _close_and_approve(net: dict, period, at: datetime) -> dict:
    with clock.frozen(at):
        await close.close_period(actor=net["actors"]["finance"], period=period)
        statement = await statement_of(net["office"]["id"], period)
        await review.approve_statement(actor=net["actors"]["finance2"],
                                       statement_id=statement["id"])
    return await statement_of(net["office"]["id"], period)


async def _three_months() -> tuple[dict, list[dict]]:
    """October owed ¥50; November a ¥500 charge (negative); December a ¥2,000 rebate with
    November's -¥500 carried."""
    net = await settlement_network(fee_fen=0)
    await _adjust(net, datetime(2026, 10, 20, 10, tzinfo=CHINA), "adjustment", 5000)
    october = await _close_and_approve(net, OCTOBER, datetime(2026, 11, 5, 10, tzinfo=CHINA))
    await _adjust(net, datetime(2026, 11, 20, 10, tzinfo=CHINA), "charge", -50_000)
    november = await _close_and_approve(net, NOVEMBER, DECEMBER_10)
    await service.record_volume(actor=net["actors"]["finance"], period=DECEMBER,
                                dealer_id=net["office"]["id"], amount_fen=20_000_000)
    december = await _close_and_approve(net, DECEMBER, JANUARY_5)
    return net, [october, november, december]


async def test_r26_every_entry_balances_and_the_journal_reconciles_with_statements():
    net, months = await _three_months()
    assert [m["total_fen"] for m in months] == [5000, -50_000, 150_000]
    assert all(m["status"] == "approved" for m in months)
    assert await journal.unbalanced_entries() == []
    for period in (OCTOBER, NOVEMBER, DECEMBER):
        assert await journal.unreconciled_statements(period) == []
    entries = await raw_fetch("SELECT source_id FROM journal_entry WHERE source_type = "
                              "'statement' ORDER BY id")
    assert [e["source_id"] for e in entries] == [str(m["id"]) for m in months]


async def test_r26_dealer_balance_is_the_sum_of_approved_unpaid_statements():
    net, months = await _three_months()
    carried = {int(r["source_id"]) for r in await raw_fetch(
        "SELECT source_id FROM statement_line WHERE kind = 'carry'")}
    assert carried == {months[1]["id"]}
    # a carried statement is settled by the statement that carried it
    owed = sum(m["total_fen"] for m in months if m["id"] not in carried)
    assert await journal.dealer_balance(net["office"]["id"]) == owed == 155_000
    assert await journal.dealer_balance(net["sibling"]["id"]) == 0


async def test_r26_an_unbalanced_entry_is_refused_at_commit():
    await settlement_network(fee_fen=0)
    conn = await _connect()
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError, match="does not balance"):
            async with conn.transaction():
                entry = await conn.fetchval(
                    "INSERT INTO journal_entry (at, period, memo, source_type, source_id) "
                    "VALUES (now(), '2026-11-01', 'forged', 'manual', 'x') RETURNING id")
                await conn.execute("INSERT INTO journal_posting (entry, account, amount_fen) "
                                   "VALUES ($1, 'cash_bank', 100), ($1, 'rebate_expense', -99)",
                                   entry)
        assert await conn.fetchval("SELECT count(*) FROM journal_posting") == 0
        async with conn.transaction():  # the same entry balanced commits
            entry = await conn.fetchval(
                "INSERT INTO journal_entry (at, period, memo, source_type, source_id) "
                "VALUES (now(), '2026-11-01', 'manual', 'manual', 'y') RETURNING id")
            await conn.execute("INSERT INTO journal_posting (entry, account, amount_fen) "
                               "VALUES ($1, 'cash_bank', 100), ($1, 'rebate_expense', -100)",
                               entry)
        assert await conn.fetchval("SELECT count(*) FROM journal_posting") == 2
    finally:
        await conn.close()


async def test_r20_journal_rows_are_append_only_and_corrections_are_reversals():
    net, months = await _three_months()
    conn = await _connect()
    try:
        for sql in ("UPDATE journal_posting SET amount_fen = 0",
                    "DELETE FROM journal_posting", "UPDATE journal_entry SET memo = 'x'",
                    "DELETE FROM journal_entry"):
            with pytest.raises(asyncpg.exceptions.RaiseError):
                await conn.execute(sql)
    finally:
        await conn.close()
    december = (await raw_fetch("SELECT id FROM journal_entry WHERE source_id = $1",
                                str(months[2]["id"])))[0]["id"]
    async with engine().transaction():
        await journal.reverse(entry_id=december, memo="posted twice by mistake",
                              actor=net["actors"]["finance"])
    assert await journal.unbalanced_entries() == []
    # the reversal undoes December in the balance, and the journal no longer matches it
    assert await journal.dealer_balance(net["office"]["id"]) == 5000 - 50_000
    [off] = await journal.unreconciled_statements(DECEMBER)
    assert (off["id"], off["total_fen"], off["posted"]) == (months[2]["id"], 150_000, 0)
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):  # reversed once only
        async with engine().transaction():
            await journal.reverse(entry_id=december, memo="again", actor=None)
