"""Rectification orders after an audit (R30): the vice-president instructs, the line department
(never the audit group) issues the order, the audited office answers it with its evidence
attached, and the line department closes it or sends it back."""
from __future__ import annotations

from oversight import queries, rules
from oversight.audits import (
    ORDER_STATUS_LABELS,
    audit_params,
    enforce,
    get_audit,
    is_office,
    order_actions_for,
    order_flags,
)
from oversight.inputs import AnswerOrderIn, CloseOrderIn, IssueOrderIn
from oversight.tables import RectificationOrder
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import china_day, tell


async def get_order(*, actor: Actor, order_id: int) -> tuple[dict, dict]:
    """An order and its audit, for those who may see the audit; NotFound otherwise."""
    order = await queries.order_row(order_id)
    if order is None:
        raise NotFound("Not found.")
    return await get_audit(actor=actor, audit_id=order["audit_id"]), order


async def _locked_order(actor: Actor, order_id: int, action: str) -> tuple[dict, dict]:
    await raw_fetch("SELECT id FROM rectification_order WHERE id = $1 FOR UPDATE", order_id)
    row, order = await get_order(actor=actor, order_id=order_id)
    flags = order_flags(actor, row, order)
    ever = set() if actor.read_only else {
        a for s in rules.OrderStatus for a in rules.order_actions(status=s, **flags)}
    enforce(order_actions_for(actor, row, order), action, order["status"],
             ORDER_STATUS_LABELS, ever)
    return row, order


async def _order_step(actor: Actor, order: dict, status: str, values: dict,
                      reason: str = "", action: str | None = None) -> None:
    await RectificationOrder.update({RectificationOrder.status: status, **{
        getattr(RectificationOrder, k): v for k, v in values.items()}}
    ).where(RectificationOrder.id == order["id"])
    await audit.record(actor=actor, object_type="rectification_order", object_id=order["id"],
                       action=action or status,
                       before={"status": order["status"]}, after={"status": status},
                       reason=reason)


@transactional
async def issue_order(*, actor: Actor, order_id: int, data: IssueOrderIn) -> None:
    """R30: the line department issues the order the vice-president instructed (the audit
    group never can)."""
    row, order = await _locked_order(actor, order_id, "issue")
    errors = rules.text_problems({"requirement": data.requirement},
                                 {"requirement": "Say what the office must put right."})
    if data.due < clock.china_today():
        errors["due"] = "The due date cannot be in the past."
    if errors:
        raise ValidationFailed(errors)
    await _order_step(actor, order, "issued", dict(
        requirement=data.requirement, due=data.due, issued_by=actor.user_id,
        issued_at=clock.now()))
    await tell("rectification_issued", actor=actor, org_id=row["office_id"],
               params={**audit_params(row), "order_id": order_id, "due": china_day(data.due)},
               dedupe_key=f"rectification:{order_id}:issued")


EVIDENCE = "oversight.rectification"  # the attachments' subject: an order's evidence


@transactional
async def answer_order(*, actor: Actor, order_id: int, data: AnswerOrderIn) -> None:
    """R30: the audited office answers the order, its evidence attached first."""
    row, order = await _locked_order(actor, order_id, "answer")
    errors = rules.text_problems({"answer": data.answer},
                                 {"answer": "Say what the office has put right."})
    if errors:
        raise ValidationFailed(errors)
    if not await queries.evidence_count(order_id):
        raise RuleViolation("Attach the evidence (photos or documents) before answering.")
    await _order_step(actor, order, "answered", dict(
        answer=data.answer, answered_by=actor.user_id, answered_at=clock.now()))
    await tell("rectification_answered", actor=actor, user_ids=[order["issued_by"]],
               params={**audit_params(row), "order_id": order_id},
               dedupe_key=f"rectification:{order_id}:answered:{clock.now().timestamp():.0f}")


async def evidence_owner(actor: Actor, order_id: int) -> int:
    """The attachments' rule (portal.attachments): an order's evidence is seen by those who
    see its audit and belongs to the audited office."""
    row, _ = await get_order(actor=actor, order_id=order_id)
    return int(row["office_id"])


async def may_add_evidence(actor: Actor, order_id: int) -> None:
    """Only the audited office adds evidence, while the order waits for its answer."""
    row, order = await get_order(actor=actor, order_id=order_id)
    if not is_office(actor, order["office_id"]):
        raise Forbidden("Only the audited office adds its evidence.")
    if order["status"] != "issued":
        raise RuleViolation("Evidence is added while the order waits for the office's answer.")


@transactional
async def close_order(*, actor: Actor, order_id: int, data: CloseOrderIn,
                      accept: bool = True) -> None:
    """R30: the line department closes the answered order, or sends it back to the office."""
    row, order = await _locked_order(actor, order_id, "close" if accept else "reopen")
    if not accept and not data.note.strip():
        raise ValidationFailed({"note": "Say what the answer lacks."})
    if len(data.note) > rules.TEXT_MAX:
        raise ValidationFailed({"note": "At most 4,000 characters."})
    if accept:
        await _order_step(actor, order, "closed", dict(
            closing_note=data.note, closed_by=actor.user_id, closed_at=clock.now()),
            reason=data.note)
    else:
        await _order_step(actor, order, "issued", {}, reason=data.note, action="reopened")
    await tell("rectification_closed" if accept else "rectification_reopened", actor=actor,
               org_id=row["office_id"], params={**audit_params(row), "order_id": order_id,
                                                "note": data.note},
               dedupe_key=f"rectification:{order_id}:{'closed' if accept else 'reopened'}:"
                          f"{clock.now().timestamp():.0f}")

