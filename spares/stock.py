"""The spare stock ledger (R23): every change of a location's stock is a movement, good and
faulty apart; the office's faulty parts return to HQ in its monthly batch and HQ replenishes
it; the first-stock templates per sales scale (R22)."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from spares import queries, rules
from spares.writes import Params, enough_stock, movements


async def move_stock(moves: list[tuple[int, int, str, int]], *, kind: str, reference: str,
                     actor: Actor | None) -> None:
    """Append movements (location, part, condition, signed quantity) in one statement. The
    balance trigger refuses the whole statement if any balance would go negative."""
    p = Params()
    sql = movements(p, moves, kind=kind, reference_sql=p(reference, "text"),
                    actor_id=actor.user_id if actor else None, at=clock.now())
    with enough_stock():
        await raw_fetch(sql, *p.values)


@transactional
async def send_faulty_to_batch(*, actor: Actor, batch_id: int) -> int:
    """The office's faulty spare parts join its monthly return batch as spare-part lines and
    leave its stock, in one transaction. Returns the number of lines added."""
    from dealers.batches import get_batch

    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if actor.organisation_id != batch["organisation"] or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only the office's own clerks and managers may do this.")
    if batch["status"] != "draft":
        raise Conflict("This batch is %(status)s; the action is not possible now.",
                       status=batch["status"])
    faulty = [s for s in await queries.stock_of(batch["organisation"]) if s["faulty"] > 0]
    if not faulty:
        raise RuleViolation("No faulty spare parts to return.")
    start = batch["last_line_no"]
    await raw_fetch(
        "INSERT INTO return_line (batch, line_no, spare_part, quantity, reason_text, lights, "
        "tube_greyed, bridge_blackened, broken, extra, decision_note) "
        "SELECT $1, $2 + t.ord, t.part, t.qty, '以旧换新故障配件', false, false, false, false, "
        "false, '' FROM unnest($3::int[], $4::int[]) WITH ORDINALITY AS t(part, qty, ord)",
        batch_id, start, [s["id"] for s in faulty], [s["faulty"] for s in faulty])
    await move_stock([(batch["organisation"], s["id"], "faulty", -s["faulty"]) for s in faulty],
                     kind="to_batch", reference=batch["number"], actor=actor)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="spare_lines", organisation_id=batch["organisation"],
                       after={"parts": {s["code"]: s["faulty"] for s in faulty}})
    return len(faulty)


@transactional
async def ship_replacements(*, actor: Actor, batch_id: int, hq_id: int) -> int:
    """R23: once HQ has decided the spare-part lines, it replenishes the office with good parts
    for those exchanged (once per batch)."""
    from dealers.batches import get_batch

    if not actor.has("hq_logistics", "hq_cs"):
        raise Forbidden("Only HQ ships the first stock.")
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)
    if batch["status"] not in ("dispositioned", "closed"):
        raise Conflict("This batch is %(status)s; the action is not possible now.",
                       status=batch["status"])
    reference = f"replenish-{batch['number']}"
    if await raw_fetch("SELECT 1 FROM stock_movement WHERE reference = $1 LIMIT 1", reference):
        raise Conflict("Replacements for this batch have already been shipped.")
    lines = await raw_fetch("SELECT spare_part, sum(exchanged_qty) AS q FROM return_line "
                            "WHERE batch = $1 AND spare_part IS NOT NULL AND exchanged_qty > 0 "
                            "GROUP BY spare_part", batch_id)
    if not lines:
        raise RuleViolation("No exchanged spare parts in this batch.")
    moves = [(hq_id, l["spare_part"], "good", -l["q"]) for l in lines] + \
            [(batch["organisation"], l["spare_part"], "good", l["q"]) for l in lines]
    await move_stock(moves, kind="replenish", reference=reference, actor=actor)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="spares_replenished", organisation_id=batch["organisation"],
                       after={"parts": len(lines)})
    return len(lines)


@transactional
async def set_template(*, actor: Actor, sales_scale: str, spare_part_id: int,
                       quantity: int | None, reason: str) -> None:
    """R22: HQ sizes first stocks per sales-scale tier; 0 removes the part from the tier. The
    old quantity stays in the audit trail."""
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    errors = {}
    if sales_scale not in rules.SCALES:
        errors["sales_scale"] = "Choose the sales scale."
    if quantity is None or not 0 <= quantity <= 10_000:
        errors["quantity"] = "Quantity must be a whole number from 0 to 10,000."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if not await raw_fetch("SELECT 1 FROM spare_part WHERE id = $1", spare_part_id):
        errors["spare_part"] = "Choose the part used and its quantity."
    if errors:
        raise ValidationFailed(errors)
    before = await raw_fetch("SELECT quantity FROM stock_template WHERE sales_scale = $1 AND "
                             "spare_part = $2 FOR UPDATE", sales_scale, spare_part_id)
    if quantity:
        await raw_fetch("INSERT INTO stock_template (sales_scale, spare_part, quantity) "
                        "VALUES ($1, $2, $3) ON CONFLICT (sales_scale, spare_part) "
                        "DO UPDATE SET quantity = EXCLUDED.quantity", sales_scale,
                        spare_part_id, quantity)
    else:
        await raw_fetch("DELETE FROM stock_template WHERE sales_scale = $1 AND spare_part = $2",
                        sales_scale, spare_part_id)
    await audit.record(actor=actor, object_type="stock_template",
                       object_id=f"{sales_scale}-{spare_part_id}", action="set",
                       before={"quantity": before[0]["quantity"] if before else 0},
                       after={"quantity": quantity}, reason=reason.strip())
