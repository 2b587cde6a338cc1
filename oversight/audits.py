"""Audits of offices (R30): the CS-led group's plan, the vice-president's approval or return,
the visit (never before approval), the written report by the deadline with the score that
counts in the office's appraisal (R36), and the vice-president's instruction of a rectification
order (issued, answered and closed in oversight/rectification.py).

Every write runs in one transaction with its audit-trail entry (R20) and its hand-off. The
trail's entries of a plan belong to head office (the acting group or vice-president), so
nothing about an unannounced audit reaches the office's own history before the visit."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from dealers.rules import Refusal
from oversight import queries, rules
from oversight.inputs import (
    AuditDecisionIn,
    AuditPlanIn,
    AuditReportIn,
    AuditVisitIn,
    InstructIn,
)
from oversight.tables import Audit, AuditMember, RectificationOrder
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import china_day, names, tell

STATUS_LABELS = {"submitted": "Waiting for approval", "returned": "Returned to the group",
                 "approved": "Approved", "visited": "Visited", "reported": "Reported"}
ORDER_STATUS_LABELS = {"instructed": "Instructed by the vice-president",
                       "issued": "Issued to the office", "answered": "Answered by the office",
                       "closed": "Closed"}
KIND_LABELS = {"periodic": "Periodic", "ad_hoc": "Ad hoc"}
HISTORY_LABELS = {"create": "plan submitted", "resubmit": "plan submitted again",
                  "approved": "plan approved", "returned": "plan returned",
                  "visited": "visit recorded", "reported": "report filed",
                  "instructed": "rectification instructed"}
DUTY_LABELS = {"lead": "Lead (customer service)", "sales_planning": "Sales planning",
               "finance": "Finance", "member": "Member"}


def may_plan(actor: Actor) -> bool:
    """R30: customer service leads the audit group and draws its plans."""
    return actor.organisation_kind == "hq" and actor.has("hq_cs")


def is_vp(actor: Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has("vice_president")


def is_line(actor: Actor, office_path: str) -> bool:
    """R30: the line department — a head-office regional manager covering the office."""
    return actor.organisation_kind == "hq" and actor.has("manager") \
        and any(office_path.startswith(root) for root in actor.covered_paths)


def is_office(actor: Actor, office_id: int) -> bool:
    return actor.organisation_id == office_id and actor.has("manager")


def _audit_flags(actor: Actor, row: dict) -> dict:
    return dict(is_vp=is_vp(actor), in_group=actor.user_id in row["member_ids"],
                is_lead=actor.user_id == row["lead_id"])


def order_flags(actor: Actor, row: dict, order: dict) -> dict:
    return dict(is_line=is_line(actor, row["office_path"]),
                in_group=actor.user_id in row["member_ids"],
                is_office=is_office(actor, order["office_id"]))


def actions_for(actor: Actor, row: dict) -> dict[str, Refusal | None]:
    if actor.read_only:
        return {}
    return rules.audit_actions(status=row["status"], **_audit_flags(actor, row))


def order_actions_for(actor: Actor, audit_row: dict, order: dict) -> dict[str, Refusal | None]:
    if actor.read_only:
        return {}
    return rules.order_actions(status=order["status"], **order_flags(actor, audit_row, order))


def enforce(actions: dict[str, Refusal | None], action: str, status: str,
             labels: dict[str, str], ever: set[str]) -> None:
    """`ever`: the actions this person has in some status (else the role may not: Forbidden)."""
    if action not in actions:
        if action not in ever:
            raise Forbidden("Your role may not do this.")
        raise Conflict("This is %(status)s.", status=labels[status])
    refusal = actions[action]
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def _enforce_audit(actor: Actor, row: dict, action: str) -> None:
    flags = _audit_flags(actor, row)
    ever = set() if actor.read_only else {
        a for s in rules.AuditStatus for a in rules.audit_actions(status=s, **flags)}
    enforce(actions_for(actor, row), action, row["status"], STATUS_LABELS, ever)


async def get_audit(*, actor: Actor, audit_id: int) -> dict:
    """An audit `actor` may see (R1, R30); NotFound otherwise, so an unannounced audit does not
    exist for its office before the visit."""
    row = await queries.audit_row(actor, audit_id)
    if row is None:
        raise NotFound("Not found.")
    row["breached"] = queries.breached(row, clock.china_today())
    return row


async def _locked(actor: Actor, audit_id: int) -> dict:
    await raw_fetch("SELECT id FROM office_audit WHERE id = $1 FOR UPDATE", audit_id)
    return await get_audit(actor=actor, audit_id=audit_id)


def audit_params(row: dict) -> dict:
    return dict(audit_id=row["id"], office=names(row, "office_name"),
                deadline=china_day(row["deadline"]))


async def _check_plan(data: AuditPlanIn) -> dict:
    errors = rules.plan_problems(kind=data.kind, scope=data.scope, method=data.method,
                                 deadline=data.deadline, cost_fen=data.cost_fen,
                                 today=clock.china_today())
    office = await queries.office_row(data.office_id)
    if office is None or office["kind"] not in ("office", "agent") or not office["active"]:
        errors["office_id"] = "Choose an office or logistics agent."
    named = [u for u in (data.sales_planning_id, data.finance_id, *data.members) if u]
    if set(named) - await queries.hq_user_ids(named):
        errors["members"] = "Name head-office people only."
    if errors:
        raise ValidationFailed(errors)
    assert office is not None
    return office


def _group(actor: Actor, data: AuditPlanIn) -> list[tuple[int, str]]:
    group = [(actor.user_id, "lead")]
    for user_id, duty in ((data.sales_planning_id, "sales_planning"),
                          (data.finance_id, "finance"),
                          *((m, "member") for m in data.members)):
        if user_id and user_id not in {u for u, _ in group}:
            group.append((user_id, duty))
    return group


@transactional
async def plan_audit(*, actor: Actor, data: AuditPlanIn) -> int:
    """R30: the group's plan for one office, submitted to the vice-president. The cost is
    borne by head office (the database refuses the office as its bearer)."""
    if not may_plan(actor):
        raise Forbidden("Customer service leads the audit group and draws its plans.")
    office = await _check_plan(data)
    row = Audit(office=data.office_id, cost_bearer=await queries.hq_id(), kind=data.kind,
                announced=data.announced, scope=data.scope, method=data.method,
                deadline=data.deadline, cost_fen=data.cost_fen, status="submitted",
                created_by=actor.user_id, created_at=clock.now())
    await Audit.insert(row)
    await AuditMember.insert(*(AuditMember(audit=row.id, user=u, duty=d)
                               for u, d in _group(actor, data)))
    plan = {k: v for k, v in asdict(data).items() if k != "members"}
    await audit.record(actor=actor, object_type="office_audit", object_id=row.id,
                       action="create", after={**plan, "members": data.members})
    await tell("audit_plan_submitted", actor=actor, dedupe_key=f"audit:{row.id}:submitted",
               params=dict(audit_id=row.id, office=names(office),
                           deadline=china_day(data.deadline)))
    return row.id


@transactional
async def resubmit(*, actor: Actor, audit_id: int, data: AuditPlanIn) -> None:
    """R30: the lead revises a returned plan and submits it again (the office stays)."""
    row = await _locked(actor, audit_id)
    _enforce_audit(actor, row, "resubmit")
    if data.office_id != row["office_id"]:
        raise ValidationFailed({"office_id": "A plan keeps its office: draw a new plan."})
    await _check_plan(data)
    after = dict(kind=data.kind, announced=data.announced, scope=data.scope,
                 method=data.method, deadline=data.deadline, cost_fen=data.cost_fen)
    await Audit.update({**{getattr(Audit, k): v for k, v in after.items()},
                        Audit.status: "submitted"}).where(Audit.id == audit_id)
    before, changed = audit.changes({k: row[k] for k in after}, after)
    await audit.record(actor=actor, object_type="office_audit", object_id=audit_id,
                       action="resubmit", before={**before, "status": row["status"]},
                       after={**changed, "status": "submitted"})
    await tell("audit_plan_submitted", actor=actor, params=audit_params(row),
               dedupe_key=f"audit:{audit_id}:resubmitted:{clock.now().timestamp():.0f}")


@transactional
async def decide(*, actor: Actor, audit_id: int, approve: bool, data: AuditDecisionIn) -> None:
    """R30: the vice-president approves the plan (the audit may start) or returns it to the
    group with the reason. An announced audit is then announced to the office; an unannounced
    one tells the office nothing."""
    row = await _locked(actor, audit_id)
    _enforce_audit(actor, row, "approve" if approve else "return")
    if not approve and not data.note.strip():
        raise ValidationFailed({"note": "Say why the plan goes back to the group."})
    if len(data.note) > rules.TEXT_MAX:
        raise ValidationFailed({"note": "At most 4,000 characters."})
    status = "approved" if approve else "returned"
    await Audit.update({Audit.status: status, Audit.decided_by: actor.user_id,
                        Audit.decided_at: clock.now(), Audit.decision_note: data.note}
                       ).where(Audit.id == audit_id)
    await audit.record(actor=actor, object_type="office_audit", object_id=audit_id,
                       action=status, before={"status": row["status"]},
                       after={"status": status}, reason=data.note)
    if approve:
        await tell("audit_plan_approved", actor=actor, params=audit_params(row),
                   dedupe_key=f"audit:{audit_id}:approved", user_ids=row["member_ids"])
        if row["announced"]:
            await tell("audit_announced", actor=actor, params=audit_params(row),
                       dedupe_key=f"audit:{audit_id}:announced", org_id=row["office_id"])
    else:
        await tell("audit_plan_returned", actor=actor, params={**audit_params(row), "note": data.note},
                   dedupe_key=f"audit:{audit_id}:returned:{clock.now().timestamp():.0f}",
                   user_ids=[row["lead_id"]])


@transactional
async def record_visit(*, actor: Actor, audit_id: int, data: AuditVisitIn) -> None:
    """R30: the group records its visit — never before the vice-president's approval. From
    now on the office sees the audit, announced or not."""
    row = await _locked(actor, audit_id)
    _enforce_audit(actor, row, "visit")
    errors = rules.text_problems({"notes": data.notes}, {})
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    await Audit.update({Audit.status: "visited", Audit.visited_at: now,
                        Audit.visit_notes: data.notes}).where(Audit.id == audit_id)
    await audit.record(actor=actor, object_type="office_audit", object_id=audit_id,
                       action="visited", before={"status": row["status"]},
                       after={"status": "visited"})


@transactional
async def file_report(*, actor: Actor, audit_id: int, data: AuditReportIn) -> None:
    """R30, R36: the findings and the written report to the vice-president, with the score
    that counts in the office's appraisal. Filed after the deadline it is a breach (shown)."""
    row = await _locked(actor, audit_id)
    _enforce_audit(actor, row, "report")
    errors = rules.report_problems(findings=data.findings, report=data.report, score=data.score)
    if errors:
        raise ValidationFailed(errors)
    await Audit.update({Audit.status: "reported", Audit.findings: data.findings,
                        Audit.report: data.report, Audit.score: data.score,
                        Audit.reported_by: actor.user_id, Audit.reported_at: clock.now()}
                       ).where(Audit.id == audit_id)
    late = rules.report_due_breached(row["deadline"], clock.china_today(), clock.china_today())
    await audit.record(actor=actor, object_type="office_audit", object_id=audit_id,
                       action="reported", before={"status": row["status"]},
                       after={"status": "reported", "score": data.score, "late": late})
    await tell("audit_reported", actor=actor, params=audit_params(row),
               dedupe_key=f"audit:{audit_id}:reported")


@transactional
async def instruct(*, actor: Actor, audit_id: int, data: InstructIn) -> int:
    """R30: the vice-president has the line department order rectification."""
    row = await _locked(actor, audit_id)
    _enforce_audit(actor, row, "instruct")
    errors = rules.text_problems({"instruction": data.instruction},
                                 {"instruction": "Say what must be put right."})
    if errors:
        raise ValidationFailed(errors)
    order = RectificationOrder(audit=audit_id, office=row["office_id"], status="instructed",
                               instruction=data.instruction, instructed_by=actor.user_id,
                               instructed_at=clock.now())
    await RectificationOrder.insert(order)
    await audit.record(actor=actor, object_type="rectification_order", object_id=order.id,
                       action="instructed", after={"status": "instructed", "audit": audit_id})
    await tell("rectification_instructed", actor=actor, org_id=row["office_id"],
               params={**audit_params(row), "order_id": order.id},
               dedupe_key=f"rectification:{order.id}:instructed")
    return order.id



def china_time(at: datetime | None) -> str:
    return at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if at else ""
