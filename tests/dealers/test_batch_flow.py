"""A batch end to end through the services: draft, lines, submit in the window (R5), sign
(R8), approve (R9), dispatch (R11), arrival (R10), count (R12), decide (R13)."""
from datetime import date

import pytest

from dealers import batch_lines, batches, queries, receiving, rules
from dealers.tables import ReturnBatch, ReturnLine
from portal import clock
from portal.errors import PortalError, ValidationFailed
from portal.tables import AuditEntry, Notification
from tests.dealers.factory import IN_WINDOW, cfl_line, network, reason


async def _approved(net) -> int:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                            lines=[cfl_line(net, 10), cfl_line(net, 5, lights=True)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="checked 15 lamps")
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    return batch_id


async def _arrived(net) -> tuple[int, list[dict]]:
    """An approved batch dispatched and recorded at the dock; its lines."""
    a = net["actors"]
    batch_id = await _approved(net)
    await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="德邦物流",
                                 waybill="DB123", packages=2, freight_fen=35000,
                                 dispatched_on=date(2026, 12, 9))
    number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
    await receiving.arrive(actor=a["logistics"], number=number)
    return batch_id, await queries.list_lines(batch_id)


async def test_batch_end_to_end_with_short_count():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, lines = await _arrived(net)
        counts = [receiving.Count(lines[0]["id"], 8, rules.Condition(cap_percent=90)),
                  receiving.Count(lines[1]["id"], 5, rules.Condition(lights=True))]
        differences = await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id,
                                                    counts=counts)
        assert differences == [{"line_no": 1, "filed": 10, "received": 8}]
        proposals = await receiving.proposals(batch_id)
        assert proposals[lines[0]["id"]][:3] == (8, 0, 0)  # R18b: not lit, cap 90 % new
        assert proposals[lines[1]["id"]][:3] == (0, 0, 5)  # R18a: it lights
        await receiving.decide_batch(actor=a["cs"], batch_id=batch_id, decisions=[
            receiving.Decision(lines[0]["id"], 6, 2, 0),
            receiving.Decision(lines[1]["id"], 0, 0, 5, await reason("LIGHTS", "reject")),
        ])
    batch = await ReturnBatch.select().where(ReturnBatch.id == batch_id).first()
    assert batch["status"] == "dispositioned"
    decided = await ReturnLine.select().where(ReturnLine.batch == batch_id).order_by(ReturnLine.line_no)
    assert [(l["received_qty"], l["exchanged_qty"], l["credited_qty"], l["rejected_qty"])
            for l in decided] == [(8, 6, 2, 0), (5, 0, 0, 5)]
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(
        AuditEntry.object_id == str(batch_id)).order_by(AuditEntry.id)]
    assert actions == ["draft", "add_lines", "submitted", "signed", "approved", "dispatched",
                       "arrived", "received", "count_differences", "dispositioned"]
    # R12: the office and CS are told of the difference; R13: the office gets its receipt.
    kinds = {(n["user"], n["kind"]) for n in await Notification.select()}
    assert (net["users"]["clerk"]["id"], "count_difference") in kinds
    assert (net["users"]["cs"]["id"], "count_difference") in kinds
    assert (net["users"]["clerk"]["id"], "receipt_ready") in kinds


async def test_r5_submit_outside_window_refused_and_nothing_changes():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW.replace(day=20)):
        batch_id = await batches.create_draft(actor=a["clerk"])
        await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id, lines=[cfl_line(net)])
        with pytest.raises(Exception, match="only possible in your window"):
            await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "draft"


async def test_r6_one_regular_batch_per_office_per_month():
    net = await network()
    with clock.frozen(IN_WINDOW):
        await batches.create_draft(actor=net["actors"]["clerk"])
        with pytest.raises(Exception, match="already exists"):
            await batches.create_draft(actor=net["actors"]["manager"])
    assert await ReturnBatch.count() == 1


async def test_r8_r9_nobody_signs_or_approves_own_submission():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=a["manager"])
        await batch_lines.add_lines(actor=a["manager"], batch_id=batch_id, lines=[cfl_line(net)])
        await batches.submit_batch(actor=a["manager"], batch_id=batch_id)
        with pytest.raises(Exception, match="Nobody signs their own"):
            await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "submitted"


async def test_r10_goods_without_approved_form_refused_and_recorded():
    from dealers.tables import DockRefusal

    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=a["clerk"])
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        with pytest.raises(Exception, match="Refused at the dock"):
            await receiving.arrive(actor=a["logistics"], number=number)
        # a number that matches no batch is a typing slip: said so, nothing recorded
        with pytest.raises(ValidationFailed) as slip:
            await receiving.arrive(actor=a["logistics"], number="RB-NO-SUCH")
        assert "No batch has this number" in slip.value.errors["number"]
    refusals = await DockRefusal.select().order_by(DockRefusal.id)
    assert [r["batch"] for r in refusals] == [batch_id]
    assert (await ReturnBatch.select(ReturnBatch.arrived_at).first())["arrived_at"] is None


async def test_r13_decision_must_add_up_and_nothing_written_otherwise():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _approved(net)
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        lines = await queries.list_lines(batch_id)
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=[
            receiving.Count(l["id"], l["quantity"], rules.Condition()) for l in lines])
        with pytest.raises(PortalError):
            await receiving.decide_batch(actor=a["cs"], batch_id=batch_id, decisions=[
                receiving.Decision(lines[0]["id"], 9, 0, 0),  # 9 != 10
                receiving.Decision(lines[1]["id"], 5, 0, 0)])
        with pytest.raises(PortalError):
            await receiving.decide_batch(actor=a["cs"], batch_id=batch_id, decisions=[
                receiving.Decision(lines[0]["id"], 0, 0, 10),  # rejected without a reason
                receiving.Decision(lines[1]["id"], 5, 0, 0)])
    rows = await ReturnLine.select(ReturnLine.exchanged_qty)
    assert all(r["exchanged_qty"] is None for r in rows)
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "received"


async def test_r13_the_decision_page_can_be_saved_as_proposed_with_the_reject_reasons_chosen():
    """The page pre-fills each line's quantities from its inspected condition (R18) and, where it
    proposes to reject, the matching reject reason: CS saving it unchanged decides the batch."""
    import re

    from tests.helpers import client, login

    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id, lines = await _arrived(net)
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=[
            receiving.Count(lines[0]["id"], 10, rules.Condition(cap_percent=50)),  # cap aged
            receiving.Count(lines[1]["id"], 5, rules.Condition(lights=True))])
        async with client() as c:
            csrf = await login(c, "cs")
            page = (await c.get(f"/batches/{batch_id}/decide")).text
            form = dict(re.findall(r'<input name="((?:exchanged|credited|rejected|note)_\d+)"[^>]*'
                                   r'value="([^"]*)"', page))
            for name, options in re.findall(r'<select name="(reject_reason_\d+)">(.*?)</select>',
                                            page, flags=re.S):
                chosen = re.search(r'<option value="(\d*)" selected', options)
                form[name] = chosen.group(1) if chosen else ""
            response = await c.post(f"/batches/{batch_id}/decide", data={**form, "_csrf": csrf})
            assert response.status_code == 303, response.text
    decided = await ReturnLine.select(ReturnLine.rejected_qty, ReturnLine.reject_reason.code).where(
        ReturnLine.batch == batch_id).order_by(ReturnLine.line_no)
    assert [(d["rejected_qty"], d["reject_reason.code"]) for d in decided] == [
        (10, "CAP_AGED"), (5, "LIGHTS")]
