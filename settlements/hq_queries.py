"""The HQ data behind statements, for finance, the HQ administrator and the auditor (the pages
and the API twins check who reads): adjustments and charges, a month's purchase volumes, credit
prices (R13), payout accounts (R27) and rebate policies (R26), each with its history. One query
each."""
from __future__ import annotations

import json
from datetime import date

from portal.db import raw_fetch
from settlements.queries import PAGE_SIZE


async def list_adjustments(status: str | None = None, after_id: int | None = None,
                           limit: int = PAGE_SIZE) -> list[dict]:
    """Adjustments and charges with who asked and who decided; one query."""
    args: list = []
    where = ["TRUE"]
    if status in ("requested", "approved", "refused"):
        args.append(status)
        where.append(f"a.status = ${len(args)}")
    if after_id:
        args.append(after_id)
        where.append(f"a.id < ${len(args)}")
    return await raw_fetch(
        "SELECT a.*, o.name AS dealer_name, o.name_en AS dealer_name_en, "
        "ur.display_name AS requested_name, ud.display_name AS decided_name, "
        "(SELECT l.statement FROM statement_line l WHERE l.source_type = 'adjustment' "
        " AND l.source_id = a.id::text LIMIT 1) AS statement_id "
        "FROM adjustment a JOIN organisation o ON o.id = a.dealer "
        "JOIN portal_user ur ON ur.id = a.requested_by "
        "LEFT JOIN portal_user ud ON ud.id = a.decided_by "
        f"WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT {int(limit)}", *args)


async def volumes_of(period: date, limit: int = 200) -> list[dict]:
    """The purchase volumes imported for a month, with the rebate line each became."""
    return await raw_fetch(
        "SELECT v.id, v.dealer, v.amount_fen, v.imported_at, o.name AS dealer_name, "
        "o.name_en AS dealer_name_en, u.display_name AS imported_name, l.statement AS statement_id "
        "FROM purchase_volume v JOIN organisation o ON o.id = v.dealer "
        "LEFT JOIN portal_user u ON u.id = v.imported_by "
        "LEFT JOIN statement_line l ON l.source_type = 'purchase_volume' "
        "AND l.source_id = v.id::text "
        f"WHERE v.period = $1 ORDER BY v.id DESC LIMIT {int(limit)}", period.replace(day=1))


async def credit_prices(limit: int = 300) -> list[dict]:
    """R13: every credit price with its history (newest first per product)."""
    return await raw_fetch(
        "SELECT c.id, c.product, c.price_fen, c.effective_from, c.reason, c.created_at, "
        "p.model, p.name_zh, p.name_en, u.display_name AS created_name "
        "FROM credit_price c JOIN product p ON p.id = c.product "
        "LEFT JOIN portal_user u ON u.id = c.created_by "
        f"ORDER BY p.model, c.effective_from DESC LIMIT {int(limit)}")


async def payout_accounts(limit: int = 300) -> list[dict]:
    """Where each dealer is paid: every row (the newest per dealer applies), newest first."""
    return await raw_fetch(
        "SELECT a.id, a.dealer, a.stripe_account, a.bank_name, a.bank_account, a.created_at, "
        "o.name AS dealer_name, o.name_en AS dealer_name_en, u.display_name AS created_name, "
        "a.id = max(a.id) OVER (PARTITION BY a.dealer) AS current "
        "FROM payout_account a JOIN organisation o ON o.id = a.dealer "
        "LEFT JOIN portal_user u ON u.id = a.created_by "
        f"ORDER BY a.id DESC LIMIT {int(limit)}")


def _policy(row: dict) -> dict:
    """A rebate policy row with its tiers decoded and ordered by the amount they start at."""
    tiers = row["tiers"]
    tiers = json.loads(tiers) if isinstance(tiers, str) else tiers
    return row | {"tiers": sorted(tiers, key=lambda t: t["from_fen"])}


_POLICY = ("SELECT p.id, p.effective_from, p.tiers, p.reason, p.created_at, p.created_by, "
           "u.display_name AS created_name FROM rebate_policy p "
           "LEFT JOIN portal_user u ON u.id = p.created_by ")


async def rebate_policies(limit: int = 120) -> list[dict]:
    """R26: every rebate policy, newest first, with its author (append-only: the rows are the
    history). Two policies from the same month: the later one set is the one that applies."""
    return [_policy(r) for r in await raw_fetch(
        f"{_POLICY} ORDER BY p.effective_from DESC, p.id DESC LIMIT {int(limit)}")]


async def rebate_policy_in_force(month: date) -> dict | None:
    """The policy a month's purchases are rebated by: the latest from that month or before."""
    rows = await raw_fetch(f"{_POLICY} WHERE p.effective_from <= $1 "
                           "ORDER BY p.effective_from DESC, p.id DESC LIMIT 1",
                           month.replace(day=1))
    return _policy(rows[0]) if rows else None
