"""The demo has closed last month through the services (R26): every dealer has a statement
with its tiered rebate, the offices running a repair point its fee (R24), Jiangsu and Tianjin
the credit of their decided batches (R13) and freight (R11); the statements stand in every
state (prepared, fees reviewed, approved, paid by bank transfer, R27), the journal agrees, and
the README walkthrough (CS reviews Jiangsu's fees, hq.finance2 approves and pays) works on any
day of the month."""
from datetime import datetime

import pytest

from portal import auth, clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from settlements import close, journal, payouts, statements

CHINA = clock.CHINA
DAYS = [datetime(2027, 3, 1, 9, 30, tzinfo=CHINA), datetime(2026, 12, 10, 15, 0, tzinfo=CHINA),
        datetime(2026, 12, 20, 11, 0, tzinfo=CHINA), datetime(2027, 2, 28, 16, 0, tzinfo=CHINA),
        datetime(2026, 12, 31, 20, 0, tzinfo=CHINA), datetime(2027, 1, 2, 0, 20, tzinfo=CHINA)]


async def _actor(username: str):
    row = (await raw_fetch("SELECT id FROM portal_user WHERE username = $1", username))[0]
    return await auth.load_actor(row["id"])


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_r26_demo_closed_last_month_with_statements_in_every_state(moment):
    with clock.frozen(moment):
        await _load_demo()
        await _load_demo()  # idempotent
        last_month = clock.previous_month(clock.china_today())
        assert (await raw_fetch("SELECT count(*) AS n FROM rebate_policy"))[0]["n"] == 1
        dealers = (await raw_fetch("SELECT count(*) AS n FROM organisation WHERE active "
                                   "AND kind IN ('office', 'agent', 'store')"))[0]["n"]
        per_status = {r["status"]: r["n"] for r in await raw_fetch(
            "SELECT status, count(*) AS n FROM statement WHERE period = $1 GROUP BY status",
            last_month)}
        assert sum(per_status.values()) == dealers
        assert per_status["draft"] and per_status["approved"] and per_status["paid"]
        reviewed = await raw_fetch("SELECT 1 FROM statement WHERE status = 'draft' "
                                   "AND fees_reviewed_by IS NOT NULL")
        assert reviewed  # CS reviewed the fees, finance has still to approve
        assert await raw_fetch("SELECT 1 FROM payout WHERE method = 'bank' AND status = 'paid'")
        # closing again changes nothing (the demo closed it)
        finance = await _actor("hq.finance")
        lines = (await raw_fetch("SELECT count(*) AS n FROM statement_line"))[0]["n"]
        assert await close.close_period(actor=finance, period=last_month) == per_status["draft"]
        assert (await raw_fetch("SELECT count(*) AS n FROM statement"))[0]["n"] == dealers
        assert (await raw_fetch("SELECT count(*) AS n FROM statement_line"))[0]["n"] == lines
        kinds = {r["kind"]: r["n"] for r in await raw_fetch(
            "SELECT kind, count(*) AS n FROM statement_line GROUP BY kind")}
        assert kinds["repair_fee"] == 4  # the four demo points, each run by its office
        assert kinds["rebate"] >= 21  # every office and agent reaches a paying tier
        assert kinds["credit"] >= 2 and kinds["freight"] >= 2  # decided returns (R13, R11)
        # a rebate is the tier's rate on the whole month (half up), from the demo's policy
        row = (await raw_fetch(
            "SELECT l.amount_fen, v.amount_fen AS volume FROM statement_line l "
            "JOIN purchase_volume v ON v.id = l.source_id::int WHERE l.kind = 'rebate' "
            "ORDER BY v.amount_fen DESC LIMIT 1"))[0]
        rate = 300 if row["volume"] >= 50_000_000 else 200 if row["volume"] >= 20_000_000 else 100
        assert row["amount_fen"] == (row["volume"] * rate + 5_000) // 10_000
        accounts = (await raw_fetch("SELECT count(DISTINCT dealer) AS n FROM payout_account"))[0]
        assert accounts["n"] == dealers
        assert not await journal.unreconciled_statements(last_month)
        assert not await journal.unbalanced_entries()
        # the README walkthrough: Jiangsu's statement waits with its fee line
        js = (await raw_fetch(
            "SELECT s.id, s.status, s.fees_reviewed_by FROM statement s JOIN organisation o "
            "ON o.id = s.dealer WHERE o.name_en = 'Jiangsu Office' AND s.period = $1",
            last_month))[0]
        assert js["status"] == "draft" and js["fees_reviewed_by"] is None
        kinds_js = {r["kind"] for r in await statements.statement_lines(js["id"])}
        assert {"rebate", "repair_fee", "credit", "freight"} <= kinds_js
        await statements.review_fees(actor=await _actor("hq.cs"), statement_id=js["id"])
        second = await _actor("hq.finance2")
        assert await statements.approve_statement(actor=second, statement_id=js["id"]) == "approved"
        await payouts.record_bank_payment(actor=second, statement_id=js["id"],
                                          reference="WALKTHROUGH-1")
        assert not await journal.unreconciled_statements(last_month)
