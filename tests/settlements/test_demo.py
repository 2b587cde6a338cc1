"""The demo lets finance close last month at once: every dealer gets a statement with its
tiered rebate (R26), and the offices running a repair point its fee (R24)."""
from portal import auth, clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from settlements import close


async def test_r26_demo_month_closes_into_statements_with_rebates_and_fees():
    await _load_demo()
    await _load_demo()  # idempotent
    assert (await raw_fetch("SELECT count(*) AS n FROM rebate_policy"))[0]["n"] == 1
    finance = (await raw_fetch("SELECT id FROM portal_user WHERE username = 'hq.finance'"))[0]
    actor = await auth.load_actor(finance["id"])
    last_month = clock.previous_month(clock.china_today())
    dealers = (await raw_fetch("SELECT count(*) AS n FROM organisation WHERE active "
                               "AND kind IN ('office', 'agent', 'store')"))[0]["n"]
    assert await close.close_period(actor=actor, period=last_month) == dealers
    kinds = {r["kind"]: r["n"] for r in await raw_fetch(
        "SELECT kind, count(*) AS n FROM statement_line GROUP BY kind")}
    assert kinds["repair_fee"] == 4  # the four demo points, each run by its office
    assert kinds["rebate"] >= 21  # every office and agent reaches a paying tier
    # a rebate is the tier's rate on the whole month (half up), from the demo's policy
    row = (await raw_fetch(
        "SELECT l.amount_fen, v.amount_fen AS volume FROM statement_line l "
        "JOIN purchase_volume v ON v.id = l.source_id::int WHERE l.kind = 'rebate' "
        "ORDER BY v.amount_fen DESC LIMIT 1"))[0]
    rate = 300 if row["volume"] >= 50_000_000 else 200 if row["volume"] >= 20_000_000 else 100
    assert row["amount_fen"] == (row["volume"] * rate + 5_000) // 10_000
    accounts = (await raw_fetch("SELECT count(DISTINCT dealer) AS n FROM payout_account"))[0]["n"]
    assert accounts == dealers
