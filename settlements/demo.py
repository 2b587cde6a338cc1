"""Demo data for statements: a tiered rebate policy, credit prices for the catalogue, last
month's purchase volumes for every dealer and bank accounts to pay them, so `hq.finance` can
close last month on the first visit. Idempotent (skipped once a rebate policy exists)."""
from __future__ import annotations

import json
from datetime import date

from portal import clock
from portal.db import raw_fetch
from settlements.tables import RebatePolicy

SINCE = date(2026, 1, 1)  # the demo's data has been in force all year
# from ¥50,000 in a month 1 %, from ¥200,000 2 %, from ¥500,000 3 % on the whole amount
TIERS = [{"from_fen": 0, "rate_bp": 0}, {"from_fen": 5_000_000, "rate_bp": 100},
         {"from_fen": 20_000_000, "rate_bp": 200}, {"from_fen": 50_000_000, "rate_bp": 300}]
# credit per unit by product category (fen)
CREDIT_FEN = {"ceiling": 8_500, "recessed_ballast": 2_200, "tube": 1_200, "plastic": 0,
              "cfl": 900}


async def load_settlements_demo() -> bool:
    if await RebatePolicy.count():
        return False
    now = clock.now()
    last_month = clock.previous_month(clock.china_today())
    async with RebatePolicy._meta.db.transaction():
        await raw_fetch("INSERT INTO rebate_policy (effective_from, tiers, reason, created_at) "
                        "VALUES ($1, $2::jsonb, 'demo: 2026 dealer policy', $3)",
                        SINCE, json.dumps(TIERS), now)
        await raw_fetch(
            "INSERT INTO credit_price (product, price_fen, effective_from, reason, created_at) "
            "SELECT p.id, (($1::jsonb) ->> c.code)::bigint, $2, 'demo: 2026 price list', $3 "
            "FROM product p JOIN product_category c ON c.id = p.category", json.dumps(CREDIT_FEN),
            SINCE, now)
        # Purchases vary by dealer so the tiers show: offices and agents buy more than stores.
        await raw_fetch(
            "INSERT INTO purchase_volume (period, dealer, amount_fen, imported_at) "
            "SELECT $1, o.id, CASE WHEN o.kind IN ('office', 'agent') "
            "THEN 18000000 + (o.id * 7919311) % 45000000 "
            "ELSE 2000000 + (o.id * 3571429) % 6000000 END, $2 "
            "FROM organisation o WHERE o.kind IN ('office', 'agent', 'store') AND o.active",
            last_month, now)
        await raw_fetch(
            "INSERT INTO payout_account (dealer, bank_name, bank_account, created_at) "
            "SELECT o.id, '中国工商银行', '6222 0210 ' || lpad(o.id::text, 8, '0'), $1 "
            "FROM organisation o WHERE o.kind IN ('office', 'agent', 'store') AND o.active", now)
    return True
