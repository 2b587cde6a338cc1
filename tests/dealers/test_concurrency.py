"""Races: two CS users approving the same batch, two logistics clerks counting it (R9, R12)."""
import asyncio
from datetime import date

from dealers import batch_lines, batches, queries, receiving, rules
from dealers.tables import ReturnBatch, ReturnLine
from portal import clock
from portal.errors import Conflict
from portal.tables import AuditEntry
from tests.dealers.factory import IN_WINDOW, cfl_line, network


async def _signed(net) -> int:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                            lines=[cfl_line(net, 10), cfl_line(net, 3)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
    return batch_id


async def test_r9_two_cs_approving_at_once_exactly_one_wins():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _signed(net)
        results = await asyncio.gather(
            batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return"),
            batches.refuse_batch(actor=a["cs2"], batch_id=batch_id, reason="incomplete"),
            return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
    assert isinstance([r for r in results if r is not None][0], Conflict)
    decisions = await AuditEntry.count().where(
        (AuditEntry.object_id == str(batch_id)) & AuditEntry.action.is_in(["approved", "refused"]))
    assert decisions == 1


async def test_r12_two_clerks_counting_at_once_cannot_double_count():
    net = await network()
    a = net["actors"]
    with clock.frozen(IN_WINDOW):
        batch_id = await _signed(net)
        await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
        await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="顺丰",
                                     waybill="SF1", packages=1, freight_fen=1000,
                                     dispatched_on=date(2026, 12, 9))
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        lines = await queries.list_lines(batch_id)

        def counts(qty):
            return [receiving.Count(l["id"], qty, rules.Condition()) for l in lines]

        extra = [receiving.ExtraGoods(net["products"]["tube"], 2, rules.Condition())]
        results = await asyncio.gather(
            receiving.receive_batch(actor=a["logistics"], batch_id=batch_id, counts=counts(9),
                                    extras=extra),
            receiving.receive_batch(actor=a["logistics2"], batch_id=batch_id, counts=counts(1),
                                    extras=extra),
            return_exceptions=True)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    rows = await ReturnLine.select().where(ReturnLine.batch == batch_id)
    assert len(rows) == 3  # the extra line was added once
    assert len({r["received_qty"] for r in rows if not r["extra"]}) == 1  # one clerk's count only
