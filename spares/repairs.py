"""Consumer repairs at a repair point (R19): with a valid purchase proof, free in warranty or
parts plus a fee (R17); parts used leave the good stock and wait as faulty parts for the next
exchange (R23); a promised repair ends repaired, or past its promise exchanged or refunded."""
from __future__ import annotations

from datetime import date

from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import Product
from spares import rules
from spares.stock import move_stock
from spares.tables import Repair

Status = Repair.Status


@transactional
async def record_repair(*, actor: Actor, customer: str, phone: str, product_id: int | None,
                        purchase_date: date | None, proof: str, spare_part_id: int | None,
                        parts_quantity: int, on_the_spot: bool) -> int:
    """R19: with a valid purchase proof; parts used leave the good stock and wait as faulty
    parts for the next exchange; R17: in warranty free, else parts + 10 %."""
    if actor.organisation_kind != "repair_point" or not actor.has("repair_staff"):
        raise Forbidden("Only repair-point staff record repairs.")
    errors: dict[str, str] = {}
    if not customer.strip():
        errors["customer"] = "Enter the customer's name."
    if not proof.strip():
        errors["proof"] = "Consumers repair with a valid purchase proof (R19)."
    today = clock.china_today()
    if purchase_date is None or purchase_date > today:
        errors["purchase_date"] = "Enter the purchase date (not in the future)."
    if not 0 <= parts_quantity <= 100 or (parts_quantity > 0 and spare_part_id is None):
        errors["parts"] = "Choose the part used and its quantity."
    product = await Product.select(Product.id, Product.category.warranty_months.as_alias("months")).where(
        Product.id == (product_id or 0)).first()
    if product is None:
        errors["product_id"] = "Unknown product: choose a model from the catalogue."
    part_price = 0
    if spare_part_id is not None:
        part = await raw_fetch("SELECT unit_price_fen FROM spare_part WHERE id = $1", spare_part_id)
        if not part:
            errors["parts"] = "Choose the part used and its quantity."
        else:
            part_price = part[0]["unit_price_fen"]
    if errors:
        raise ValidationFailed(errors)
    assert product is not None and purchase_date is not None
    warranty = rules.in_warranty(purchase_date, product["months"], today)
    rate = await policy.value_on("out_of_warranty_fee_bp", today)
    charge = rules.repair_charge(warranty=warranty, parts_fen=part_price * parts_quantity,
                                 fee_rate_bp=rate)
    row = Repair(repair_point=actor.organisation_id, customer=customer.strip()[:80],
                 phone=phone.strip()[:30], product=product["id"], purchase_date=purchase_date,
                 proof=proof.strip()[:120], in_warranty="yes" if warranty else "no",
                 spare_part=spare_part_id, parts_quantity=parts_quantity,
                 parts_fen=charge.parts_fen, fee_fen=charge.fee_fen, charge_fen=charge.total_fen,
                 status=(Status.repaired if on_the_spot else Status.promised).value,
                 promised_by=None if on_the_spot else rules.promise_date(today),
                 recorded_by=actor.user_id, recorded_at=clock.now(),
                 completed_at=clock.now() if on_the_spot else None)
    await Repair.insert(row)
    if parts_quantity and spare_part_id is not None:
        await move_stock([(actor.organisation_id, spare_part_id, "good", -parts_quantity),
                          (actor.organisation_id, spare_part_id, "faulty", parts_quantity)],
                         kind="repair", reference=f"repair-{row.id}", actor=actor)
    await audit.record(actor=actor, object_type="repair", object_id=row.id, action="recorded",
                       after={"warranty": warranty, "charge_fen": charge.total_fen})
    return row.id


@transactional
async def complete_repair(*, actor: Actor, repair_id: int, outcome: str) -> None:
    """R19: a promised repair ends repaired, or past its promise the customer takes an exchange
    or a refund; the outcome is kept."""
    if outcome not in (Status.repaired, Status.exchanged, Status.refunded):
        raise ValidationFailed({"outcome": "Choose repaired, exchanged or refunded."})
    rows = await raw_fetch("SELECT * FROM repair WHERE id = $1 FOR UPDATE", repair_id)
    if not rows or rows[0]["repair_point"] != actor.organisation_id \
            or not actor.has("repair_staff"):
        raise NotFound("Not found.")
    repair = rows[0]
    if repair["status"] != Status.promised:
        raise Conflict("This repair is already %(status)s.", status=repair["status"])
    rules.enforce(rules.repair_actions(
        status=repair["status"], own_point=True, roles=actor.roles,
        overdue=rules.overdue(repair["promised_by"], False, clock.china_today())), outcome)
    await raw_fetch("UPDATE repair SET status = $2, completed_at = $3 WHERE id = $1",
                    repair_id, outcome, clock.now())
    await audit.record(actor=actor, object_type="repair", object_id=repair_id, action=outcome,
                       before={"status": Status.promised.value}, after={"status": outcome})
