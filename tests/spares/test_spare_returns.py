"""R23: faulty spares the office took in exchanges go back to HQ in its monthly batch as
spare-part lines; once HQ decides them, it replenishes the office with good parts."""
import pytest

from dealers import batches, queries, receiving, rules
from dealers.tables import ReturnBatch
from portal import clock
from portal.errors import Conflict, RuleViolation
from spares import stock
from spares.queries import stock_of
from tests.dealers.factory import IN_WINDOW
from tests.spares.factory import network


async def test_r23_faulty_spares_travel_in_the_batch_and_are_replenished():
    net = await network()
    a = net["actors"]
    part = net["parts"]["ELB-28"]
    await stock.move_stock([(net["office"]["id"], part, "faulty", 4),
                              (net["hq"]["id"], part, "good", 10)],
                             kind="adjustment", reference="opening", actor=None)
    with clock.frozen(IN_WINDOW):
        batch_id = await batches.create_draft(actor=a["clerk"])
        assert await stock.send_faulty_to_batch(actor=a["clerk"], batch_id=batch_id) == 1
        with pytest.raises(RuleViolation):
            await stock.send_faulty_to_batch(actor=a["clerk"], batch_id=batch_id)
        office = {s["code"]: (s["good"], s["faulty"]) for s in await stock_of(net["office"]["id"])}
        assert office["ELB-28"] == (0, 0)
        await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
        await batches.sign_batch(actor=a["manager"], batch_id=batch_id)
        await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
        number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
        await receiving.arrive(actor=a["logistics"], number=number)
        line = (await queries.list_lines(batch_id))[0]
        assert line["model"] == "ELB-28" and line["quantity"] == 4
        await receiving.receive_batch(actor=a["logistics"], batch_id=batch_id,
                                      counts=[receiving.Count(line["id"], 4, rules.Condition())])
        proposal = (await receiving.proposals(batch_id))[line["id"]]
        assert proposal[:3] == (4, 0, 0)
        await receiving.decide_batch(actor=a["cs"], batch_id=batch_id,
                                     decisions=[receiving.Decision(line["id"], 4, 0, 0)])
        await stock.ship_replacements(actor=a["logistics"], batch_id=batch_id,
                                        hq_id=net["hq"]["id"])
        with pytest.raises(Conflict):
            await stock.ship_replacements(actor=a["logistics"], batch_id=batch_id,
                                            hq_id=net["hq"]["id"])
    office = {s["code"]: (s["good"], s["faulty"]) for s in await stock_of(net["office"]["id"])}
    hq = {s["code"]: s["good"] for s in await stock_of(net["hq"]["id"])}
    assert office["ELB-28"] == (4, 0) and hq["ELB-28"] == 6
