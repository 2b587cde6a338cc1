"""Audits of offices (R30) through the services, at their edges: no visit before approval, an
unannounced audit invisible to the office before its visit, the group never issuing an order,
the report's deadline, the cost borne by head office, evidence before an answer."""
from __future__ import annotations

from datetime import timedelta

import pytest

from oversight import audits, queries, rectification
from oversight.inputs import (
    AnswerOrderIn,
    AuditDecisionIn,
    AuditReportIn,
    AuditVisitIn,
    CloseOrderIn,
    InstructIn,
    IssueOrderIn,
)
from oversight.tables import Audit
from portal import attachments, clock
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.oversight.audit_world import PDF, audit_at, plan, today, world


async def _notified(user: dict) -> list[dict]:
    return await raw_fetch('SELECT kind, subject, body, link FROM notification WHERE "user" = $1 '
                           'ORDER BY id',
                           user["id"])


async def test_r30_plan_goes_to_the_vice_president_cost_borne_by_head_office():
    w = await world()
    audit_id = await audits.plan_audit(actor=w.actors["cs"], data=plan(w))
    row = await Audit.select().where(Audit.id == audit_id).first()
    assert row["status"] == "submitted" and row["cost_fen"] == 300000
    assert row["cost_bearer"] == w.orgs["hq"]["id"] != row["office"]
    group = {m["user_id"]: m["duty"] for m in await queries.members(audit_id)}
    assert group == {w.users["cs"]["id"]: "lead", w.users["finance"]["id"]: "finance",
                     w.users["rm.member"]["id"]: "member"}
    assert [n["kind"] for n in await _notified(w.users["vp"])] == ["audit_plan_submitted"]


@pytest.mark.parametrize("who", ["manager", "vp", "finance", "rm"])
async def test_r30_only_customer_service_draws_a_plan(who):
    w = await world()
    with pytest.raises(Forbidden):
        await audits.plan_audit(actor=w.actors[who], data=plan(w))


async def test_r30_plan_checks_its_fields():
    w = await world()
    bad = plan(w, scope=" ", method="", deadline=today() - timedelta(days=1), cost_fen=-1,
               kind="weekly", members=[w.users["manager"]["id"]])
    with pytest.raises(ValidationFailed) as refused:
        await audits.plan_audit(actor=w.actors["cs"], data=bad)
    assert set(refused.value.errors) == {"scope", "method", "deadline", "cost", "kind", "members"}


async def test_r30_no_visit_before_the_vice_presidents_approval():
    w = await world()
    audit_id = await audit_at(w, "submitted")
    with pytest.raises(RuleViolation, match="No visit before"):
        await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=False,
                        data=AuditDecisionIn(note="范围太宽"))
    with pytest.raises(RuleViolation, match="No visit before"):
        await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    await audits.resubmit(actor=w.actors["cs"], audit_id=audit_id, data=plan(w, scope="账册"))
    await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=True,
                        data=AuditDecisionIn())
    await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    assert (await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id))["status"] == "visited"


async def test_r30_only_the_vice_president_approves_and_a_return_says_why():
    w = await world()
    audit_id = await audit_at(w, "submitted")
    with pytest.raises(Forbidden):
        await audits.decide(actor=w.actors["cs"], audit_id=audit_id, approve=True,
                            data=AuditDecisionIn())
    with pytest.raises(ValidationFailed):
        await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=False,
                            data=AuditDecisionIn(note=" "))


async def _office_sees(w, audit_id: int) -> bool:
    try:
        await audits.get_audit(actor=w.actors["manager"], audit_id=audit_id)
    except NotFound:
        listed = await queries.list_audits(w.actors["manager"])
        assert audit_id not in [r["id"] for r in listed]
        return False
    assert audit_id in [r["id"] for r in await queries.list_audits(w.actors["manager"])]
    return True


async def test_r30_unannounced_audit_is_invisible_to_the_office_until_the_visit():
    w = await world()
    audit_id = await audit_at(w, "approved", announced=False)
    assert not await _office_sees(w, audit_id)
    assert await _notified(w.users["manager"]) == []
    assert await _notified(w.users["clerk"]) == []
    # nothing in the office's own trail either: the entries belong to head office
    trail = await raw_fetch("SELECT organisation FROM audit_entry WHERE object_type = "
                            "'office_audit'")
    assert {r["organisation"] for r in trail} == {w.orgs["hq"]["id"]}
    await audits.record_visit(actor=w.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    assert await _office_sees(w, audit_id)


async def test_r30_announced_audit_is_announced_to_the_office_once_approved():
    w = await world()
    audit_id = await audit_at(w, "submitted", announced=True)
    assert not await _office_sees(w, audit_id)  # a plan not yet approved is not announced
    await audits.decide(actor=w.actors["vp"], audit_id=audit_id, approve=True,
                        data=AuditDecisionIn())
    assert await _office_sees(w, audit_id)
    assert [n["kind"] for n in await _notified(w.users["manager"])] == ["audit_announced"]


@pytest.mark.parametrize("who", ["gd.manager", "store.clerk"])
async def test_r1_sibling_and_store_never_see_an_audit(who):
    w = await world()
    audit_id = await audit_at(w, "reported", announced=True)
    with pytest.raises(NotFound):
        await audits.get_audit(actor=w.actors[who], audit_id=audit_id)
    assert await queries.list_audits(w.actors[who]) == []


async def test_r30_report_past_its_deadline_is_a_breach():
    w = await world()
    audit_id = await audit_at(w, "visited", days=2)
    assert not (await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id))["breached"]
    with clock.frozen(clock.now() + timedelta(days=3)):
        assert (await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id))["breached"]
        await audits.file_report(actor=w.actors["cs"], audit_id=audit_id,
                                 data=AuditReportIn(findings="f", report="r", score=65))
        late = await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id)
    assert late["breached"] and late["score"] == 65
    with clock.frozen(clock.now() + timedelta(days=30)):  # stays a breach once filed late
        assert (await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id))["breached"]


async def test_r30_report_on_time_is_no_breach_and_needs_a_score():
    w = await world()
    audit_id = await audit_at(w, "visited", days=2)
    with pytest.raises(ValidationFailed) as refused:
        await audits.file_report(actor=w.actors["cs"], audit_id=audit_id,
                                 data=AuditReportIn(findings="f", report="r", score=101))
    assert set(refused.value.errors) == {"score"}
    await audits.file_report(actor=w.actors["cs"], audit_id=audit_id,
                             data=AuditReportIn(findings="f", report="r", score=91))
    with clock.frozen(clock.now() + timedelta(days=30)):
        assert not (await audits.get_audit(actor=w.actors["vp"], audit_id=audit_id))["breached"]


async def _instructed(w) -> tuple[int, int]:
    audit_id = await audit_at(w, "reported")
    order_id = await audits.instruct(actor=w.actors["vp"], audit_id=audit_id,
                                     data=InstructIn(instruction="整改库存账"))
    return audit_id, order_id


@pytest.mark.parametrize("who", ["cs", "finance", "rm.member"])
async def test_r30_the_audit_group_can_never_issue_an_order(who):
    """Even a group member who is also a regional manager covering the office (rm.member)."""
    w = await world()
    _, order_id = await _instructed(w)
    with pytest.raises(RuleViolation, match="audit group cannot order"):
        await rectification.issue_order(actor=w.actors[who], order_id=order_id,
                                 data=IssueOrderIn(requirement="x", due=today()))


@pytest.mark.parametrize("who", ["vp", "manager", "cs2"])
async def test_r30_nobody_but_the_line_department_issues(who):
    w = await world()
    _, order_id = await _instructed(w)
    with pytest.raises((Forbidden, NotFound)):
        await rectification.issue_order(actor=w.actors[who], order_id=order_id,
                                 data=IssueOrderIn(requirement="x", due=today()))


async def test_r30_only_the_vice_president_instructs_after_the_report():
    w = await world()
    audit_id = await audit_at(w, "visited")
    with pytest.raises(RuleViolation):
        await audits.instruct(actor=w.actors["vp"], audit_id=audit_id,
                              data=InstructIn(instruction="x"))
    await audits.file_report(actor=w.actors["cs"], audit_id=audit_id,
                             data=AuditReportIn(findings="f", report="r", score=80))
    with pytest.raises(Forbidden):
        await audits.instruct(actor=w.actors["cs"], audit_id=audit_id,
                              data=InstructIn(instruction="x"))


async def test_r30_order_issued_answered_with_evidence_and_closed():
    w = await world()
    audit_id, order_id = await _instructed(w)
    assert [n["kind"] for n in await _notified(w.users["rm"])] == ["rectification_instructed"]
    await rectification.issue_order(actor=w.actors["rm"], order_id=order_id,
                             data=IssueOrderIn(requirement="补齐库存台账", due=today()))
    assert "rectification_issued" in [n["kind"] for n in await _notified(w.users["manager"])]
    with pytest.raises(RuleViolation, match="Attach the evidence"):
        await rectification.answer_order(actor=w.actors["manager"], order_id=order_id,
                                  data=AnswerOrderIn(answer="已补齐"))
    with pytest.raises(Forbidden):  # only the audited office adds its evidence
        await attachments.attach(actor=w.actors["rm"], subject_name=rectification.EVIDENCE,
                                 subject_id=order_id, filename="a.pdf", data=PDF)
    with pytest.raises(NotFound):
        await attachments.attach(actor=w.actors["gd.manager"], subject_name=rectification.EVIDENCE,
                                 subject_id=order_id, filename="a.pdf", data=PDF)
    await attachments.attach(actor=w.actors["manager"], subject_name=rectification.EVIDENCE,
                             subject_id=order_id, filename="台账.pdf", data=PDF)
    await rectification.answer_order(actor=w.actors["manager"], order_id=order_id,
                              data=AnswerOrderIn(answer="已补齐"))
    with pytest.raises(RuleViolation, match="audit group cannot order"):
        await rectification.close_order(actor=w.actors["cs"], order_id=order_id, data=CloseOrderIn())
    with pytest.raises(ValidationFailed):  # sending back says why
        await rectification.close_order(actor=w.actors["rm"], order_id=order_id, data=CloseOrderIn(),
                                 accept=False)
    await rectification.close_order(actor=w.actors["rm"], order_id=order_id,
                             data=CloseOrderIn(note="核实无误"))
    orders = await queries.orders_of(audit_id)
    assert orders[0]["status"] == "closed" and orders[0]["issued_by"] == w.users["rm"]["id"]
    assert [n["kind"] for n in await _notified(w.users["manager"])] == [
        "rectification_issued", "rectification_closed"]


async def test_r30_an_answer_sent_back_is_answered_again():
    w = await world()
    _, order_id = await _instructed(w)
    await rectification.issue_order(actor=w.actors["rm"], order_id=order_id,
                             data=IssueOrderIn(requirement="补齐", due=today()))
    await attachments.attach(actor=w.actors["manager"], subject_name=rectification.EVIDENCE,
                             subject_id=order_id, filename="a.pdf", data=PDF)
    await rectification.answer_order(actor=w.actors["manager"], order_id=order_id,
                              data=AnswerOrderIn(answer="已补齐"))
    await rectification.close_order(actor=w.actors["rm"], order_id=order_id,
                             data=CloseOrderIn(note="缺少签字"), accept=False)
    _, order = await rectification.get_order(actor=w.actors["manager"], order_id=order_id)
    assert order["status"] == "issued"
    await rectification.answer_order(actor=w.actors["manager"], order_id=order_id,
                              data=AnswerOrderIn(answer="已补签"))


async def test_r30_the_auditor_reads_but_has_no_action():
    w = await world()
    audit_id = await audit_at(w, "submitted")
    row = await audits.get_audit(actor=w.actors["auditor"], audit_id=audit_id)
    assert audits.actions_for(w.actors["auditor"], row) == {}
