"""Deliveries of replacement goods (R13 换货): the office confirms what arrived, line by line;
a short delivery is recorded, HQ logistics and customer service are told, and it is resolved by
shipping the shortfall again (reserved from HQ's stock) or crediting it. Either way the
shortfall leaves `shipped`, so exchanged = shipped + credited instead + owed still holds (the
database CHECKs it). The orders and their shipping are in goods/replacements.py."""
from __future__ import annotations

from goods import rules
from goods.inputs import ReceiptIn, ResolveIn
from goods.replacements import about, enforce, get_shipment, shipment_actions
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, RuleViolation, ValidationFailed
from portal.handoffs import tell


@transactional
async def confirm_receipt(*, actor: Actor, shipment_id: int, data: ReceiptIn) -> int:
    """The office confirms what arrived; a short delivery is recorded and HQ is told. Returns
    the shortfall."""
    row = await get_shipment(actor=actor, shipment_id=shipment_id, lock=True)
    enforce(shipment_actions(actor, row), "confirm",
             Forbidden("Only the office's own clerks and managers confirm a delivery."))
    shipped = {l["id"]: l["quantity"] for l in row["lines"]}
    received = {l.line_id: l.received for l in data.lines}
    if len(received) != len(data.lines):
        raise ValidationFailed({"lines": "Confirm every line of the shipment, once."})
    short, errors = rules.shortfall(shipped, received)
    if errors:
        raise ValidationFailed(errors)
    note = data.note.strip()[:200]
    await raw_fetch(
        "UPDATE goods_shipment_line l SET received_qty = x.q FROM unnest($1::int[], $2::int[]) "
        "AS x(id, q) WHERE l.id = x.id AND l.shipment = $3", list(received),
        list(received.values()), shipment_id)
    status = "short" if short else "received"
    await raw_fetch(
        "UPDATE goods_shipment SET status = $2, received_by = $3, received_at = $4, "
        "short_qty = $5, receipt_note = $6 WHERE id = $1",
        shipment_id, status, actor.user_id, clock.now(), short, note)
    await audit.record(actor=actor, object_type="goods_replacement",
                       object_id=row["replacement_id"], action=f"receipt_{status}",
                       organisation_id=row["organisation"],
                       after={"shipment": shipment_id, "short": short}, reason=note)
    if short:
        await tell("replacement_short", actor=actor, org_id=row["organisation"],
                   params=about(row, quantity=short, waybill=row["waybill"]),
                   dedupe_key=f"short-{shipment_id}")
    return short


@transactional
async def resolve_shortfall(*, actor: Actor, shipment_id: int, data: ResolveIn) -> str:
    """R13: a shortfall is shipped again (it is owed once more, reserved from HQ's stock) or
    credited; either way it leaves `shipped`, so the sum still holds."""
    await _lock_replacement_of(shipment_id)
    row = await get_shipment(actor=actor, shipment_id=shipment_id, lock=True)
    enforce(shipment_actions(actor, row), "resolve",
             Forbidden("Only HQ logistics or customer service resolves a short delivery."))
    if data.resolution not in rules.RESOLUTIONS:
        raise ValidationFailed({"resolution": "Choose: ship again or credit."})
    note = data.note.strip()[:200]
    if data.resolution == "credit" and not note:
        raise ValidationFailed({"note": "Give the reason for the credit."})
    shorts = [(l["replacement_line"], l["quantity"] - l["received_qty"], l["product"])
              for l in row["lines"] if l["received_qty"] < l["quantity"]]
    if data.resolution == "reship":
        await _reserve_for_reship(shorts)
        target = "owed_qty = owed_qty + x.q"
    else:
        target = "credited_qty = credited_qty + x.q, credit_reason = $3"
    await raw_fetch(
        f"UPDATE goods_replacement_line l SET shipped_qty = shipped_qty - x.q, {target} "
        "FROM unnest($1::int[], $2::int[]) AS x(id, q) WHERE l.id = x.id",
        [s[0] for s in shorts], [s[1] for s in shorts],
        *([note] if data.resolution == "credit" else []))
    await raw_fetch(
        "UPDATE goods_shipment SET status = 'resolved', resolution = $2, resolved_by = $3, "
        "resolved_at = $4, resolution_note = $5 WHERE id = $1",
        shipment_id, data.resolution, actor.user_id, clock.now(), note)
    await audit.record(actor=actor, object_type="goods_replacement",
                       object_id=row["replacement_id"], action=f"resolved_{data.resolution}",
                       organisation_id=row["organisation"],
                       after={"shipment": shipment_id, "quantity": row["short_qty"]}, reason=note)
    await tell("replacement_short_resolved", actor=actor, org_id=row["organisation"],
               params=about(row, quantity=row["short_qty"],
                             resolution={"zh_CN": "补发" if data.resolution == "reship" else "冲帐",
                                         "en": "shipped again" if data.resolution == "reship"
                                         else "credited"}),
               dedupe_key=f"resolved-{shipment_id}")
    return data.resolution


async def _lock_replacement_of(shipment_id: int) -> None:
    """Lock the replacement before its shipment, as `ship` does: a reship and a shipment of the
    same replacement wait for each other instead of crossing."""
    await raw_fetch("SELECT r.id FROM goods_replacement r JOIN goods_shipment s "
                    "ON s.replacement = r.id WHERE s.id = $1 FOR UPDATE OF r", shipment_id)


async def _reserve_for_reship(shorts: list[tuple[int, int, int]]) -> None:
    needed: dict[int, int] = {}
    for _, quantity, product in shorts:
        needed[product] = needed.get(product, 0) + quantity
    taken = await raw_fetch(
        "UPDATE goods_hq_stock s SET on_hand = s.on_hand - x.q, updated_at = $3 "
        "FROM unnest($1::int[], $2::int[]) AS x(p, q) WHERE s.product = x.p AND s.on_hand >= x.q "
        "RETURNING s.product", list(needed), list(needed.values()), clock.now())
    if len(taken) != len(needed):
        raise RuleViolation("HQ has not enough stock to ship the shortfall again: credit it "
                            "instead.")
