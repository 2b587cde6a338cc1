"""A small network for the audit tests (R30): head office with its customer service (the group's
lead), finance, the marketing vice-president and a regional manager covering the audited
office (the line department); the office with its manager and a store; a sibling office."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from oversight import audits
from oversight.inputs import AuditDecisionIn, AuditPlanIn, AuditReportIn, AuditVisitIn
from portal import clock
from portal.actor import Actor
from tests.helpers import actor_of, make_org, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"  # evidence as kept


@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)


async def world() -> World:
    w = World()
    hq = w.orgs["hq"] = await make_org("hq", region=None, name="总部")
    office = w.orgs["office"] = await make_org("office", parent=hq, name="江苏办事处")
    w.orgs["sibling"] = await make_org("office", parent=hq, name="广东办事处", region="CN-GD")
    w.orgs["store"] = await make_org("store", parent=office, name="南京专卖店")
    people = {
        "cs": (hq, ["hq_cs"], None), "cs2": (hq, ["hq_cs"], None),
        "finance": (hq, ["hq_finance"], None), "vp": (hq, ["vice_president"], None),
        "rm": (hq, ["manager"], [office]), "rm.member": (hq, ["manager"], [office]),
        "manager": (office, ["manager"], None), "clerk": (office, ["dealer_clerk"], None),
        "gd.manager": (w.orgs["sibling"], ["manager"], None),
        "store.clerk": (w.orgs["store"], ["dealer_clerk"], None),
        "auditor": (hq, ["auditor"], None),
    }
    for name, (org, roles, covers) in people.items():
        w.users[name] = await make_user(org, roles, username=name, covers=covers)
        w.actors[name] = await actor_of(w.users[name])
    return w


def plan(w: World, *, announced: bool = False, days: int = 10, **overrides) -> AuditPlanIn:
    values = dict(office_id=w.orgs["office"]["id"], kind="periodic", scope="账册与库存",
                  method="现场核对", deadline=clock.china_today() + timedelta(days=days),
                  cost_fen=300000, announced=announced,
                  finance_id=w.users["finance"]["id"], members=[w.users["rm.member"]["id"]])
    values.update(overrides)
    return AuditPlanIn(**values)


async def audit_at(w: World, status: str, *, announced: bool = False, days: int = 10) -> int:
    """An audit taken to `status` through the services."""
    audit_id = await audits.plan_audit(actor=w.actors["cs"], data=plan(w, announced=announced,
                                                                       days=days))
    if status == "submitted":
        return audit_id
    await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=True,
                        data=AuditDecisionIn(note="同意"))
    if status == "approved":
        return audit_id
    await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id,
                              data=AuditVisitIn(notes="账册齐全"))
    if status == "visited":
        return audit_id
    await audits.file_report(actor=w.actors["finance"], audit_id=audit_id,
                             data=AuditReportIn(findings="库存差异", report="详见报告", score=78))
    return audit_id


def today() -> date:
    return clock.china_today()
