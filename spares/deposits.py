"""A repair point's deposit (R22, R28): sized from its first stock when approved, paid by card,
wallet (spares.wallets) or bank transfer, each payment one movement of its ledger; the first
stock ships from HQ once it is paid."""
from __future__ import annotations

from portal import audit, clock, payments, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.handoffs import names, tell
from portal.money import format_fen
from spares import rules
from spares.queries import deposit_status
from spares.stock import move_stock
from spares.tables import Deposit


async def size_deposit(point_id: int, scale: str) -> int:
    """Size the point's deposit from its scale's template (R22); returns the amount due."""
    template = await raw_fetch(
        "SELECT t.quantity, s.unit_price_fen FROM stock_template t JOIN spare_part s "
        "ON s.id = t.spare_part WHERE t.sales_scale = $1", scale)
    value = rules.stock_value([(t["quantity"], t["unit_price_fen"]) for t in template])
    ratio = await policy.value_on("deposit_ratio_bp", clock.china_today())
    required = rules.deposit_due(value, ratio)
    await Deposit.insert(Deposit(repair_point=point_id, stock_value_fen=value, ratio_bp=ratio,
                                 required_fen=required, created_at=clock.now()))
    return required


@transactional
async def credit_deposit(*, point_id: int, amount_fen: int, kind: str, reference: str,
                         actor: Actor | None) -> bool:
    """R28: one movement per Stripe payment or bank reference (a unique constraint): a repeat
    credits nothing. Returns whether it was credited now. A payment received tells the point;
    the one that completes the deposit tells HQ logistics that the first stock can ship (R22)."""
    # The balance before this movement (a statement does not see its own insert) + it.
    inserted = await raw_fetch(
        "WITH ins AS (INSERT INTO deposit_movement (repair_point, amount_fen, kind, reference, "
        "actor, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, reference) DO NOTHING "
        "RETURNING id, amount_fen) "
        "SELECT ins.id, o.name, o.name_en, d.required_fen, d.shipped_at, ins.amount_fen + "
        "(SELECT coalesce(sum(m.amount_fen), 0) FROM deposit_movement m "
        "WHERE m.repair_point = $1)::bigint AS balance_fen "
        "FROM ins JOIN organisation o ON o.id = $1 LEFT JOIN deposit d ON d.repair_point = $1",
        point_id, amount_fen, kind, reference, actor.user_id if actor else None, clock.now())
    if not inserted:
        return False
    await audit.record(actor=actor, object_type="deposit", object_id=point_id,
                       action=f"credit_{kind}", organisation_id=point_id,
                       after={"amount_fen": amount_fen, "reference": reference})
    row = inserted[0]
    if amount_fen > 0 and row["required_fen"] is not None:
        params = {"point": names(row), "point_id": point_id,
                  "amount": format_fen(amount_fen), "balance": format_fen(row["balance_fen"]),
                  "required": format_fen(row["required_fen"])}
        await tell("deposit_credited", actor=actor, point_id=point_id, params=params,
                   dedupe_key=f"{kind}-{reference}")
        if row["shipped_at"] is None and \
                row["balance_fen"] >= row["required_fen"] > row["balance_fen"] - amount_fen:
            await tell("deposit_paid", actor=actor, point_id=point_id, params=params,
                       dedupe_key=str(point_id))
    return True


@transactional
async def record_bank_transfer(*, actor: Actor, point_id: int, amount_fen: int | None,
                               reference: str) -> None:
    """R28: finance records a bank transfer with its reference."""
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance records deposits.")
    errors = {}
    if amount_fen is None or not 0 < amount_fen <= rules.MAX_FEE_FEN * 10:
        errors["amount"] = "Enter the amount received, e.g. 1200.00."
    if not reference.strip() or len(reference) > 80:
        errors["reference"] = "Enter the bank reference."
    if errors:
        raise ValidationFailed(errors)
    await deposit_status(point_id)
    if not await credit_deposit(point_id=point_id, amount_fen=amount_fen or 0,
                                kind="bank_transfer", reference=reference.strip(), actor=actor):
        raise Conflict("This bank reference has already been recorded.")


async def amount_due(*, actor: Actor, point_id: int) -> int:
    """R28: what the point still owes, asked by the point itself (who alone pays it, by card or
    wallet); Conflict once it is paid."""
    if actor.organisation_id != point_id or not actor.has("repair_staff"):
        raise Forbidden("Only the repair point itself pays its deposit.")
    status = await deposit_status(point_id)
    due = status["required_fen"] - status["balance_fen"]
    if due <= 0:
        raise Conflict("This has already been paid.")
    return due


async def pay_deposit_by_card(settings, *, actor: Actor, point_id: int,
                              payment_method: str) -> dict:
    """R28: the point pays what is still due by card (Stripe)."""
    due = await amount_due(actor=actor, point_id=point_id)
    return await payments.charge(settings, purpose="deposit", object_id=point_id, amount_fen=due,
                                 payment_method=payment_method)


async def on_deposit_paid(payment: dict, intent: dict) -> None:
    """payment_intent.succeeded for a deposit: credit what Stripe says was received."""
    if payment["purpose"] != "deposit":
        return
    await credit_deposit(point_id=int(payment["object_id"]),
                         amount_fen=int(intent.get("amount_received") or intent["amount"]),
                         kind="stripe", reference=intent["id"], actor=None)


@transactional
async def ship_first_stock(*, actor: Actor, point_id: int, hq_id: int) -> None:
    """R22: the first stock ships from HQ only when the deposit is paid."""
    if not actor.has("hq_logistics", "hq_cs"):
        raise Forbidden("Only HQ ships the first stock.")
    rows = await raw_fetch("SELECT * FROM deposit WHERE repair_point = $1 FOR UPDATE", point_id)
    if not rows:
        raise NotFound("Not found.")
    status = await deposit_status(point_id)
    if rows[0]["shipped_at"] is not None:
        raise Conflict("The first stock has already been shipped.")
    rules.enforce(rules.allowed_actions(  # R22: not before the deposit is paid
        roles=actor.roles, own_point=actor.organisation_id == point_id,
        deposit_paid=status["paid"], stock_shipped=False), "ship")
    scale = (await raw_fetch("SELECT sales_scale FROM repair_point_application "
                             "WHERE repair_point = $1", point_id))[0]["sales_scale"]
    template = await raw_fetch("SELECT spare_part, quantity FROM stock_template "
                               "WHERE sales_scale = $1", scale)
    moves = [(hq_id, t["spare_part"], "good", -t["quantity"]) for t in template] + \
            [(point_id, t["spare_part"], "good", t["quantity"]) for t in template]
    await move_stock(moves, kind="first_stock", reference=f"deposit-{point_id}", actor=actor)
    await raw_fetch("UPDATE deposit SET shipped_at = $2 WHERE repair_point = $1", point_id,
                    clock.now())
    await audit.record(actor=actor, object_type="deposit", object_id=point_id,
                       action="first_stock_shipped", organisation_id=point_id,
                       after={"parts": len(template)})
