"""Demo data for statements, played through the services with the clock set to each step's
moment (`portal.demo.at`). Idempotent: skipped once a rebate policy exists.

HQ data since the demo's first day: a tiered rebate policy from last month, credit prices for
the catalogue, a bank account for every dealer; finance records last month's purchases. Then,
earlier this month, `hq.finance` closed last month (one statement per dealer: rebate, repair
fees, credits from decided returns, freight) and the statements moved on: customer service
reviewed some fees, `hq.finance2` approved some and paid some by bank transfer. The Jiangsu
office's statement is left prepared for the README walkthrough (review, approve, pay)."""
from __future__ import annotations

from datetime import timedelta

from portal import clock
from portal.db import raw_fetch
from portal.demo import actors, at, epoch, orgs, recent
from settlements import close, payouts, rules, service, statements
from settlements.tables import RebatePolicy

# from ¥50,000 in a month 1 %, from ¥200,000 2 %, from ¥500,000 3 % on the whole amount
TIERS = [rules.Tier(0, 0), rules.Tier(5_000_000, 100), rules.Tier(20_000_000, 200),
         rules.Tier(50_000_000, 300)]
# credit per unit by product category (fen)
CREDIT_FEN = {"ceiling": 8_500, "recessed_ballast": 2_200, "tube": 1_200, "plastic": 0,
              "cfl": 900}
# Last month's statements after the close: which office's statement reached which state.
REVIEWED = ("gd",)  # fees reviewed by CS, waiting for finance's approval
APPROVED = ("bj", "sh", "zj")  # approved, waiting to be paid
PAID = ("sc", "tj", "ln", "ah", "gx", "hb")  # paid by bank transfer
# js (fees to review), and every other dealer stay prepared (draft)


async def load_settlements_demo() -> bool:
    if await RebatePolicy.count():
        return False
    people, ids = await actors(), await orgs()
    if "hq.finance" not in people:
        return False
    now = clock.now()
    last_month = clock.previous_month(clock.china_today(now))
    dealers = await raw_fetch("SELECT id, kind FROM organisation "
                              "WHERE kind IN ('office', 'agent', 'store') AND active ORDER BY id")
    async with at(epoch() + timedelta(hours=2)):
        await _hq_data(people, dealers, last_month)
    async with at(recent(now, 0.05)):
        # Purchases vary by dealer so the tiers show: offices and agents buy more than stores.
        for d in dealers:
            amount = (18_000_000 + (d["id"] * 7_919_311) % 45_000_000 if d["kind"] != "store"
                      else 5_000_000 + (d["id"] * 3_571_429) % 6_000_000)
            await service.record_volume(actor=people["hq.finance"], period=last_month,
                                        dealer_id=d["id"], amount_fen=amount)
    async with at(recent(now, 0.1)):
        await close.close_period(actor=people["hq.finance"], period=last_month)
    await _move_statements(people, ids, last_month, now)
    return True


async def _hq_data(people: dict, dealers: list[dict], last_month) -> None:
    await service.set_rebate_policy(actor=people["hq.admin"], effective_from=last_month,
                                    tiers=TIERS, reason="经销商返利政策（演示）")
    products = await raw_fetch("SELECT p.id, c.code FROM product p "
                               "JOIN product_category c ON c.id = p.category ORDER BY p.id")
    for p in products:
        await service.set_credit_price(actor=people["hq.admin"], product_id=p["id"],
                                       price_fen=CREDIT_FEN[p["code"]],
                                       effective_from=clock.china_today(), reason="价格表（演示）")
    for d in dealers:
        await payouts.set_payout_account(actor=people["hq.finance"], dealer_id=d["id"],
                                         bank_name="中国工商银行",
                                         bank_account=f"6222 0210 {d['id']:08d}")


async def _move_statements(people: dict, ids: dict, last_month, now) -> None:
    rows = {r["dealer"]: r for r in await raw_fetch(
        "SELECT s.id, s.dealer, s.total_fen, EXISTS (SELECT 1 FROM statement_line l "
        "WHERE l.statement = s.id AND l.kind = 'repair_fee') AS has_fees "
        "FROM statement s WHERE s.period = $1", last_month)}
    steps = [(prefix, "review") for prefix in REVIEWED + APPROVED + PAID] + \
            [(prefix, "approve") for prefix in APPROVED + PAID] + \
            [(prefix, "pay") for prefix in PAID]
    moments = [recent(now, 0.15 + 0.7 * i / len(steps)) for i in range(len(steps))]
    for (prefix, step), moment in zip(steps, moments, strict=True):
        statement = rows.get(ids[prefix])
        if statement is None:
            continue
        async with at(moment):
            if step == "review" and statement["has_fees"]:
                await statements.review_fees(actor=people["hq.cs"], statement_id=statement["id"])
            elif step == "approve":
                await statements.approve_statement(actor=people["hq.finance2"],
                                                   statement_id=statement["id"])
            elif step == "pay" and statement["total_fen"] > 0:
                await payouts.record_bank_payment(
                    actor=people["hq.finance2"], statement_id=statement["id"],
                    reference=f"ICBC{last_month:%Y%m}{statement['id']:05d}")
