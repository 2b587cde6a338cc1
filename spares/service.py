"""Repair points (R21), first stock and deposit (R22, R28), the stock ledger and old-for-new
exchanges (R23), consumer repairs (R19, R17)."""
from __future__ import annotations

from datetime import date

from portal import audit, clock, payments, policy
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from portal.i18n import current_locale
from portal.money import format_fen
from portal.network import DEALER_KINDS, get_organisation
from portal.tables import Organisation, Product
from spares import rules
from spares.tables import Deposit, Exchange, Repair, RepairPointApplication

MAX_FEE_FEN = 100_000_000


# --- R21 applications ----------------------------------------------------------------------------------

@transactional
async def propose_repair_point(*, actor: Actor, office_id: int, name: str, coverage_area: str,
                               sales_scale: str, address: str, proposed_fee_fen: int | None,
                               owner_store_id: int | None = None) -> int:
    """R21: an office, agent or regional manager proposes a point and its fee (R24)."""
    office = await get_organisation(actor=actor, org_id=office_id)
    if office["kind"] not in DEALER_KINDS or not actor.has("manager", "dealer_clerk"):
        raise Forbidden("Only offices, logistics agents and regional managers propose repair points.")
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 120:
        errors["name"] = "Enter a name (up to 120 characters)."
    if not coverage_area.strip():
        errors["coverage_area"] = "Describe the area it covers."
    if sales_scale not in rules.SCALES:
        errors["sales_scale"] = "Choose the sales scale."
    if not address.strip() or len(address) > 200:
        errors["address"] = "Enter the address (a lighting market or street)."
    if proposed_fee_fen is None or not 0 <= proposed_fee_fen <= MAX_FEE_FEN:
        errors["proposed_fee"] = "Enter the proposed monthly repair fee, e.g. 300.00."
    if owner_store_id is not None:
        store = await Organisation.select(Organisation.kind, Organisation.parent).where(
            Organisation.id == owner_store_id).first()
        if store is None or store["kind"] != "store" or store["parent"] != office_id:
            errors["owner_store"] = "Choose a franchise store of this office."
    if errors:
        raise ValidationFailed(errors)
    row = RepairPointApplication(
        office=office_id, owner_store=owner_store_id, name=name.strip(),
        coverage_area=coverage_area.strip(), sales_scale=sales_scale, address=address.strip(),
        proposed_fee_fen=proposed_fee_fen, proposed_by=actor.user_id, proposed_at=clock.now())
    await RepairPointApplication.insert(row)
    await audit.record(actor=actor, object_type="repair_point_application", object_id=row.id,
                       action="proposed", organisation_id=office_id,
                       after={"name": name.strip(), "scale": sales_scale,
                              "fee_fen": proposed_fee_fen})
    await tell("repair_point_proposed", actor=actor, org_id=office_id,
               params={"name": name.strip(), "office": names(office),
                       "address": address.strip(), "fee": format_fen(proposed_fee_fen or 0)},
               dedupe_key=str(row.id))
    return row.id


@transactional
async def decide_repair_point(*, actor: Actor, application_id: int, approve: bool,
                              reason: str = "") -> int | None:
    """R21: CS approves (the point joins the tree under its office, its deposit is sized from
    the stock template, R22) or refuses with a reason."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service may approve.")
    if not approve and not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    rows = await raw_fetch("SELECT a.*, o.path, o.region FROM repair_point_application a "
                           "JOIN organisation o ON o.id = a.office WHERE a.id = $1 "
                           "FOR UPDATE OF a", application_id)
    if not rows:
        raise NotFound("Not found.")
    app = rows[0]
    if app["status"] != "proposed":
        raise Conflict("This request has already been decided.")
    point_id, deposit_fen = None, 0
    if approve:
        point = Organisation(name=app["name"], name_en="", kind="repair_point",
                             parent=app["office"], region=app["region"], created_at=clock.now())
        await Organisation.insert(point)
        point_id = point.id
        await Organisation.update({Organisation.path: f"{app['path']}{point.id}."}).where(
            Organisation.id == point.id)
        deposit_fen = await _size_deposit(point_id, app["sales_scale"])
    await raw_fetch("UPDATE repair_point_application SET status = $2, decided_by = $3, "
                    "decided_at = $4, decision_reason = $5, repair_point = $6 WHERE id = $1",
                    application_id, "approved" if approve else "refused", actor.user_id,
                    clock.now(), reason.strip(), point_id)
    await audit.record(actor=actor, object_type="repair_point_application",
                       object_id=application_id, action="approved" if approve else "refused",
                       organisation_id=app["office"], reason=reason.strip(),
                       after={"repair_point": point_id})
    await tell("repair_point_approved" if approve else "repair_point_refused", actor=actor,
               user_ids=[app["proposed_by"]], dedupe_key=str(application_id),
               params={"name": app["name"], "point_id": point_id, "reason": reason.strip(),
                       "deposit": format_fen(deposit_fen)})
    return point_id


async def _size_deposit(point_id: int, scale: str) -> int:
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


# --- R28 deposits ------------------------------------------------------------------------------------------

async def deposit_status(point_id: int) -> dict:
    rows = await raw_fetch(
        "SELECT d.*, coalesce((SELECT sum(amount_fen) FROM deposit_movement m "
        "WHERE m.repair_point = d.repair_point), 0)::bigint AS balance_fen "
        "FROM deposit d WHERE d.repair_point = $1", point_id)
    if not rows:
        raise NotFound("Not found.")
    row = rows[0]
    row["paid"] = row["balance_fen"] >= row["required_fen"]
    return row


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
    if amount_fen is None or not 0 < amount_fen <= MAX_FEE_FEN * 10:
        errors["amount"] = "Enter the amount received, e.g. 1200.00."
    if not reference.strip() or len(reference) > 80:
        errors["reference"] = "Enter the bank reference."
    if errors:
        raise ValidationFailed(errors)
    await deposit_status(point_id)
    if not await credit_deposit(point_id=point_id, amount_fen=amount_fen or 0,
                                kind="bank_transfer", reference=reference.strip(), actor=actor):
        raise Conflict("This bank reference has already been recorded.")


async def pay_deposit_by_card(settings, *, actor: Actor, point_id: int,
                              payment_method: str) -> dict:
    """R28: the point pays what is still due by card (Stripe)."""
    if actor.organisation_id != point_id or not actor.has("repair_staff"):
        raise Forbidden("Only the repair point itself pays its deposit.")
    status = await deposit_status(point_id)
    due = status["required_fen"] - status["balance_fen"]
    if due <= 0:
        raise Conflict("This has already been paid.")
    return await payments.charge(settings, purpose="deposit", object_id=point_id, amount_fen=due,
                                 payment_method=payment_method)


async def on_deposit_paid(payment: dict, intent: dict) -> None:
    """payment_intent.succeeded for a deposit: credit what Stripe says was received."""
    if payment["purpose"] != "deposit":
        return
    await credit_deposit(point_id=int(payment["object_id"]),
                         amount_fen=int(intent.get("amount_received") or intent["amount"]),
                         kind="stripe", reference=intent["id"], actor=None)


# --- R23 stock ledger ---------------------------------------------------------------------------------------

async def move_stock(moves: list[tuple[int, int, str, int]], *, kind: str, reference: str,
                     actor: Actor | None) -> None:
    """Append movements (location, part, condition, signed quantity) in one statement. The
    balance trigger refuses the whole statement if any balance would go negative."""
    import asyncpg

    try:
        await raw_fetch(
            "INSERT INTO stock_movement (location, spare_part, condition, quantity, kind, reference, "
            "actor, at) SELECT l, p, c, q, $5, $6, $7, $8 "
            "FROM unnest($1::int[], $2::int[], $3::text[], $4::int[]) AS t(l, p, c, q)",
            [m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves],
            [m[3] for m in moves], kind, reference, actor.user_id if actor else None, clock.now())
    except asyncpg.exceptions.CheckViolationError as exc:
        raise RuleViolation("Not enough parts in stock (R23).") from exc


async def stock_of(location_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT s.id, s.code, s.name_zh, s.name_en, s.unit_price_fen, "
        "coalesce(sum(b.quantity) FILTER (WHERE b.condition = 'good'), 0) AS good, "
        "coalesce(sum(b.quantity) FILTER (WHERE b.condition = 'faulty'), 0) AS faulty "
        "FROM spare_part s LEFT JOIN stock_balance b ON b.spare_part = s.id AND b.location = $1 "
        "GROUP BY s.id ORDER BY s.code", location_id)


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
    if not status["paid"]:
        raise RuleViolation("The first stock ships once the deposit is paid (R22).")
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


# --- R23 old-for-new exchange ---------------------------------------------------------------------------------

@transactional
async def request_exchange(*, actor: Actor, spare_part_id: int, quantity: int | None) -> int:
    if actor.organisation_kind != "repair_point" or not actor.has("repair_staff"):
        raise Forbidden("Only repair-point staff request exchanges.")
    if quantity is None or not 1 <= quantity <= 1000:
        raise ValidationFailed({"quantity": "Quantity must be a whole number from 1 to 1,000."})
    point = await get_organisation(actor=actor, org_id=actor.organisation_id)
    part = await raw_fetch("SELECT code, name_zh, name_en FROM spare_part WHERE id = $1",
                           spare_part_id)
    if not part:
        raise ValidationFailed({"spare_part": "Choose a spare part from the list."})
    row = Exchange(repair_point=point["id"], office=point["parent"], spare_part=spare_part_id,
                   quantity=quantity, requested_by=actor.user_id, requested_at=clock.now())
    await Exchange.insert(row)
    await audit.record(actor=actor, object_type="exchange", object_id=row.id,
                       action="requested", after={"part": spare_part_id, "qty": quantity})
    # R23: the office hands the good parts over: its clerks and managers are told
    await tell("exchange_requested", actor=actor, org_id=point["parent"],
               point_id=point["id"], dedupe_key=str(row.id),
               params={"point": names(point), "qty": quantity, "part": _part_name(part[0])})
    return row.id


def _part_name(row: dict) -> dict[str, str]:
    """A spare part as people name it, in each language: its name and its code."""
    return {locale: f"{name} ({row['code']})" if name != row["code"] else name
            for locale, name in names(row).items()}


@transactional
async def complete_exchange(*, actor: Actor, exchange_id: int) -> None:
    """R23: the office hands over good parts and takes the faulty ones, in one transaction:
    good out = faulty in, and nobody's stock goes negative (also when two run at once)."""
    rows = await raw_fetch(
        "SELECT e.*, s.code, s.name_zh, s.name_en FROM exchange e "
        "JOIN spare_part s ON s.id = e.spare_part WHERE e.id = $1 FOR UPDATE OF e", exchange_id)
    if not rows:
        raise NotFound("Not found.")
    ex = rows[0]
    office = await get_organisation(actor=actor, org_id=ex["office"])
    if actor.organisation_id != office["id"] or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only the office's own clerks and managers may do this.")
    if ex["status"] != "requested":
        raise Conflict("This exchange is already %(status)s.", status=ex["status"])
    q, part = ex["quantity"], ex["spare_part"]
    await _check_exchange_stock(ex)  # a refusal that says what to do (issue 9 §4)
    await move_stock([(ex["office"], part, "good", -q), (ex["repair_point"], part, "good", q),
                      (ex["repair_point"], part, "faulty", -q), (ex["office"], part, "faulty", q)],
                     kind="exchange", reference=f"exchange-{exchange_id}", actor=actor)
    await raw_fetch("UPDATE exchange SET status = 'completed', completed_by = $2, "
                    "completed_at = $3 WHERE id = $1", exchange_id, actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="exchange", object_id=exchange_id,
                       action="completed", organisation_id=ex["office"],
                       after={"part": part, "qty": q})
    await tell("exchange_completed", actor=actor, point_id=ex["repair_point"],
               dedupe_key=str(exchange_id),
               params={"office": names(office), "qty": q, "part": _part_name(ex),
                       "point_id": ex["repair_point"]})


async def _check_exchange_stock(ex: dict) -> None:
    """R23: name the part, what is on hand and what is needed when the office lacks good parts
    or the point the faulty ones (the balance trigger still refuses any race after this)."""
    held = {(r["location"], r["condition"]): r["quantity"] for r in await raw_fetch(
        "SELECT location, condition, quantity FROM stock_balance WHERE spare_part = $1 "
        "AND location = ANY($2::int[])", ex["spare_part"], [ex["office"], ex["repair_point"]])}
    part = _part_name(ex).get(current_locale.get()) or ex["code"]
    good, faulty = held.get((ex["office"], "good"), 0), held.get((ex["repair_point"], "faulty"), 0)
    if good < ex["quantity"]:
        raise RuleViolation("Not enough good %(part)s at the office: %(have)s on hand, %(need)s "
                            "needed. Receive parts from head office first, or hand over what "
                            "you have after the repair point asks for fewer.",
                            part=part, have=good, need=ex["quantity"])
    if faulty < ex["quantity"]:
        raise RuleViolation("The repair point holds %(have)s faulty %(part)s, fewer than the "
                            "%(need)s to exchange: it must hand back one faulty part for each "
                            "good one.", part=part, have=faulty, need=ex["quantity"])


# --- R19 consumer repairs ----------------------------------------------------------------------------------------

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
        errors["product"] = "Unknown product: choose a model from the catalogue."
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
                 status="repaired" if on_the_spot else "promised",
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


async def list_repairs(*, actor: Actor, point_id: int) -> list[dict]:
    await get_organisation(actor=actor, org_id=point_id)
    rows = await raw_fetch("SELECT r.*, p.model FROM repair r JOIN product p ON p.id = r.product "
                           "WHERE r.repair_point = $1 ORDER BY r.id DESC LIMIT 100", point_id)
    today = clock.china_today()
    for row in rows:
        row["overdue"] = rules.overdue(row["promised_by"], row["completed_at"] is not None, today)
    return rows


# --- R23 faulty spares back to HQ in the office's monthly batch, replacements to the office -------

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
    faulty = [s for s in await stock_of(batch["organisation"]) if s["faulty"] > 0]
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


# --- R22 stock templates (HQ data) ------------------------------------------------------------------------

async def list_templates() -> list[dict]:
    return await raw_fetch("SELECT t.id, t.sales_scale, t.quantity, s.id AS part_id, s.code, "
                           "s.unit_price_fen FROM stock_template t JOIN spare_part s "
                           "ON s.id = t.spare_part ORDER BY t.sales_scale, s.code")


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


@transactional
async def complete_repair(*, actor: Actor, repair_id: int, outcome: str) -> None:
    """R19: a promised repair ends repaired, or past its promise the customer takes an exchange
    or a refund; the outcome is kept."""
    if outcome not in ("repaired", "exchanged", "refunded"):
        raise ValidationFailed({"outcome": "Choose repaired, exchanged or refunded."})
    rows = await raw_fetch("SELECT * FROM repair WHERE id = $1 FOR UPDATE", repair_id)
    if not rows or rows[0]["repair_point"] != actor.organisation_id \
            or not actor.has("repair_staff"):
        raise NotFound("Not found.")
    repair = rows[0]
    if repair["status"] != "promised":
        raise Conflict("This repair is already %(status)s.", status=repair["status"])
    overdue = rules.overdue(repair["promised_by"], False, clock.china_today())
    if outcome != "repaired" and not overdue:
        raise RuleViolation("An exchange or refund is offered once the 3-day promise has passed (R19).")
    await raw_fetch("UPDATE repair SET status = $2, completed_at = $3 WHERE id = $1",
                    repair_id, outcome, clock.now())
    await audit.record(actor=actor, object_type="repair", object_id=repair_id, action=outcome,
                       before={"status": "promised"}, after={"status": outcome})
