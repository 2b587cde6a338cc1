"""Supplier recovery (R13, R16): products map to the component makers who answer for their
defects; each month's confirmed defects — decided exchanges and credits whose defect reason a
supplier answers for, and every line of a batch whose quality dispute HQ tech confirmed (R16) —
roll up into one claim per supplier with quantities and amounts (fen, at the credit price of
the day), sent, answered and settled, each step in the audit history (R20). A line is claimed
once (a unique return_line)."""
from __future__ import annotations

from datetime import datetime, time

from goods import rules
from goods.inputs import (
    ClaimAnswerIn,
    ClaimMonthIn,
    ClaimSettleIn,
    ProductSupplierIn,
    ReasonAttributionIn,
    SupplierIn,
)
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from portal.money import format_fen

MANAGERS = ("hq_cs", "hq_tech", "hq_finance", "hq_admin")
READERS = (*MANAGERS, "auditor")
CLAIM_STATUS_LABELS = {"draft": "Draft", "sent": "Sent to the supplier",
                       "answered": "Answered by the supplier", "settled": "Settled"}
CLAIM_ACTION_LABELS = {"rolled_up": "defects added", "sent": "sent to the supplier",
                       "answered": "supplier's answer recorded", "settled": "settled"}


def may_read(actor: Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has(*READERS)


def may_manage(actor: Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has(*MANAGERS)


def _require_manager(actor: Actor) -> None:
    if not may_manage(actor):
        raise Forbidden("Only head office's customer service, tech, finance or administrator "
                        "manage supplier claims.")


@transactional
async def save_supplier(*, actor: Actor, data: SupplierIn) -> int:
    _require_manager(actor)
    code = data.code.strip().upper()
    errors = {}
    if not code or len(code) > 20:
        errors["code"] = "Enter a code of at most 20 characters."
    if not data.name_zh.strip() or len(data.name_zh) > 120 or len(data.name_en) > 120:
        errors["name_zh"] = "Enter the supplier's name (at most 120 characters)."
    if errors:
        raise ValidationFailed(errors)
    row = (await raw_fetch(
        "INSERT INTO goods_supplier (code, name_zh, name_en) VALUES ($1, $2, $3) "
        "ON CONFLICT (code) DO UPDATE SET name_zh = $2, name_en = $3 RETURNING id",
        code, data.name_zh.strip(), data.name_en.strip() or data.name_zh.strip()))[0]
    await audit.record(actor=actor, object_type="goods_supplier", object_id=row["id"],
                       action="set", after={"code": code, "name_zh": data.name_zh})
    return int(row["id"])


@transactional
async def map_product(*, actor: Actor, data: ProductSupplierIn) -> None:
    _require_manager(actor)
    if not await raw_fetch("SELECT 1 FROM product WHERE id = $1", data.product_id):
        raise ValidationFailed({"product_id": "Choose a product of the catalogue."})
    if not await raw_fetch("SELECT 1 FROM goods_supplier WHERE id = $1", data.supplier_id):
        raise ValidationFailed({"supplier_id": "Choose a supplier."})
    before = await raw_fetch("SELECT supplier FROM goods_product_supplier WHERE product = $1",
                             data.product_id)
    await raw_fetch(
        "INSERT INTO goods_product_supplier (product, supplier, component) VALUES ($1, $2, $3) "
        "ON CONFLICT (product) DO UPDATE SET supplier = $2, component = $3",
        data.product_id, data.supplier_id, data.component.strip()[:60])
    await audit.record(actor=actor, object_type="goods_product_supplier",
                       object_id=data.product_id, action="set",
                       before={"supplier": before[0]["supplier"]} if before else None,
                       after={"supplier": data.supplier_id, "component": data.component})


@transactional
async def attribute_reason(*, actor: Actor, data: ReasonAttributionIn) -> None:
    _require_manager(actor)
    if not await raw_fetch("SELECT 1 FROM reason_code WHERE id = $1 AND kind = 'defect'",
                           data.reason_id):
        raise ValidationFailed({"reason_id": "Choose a defect reason."})
    await raw_fetch(
        "INSERT INTO goods_reason_attribution (reason, supplier_attributable) VALUES ($1, $2) "
        "ON CONFLICT (reason) DO UPDATE SET supplier_attributable = $2",
        data.reason_id, data.supplier_attributable)
    await audit.record(actor=actor, object_type="goods_reason_attribution",
                       object_id=data.reason_id, action="set",
                       after={"supplier_attributable": data.supplier_attributable})


# --- the monthly roll-up: three statements whatever the number of lines --------------------------

_PRICE = ("coalesce((SELECT cp.price_fen FROM credit_price cp WHERE cp.product = l.product "
          "AND cp.effective_from <= ({at} AT TIME ZONE 'Asia/Shanghai')::date "
          "ORDER BY cp.effective_from DESC LIMIT 1), 0)")
CANDIDATES = (
    "SELECT DISTINCT ON (line) * FROM ("
    # decided exchanges and credits with a reason the supplier answers for (R13)
    "SELECT l.id AS line, ps.supplier, NULL::int AS dispute, "
    "coalesce(l.exchanged_qty, 0) + coalesce(l.credited_qty, 0) AS qty, "
    f"{_PRICE.format(at='b.decided_at')} AS price FROM return_line l "
    "JOIN return_batch b ON b.id = l.batch JOIN goods_product_supplier ps ON ps.product = l.product "
    "JOIN goods_reason_attribution ra ON ra.reason = l.reason AND ra.supplier_attributable "
    "WHERE b.decided_at >= $1 AND b.decided_at < $2 "
    "AND coalesce(l.exchanged_qty, 0) + coalesce(l.credited_qty, 0) > 0 "
    "UNION ALL "
    # every line of a batch whose quality problem HQ tech confirmed (R16)
    "SELECT l.id, ps.supplier, d.id, coalesce(l.received_qty, l.quantity), "
    f"{_PRICE.format(at='d.verified_at')} FROM quality_dispute d "
    "JOIN return_line l ON l.batch = d.batch JOIN goods_product_supplier ps ON ps.product = l.product "
    "WHERE d.confirmed AND d.verified_at >= $1 AND d.verified_at < $2 "
    "AND coalesce(l.received_qty, l.quantity) > 0) c "
    "WHERE NOT EXISTS (SELECT 1 FROM goods_supplier_claim_line x WHERE x.return_line = c.line) "
    "ORDER BY line, dispute NULLS LAST")


def _month_range(month) -> tuple[datetime, datetime]:
    start = rules.month_start(month)
    return (datetime.combine(start, time(), clock.CHINA),
            datetime.combine(rules.next_month(start), time(), clock.CHINA))


@transactional
async def roll_up(*, actor: Actor, data: ClaimMonthIn) -> int:
    """The month's confirmed defects not yet claimed go into each supplier's draft claim of the
    month (created when missing). A claim already sent takes no more lines. Returns the number
    of lines added."""
    _require_manager(actor)
    month = rules.month_start(data.month)
    if month >= rules.month_start(clock.china_today()):
        raise RuleViolation("Only a month that has ended is rolled up.")
    start, end = _month_range(month)
    now = clock.now()
    await raw_fetch(
        "INSERT INTO goods_supplier_claim (supplier, month, status, quantity, amount_fen, answer, "
        "created_at) SELECT DISTINCT c.supplier, $3::date, 'draft', 0, 0, '', $4::timestamptz "
        f"FROM ({CANDIDATES}) c "
        "ON CONFLICT (supplier, month) DO NOTHING", start, end, month, now)
    added = await raw_fetch(
        "INSERT INTO goods_supplier_claim_line (claim, return_line, dispute, quantity, amount_fen) "
        f"SELECT k.id, c.line, c.dispute, c.qty, c.qty * c.price FROM ({CANDIDATES}) c "
        "JOIN goods_supplier_claim k ON k.supplier = c.supplier AND k.month = $3 "
        "AND k.status = 'draft' RETURNING id, claim", start, end, month)
    claims = sorted({r["claim"] for r in added})
    if claims:
        await raw_fetch(
            "UPDATE goods_supplier_claim k SET quantity = t.q, amount_fen = t.a FROM "
            "(SELECT claim, sum(quantity)::int AS q, sum(amount_fen)::bigint AS a "
            "FROM goods_supplier_claim_line WHERE claim = ANY($1::int[]) GROUP BY claim) t "
            "WHERE k.id = t.claim", claims)
        for claim in claims:
            await audit.record(actor=actor, object_type="goods_supplier_claim", object_id=claim,
                               action="rolled_up", after={
                                   "lines": sum(1 for r in added if r["claim"] == claim)})
        # the next person: tech checks and sends them (a later roll-up of more lines tells again)
        await tell("supplier_claims_drawn_up", actor=actor,
                   params={"month": f"{month:%Y-%m}", "lines": len(added), "claims": len(claims)},
                   dedupe_key=f"claims-{month:%Y-%m}-{max(r['id'] for r in added)}")
    return len(added)


async def get_claim(*, actor: Actor, claim_id: int, lock: bool = False) -> dict:
    if not may_read(actor):
        raise NotFound("Not found.")
    rows = await raw_fetch(
        "SELECT k.*, s.code, s.name_zh, s.name_en FROM goods_supplier_claim k "
        "JOIN goods_supplier s ON s.id = k.supplier WHERE k.id = $1"
        + (" FOR UPDATE OF k" if lock else ""), claim_id)
    if not rows:
        raise NotFound("Not found.")
    return rows[0]


async def claim_lines(claim_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT x.quantity, x.amount_fen, x.dispute, l.line_no, b.id AS batch_id, b.number, "
        "p.model, r.code AS reason_code FROM goods_supplier_claim_line x "
        "JOIN return_line l ON l.id = x.return_line JOIN return_batch b ON b.id = l.batch "
        "JOIN product p ON p.id = l.product LEFT JOIN reason_code r ON r.id = l.reason "
        "WHERE x.claim = $1 ORDER BY b.number, l.line_no", claim_id)


def claim_actions(actor: Actor, claim: dict) -> dict[str, rules.Refusal | None]:
    if not may_manage(actor):
        return {}
    return {target: rules.claim_refusal(claim["status"], target)
            for target in ("sent", "answered", "settled")}


async def _step(actor: Actor, claim_id: int, target: str) -> dict:
    """The claim, row-locked, when `target` is its next step (one step at a time)."""
    claim = await get_claim(actor=actor, claim_id=claim_id, lock=True)
    _require_manager(actor)
    refusal = rules.claim_refusal(claim["status"], target)
    if refusal is not None:
        raise Conflict(refusal.message, **refusal.kwargs)
    return claim


async def _move(actor: Actor, claim_id: int, target: str, values: dict, reason: str = "") -> dict:
    """The claim moved to `target`; returns it as it was before (row-locked)."""
    claim = await _step(actor, claim_id, target)
    columns = {"status": target, f"{target}_at": clock.now(), **values}
    sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(columns))
    await raw_fetch(f"UPDATE goods_supplier_claim SET {sets} WHERE id = $1", claim_id,
                    *columns.values())
    await audit.record(actor=actor, object_type="goods_supplier_claim", object_id=claim_id,
                       action=target, before={"status": claim["status"]},
                       after={k: v for k, v in columns.items() if not k.endswith("_at")},
                       reason=reason)
    return claim


async def _tell(event: str, actor: Actor, claim: dict, **extra: object) -> None:
    """The next person at this step (portal/handoffs.py): amounts as money, the supplier's name
    in each reader's language."""
    await tell(event, actor=actor, dedupe_key=f"claim-{claim['id']}",
               params={"claim_id": claim["id"], "supplier": names(claim),
                       "month": f"{claim['month']:%Y-%m}", "quantity": claim["quantity"],
                       "amount": format_fen(claim["amount_fen"]),
                       **{k: format_fen(v) if isinstance(v, int) else v
                          for k, v in extra.items()}})


@transactional
async def send_claim(*, actor: Actor, claim_id: int) -> None:
    claim = await _step(actor, claim_id, "sent")
    if claim["quantity"] <= 0:
        raise RuleViolation("A claim without defects is not sent.")
    await _move(actor, claim_id, "sent", {})
    await _tell("supplier_claim_sent", actor, claim)


@transactional
async def answer_claim(*, actor: Actor, claim_id: int, data: ClaimAnswerIn) -> None:
    claim = await _step(actor, claim_id, "answered")
    if not data.answer.strip():
        raise ValidationFailed({"answer": "Record what the supplier answered."})
    if not 0 <= data.accepted_fen <= claim["amount_fen"]:
        raise ValidationFailed({"accepted": "Between nothing and the amount claimed."})
    await _move(actor, claim_id, "answered", {"accepted_fen": data.accepted_fen,
                                              "answer": data.answer.strip()[:2000]},
                reason=data.answer.strip()[:200])
    await _tell("supplier_claim_answered", actor, claim, accepted=data.accepted_fen,
                answer=data.answer.strip()[:200])


@transactional
async def settle_claim(*, actor: Actor, claim_id: int, data: ClaimSettleIn) -> None:
    claim = await _step(actor, claim_id, "settled")
    if not 0 <= data.settled_fen <= (claim["accepted_fen"] or 0):
        raise ValidationFailed({"settled": "Between nothing and the amount the supplier accepted."})
    await _move(actor, claim_id, "settled", {"settled_fen": data.settled_fen})
    await _tell("supplier_claim_settled", actor, claim, settled=data.settled_fen)


async def overview() -> dict:
    """The suppliers page: suppliers, product mappings, reason attributions, claims (4 queries)."""
    return {
        "suppliers": await raw_fetch("SELECT * FROM goods_supplier ORDER BY code"),
        "products": await raw_fetch(
            "SELECT p.id, p.model, p.name_zh, p.name_en, ps.supplier, ps.component, s.code "
            "FROM product p LEFT JOIN goods_product_supplier ps ON ps.product = p.id "
            "LEFT JOIN goods_supplier s ON s.id = ps.supplier WHERE p.active ORDER BY p.model"),
        "reasons": await raw_fetch(
            "SELECT r.id, r.code, r.name_zh, r.name_en, coalesce(a.supplier_attributable, false) "
            "AS attributable FROM reason_code r LEFT JOIN goods_reason_attribution a "
            "ON a.reason = r.id WHERE r.kind = 'defect' AND r.active ORDER BY r.code"),
        "claims": await raw_fetch(
            "SELECT k.id, k.month, k.status, k.quantity, k.amount_fen, k.accepted_fen, "
            "k.settled_fen, s.code, s.name_zh, s.name_en FROM goods_supplier_claim k "
            "JOIN goods_supplier s ON s.id = k.supplier ORDER BY k.month DESC, s.code LIMIT 200"),
    }
