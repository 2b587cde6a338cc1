"""Repeat-claim detection (R18, R13): a line whose product, manufacture date code and (where
both lines give one) purchase date match a line claimed earlier in another batch, of any
office, is flagged with that earlier line, so customer service inspects and decides with it in
view. Set-based: one statement per call whatever the number of batches and lines (the index
goods_return_line_product_date_code serves the look-up); a line is flagged once."""
from __future__ import annotations

from portal import clock
from portal.db import raw_fetch, transactional

# the earliest other claim of the same goods: another batch, filed before this one
FLAG = (
    "INSERT INTO goods_repeat_flag (return_line, earlier_line, flagged_at) "
    "SELECT l.id, e.id, $2 FROM return_line l JOIN return_batch lb ON lb.id = l.batch "
    "CROSS JOIN LATERAL (SELECT e.id FROM return_line e JOIN return_batch eb ON eb.id = e.batch "
    "WHERE e.product = l.product AND e.date_code = l.date_code AND e.batch <> l.batch "
    "AND eb.status NOT IN ('draft', 'withdrawn', 'refused') "
    "AND (e.purchase_date IS NULL OR l.purchase_date IS NULL OR e.purchase_date = l.purchase_date) "
    "AND (coalesce(eb.submitted_at, eb.created_at), e.id) "
    "< (coalesce(lb.submitted_at, lb.created_at), l.id) "
    "ORDER BY coalesce(eb.submitted_at, eb.created_at), e.id LIMIT 1) e "
    "WHERE l.batch = ANY($1::int[]) AND l.product IS NOT NULL AND l.date_code IS NOT NULL "
    "ON CONFLICT (return_line) DO NOTHING RETURNING return_line")


@transactional
async def flag_batches(batch_ids: list[int]) -> int:
    """Flag the repeat claims among these batches' lines (one statement); returns how many new."""
    if not batch_ids:
        return 0
    return len(await raw_fetch(FLAG, list(batch_ids), clock.now()))


async def flag_waiting() -> int:
    """The periodic job: every batch at head office awaiting inspection or decision."""
    waiting = await raw_fetch(
        "SELECT id FROM return_batch WHERE status IN ('dispatched', 'received')")
    return await flag_batches([r["id"] for r in waiting])


async def flags_of(batch_id: int) -> list[dict]:
    """The batch's flagged lines with the earlier claim: its batch, office, line, and what was
    decided on it (one query)."""
    return await raw_fetch(
        "SELECT f.return_line, l.line_no, p.model, l.date_code, l.purchase_date, "
        "e.id AS earlier_line, e.line_no AS earlier_line_no, eb.id AS earlier_batch, "
        "eb.number AS earlier_number, eo.name AS earlier_org_name, "
        "eo.name_en AS earlier_org_name_en, e.exchanged_qty AS earlier_exchanged, "
        "e.credited_qty AS earlier_credited, e.rejected_qty AS earlier_rejected "
        "FROM goods_repeat_flag f JOIN return_line l ON l.id = f.return_line "
        "JOIN product p ON p.id = l.product JOIN return_line e ON e.id = f.earlier_line "
        "JOIN return_batch eb ON eb.id = e.batch JOIN organisation eo ON eo.id = eb.organisation "
        "WHERE l.batch = $1 ORDER BY l.line_no", batch_id)



# --- customer service is told: batches at head office with repeat claims (R18) -----------------

# Not decided yet, so the queue is bounded by open work; the statuses as SQL constants.
OPEN = ("dispatched", "received")
_OPEN_FLAGGED = (
    "FROM goods_repeat_flag f JOIN return_line l ON l.id = f.return_line "
    "JOIN return_batch b ON b.id = l.batch JOIN organisation o ON o.id = b.organisation "
    "WHERE b.status IN (" + ", ".join(f"'{s}'" for s in OPEN) + ")")


async def open_flagged_count() -> dict:
    """n: the batches waiting at head office with repeat claims; since: the oldest flag (one
    query)."""
    return (await raw_fetch(
        f"SELECT count(DISTINCT b.id) AS n, min(f.flagged_at) AS since {_OPEN_FLAGGED}"))[0]


async def open_flagged_batches() -> list[dict]:
    """Those batches with their office and flagged lines, oldest flag first (one query)."""
    return await raw_fetch(
        "SELECT b.id, b.number, b.status, o.name AS org_name, o.name_en AS org_name_en, "
        f"count(*)::int AS lines, min(f.flagged_at) AS flagged_at {_OPEN_FLAGGED} "
        "GROUP BY b.id, o.id ORDER BY min(f.flagged_at), b.id LIMIT 200")
