"""A network for complaint tests (R32): HQ with CS, the vice-president, tech, logistics and the
auditor; an office with a store and a repair point; a sibling office. Complaints are taken
through the real services up to the step a test needs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal.db import raw_fetch
from service import complaint_steps, complaints
from service.inputs import (
    ComplaintApproveIn,
    ComplaintAssignIn,
    ComplaintCloseIn,
    ComplaintIn,
    ComplaintInvestigateIn,
    ComplaintJudgeIn,
    ComplaintProposeIn,
    ComplaintTellIn,
    PublicComplaintIn,
)
from tests.dealers.factory import catalogue
from tests.helpers import actor_of, make_org, make_user

PHONE = "13812345678"


@dataclass
class World:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)


async def world() -> World:
    w = World()
    hq = w.orgs["hq"] = await make_org("hq", region=None, name="总部")
    office = w.orgs["office"] = await make_org("office", parent=hq, region="CN-JS",
                                               name="江苏办事处")
    w.orgs["sibling"] = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    w.orgs["store"] = await make_org("store", parent=office, name="南京门店")
    w.orgs["point"] = await make_org("repair_point", parent=office, name="南京维修点")
    w.orgs["sibling_point"] = await make_org("repair_point", parent=w.orgs["sibling"],
                                             name="广州维修点")
    people = {
        "cs": ("hq", ["hq_cs"], "zh_CN"), "cs2": ("hq", ["hq_cs"], "en"),
        "vp": ("hq", ["vice_president"], "zh_CN"), "tech": ("hq", ["hq_tech"], "en"),
        "logistics": ("hq", ["hq_logistics"], "zh_CN"), "auditor": ("hq", ["auditor"], "en"),
        "clerk": ("office", ["dealer_clerk"], "en"), "manager": ("office", ["manager"], "zh_CN"),
        "store_clerk": ("store", ["dealer_clerk"], "zh_CN"),
        "staff": ("point", ["repair_staff"], "en"), "staff2": ("point", ["repair_staff"], "zh_CN"),
        "gd_clerk": ("sibling", ["dealer_clerk"], "en"),
        "gd_staff": ("sibling_point", ["repair_staff"], "en"),
    }
    for name, (org, roles, locale) in people.items():
        w.users[name] = await make_user(w.orgs[org], roles, username=name, locale=locale)
        w.actors[name] = await actor_of(w.users[name])
    w.products = await catalogue()
    return w


def complaint_in(**overrides: Any) -> ComplaintIn:
    values: dict[str, Any] = dict(name="张女士", phone=PHONE, channel="phone", about="other",
                                  description="吸顶灯安装两周后不亮。", asks="换一台新的。")
    values.update(overrides)
    return ComplaintIn(**values)


def public_in(**overrides: Any) -> PublicComplaintIn:
    values: dict[str, Any] = dict(name="李先生", phone="139 0000 1111", about="other",
                                  description="维修点态度很差。", asks="道歉。")
    values.update(overrides)
    return PublicComplaintIn(**values)


STEPS = ("recorded", "judged", "assigned", "investigated", "proposed", "approved", "told",
         "closed")


async def complaint(w: World, upto: str = "recorded", *, by: str = "clerk", major: bool = False,
                    kind: str = "service", assigned_to: str = "unit",
                    unit: str = "point", **overrides: Any) -> dict:
    """A complaint recorded by `by` and taken through the real services up to `upto`."""
    a = w.actors
    saved = await complaints.record_complaint(actor=a[by], data=complaint_in(**overrides))
    cid = saved["id"]
    approver = "vp" if major else "cs2"
    teller = "cs" if a[by].organisation_kind == "hq" else by
    assignee = {"unit": "staff" if unit == "point" else "manager", "hq_tech": "tech",
                "hq_logistics": "logistics", "management": "vp", "hq_cs": "cs"}[assigned_to]
    steps = [
        ("judged", lambda: complaint_steps.judge_complaint(
            actor=a["cs"], complaint_id=cid,
            data=ComplaintJudgeIn(stands=True, kind=kind, major=major, reason="属实。"))),
        ("assigned", lambda: complaint_steps.assign_complaint(
            actor=a["cs"], complaint_id=cid, data=ComplaintAssignIn(
                assigned_to=assigned_to,
                assigned_org=w.orgs[unit]["id"] if assigned_to == "unit" else None))),
        ("investigated", lambda: complaint_steps.investigate_complaint(
            actor=a[assignee], complaint_id=cid,
            data=ComplaintInvestigateIn(cause="镇流器虚焊。", responsible="维修点"))),
        ("proposed", lambda: complaint_steps.propose_resolution(
            actor=a[assignee], complaint_id=cid,
            data=ComplaintProposeIn(resolution="免费更换新灯并致歉。"))),
        ("approved", lambda: complaint_steps.approve_resolution(
            actor=a[approver], complaint_id=cid, data=ComplaintApproveIn(approve=True))),
        ("told", lambda: complaint_steps.tell_customer(
            actor=a[teller], complaint_id=cid, data=ComplaintTellIn(told_how="电话告知顾客。"))),
        ("closed", lambda: complaint_steps.close_complaint(
            actor=a[teller], complaint_id=cid, data=ComplaintCloseIn(
                accountability="维修员扣当月奖金。", improvement="焊接工艺培训。",
                preventive="每周抽检镇流器。" if major else ""))),
    ]
    for status, step in steps:
        if STEPS.index(status) > STEPS.index(upto):
            break
        await step()
    return {"id": cid, "reference": saved["reference"], "link": f"/complaints/{cid}"}


async def status_of(complaint_id: int) -> str:
    return (await raw_fetch("SELECT status FROM complaint WHERE id = $1",
                            complaint_id))[0]["status"]
