"""Replacement shipments (R13 换货, seed 003 §2 art. 9): each decided batch's exchanged goods
become a replacement order to its office, credited instead where HQ has none of the model;
HQ logistics ships what is owed (the office's confirmation and short deliveries are in
goods/deliveries.py). Exchanged = shipped + credited instead + owed, always: the code moves
quantities between those columns in one statement and the database CHECKs it."""
from __future__ import annotations

from typing import Any

from goods import queries, rules
from goods.inputs import CreditInsteadIn, ShipIn, StockIn
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell

SHIPMENT_STATUS_LABELS = {"shipped": "On its way", "received": "Received in full",
                          "short": "Short delivery", "resolved": "Shortfall resolved"}
RESOLUTION_LABELS = {"reship": "Ship the shortfall again", "credit": "Credit the shortfall"}
GOODS_ACTION_LABELS = {"opened": "replacement ordered", "shipped": "replacement shipped",
                       "credited_instead": "credited instead of shipped",
                       "receipt_received": "received in full", "receipt_short": "delivery short",
                       "resolved_reship": "shortfall to ship again",
                       "resolved_credit": "shortfall credited"}
CREDIT_REASON_LABELS = {rules.NO_STOCK_REASON: "HQ has no stock of this model"}


def is_office_staff(actor: Actor, org_id: int) -> bool:
    return actor.organisation_id == org_id and actor.has("dealer_clerk", "manager")


def is_hq(actor: Actor, *roles: str) -> bool:
    return actor.organisation_kind == "hq" and actor.has(*roles)


def about(row: dict, **extra: Any) -> dict:
    return {"number": row["batch_number"], "replacement_id": row["replacement_id"],
            "office": names(row, "org_name"), **extra}


# --- opening: set-based, whenever a goods page opens and in the periodic jobs --------------------

OPEN_ORDERS = (
    "INSERT INTO goods_replacement (batch, organisation, created_at) "
    "SELECT b.id, b.organisation, $1 FROM return_batch b "
    "WHERE b.status IN ('dispositioned', 'closed') "
    "AND EXISTS (SELECT 1 FROM return_line l WHERE l.batch = b.id AND l.exchanged_qty > 0 "
    "AND l.product IS NOT NULL) "
    "AND NOT EXISTS (SELECT 1 FROM goods_replacement r WHERE r.batch = b.id) "
    "ORDER BY b.id ON CONFLICT (batch) DO NOTHING RETURNING id")
LOCK_STOCK = (
    "SELECT s.product FROM goods_hq_stock s WHERE s.product IN (SELECT l.product FROM "
    "goods_replacement r JOIN return_line l ON l.batch = r.batch WHERE r.id = ANY($1::int[])) "
    "ORDER BY s.product FOR UPDATE")
# R13: each line takes what HQ still has of its model, in line order (rules.reserve); the rest
# is credited instead, with the reason. What is owed is reserved from HQ's stock at once.
OPEN_LINES = (
    "WITH l AS (SELECT r.id AS replacement, rl.id AS line, rl.product, rl.exchanged_qty AS ex, "
    "sum(rl.exchanged_qty) OVER (PARTITION BY rl.product ORDER BY r.id, rl.id) AS cum, "
    "coalesce(s.on_hand, 0) AS on_hand FROM goods_replacement r "
    "JOIN return_line rl ON rl.batch = r.batch LEFT JOIN goods_hq_stock s ON s.product = rl.product "
    "WHERE r.id = ANY($1::int[]) AND rl.exchanged_qty > 0 AND rl.product IS NOT NULL), "
    "c AS (SELECT *, greatest(0, least(ex, on_hand - (cum - ex)))::int AS owed FROM l), "
    "ins AS (INSERT INTO goods_replacement_line (replacement, return_line, product, "
    "exchanged_qty, shipped_qty, credited_qty, owed_qty, credit_reason) "
    "SELECT replacement, line, product, ex, 0, ex - owed, owed, "
    "CASE WHEN ex > owed THEN $2 ELSE '' END FROM c RETURNING product, owed_qty) "
    "UPDATE goods_hq_stock s SET on_hand = s.on_hand - t.n, updated_at = $3 "
    "FROM (SELECT product, sum(owed_qty)::int AS n FROM ins GROUP BY product) t "
    "WHERE s.product = t.product AND t.n > 0")


@transactional
async def open_replacements() -> list[int]:
    """Replacement orders for every decided batch with exchanged goods that has none yet (one
    statement whatever the number of batches; nothing more when there are none). Two callers
    at once open each order once (the unique batch, ON CONFLICT DO NOTHING)."""
    now = clock.now()
    opened = [r["id"] for r in await raw_fetch(OPEN_ORDERS, now)]
    if not opened:
        return []
    await raw_fetch(LOCK_STOCK, opened)
    await raw_fetch(OPEN_LINES, opened, rules.NO_STOCK_REASON, now)
    for row in await queries.replacement_summaries(opened):
        await audit.record(actor=None, object_type="goods_replacement",
                           object_id=row["replacement_id"], action="opened",
                           organisation_id=row["organisation"],
                           after={"batch": row["batch_number"], "owed": row["owed"],
                                  "credited": row["credited"]})
        await tell("replacement_opened", actor=None, org_id=row["organisation"],
                   params=about(row, owed=row["owed"], credited=row["credited"]),
                   dedupe_key=f"replacement-{row['replacement_id']}")
    return opened


# --- reads with scope (R1) -------------------------------------------------------------------

async def get_replacement(*, actor: Actor, replacement_id: int, lock: bool = False) -> dict:
    if lock:
        await raw_fetch("SELECT id FROM goods_replacement WHERE id = $1 FOR UPDATE",
                        replacement_id)
    row = await queries.replacement(replacement_id)
    if row is None or not actor.can_see_path(row["org_path"]):
        raise NotFound("Not found.")
    return row


async def get_shipment(*, actor: Actor, shipment_id: int, lock: bool = False) -> dict:
    if lock:
        await raw_fetch("SELECT id FROM goods_shipment WHERE id = $1 FOR UPDATE", shipment_id)
    row = await queries.shipment(shipment_id)
    if row is None or not actor.can_see_path(row["org_path"]):
        raise NotFound("Not found.")
    return row


def replacement_actions(actor: Actor, row: dict) -> dict[str, rules.Refusal | None]:
    return rules.replacement_actions(owed=row["owed"], is_logistics=is_hq(actor, "hq_logistics"),
                                     is_cs=is_hq(actor, "hq_cs"))


def shipment_actions(actor: Actor, row: dict) -> dict[str, rules.Refusal | None]:
    return rules.shipment_actions(status=row["status"],
                                  is_office=is_office_staff(actor, row["organisation"]),
                                  is_hq=is_hq(actor, "hq_logistics", "hq_cs"))


def enforce(actions: dict, action: str, refused: Forbidden) -> None:
    if action not in actions:
        raise refused
    refusal = actions[action]
    if refusal is not None:
        raise Conflict(refusal.message, **refusal.kwargs)


# --- HQ logistics ships ------------------------------------------------------------------------

@transactional
async def ship(*, actor: Actor, replacement_id: int, data: ShipIn) -> int:
    """Ship everything the replacement still owes, once: two clerks at once, the row lock lets
    one through and the other finds nothing owed (Conflict)."""
    row = await get_replacement(actor=actor, replacement_id=replacement_id, lock=True)
    enforce(replacement_actions(actor, row), "ship",
             Forbidden("Only HQ logistics ships replacements."))
    errors = rules.check_shipping(carrier=data.carrier, waybill=data.waybill,
                                  packages=data.packages, shipped_on=data.shipped_on,
                                  today=clock.china_today())
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    shipment = (await raw_fetch(
        "INSERT INTO goods_shipment (replacement, status, carrier, waybill, packages, shipped_on, "
        "shipped_by, shipped_at, short_qty, receipt_note, resolution_note) "
        "VALUES ($1, 'shipped', $2, $3, $4, $5, $6, $7, 0, '', '') RETURNING id",
        replacement_id, data.carrier.strip(), data.waybill.strip(), data.packages,
        data.shipped_on, actor.user_id, now))[0]["id"]
    moved = await raw_fetch(
        "WITH old AS (SELECT id, owed_qty FROM goods_replacement_line "
        "WHERE replacement = $1 AND owed_qty > 0 FOR UPDATE), "
        "upd AS (UPDATE goods_replacement_line l SET shipped_qty = l.shipped_qty + old.owed_qty, "
        "owed_qty = 0 FROM old WHERE l.id = old.id RETURNING l.id, old.owed_qty) "
        "INSERT INTO goods_shipment_line (shipment, replacement_line, quantity) "
        "SELECT $2, id, owed_qty FROM upd RETURNING quantity", replacement_id, shipment)
    total = sum(r["quantity"] for r in moved)
    await audit.record(actor=actor, object_type="goods_replacement", object_id=replacement_id,
                       action="shipped", organisation_id=row["organisation"],
                       after={"shipment": shipment, "quantity": total, "carrier": data.carrier,
                              "waybill": data.waybill, "packages": data.packages,
                              "shipped_on": data.shipped_on.isoformat()})
    await tell("replacement_shipped", actor=actor, org_id=row["organisation"],
               params=about(row, quantity=total, carrier=data.carrier.strip(),
                             waybill=data.waybill.strip(), date=data.shipped_on.isoformat()),
               dedupe_key=f"shipment-{shipment}")
    return shipment


@transactional
async def credit_instead(*, actor: Actor, replacement_id: int, data: CreditInsteadIn) -> int:
    """Credit a line's owed goods instead of shipping them (HQ has none to send), with the
    reason; what was reserved goes back to HQ's stock."""
    row = await get_replacement(actor=actor, replacement_id=replacement_id, lock=True)
    enforce(replacement_actions(actor, row), "credit",
             Forbidden("Only HQ logistics or customer service credits a replacement instead."))
    reason = data.reason.strip()
    if not reason or len(reason) > 200:
        raise ValidationFailed({"reason": "Give the reason (at most 200 characters)."})
    owed = row["line_owed"].get(data.line_id)
    if not owed:
        raise RuleViolation("Nothing is owed on this line.")
    await raw_fetch(
        "UPDATE goods_replacement_line SET credited_qty = credited_qty + owed_qty, owed_qty = 0, "
        "credit_reason = $2 WHERE id = $1", data.line_id, reason)
    await _release_stock(data.line_id, owed)
    await audit.record(actor=actor, object_type="goods_replacement", object_id=replacement_id,
                       action="credited_instead", organisation_id=row["organisation"],
                       after={"line": data.line_id, "quantity": owed}, reason=reason)
    await tell("replacement_credited", actor=actor, org_id=row["organisation"],
               params=about(row, quantity=owed, reason=reason),
               dedupe_key=f"credit-{data.line_id}-{clock.now().isoformat()}")
    return owed


async def _release_stock(line_id: int, quantity: int) -> None:
    await raw_fetch(
        "UPDATE goods_hq_stock s SET on_hand = s.on_hand + $2, updated_at = $3 "
        "FROM goods_replacement_line l WHERE l.id = $1 AND s.product = l.product",
        line_id, quantity, clock.now())


# --- HQ stock ----------------------------------------------------------------------------------

@transactional
async def set_stock(*, actor: Actor, data: StockIn) -> None:
    """HQ logistics records what it has on hand of a model (after what is already reserved)."""
    if not is_hq(actor, "hq_logistics"):
        raise Forbidden("Only HQ logistics records HQ's stock.")
    if not 0 <= data.on_hand <= 10_000_000:
        raise ValidationFailed({"on_hand": "Enter a quantity from 0 to 10,000,000."})
    if not await raw_fetch("SELECT 1 FROM product WHERE id = $1", data.product_id):
        raise ValidationFailed({"product_id": "Choose a product of the catalogue."})
    before = await raw_fetch(
        "SELECT on_hand FROM goods_hq_stock WHERE product = $1 FOR UPDATE", data.product_id)
    await raw_fetch(
        "INSERT INTO goods_hq_stock (product, on_hand, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (product) DO UPDATE SET on_hand = $2, updated_at = $3",
        data.product_id, data.on_hand, clock.now())
    await audit.record(actor=actor, object_type="goods_hq_stock", object_id=data.product_id,
                       action="stock_set", before={"on_hand": before[0]["on_hand"]}
                       if before else None, after={"on_hand": data.on_hand})
