"""Several packages (issue 12 §6; R11, R12): a batch's cartons arrive and are counted on
different days; the batch is counted when the last has arrived, or closed short by HQ logistics
with a reason, kept in its history."""
from datetime import date, datetime, timedelta

import pytest

from dealers import batch_lines, batches, dock_counts, receiving, rules
from dealers.tables import DockPackage, ReturnBatch, ReturnLine
from portal import clock
from portal.errors import RuleViolation, ValidationFailed
from portal.tables import AuditEntry
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.helpers import client, login


async def _dispatched(net, packages: int = 3) -> tuple[int, str, list[int]]:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                                lines=[cfl_line(net, 10), cfl_line(net, 5)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="")
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="德邦物流",
                                 waybill="DB1", packages=packages, freight_fen=1000,
                                 dispatched_on=date(2026, 12, 9))
    number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
    lines = [l["id"] for l in await ReturnLine.select(ReturnLine.id).order_by(ReturnLine.line_no)]
    return batch_id, number, lines


def _counts(lines, *qty):
    return [receiving.Count(i, q, rules.Condition(cap_percent=90)) for i, q in zip(lines, qty,
                                                                                    strict=True)]


async def test_cartons_arrive_on_different_days_and_the_batch_is_counted_with_the_last():
    net = await network()
    logistics = net["actors"]["logistics"]
    with clock.frozen(IN_WINDOW):
        batch_id, number, lines = await _dispatched(net, packages=3)
        await receiving.arrive(actor=logistics, number=number, cartons=1)
        # the first carton's goods are counted on the first day (kept, not finished)
        await dock_counts.record_count(actor=logistics, batch_id=batch_id,
                                       count=dock_counts.LineCount("day-one-0001", lines[0], 0, 6,
                                                                   rules.Condition()))
        with pytest.raises(RuleViolation) as refused:
            await receiving.receive_batch(actor=logistics, batch_id=batch_id,
                                          counts=_counts(lines, 6, 0))
        assert refused.value.params == {"n": 2}
        with pytest.raises(ValidationFailed):  # more cartons than the batch still expects
            await receiving.arrive(actor=logistics, number=number, cartons=3)
    with clock.frozen(IN_WINDOW + timedelta(days=1)):
        await receiving.arrive(actor=logistics, number=number, cartons=2)
        await receiving.receive_batch(actor=logistics, batch_id=batch_id,
                                      counts=_counts(lines, 10, 5))
    arrivals = await DockPackage.select(DockPackage.package_no, DockPackage.arrived_at).order_by(
        DockPackage.package_no)
    assert [p["package_no"] for p in arrivals] == [1, 2, 3]
    assert arrivals[0]["arrived_at"] < arrivals[2]["arrived_at"]
    batch = await ReturnBatch.select(ReturnBatch.status, ReturnBatch.arrived_at).first()
    assert batch["status"] == "received"
    assert batch["arrived_at"] == arrivals[0]["arrived_at"]  # R12's clock runs from the first
    assert await AuditEntry.count().where(AuditEntry.action == "cartons_arrived") == 1


async def test_logistics_closes_a_batch_short_with_a_reason():
    net = await network()
    logistics = net["actors"]["logistics"]
    with clock.frozen(IN_WINDOW):
        batch_id, number, lines = await _dispatched(net, packages=2)
        await receiving.arrive(actor=logistics, number=number, cartons=1)
        differences = await receiving.receive_batch(
            actor=logistics, batch_id=batch_id, counts=_counts(lines, 10, 0),
            short_reason="Second carton lost by the carrier")
    assert differences == [{"line_no": 2, "filed": 5, "received": 0}]
    entry = await AuditEntry.select(AuditEntry.reason).where(
        AuditEntry.action == "closed_short").first()
    assert entry["reason"] == "Second carton lost by the carrier"


async def test_the_dock_pages_say_how_many_cartons_came_and_close_short_from_the_page():
    net = await network()
    with clock.frozen(datetime(2026, 12, 9, 11, 0, tzinfo=clock.CHINA)):
        batch_id, number, lines = await _dispatched(net, packages=3)
        async with client() as c:
            token = await login(c, "logistics")
            await c.post("/receiving", data={"_csrf": token, "number": number, "cartons": "1"})
            summary = (await c.get(f"/receiving?number={number}")).text
            page = (await c.get(f"/batches/{batch_id}/receive")).text
            refused = await c.post(f"/batches/{batch_id}/receive", data={
                "_csrf": token, f"received_{lines[0]}": "10", f"received_{lines[1]}": "5"})
            closed = await c.post(f"/batches/{batch_id}/receive", data={
                "_csrf": token, f"received_{lines[0]}": "10", f"received_{lines[1]}": "5",
                "short_reason": "Two cartons never came"})
    assert 'id="cartons-came">1 / 3<' in summary and 'id="more-cartons"' in summary
    assert 'id="cartons-came">1 / 3<' in page and 'id="short-reason"' in page
    assert refused.status_code == 422 and 'id="action-error"' in refused.text
    assert closed.status_code == 303
    assert (await ReturnBatch.select(ReturnBatch.status).first())["status"] == "received"
