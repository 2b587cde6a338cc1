"""Consumer repairs at a repair point (R19): with a valid purchase proof, free in warranty or
parts plus a fee (R17); parts used leave the good stock and wait as faulty parts for the next
exchange (R23); a promised repair ends repaired, or past its promise exchanged or refunded."""
from __future__ import annotations

from datetime import date

from portal import audit, clock, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from spares import rules
from spares.tables import Repair
from spares.writes import Params, audit_row, enough_stock, movements

Status = Repair.Status
_FEE = "out_of_warranty_fee_bp"


# What a repair is priced from, in one statement: the product's warranty months, the part's
# price and the out-of-warranty fee rate on the day (the policy in force: `policy.value_on`).
_LOOKUP = (
    "SELECT p.id AS product, c.warranty_months AS months, s.unit_price_fen AS price, "
    f"{policy.in_force_sql(_FEE, '$3')} AS rate "
    "FROM (SELECT 1) one LEFT JOIN product p ON p.id = $1 "
    "LEFT JOIN product_category c ON c.id = p.category LEFT JOIN spare_part s ON s.id = $2")


def _errors(customer: str, proof: str, purchase_date: date | None, today: date,
            spare_part_id: int | None, parts_quantity: int, found: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not customer.strip():
        errors["customer"] = "Enter the customer's name."
    if not proof.strip():
        errors["proof"] = "Consumers repair with a valid purchase proof (R19)."
    if purchase_date is None or purchase_date > today:
        errors["purchase_date"] = "Enter the purchase date (not in the future)."
    if not 0 <= parts_quantity <= 100 or (parts_quantity > 0 and spare_part_id is None) \
            or (spare_part_id is not None and found["price"] is None):
        errors["parts"] = "Choose the part used and its quantity."
    if found["product"] is None:
        errors["product_id"] = "Unknown product: choose a model from the catalogue."
    return errors


def _insert_sql(p: Params, actor: Actor, values: dict, moves: list) -> str:
    """The repair, the parts it used leaving the good stock and waiting as faulty (R23) and its
    audit row, in one statement; returns the repair's id."""
    insert = (f"INSERT INTO repair ({', '.join(values)}) "
              f"VALUES ({', '.join(p(v, _CASTS[k]) for k, v in values.items())}) RETURNING id")
    moved = movements(p, moves, kind="repair", reference_sql="'repair-' || r.id",
                      actor_id=actor.user_id, at=values["recorded_at"], source="r")
    audit = audit_row(p, source="r", object_id_sql="r.id::text", actor=actor,
                      object_type="repair", action="recorded",
                      after={"warranty": values["in_warranty"] == "yes",
                             "charge_fen": values["charge_fen"]})
    return f"WITH r AS ({insert}), mv AS ({moved}), au AS ({audit}) SELECT id FROM r"


_CASTS = {"repair_point": "int", "customer": "text", "phone": "text", "product": "int",
          "purchase_date": "date", "proof": "text", "in_warranty": "text", "spare_part": "int",
          "parts_quantity": "int", "parts_fen": "bigint", "fee_fen": "bigint",
          "charge_fen": "bigint", "status": "text", "promised_by": "date", "recorded_by": "int",
          "recorded_at": "timestamptz", "completed_at": "timestamptz"}


def _values(actor: Actor, found: dict, **given) -> dict:
    """The repair's columns, repaired on the spot: R17 in warranty free, else the parts plus
    the fee rate in force."""
    today, now = clock.china_today(), clock.now()
    warranty = rules.in_warranty(given["purchase_date"], found["months"], today)
    rate = found["rate"] if found["rate"] is not None else policy.POLICIES[_FEE][0]
    charge = rules.repair_charge(warranty=warranty, fee_rate_bp=rate,
                                 parts_fen=(found["price"] or 0) * given["parts_quantity"])
    return dict(given, repair_point=actor.organisation_id, product=found["product"],
                in_warranty="yes" if warranty else "no", parts_fen=charge.parts_fen,
                fee_fen=charge.fee_fen, charge_fen=charge.total_fen,
                status=Status.repaired.value, promised_by=None, recorded_by=actor.user_id,
                recorded_at=now, completed_at=now)


@transactional
async def record_repair(*, actor: Actor, customer: str, phone: str, product_id: int | None,
                        purchase_date: date | None, proof: str, spare_part_id: int | None,
                        parts_quantity: int, on_the_spot: bool) -> int:
    """R19: with a valid purchase proof; parts used leave the good stock and wait as faulty
    parts for the next exchange; R17: in warranty free, else parts + 10 %. Two statements."""
    if actor.organisation_kind != "repair_point" or not actor.has("repair_staff"):
        raise Forbidden("Only repair-point staff record repairs.")
    today = clock.china_today()
    found = (await raw_fetch(_LOOKUP, product_id or 0, spare_part_id, today))[0]
    errors = _errors(customer, proof, purchase_date, today, spare_part_id, parts_quantity, found)
    if errors:
        raise ValidationFailed(errors)
    assert purchase_date is not None
    values = _values(actor, found, customer=customer.strip()[:80], phone=phone.strip()[:30],
                     purchase_date=purchase_date, proof=proof.strip()[:120],
                     spare_part=spare_part_id, parts_quantity=parts_quantity)
    if not on_the_spot:  # R19: repaired within three days, or an exchange or a refund
        values.update(status=Status.promised.value, promised_by=rules.promise_date(today),
                      completed_at=None)
    moves = [(actor.organisation_id, spare_part_id, "good", -parts_quantity),
             (actor.organisation_id, spare_part_id, "faulty", parts_quantity)] \
        if parts_quantity and spare_part_id is not None else []
    p = Params()
    with enough_stock():
        rows = await raw_fetch(_insert_sql(p, actor, values, moves), *p.values)
    return rows[0]["id"]


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
