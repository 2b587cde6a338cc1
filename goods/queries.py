"""Reads of goods after the decision: replacement orders, shipments, the batch's chain. Raw SQL
for lists (flat in queries whatever the number of rows), scope through portal.network (R1)."""
from __future__ import annotations

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql

PAGE_SIZE = 50

_REPLACEMENT = (
    "SELECT r.id AS replacement_id, r.batch, r.organisation, r.created_at, b.number AS batch_number, "
    "o.path AS org_path, o.name AS org_name, o.name_en AS org_name_en, "
    "coalesce(sum(l.exchanged_qty), 0)::int AS exchanged, coalesce(sum(l.shipped_qty), 0)::int AS shipped, "
    "coalesce(sum(l.credited_qty), 0)::int AS credited, coalesce(sum(l.owed_qty), 0)::int AS owed, "
    "(SELECT count(*) FROM goods_shipment s WHERE s.replacement = r.id "
    "AND s.status = 'shipped')::int AS in_transit, "
    "(SELECT count(*) FROM goods_shipment s WHERE s.replacement = r.id "
    "AND s.status = 'short')::int AS short "
    "FROM goods_replacement r JOIN return_batch b ON b.id = r.batch "
    "JOIN organisation o ON o.id = r.organisation "
    "LEFT JOIN goods_replacement_line l ON l.replacement = r.id ")
_GROUP = "GROUP BY r.id, b.number, o.path, o.name, o.name_en "

_LINES = (
    "SELECT l.id, l.replacement, l.return_line, rl.line_no, l.product, p.model, p.name_zh, "
    "p.name_en, l.exchanged_qty, l.shipped_qty, l.credited_qty, l.owed_qty, l.credit_reason, "
    "coalesce(s.on_hand, 0) AS on_hand FROM goods_replacement_line l "
    "JOIN return_line rl ON rl.id = l.return_line JOIN product p ON p.id = l.product "
    "LEFT JOIN goods_hq_stock s ON s.product = l.product ")


async def replacement_summaries(ids: list[int]) -> list[dict]:
    return await raw_fetch(_REPLACEMENT + "WHERE r.id = ANY($1::int[]) " + _GROUP
                           + "ORDER BY r.id", ids)


async def replacement(replacement_id: int) -> dict | None:
    rows = await raw_fetch(_REPLACEMENT + "WHERE r.id = $1 " + _GROUP, replacement_id)
    if not rows:
        return None
    row = rows[0]
    row["lines"] = await raw_fetch(_LINES + "WHERE l.replacement = $1 ORDER BY rl.line_no",
                                   replacement_id)
    row["line_owed"] = {l["id"]: l["owed_qty"] for l in row["lines"]}
    return row


async def replacement_for_batch(batch_id: int) -> int | None:
    rows = await raw_fetch("SELECT id FROM goods_replacement WHERE batch = $1", batch_id)
    return rows[0]["id"] if rows else None


_SHIPMENT = (
    "SELECT s.*, r.organisation, r.batch, r.id AS replacement_id, b.number AS batch_number, "
    "o.path AS org_path, o.name AS org_name, o.name_en AS org_name_en, "
    "su.display_name AS shipped_by_name, ru.display_name AS received_by_name "
    "FROM goods_shipment s JOIN goods_replacement r ON r.id = s.replacement "
    "JOIN return_batch b ON b.id = r.batch JOIN organisation o ON o.id = r.organisation "
    "JOIN portal_user su ON su.id = s.shipped_by LEFT JOIN portal_user ru ON ru.id = s.received_by ")
_SHIPMENT_LINES = (
    "SELECT sl.id, sl.shipment, sl.replacement_line, sl.quantity, sl.received_qty, l.product, "
    "p.model, p.name_zh, p.name_en FROM goods_shipment_line sl "
    "JOIN goods_replacement_line l ON l.id = sl.replacement_line JOIN product p ON p.id = l.product ")


async def shipment(shipment_id: int) -> dict | None:
    rows = await raw_fetch(_SHIPMENT + "WHERE s.id = $1", shipment_id)
    if not rows:
        return None
    row = rows[0]
    row["lines"] = await raw_fetch(_SHIPMENT_LINES + "WHERE sl.shipment = $1 ORDER BY sl.id",
                                   shipment_id)
    return row


async def shipments_of(replacement_id: int) -> list[dict]:
    """A replacement's shipments with their lines: two queries whatever their number."""
    rows = await raw_fetch(_SHIPMENT + "WHERE s.replacement = $1 ORDER BY s.id", replacement_id)
    lines = await raw_fetch(_SHIPMENT_LINES + "WHERE sl.shipment = ANY($1::int[]) ORDER BY sl.id",
                            [r["id"] for r in rows])
    for row in rows:
        row["lines"] = [l for l in lines if l["shipment"] == row["id"]]
    return rows


REPLACEMENT_FILTERS = dict(  # SQL, not words
    owed="HAVING coalesce(sum(l.owed_qty), 0) > 0 ",
    in_transit="HAVING bool_or(EXISTS (SELECT 1 FROM goods_shipment s WHERE s.replacement = r.id "
               "AND s.status = 'shipped')) ",
    short="HAVING bool_or(EXISTS (SELECT 1 FROM goods_shipment s WHERE s.replacement = r.id "
          "AND s.status = 'short')) ",
)


async def list_replacements(*, actor: Actor, status: str | None = None,
                            before_id: int | None = None) -> list[dict]:
    """Replacement orders the actor may see, newest first, one page (one query)."""
    args: list = [before_id or 2**31 - 1]
    scope = scope_sql(actor, "o.path", args)
    having = REPLACEMENT_FILTERS.get(status or "", "")
    return await raw_fetch(_REPLACEMENT + f"WHERE r.id < $1 AND {scope} " + _GROUP + having
                           + f"ORDER BY r.id DESC LIMIT {PAGE_SIZE}", *args)


async def stock() -> list[dict]:
    return await raw_fetch(
        "SELECT p.id AS product_id, p.model, p.name_zh, p.name_en, coalesce(s.on_hand, 0) AS on_hand, "
        "s.updated_at, coalesce((SELECT sum(owed_qty) FROM goods_replacement_line l "
        "WHERE l.product = p.id), 0)::int AS reserved "
        "FROM product p LEFT JOIN goods_hq_stock s ON s.product = p.id WHERE p.active "
        "ORDER BY p.model")
