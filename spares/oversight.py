"""A point's repair fee (R24), consumer disputes (R29) and closure (R25)."""
from __future__ import annotations

from datetime import date

from portal import audit, clock, payments
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from portal.money import format_fen
from portal.network import get_organisation
from spares import queries, rules
from spares.deposits import credit_deposit
from spares.stock import move_stock
from spares.tables import Closure, ConsumerDispute, RepairFee


async def get_point(actor: Actor, point_id: int) -> dict:
    """A repair point the actor may see (R1), else NotFound."""
    point = await get_organisation(actor=actor, org_id=point_id)
    if point["kind"] != "repair_point":
        raise NotFound("Not found.")
    return point


# --- R24 repair fee ---------------------------------------------------------------------------------

@transactional
async def propose_fee(*, actor: Actor, point_id: int, amount_fen: int | None, reason: str) -> int:
    """The office or regional manager proposes a new fee, from next month (China time)."""
    point = await get_point(actor, point_id)
    if not actor.has("manager"):
        raise Forbidden("Only the office manager or the regional manager may propose a fee.")
    if amount_fen is None or not 0 <= amount_fen <= rules.MAX_FEE_FEN:
        raise ValidationFailed({"amount": "Enter the proposed monthly repair fee, e.g. 300.00."})
    row = RepairFee(repair_point=point_id, amount_fen=amount_fen,
                    effective_from=clock.next_month(clock.china_today()),
                    proposed_by=actor.user_id, proposed_at=clock.now(), reason=reason.strip())
    await RepairFee.insert(row)
    await audit.record(actor=actor, object_type="repair_fee", object_id=row.id,
                       action="proposed", organisation_id=point["id"],
                       after={"amount_fen": amount_fen}, reason=reason.strip())
    await tell("fee_proposed", actor=actor, org_id=point["parent"], point_id=point_id,
               dedupe_key=str(row.id), params={
                   "point": names(point), "point_id": point_id,
                   "amount": format_fen(amount_fen), "month": f"{row.effective_from:%Y-%m}"})
    return row.id


@transactional
async def decide_fee(*, actor: Actor, fee_id: int, approve: bool, reason: str = "") -> None:
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service may approve.")
    if not approve and not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    rows = await raw_fetch("SELECT f.*, o.name, o.name_en FROM repair_fee f JOIN organisation o "
                           "ON o.id = f.repair_point WHERE f.id = $1 FOR UPDATE OF f", fee_id)
    if not rows:
        raise NotFound("Not found.")
    fee = rows[0]
    if fee["status"] != RepairFee.Status.proposed:
        raise Conflict("This request has already been decided.")
    status = (RepairFee.Status.approved if approve else RepairFee.Status.refused).value
    await raw_fetch("UPDATE repair_fee SET status = $2, decided_by = $3, decided_at = $4, "
                    "decision_reason = $5 WHERE id = $1", fee_id, status, actor.user_id,
                    clock.now(), reason.strip())
    await audit.record(actor=actor, object_type="repair_fee", object_id=fee_id, action=status,
                       organisation_id=fee["repair_point"], reason=reason.strip())
    await tell(f"fee_{status}", actor=actor, point_id=fee["repair_point"],
               user_ids=[fee["proposed_by"]], dedupe_key=str(fee_id), params={
                   "point": names(fee), "point_id": fee["repair_point"],
                   "amount": format_fen(fee["amount_fen"]), "reason": reason.strip(),
                   "month": f"{fee['effective_from']:%Y-%m}"})


async def fee_on(point_id: int, month: date) -> int | None:
    """The decided fee that settlements pay for `month` (R24), None when none is decided."""
    rows = await raw_fetch(
        "SELECT amount_fen FROM repair_fee WHERE repair_point = $1 AND status = 'approved' "
        "AND effective_from <= $2 ORDER BY effective_from DESC, id DESC LIMIT 1",
        point_id, month.replace(day=1))
    return rows[0]["amount_fen"] if rows else None


# --- R29 consumer disputes -------------------------------------------------------------------------------

@transactional
async def record_dispute(*, actor: Actor, point_id: int, customer: str, description: str) -> int:
    point = await get_point(actor, point_id)
    if not (actor.organisation_id == point_id or actor.has("manager", "dealer_clerk", "hq_cs")):
        raise Forbidden("Your role may not open this page.")
    if not customer.strip() or not description.strip():
        raise ValidationFailed({"description": "Describe the dispute and who raised it."})
    row = ConsumerDispute(repair_point=point_id, customer=customer.strip()[:80],
                          description=description.strip(), recorded_by=actor.user_id,
                          recorded_at=clock.now())
    await ConsumerDispute.insert(row)
    await audit.record(actor=actor, object_type="consumer_dispute", object_id=row.id,
                       action="recorded", organisation_id=point_id, reason=description.strip())
    # R29: the office (or its regional manager) mediates
    await tell("dispute_recorded", actor=actor, org_id=point["parent"], point_id=point_id,
               dedupe_key=str(row.id), params={
                   "point": names(point), "point_id": point_id, "customer": row.customer,
                   "description": _cut(description.strip())})
    return row.id


def _cut(text: str, limit: int = 300) -> str:
    """A long free text shortened for a notice; the page has it whole."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _dispute_params(dispute: dict, **extra: str) -> dict:
    point = dispute["point"]
    return {"point": names(point), "point_id": point["id"], "customer": dispute["customer"],
            **{k: _cut(v) for k, v in extra.items()}}


@transactional
async def mediate_dispute(*, actor: Actor, dispute_id: int, settled: bool, notes: str) -> None:
    """R29: the office or regional manager mediates: settled, or escalated to CS."""
    if not actor.has("manager"):
        raise Forbidden("Only the office manager or the regional manager mediates disputes.")
    if not notes.strip():
        raise ValidationFailed({"notes": "Record how it was mediated and why."})
    dispute = await _dispute(actor, dispute_id)
    if dispute["status"] != ConsumerDispute.Status.open:
        raise Conflict("This request has already been decided.")
    status = (ConsumerDispute.Status.settled if settled else ConsumerDispute.Status.escalated).value
    await raw_fetch("UPDATE consumer_dispute SET status = $2, mediation = $3, mediated_by = $4, "
                    "closed_at = $5 WHERE id = $1", dispute_id, status, notes.strip(),
                    actor.user_id, clock.now() if settled else None)
    await audit.record(actor=actor, object_type="consumer_dispute", object_id=dispute_id,
                       action=status, organisation_id=dispute["repair_point"],
                       reason=notes.strip())
    await tell(f"dispute_{status}", actor=actor, org_id=dispute["point"]["parent"],
               point_id=dispute["repair_point"], dedupe_key=str(dispute_id),
               params=_dispute_params(dispute, notes=notes.strip()))


@transactional
async def rule_dispute(*, actor: Actor, dispute_id: int, ruling: str) -> None:
    """R29: CS gives the final ruling on escalated disputes."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service gives the final ruling.")
    if not ruling.strip():
        raise ValidationFailed({"ruling": "Record the ruling and its reason."})
    dispute = await _dispute(actor, dispute_id)
    if dispute["status"] != ConsumerDispute.Status.escalated:
        raise Conflict("Only escalated disputes get a final ruling.")
    await raw_fetch("UPDATE consumer_dispute SET status = 'ruled', ruling = $2, ruled_by = $3, "
                    "closed_at = $4 WHERE id = $1", dispute_id, ruling.strip(), actor.user_id,
                    clock.now())
    await audit.record(actor=actor, object_type="consumer_dispute", object_id=dispute_id,
                       action="ruled", organisation_id=dispute["repair_point"],
                       reason=ruling.strip())
    await tell("dispute_ruled", actor=actor, org_id=dispute["point"]["parent"],
               point_id=dispute["repair_point"], dedupe_key=str(dispute_id),
               params=_dispute_params(dispute, ruling=ruling.strip()))


async def _dispute(actor: Actor, dispute_id: int) -> dict:
    rows = await raw_fetch("SELECT * FROM consumer_dispute WHERE id = $1 FOR UPDATE", dispute_id)
    if not rows:
        raise NotFound("Not found.")
    return {**rows[0], "point": await get_point(actor, rows[0]["repair_point"])}


# --- R25 closure --------------------------------------------------------------------------------------------

async def close_point(settings, *, actor: Actor, point_id: int,
                      returned: dict[tuple[int, str], int], method: str,
                      reference: str = "") -> dict:
    """R25: the point's stock comes back to its office and is counted (per part and condition);
    what is missing is valued at catalogue price and withheld from the deposit; the rest is
    refunded (Stripe refund of the card payment, or a recorded bank transfer)."""
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance records deposits.")
    if method not in ("stripe", "bank_transfer") or (method == "bank_transfer" and not reference.strip()):
        raise ValidationFailed({"reference": "Enter the bank reference."})
    point = await get_point(actor, point_id)
    stock = await queries.stock_of(point_id)
    deposit = await queries.deposit_status(point_id)
    missing = 0
    moves = []
    for part in stock:
        for condition in ("good", "faulty"):
            held, back = part[condition], returned.get((part["id"], condition), 0)
            if not 0 <= back <= held:
                raise ValidationFailed({"returned": "Returned quantities cannot exceed the point's stock."})
            missing += (held - back) * part["unit_price_fen"]
            if held:
                moves.append((point_id, part["id"], condition, -held))
            if back:
                moves.append((point["parent"], part["id"], condition, back))
    refund = max(deposit["balance_fen"] - missing, 0)
    withheld = deposit["balance_fen"] - refund
    if method == "stripe" and refund:  # idempotent at Stripe (its key is the point's closure)
        reference = await _refund_card(settings, point_id, refund)
    await _record_closure(actor, point, moves=moves, missing=missing, refund=refund,
                          withheld=withheld, method=method, reference=reference)
    return {"missing_fen": missing, "refund_fen": refund, "withheld_fen": withheld}


@transactional
async def _record_closure(actor: Actor, point: dict, *, moves: list, missing: int, refund: int,
                          withheld: int, method: str, reference: str) -> None:
    point_id = point["id"]
    if await Closure.exists().where(Closure.repair_point == point_id):
        raise Conflict("This repair point is already closed.")
    if moves:
        await move_stock(moves, kind="closure", reference=f"closure-{point_id}", actor=actor)
    if withheld:
        await credit_deposit(point_id=point_id, amount_fen=-withheld, kind="withheld",
                             reference=f"closure-{point_id}", actor=actor)
    if refund:
        await credit_deposit(point_id=point_id, amount_fen=-refund, kind="refund",
                             reference=reference.strip(), actor=actor)
    await Closure.insert(Closure(repair_point=point_id, missing_fen=missing, refund_fen=refund,
                                 method=method, reference=reference.strip(),
                                 closed_by=actor.user_id, closed_at=clock.now()))
    await raw_fetch("UPDATE organisation SET active = false WHERE id = $1", point_id)
    await audit.record(actor=actor, object_type="repair_point", object_id=point_id,
                       action="closed", organisation_id=point_id,
                       after={"missing_fen": missing, "refund_fen": refund, "method": method})


async def _refund_card(settings, point_id: int, amount_fen: int) -> str:
    rows = await raw_fetch("SELECT stripe_id FROM payment WHERE purpose = 'deposit' AND object_id = $1 "
                           "AND status = 'succeeded' ORDER BY id DESC LIMIT 1", str(point_id))
    if not rows:
        raise RuleViolation("The deposit was not paid by card: refund it by bank transfer.")
    return await payments.refund(settings, stripe_id=rows[0]["stripe_id"], amount_fen=amount_fen,
                                 key=f"closure-refund-{point_id}")
