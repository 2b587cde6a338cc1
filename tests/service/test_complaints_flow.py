"""R32 through the real services: the eight steps, each recorded (who, when, why) and told to
the next person; a complaint that does not stand; a major complaint's approval and preventive
action; nothing closed before the customer is told (the service refuses first, the database
too); the customer archive; the SLA clocks from HQ's policy and their set-based escalation."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest

from portal import clock, policy
from portal.clock import CHINA
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from service import complaint_steps, complaints
from service.inputs import (
    ComplaintApproveIn,
    ComplaintAssignIn,
    ComplaintCloseIn,
    ComplaintJudgeIn,
    ComplaintTellIn,
)
from tests.helpers import actor_of, make_user
from tests.service.complaint_factory import PHONE, complaint, complaint_in, status_of, world

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen(NOW):
        yield


async def _audit(complaint_id: int) -> list[dict]:
    return await raw_fetch("SELECT action, actor, reason, to_state FROM audit_entry WHERE "
                           "object_type = 'complaint' AND object_id = $1 ORDER BY id",
                           str(complaint_id))


async def _told(event: str) -> set[int]:
    return {r["user"] for r in await raw_fetch(
        "SELECT \"user\" FROM notification WHERE kind = $1", event)}


async def test_r32_eight_steps_each_recorded_and_told():
    w = await world()
    c = await complaint(w, "closed", by="store_clerk")
    row = (await raw_fetch("SELECT * FROM complaint WHERE id = $1", c["id"]))[0]
    assert row["status"] == "closed" and row["told_at"] and row["closed_at"]
    assert row["reference"].startswith("TS") and len(row["reference"]) == 10
    assert row["organisation"] == w.orgs["store"]["id"]  # held by the unit that recorded it
    steps = [(e["action"], e["actor"]) for e in await _audit(c["id"])]
    ids = {k: u["id"] for k, u in w.users.items()}
    assert steps == [("recorded", ids["store_clerk"]), ("judged", ids["cs"]),
                     ("assigned", ids["cs"]), ("investigated", ids["staff"]),
                     ("proposed", ids["staff"]), ("approved", ids["cs2"]),
                     ("told", ids["store_clerk"]), ("closed", ids["store_clerk"])]
    assert await _told("complaint_recorded") == {ids["cs"], ids["cs2"]}
    assert await _told("complaint_assigned") == {ids["staff"], ids["staff2"]}  # the unit
    assert await _told("complaint_proposed") == {ids["cs"], ids["cs2"]}
    assert await _told("complaint_approved") == {ids["store_clerk"]}  # the holding store
    assert await _told("complaint_told") == {ids["cs"], ids["cs2"]}
    # the consumer's file in the customer archive, by phone, held by the store
    customer = await raw_fetch("SELECT organisation, phone FROM customer WHERE id = $1",
                               row["customer"])
    assert customer == [{"organisation": w.orgs["store"]["id"], "phone": PHONE}]


async def test_r32_a_complaint_that_does_not_stand_is_answered_with_the_reason():
    w = await world()
    c = await complaint(w, "recorded", by="clerk")
    judge = lambda **kw: complaint_steps.judge_complaint(  # noqa: E731
        actor=w.actors["cs"], complaint_id=c["id"],
        data=ComplaintJudgeIn(stands=False, kind="quality", **kw))
    with pytest.raises(ValidationFailed) as refused:
        await judge(reason="", told_how="")
    assert set(refused.value.errors) == {"reason", "told_how"}
    await judge(reason="灯具已过保修期且为人为损坏。", told_how="12月10日电话答复顾客。")
    row = (await raw_fetch("SELECT status, judgement, told_at, judged_at, closed_at FROM "
                           "complaint WHERE id = $1", c["id"]))[0]
    assert row["status"] == "not_standing" and row["told_at"] == row["judged_at"] == NOW
    assert row["judgement"] == "灯具已过保修期且为人为损坏。" and row["closed_at"] is None
    assert await _told("complaint_not_standing") == {w.users["clerk"]["id"],
                                                      w.users["manager"]["id"]}
    with pytest.raises(Conflict):  # finished: no step after it
        await complaint_steps.assign_complaint(actor=w.actors["cs"], complaint_id=c["id"],
                                               data=ComplaintAssignIn(assigned_to="hq_cs"))
    # the database keeps it too: not standing without a reason or without telling
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await raw_fetch("UPDATE complaint SET judgement = '' WHERE id = $1", c["id"])


@pytest.mark.parametrize("preventive, closes", [("", False), ("   ", False),
                                                ("每月复查同类投诉。", True)])
async def test_r32_a_major_complaint_closes_only_with_a_preventive_action(preventive, closes):
    w = await world()
    c = await complaint(w, "told", major=True, kind="quality", assigned_to="hq_tech")
    close = complaint_steps.close_complaint(
        actor=w.actors["clerk"], complaint_id=c["id"], data=ComplaintCloseIn(
            accountability="质检员通报批评。", improvement="加严来料检验。", preventive=preventive))
    if closes:
        await close
        assert await status_of(c["id"]) == "closed"
        assert await _told("complaint_major_closed") == {w.users["vp"]["id"]}
        return
    with pytest.raises(ValidationFailed) as refused:
        await close
    assert set(refused.value.errors) == {"preventive"}
    assert await status_of(c["id"]) == "told"
    with pytest.raises(asyncpg.exceptions.CheckViolationError):  # the database refuses too
        await raw_fetch("UPDATE complaint SET status = 'closed', closed_at = now() "
                        "WHERE id = $1", c["id"])


async def test_r32_a_major_complaint_goes_to_the_vice_president():
    w = await world()
    c = await complaint(w, "proposed", major=True, kind="quality", assigned_to="hq_tech")
    assert await _told("complaint_major") == {w.users["vp"]["id"]}
    assert await _told("complaint_proposed_major") == {w.users["vp"]["id"]}
    with pytest.raises(RuleViolation, match="vice-president"):  # CS does not approve it
        await complaint_steps.approve_resolution(actor=w.actors["cs"], complaint_id=c["id"],
                                                 data=ComplaintApproveIn(approve=True))
    await complaint_steps.approve_resolution(actor=w.actors["vp"], complaint_id=c["id"],
                                             data=ComplaintApproveIn(approve=True))
    assert await status_of(c["id"]) == "approved"


@pytest.mark.parametrize("upto", ["proposed", "approved"])
async def test_r32_nothing_closes_before_the_customer_is_told(upto):
    w = await world()
    c = await complaint(w, upto)
    with pytest.raises((RuleViolation, Conflict)) as refused:
        await complaint_steps.close_complaint(actor=w.actors["clerk"], complaint_id=c["id"],
                                              data=ComplaintCloseIn(accountability="x",
                                                                    improvement="y"))
    if upto == "approved":  # the page's words: the button is shown disabled with them
        assert refused.value.message == "Nothing is closed before the customer is told (R32)."
    assert await status_of(c["id"]) == upto
    with pytest.raises(asyncpg.exceptions.CheckViolationError):  # DB CHECK
        await raw_fetch("UPDATE complaint SET status = 'closed', closed_at = now(), "
                        "accountability = 'x', improvement = 'y' WHERE id = $1", c["id"])


async def test_r32_nobody_approves_their_own_proposal_and_a_refusal_goes_back():
    w = await world()
    c = await complaint(w, "investigated", kind="suggestion", assigned_to="hq_cs")
    from service.inputs import ComplaintProposeIn
    await complaint_steps.propose_resolution(actor=w.actors["cs"], complaint_id=c["id"],
                                             data=ComplaintProposeIn(resolution="采纳建议。"))
    with pytest.raises(RuleViolation, match="own proposal"):
        await complaint_steps.approve_resolution(actor=w.actors["cs"], complaint_id=c["id"],
                                                 data=ComplaintApproveIn(approve=True))
    with pytest.raises(ValidationFailed):  # sending back says why
        await complaint_steps.approve_resolution(actor=w.actors["cs2"], complaint_id=c["id"],
                                                 data=ComplaintApproveIn(approve=False))
    await complaint_steps.approve_resolution(actor=w.actors["cs2"], complaint_id=c["id"],
                                             data=ComplaintApproveIn(approve=False,
                                                                     reason="需写明时间表。"))
    assert await status_of(c["id"]) == "investigated"
    assert await _told("complaint_refused") == {w.users["cs"]["id"]}


@pytest.mark.parametrize("who, step, error", [
    ("clerk", "judge", Forbidden),          # CS judges
    ("staff", "judge", NotFound),           # not assigned yet: the point does not see it
    ("gd_clerk", "judge", NotFound),        # a sibling office never sees it (R1)
    ("cs", "tell", RuleViolation),          # not approved yet: shown disabled, refused
])
async def test_r32_steps_refuse_the_wrong_person_or_moment(who, step, error):
    w = await world()
    c = await complaint(w, "recorded" if step == "judge" else "assigned")
    run = {"judge": lambda a: complaint_steps.judge_complaint(
        actor=a, complaint_id=c["id"], data=ComplaintJudgeIn(stands=True, kind="service")),
        "tell": lambda a: complaint_steps.tell_customer(
            actor=a, complaint_id=c["id"], data=ComplaintTellIn(told_how="电话"))}[step]
    with pytest.raises(error):
        await run(w.actors[who])


async def test_r32_assignment_by_type_tells_the_right_unit():
    w = await world()
    for assigned_to, who in (("hq_tech", "tech"), ("hq_logistics", "logistics"),
                             ("management", "vp")):
        c = await complaint(w, "assigned", assigned_to=assigned_to, kind="quality")
        told = await raw_fetch("SELECT \"user\" FROM notification WHERE kind = "
                               "'complaint_assigned' AND link = $1", c["link"])
        assert [r["user"] for r in told] == [w.users[who]["id"]], assigned_to
    with pytest.raises(ValidationFailed):  # a unit must be named, and be an office or point
        c = await complaint(w, "judged")
        await complaint_steps.assign_complaint(actor=w.actors["cs"], complaint_id=c["id"],
                                               data=ComplaintAssignIn(
                                                   assigned_to="unit",
                                                   assigned_org=w.orgs["store"]["id"]))


async def test_r32_public_form_complaint_is_held_by_head_office():
    w = await world()
    from tests.service.complaint_factory import public_in
    saved = await complaints.record_public_complaint(data=public_in(
        about="repair_point", about_org=w.orgs["point"]["id"]))
    row = (await raw_fetch("SELECT * FROM complaint WHERE id = $1", saved["id"]))[0]
    assert row["organisation"] == w.orgs["hq"]["id"] and row["channel"] == "web"
    assert row["recorded_by"] is None and row["phone"] == "13900001111"
    assert await _told("complaint_recorded") == {w.users["cs"]["id"], w.users["cs2"]["id"]}
    audit = await _audit(saved["id"])
    assert audit[0]["action"] == "recorded" and audit[0]["actor"] is None


@pytest.mark.parametrize("about, field, value", [
    ("product", "about_product", None), ("repair_point", "about_org", None),
    ("office", "about_org", "point"),  # a repair point is not an office
    ("person", "about_person", ""), ("nothing", "about", None)])
async def test_r32_what_it_is_about_is_checked(about, field, value):
    w = await world()
    extra = {field: w.orgs[value]["id"]} if value in w.orgs else {}
    with pytest.raises(ValidationFailed) as refused:
        await complaints.record_complaint(actor=w.actors["clerk"],
                                          data=complaint_in(about=about, **extra))
    assert field in refused.value.errors


@pytest.mark.parametrize("who, may", [("clerk", True), ("manager", True), ("store_clerk", True),
                                      ("staff", True), ("cs", True), ("tech", False),
                                      ("vp", False), ("auditor", False)])
async def test_r32_who_records(who, may):
    w = await world()
    if may:
        saved = await complaints.record_complaint(actor=w.actors[who], data=complaint_in())
        row = (await raw_fetch("SELECT organisation FROM complaint WHERE id = $1", saved["id"]))
        assert row[0]["organisation"] == w.actors[who].organisation_id
    else:
        with pytest.raises(Forbidden):
            await complaints.record_complaint(actor=w.actors[who], data=complaint_in())


# --- SLA clocks: HQ data, set at recording; escalation once ----------------------------------

async def test_r32_sla_clocks_come_from_hq_policy_on_the_day_recorded():
    w = await world()
    first = await complaint(w)
    row = (await raw_fetch("SELECT acknowledge_by, resolve_by FROM complaint WHERE id = $1",
                           first["id"]))[0]
    assert row == {"acknowledge_by": NOW + timedelta(hours=24),
                   "resolve_by": NOW + timedelta(days=7)}
    admin = await actor_of(await make_user(w.orgs["hq"], ["hq_admin"], username="admin"))
    await policy.change(actor=admin, key="complaint_acknowledge_hours", value=8,
                        effective_from=date(2026, 12, 11), reason="faster")
    await policy.change(actor=admin, key="complaint_resolve_days", value=3,
                        effective_from=date(2026, 12, 11), reason="faster")
    later = NOW + timedelta(days=1)
    with clock.frozen(later):
        second = await complaint(w)
    row = (await raw_fetch("SELECT acknowledge_by, resolve_by FROM complaint WHERE id = $1",
                           second["id"]))[0]
    assert row == {"acknowledge_by": later + timedelta(hours=8),
                   "resolve_by": later + timedelta(days=3)}


async def test_r32_overdue_complaints_are_escalated_once_set_based():
    w = await world()
    late = await complaint(w, "recorded")  # not judged within 24 h
    major = await complaint(w, "assigned", major=True, kind="quality", assigned_to="hq_tech")
    done = await complaint(w, "closed")
    ids = {k: u["id"] for k, u in w.users.items()}
    assert await complaints.escalate_overdue_complaints(NOW + timedelta(hours=23)) == 0
    assert await complaints.escalate_overdue_complaints(NOW + timedelta(hours=25)) == 1
    assert await _told("complaint_overdue") == {ids["cs"], ids["cs2"]}
    assert await complaints.escalate_overdue_complaints(NOW + timedelta(hours=26)) == 0  # once
    # a week on: the customers of `late` and `major` were not told in time; `done` was
    assert await complaints.escalate_overdue_complaints(NOW + timedelta(days=8)) == 2
    assert await _told("complaint_overdue_major") == {ids["cs"], ids["cs2"], ids["vp"]}
    assert await complaints.escalate_overdue_complaints(NOW + timedelta(days=9)) == 0
    notices = await raw_fetch("SELECT dedupe_key FROM notification WHERE kind LIKE "
                              "'complaint_overdue%' AND \"user\" = $1 ORDER BY id", ids["cs"])
    assert [n["dedupe_key"].split(":")[1] for n in notices] == ["ack", "late", "late"]
    escalated = [e for e in await _audit(late["id"]) if e["action"] == "escalated"]
    assert len(escalated) == 2 and escalated[0]["actor"] is None
    assert [e["action"] for e in await _audit(done["id"])][-1] == "closed"
    assert [e["action"] for e in await _audit(major["id"])][-1] == "escalated"


@pytest.mark.parametrize("recorded", [datetime(2026, 12, 31, 23, 30, tzinfo=CHINA),
                                      datetime(2027, 2, 28, 23, 59, tzinfo=CHINA)],
                         ids=lambda d: d.strftime("%m-%d %H:%M"))
@pytest.mark.parametrize("offset, late", [(-timedelta(minutes=1), False),
                                          (timedelta(minutes=1), True)])
async def test_r32_the_list_and_the_job_agree_with_the_rule_at_the_edge(recorded, offset, late):
    """The list's "past a deadline" (SQL) and the escalation job turn at the same minute as
    service.rules, 24 hours after recording across midnight and month end in China time."""
    from service import complaint_queries, complaint_rules

    w = await world()
    with clock.frozen(recorded):
        c = await complaint(w)
    now = recorded + timedelta(hours=24) + offset
    rows = await complaint_queries.list_complaints(actor=w.actors["cs"], now=now, breaching=True)
    assert [r["id"] for r in rows] == ([c["id"]] if late else [])
    row = await complaints.get_complaint(actor=w.actors["cs"], complaint_id=c["id"])
    assert complaint_rules.complaint_breaching(row, now) is late
    assert await complaints.escalate_overdue_complaints(now) == (1 if late else 0)
