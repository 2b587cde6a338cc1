"""R7 special approvals, R5 roll-over, R16 quality disputes, R15 transit claims."""
import asyncio
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dealers import batch_lines, batches, queries, receiving, rollover, rules, special_cases
from dealers.tables import QualityDispute, ReturnBatch, SpecialApproval, TransitClaim
from portal import clock
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.tables import AuditEntry, Notification
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import actor_of, api_token, client, login, make_user

CHINA = ZoneInfo("Asia/Shanghai")
OUTSIDE = datetime(2026, 12, 20, 10, tzinfo=CHINA)


async def test_r7_special_batch_outside_window_does_not_use_up_the_month():
    net = await network()
    a = net["actors"]
    with clock.frozen(OUTSIDE):
        regular = await batches.create_draft(actor=a["clerk"])
        approval = await special_cases.request_special_approval(
            actor=a["manager"], organisation_id=net["office"]["id"], reason="整批镇流器异常",
            quality_problem=True)
        with pytest.raises(RuleViolation):  # not approved yet
            await batches.create_draft(actor=a["clerk"], special_approval_id=approval)
        await special_cases.decide_special_approval(actor=a["cs"], approval_id=approval,
                                                    approve=True, reason="")
        special = await batches.create_draft(actor=a["clerk"], special_approval_id=approval)
        await batch_lines.add_lines(actor=a["clerk"], batch_id=special, lines=[cfl_line(net)])
        await batches.submit_batch(actor=a["clerk"], batch_id=special)  # outside the window
        with pytest.raises(Conflict):  # one batch per approval
            await batches.create_draft(actor=a["clerk"], special_approval_id=approval)
    rows = {r["id"]: r for r in await ReturnBatch.select()}
    assert rows[special]["kind"] == "special" and rows[special]["status"] == "submitted"
    assert rows[regular]["kind"] == "regular" and rows[regular]["status"] == "draft"
    assert await Notification.exists().where(Notification.kind == "special_approved")


async def test_r7_who_may_ask_and_decide():
    net = await network()
    a = net["actors"]
    sibling_manager = await actor_of(await make_user(net["sibling"], ["manager"], username="gdm"))
    with clock.frozen(OUTSIDE):
        with pytest.raises(Forbidden):
            await special_cases.request_special_approval(
                actor=a["clerk"], organisation_id=net["office"]["id"], reason="x",
                quality_problem=False)
        with pytest.raises(NotFound):
            await special_cases.request_special_approval(
                actor=sibling_manager, organisation_id=net["office"]["id"], reason="x",
                quality_problem=False)
        with pytest.raises(ValidationFailed):
            await special_cases.request_special_approval(
                actor=a["manager"], organisation_id=net["office"]["id"], reason=" ",
                quality_problem=False)
        approval = await special_cases.request_special_approval(
            actor=a["manager"], organisation_id=net["office"]["id"], reason="late stock count",
            quality_problem=False)
        with pytest.raises(Forbidden):
            await special_cases.decide_special_approval(actor=a["manager"], approval_id=approval,
                                                        approve=True, reason="")
        with pytest.raises(ValidationFailed):
            await special_cases.decide_special_approval(actor=a["cs"], approval_id=approval,
                                                        approve=False, reason="")
        await special_cases.decide_special_approval(actor=a["cs"], approval_id=approval,
                                                    approve=False, reason="use next month")
        with pytest.raises(Conflict):
            await special_cases.decide_special_approval(actor=a["cs2"], approval_id=approval,
                                                        approve=True, reason="")
    assert await SpecialApproval.count() == 1
    assert (await SpecialApproval.select().first())["status"] == "refused"


@pytest.mark.parametrize("at, moved", [
    (datetime(2026, 12, 14, 23, 59, 59, tzinfo=CHINA), 0),  # last second of week 2
    (datetime(2026, 12, 15, 0, 0, 0, tzinfo=CHINA), 1),     # first second after it
])
async def test_r5_unsubmitted_draft_moves_to_next_month_when_window_closes(at, moved):
    net = await network()
    with clock.frozen(datetime(2026, 12, 10, 9, tzinfo=CHINA)):
        batch_id = await batches.create_draft(actor=net["actors"]["clerk"])
    with clock.frozen(at):
        assert await rollover.roll_over_unsubmitted(clock.now()) == moved
        assert await rollover.roll_over_unsubmitted(clock.now()) == 0  # idempotent
    month = (await ReturnBatch.select(ReturnBatch.month).first())["month"]
    assert month == (date(2027, 1, 1) if moved else date(2026, 12, 1))
    told = await Notification.exists().where(
        (Notification.kind == "rolled_over") & (Notification.user == net["users"]["clerk"]["id"]))
    assert told is bool(moved)
    if moved:
        assert await AuditEntry.exists().where((AuditEntry.object_id == str(batch_id))
                                               & (AuditEntry.action == "rolled_over"))


async def test_r5_rolled_over_draft_can_be_submitted_next_month():
    net = await network()
    a = net["actors"]
    with clock.frozen(datetime(2026, 12, 10, 9, tzinfo=CHINA)):
        batch_id = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id, lines=[cfl_line(net)])
    with clock.frozen(datetime(2026, 12, 16, 9, tzinfo=CHINA)):
        await rollover.roll_over_unsubmitted(clock.now())
    with clock.frozen(datetime(2027, 1, 9, 9, tzinfo=CHINA)):
        await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "submitted"


async def _received(net) -> int:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id, lines=[cfl_line(net, 10)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="德邦", waybill="W1",
                                 packages=1, freight_fen=5000, dispatched_on=date(2026, 12, 9))
    number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
    await receiving.arrive(actor=a["logistics"], number=number)
    line = (await queries.list_lines(batch_id))[0]
    await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id,
                                  counts=[receiving.Count(line["id"], 7, rules.Condition())])
    return batch_id


@pytest.mark.parametrize("delay, breached", [(timedelta(days=2) - timedelta(seconds=1), False),
                                             (timedelta(days=2), True)])
async def test_r16_quality_dispute_verified_within_two_days(delay, breached):
    net = await network()
    tech = await actor_of(await make_user(net["hq"], ["hq_tech"], username="tech"))
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _received(net)
        dispute = await special_cases.raise_quality_dispute(actor=a["manager"], batch_id=batch_id,
                                                            description="整批不亮")
    with clock.frozen(IN_WINDOW + delay):
        with pytest.raises(Forbidden):
            await special_cases.verify_quality_dispute(actor=a["cs"], dispute_id=dispute,
                                                       confirmed=True, findings="x")
        await special_cases.verify_quality_dispute(actor=tech, dispute_id=dispute, confirmed=True,
                                                   findings="批量质量问题属实")
        rows = await special_cases.disputes_for(batch_id, clock.now())
    assert rows[0]["breached"] is breached and rows[0]["confirmed"] is True
    assert (await ReturnBatch.select(ReturnBatch.company_bears_freight).first())["company_bears_freight"]
    assert await AuditEntry.exists().where(AuditEntry.action == "quality_confirmed")


async def test_r16_only_the_office_raises_a_dispute():
    net = await network()
    other = await actor_of(net["users"]["other_clerk"])
    with clock.frozen(IN_WINDOW):
        batch_id = await _received(net)
        with pytest.raises(NotFound):
            await special_cases.raise_quality_dispute(actor=other, batch_id=batch_id,
                                                      description="x")
        with pytest.raises(ValidationFailed):
            await special_cases.raise_quality_dispute(actor=net["actors"]["clerk"],
                                                      batch_id=batch_id, description="")
    assert await QualityDispute.count() == 0


async def test_r15_transit_claim_opened_tracked_and_closed():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _received(net)
        for bad in (dict(lost_qty=0, damaged_qty=0, claimed_fen=100),
                    dict(lost_qty=3, damaged_qty=0, claimed_fen=0),
                    dict(lost_qty=-1, damaged_qty=4, claimed_fen=100)):
            with pytest.raises(ValidationFailed):
                await special_cases.open_transit_claim(actor=a["cs"], batch_id=batch_id,
                                                       carrier="德邦", **bad)
        with pytest.raises(Forbidden):
            await special_cases.open_transit_claim(actor=a["clerk"], batch_id=batch_id,
                                                   carrier="德邦", lost_qty=3, damaged_qty=0,
                                                   claimed_fen=100)
        assert await TransitClaim.count() == 0
        claim = await special_cases.open_transit_claim(actor=a["logistics"], batch_id=batch_id,
                                                       carrier="德邦", lost_qty=3, damaged_qty=0,
                                                       claimed_fen=4500)
        await special_cases.close_transit_claim(actor=a["cs"], claim_id=claim,
                                                recovered_fen=4000, note="承运商赔付")
        with pytest.raises(Conflict):
            await special_cases.close_transit_claim(actor=a["cs"], claim_id=claim,
                                                    recovered_fen=1, note="")
    row = await TransitClaim.select().first()
    assert (row["status"], row["recovered_fen"], row["claimed_fen"]) == ("closed", 4000, 4500)


async def test_special_approval_pages():
    net = await network()
    with clock.frozen(OUTSIDE):
        async with client() as c:
            token = await login(c, "manager")
            page = await c.get("/special-approvals")
            assert 'id="special-form"' in page.text
            r = await c.post("/special-approvals", data={
                "_csrf": token, "organisation_id": str(net["office"]["id"]), "reason": "整批灯管发黑-甲",
                "quality_problem": "on"})
            assert r.status_code == 303
        async with client() as c:
            token = await login(c, "cs")
            approval = (await SpecialApproval.select().first())["id"]
            r = await c.post(f"/special-approvals/{approval}/decide",
                             data={"_csrf": token, "approve": "1", "reason": ""})
            assert r.status_code == 303
        async with client() as c:
            token = await login(c, "gd.clerk")
            assert "整批灯管发黑-甲" not in (await c.get("/special-approvals")).text
    assert (await SpecialApproval.select().first())["status"] == "approved"


async def test_r16_no_quality_dispute_before_the_goods_have_come_back():
    """Issue 10 §5: a dispute is about goods HQ holds; on a draft or goods on the way it is
    refused with a clear message and HQ is not notified."""
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id, lines=[cfl_line(net, 10)])
        with pytest.raises(RuleViolation) as refused:
            await special_cases.raise_quality_dispute(actor=a["clerk"], batch_id=batch_id,
                                                      description="整批不亮")
        assert "R16" not in refused.value.message and "come back" in refused.value.message
        await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
        await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
        await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
        await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="德邦",
                                     waybill="W1", packages=1, freight_fen=5000,
                                     dispatched_on=date(2026, 12, 9))
        with pytest.raises(RuleViolation):
            await special_cases.raise_quality_dispute(actor=a["clerk"], batch_id=batch_id,
                                                      description="整批不亮")
    assert await QualityDispute.count() == 0
    assert not await Notification.exists().where(Notification.kind == "quality_dispute")


async def test_r16_at_most_one_open_dispute_per_batch():
    net = await network()
    tech = await actor_of(await make_user(net["hq"], ["hq_tech"], username="tech"))
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _received(net)
        first = await special_cases.raise_quality_dispute(actor=a["clerk"], batch_id=batch_id,
                                                          description="整批不亮")
        with pytest.raises(RuleViolation) as refused:
            await special_cases.raise_quality_dispute(actor=a["manager"], batch_id=batch_id,
                                                      description="again")
        assert "already open" in refused.value.message
        told = await Notification.count().where(Notification.kind == "quality_dispute")
        await special_cases.verify_quality_dispute(actor=tech, dispute_id=first, confirmed=False,
                                                   findings="个别问题")
        # once verified, the office may raise a new one (e.g. after the decision)
        await special_cases.raise_quality_dispute(actor=a["clerk"], batch_id=batch_id,
                                                  description="决定后仍有问题")
    assert await QualityDispute.count() == 2
    assert await Notification.count().where(Notification.kind == "quality_dispute") == told * 2


async def test_r16_concurrent_disputes_one_wins_the_database_refuses_a_second_open_one():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _received(net)
        results = await asyncio.gather(*(special_cases.raise_quality_dispute(
            actor=a["clerk"], batch_id=batch_id, description=f"问题 {i}") for i in range(5)),
            return_exceptions=True)
    assert sum(isinstance(r, int) for r in results) == 1
    assert sum(isinstance(r, RuleViolation) for r in results) == 4, results
    # the partial unique index holds whatever the code path
    dispute = await QualityDispute.select().first()
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        await QualityDispute.insert(QualityDispute(
            batch=batch_id, description="direct", raised_by=dispute["raised_by"],
            raised_at=dispute["raised_at"], due_at=dispute["due_at"]))


async def test_r16_dispute_over_the_api_answers_422_with_the_reason():
    net = await network()
    token = await api_token(net["users"]["clerk"])
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=net["actors"]["clerk"])
        async with client() as c:
            r = await c.post(f"/api/v1/batches/{batch_id}/disputes", json={"description": "x"},
                             headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert r.status_code == 422 and "come back" in r.json()["error"]


async def test_r7_existing_draft_uses_the_special_approval_and_keeps_its_lines():
    """Issue 9 §7, through the services: the office drafted its regular batch, missed the
    window, the manager asked, CS granted; the clerks are told, the draft uses the approval with
    its lines, is submitted outside the window, and the month's regular slot is free again."""
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        draft = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=draft,
                                lines=[cfl_line(net, 7), cfl_line(net, 5)])
    with clock.frozen(OUTSIDE):
        with pytest.raises(RuleViolation, match="only possible in your window"):
            await batches.submit_batch(actor=a["clerk"], batch_id=draft)
        approval = await special_cases.request_special_approval(
            actor=a["manager"], organisation_id=net["office"]["id"], reason="错过返厂周",
            quality_problem=False)
        with pytest.raises(RuleViolation, match="not granted"):
            await batches.use_special_approval(actor=a["clerk"], batch_id=draft,
                                               approval_id=approval)
        await special_cases.decide_special_approval(actor=a["cs"], approval_id=approval,
                                                    approve=True, reason="")
        told = await Notification.select(Notification.user, Notification.link).where(
            Notification.kind == "special_approved")
        assert {n["user"] for n in told} == {net["users"]["clerk"]["id"],
                                            net["users"]["manager"]["id"]}
        assert (await special_cases.usable_approvals(net["office"]["id"]))[0]["id"] == approval
        with pytest.raises(NotFound):  # another office's clerk cannot touch the draft
            await batches.use_special_approval(actor=a["other_clerk"], batch_id=draft,
                                               approval_id=approval)
        await batches.use_special_approval(actor=a["clerk"], batch_id=draft, approval_id=approval)
        with pytest.raises(Conflict):  # once
            await batches.use_special_approval(actor=a["clerk"], batch_id=draft,
                                               approval_id=approval)
        assert await special_cases.usable_approvals(net["office"]["id"]) == []
        await batches.submit_batch(actor=a["clerk"], batch_id=draft)  # outside the window
        regular = await batches.create_draft(actor=a["clerk"])  # R6: the slot is free again
    row = await batches.get_batch(actor=a["clerk"], batch_id=draft)
    assert (row["kind"], row["special_approval"], row["status"], row["line_count"]) == (
        "special", approval, "submitted", 2)
    assert row["month"] == date(2026, 12, 1) and regular != draft
    assert await AuditEntry.exists().where((AuditEntry.action == "special_approval_used")
                                           & (AuditEntry.object_id == str(draft)))


async def test_r7_the_pages_offer_the_granted_approval_to_the_draft():
    """Issue 9 §7, through the pages: the draft shows submit disabled and the approval to use;
    one click keeps the lines and the submit button works on any day, with a message each."""
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        draft = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=draft, lines=[cfl_line(net, 4)])
    with clock.frozen(OUTSIDE):
        approval = await special_cases.request_special_approval(
            actor=a["manager"], organisation_id=net["office"]["id"], reason="错过返厂周",
            quality_problem=False)
        async with client() as c:
            token = await login(c, "clerk")
            assert 'id="use-special"' not in (await c.get(f"/batches/{draft}")).text
        await special_cases.decide_special_approval(actor=a["cs"], approval_id=approval,
                                                    approve=True, reason="")
        async with client() as c:
            token = await login(c, "clerk")
            inbox = (await c.get("/inbox")).text
            assert "特批" in inbox
            listing = (await c.get("/special-approvals")).text
            assert f'action="/batches/{draft}/special-approval"' in listing
            page = (await c.get(f"/batches/{draft}")).text
            assert re.search(r'id="submit-batch" disabled', page)
            assert 'id="use-special"' in page
            r = await c.post(f"/batches/{draft}/special-approval",
                             data={"_csrf": token, "special_approval": str(approval)})
            assert r.status_code == 303
            page = (await c.get(f"/batches/{draft}")).text
            assert "现已使用特批" in page and 'id="line-1"' in page
            assert re.search(r'id="submit-batch">', page), "enabled now"
            r = await c.post(f"/batches/{draft}/submit", data={"_csrf": token})
            assert r.status_code == 303
            assert "已通知办事处经理" in (await c.get(f"/batches/{draft}")).text
    assert (await batches.get_batch(actor=a["clerk"], batch_id=draft))["status"] == "submitted"
