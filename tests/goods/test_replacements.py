"""Replacement shipments (R13): orders opened set-based from decided batches, credit instead
where HQ has no stock, shipped once (two clerks at once: one wins), confirmed by the office, a
short delivery resolved; exchanged = shipped + credited + owed always, in the database too."""
import asyncio
from datetime import date

import asyncpg
import pytest

from goods import deliveries, queries, replacements, rules
from goods.inputs import CreditInsteadIn, ReceiptIn, ReceivedLineIn, ResolveIn, ShipIn
from portal import clock
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.dealers.factory import IN_WINDOW, network
from tests.goods.factory import decided, stock

SHIP = ShipIn(carrier="顺丰", waybill="SF100", packages=2, shipped_on=date(2026, 12, 9))


async def _lines() -> list[dict]:
    return await raw_fetch("SELECT * FROM goods_replacement_line ORDER BY id")


def _adds_up(lines: list[dict]) -> bool:
    return all(rules.adds_up(l["exchanged_qty"], l["shipped_qty"], l["credited_qty"],
                             l["owed_qty"]) for l in lines)


async def _opened(net, on_hand=100, decisions=((6, 2, 0), (0, 0, 5))) -> int:
    await stock(net, on_hand=on_hand)
    await decided(net, list(decisions))
    with clock.frozen(IN_WINDOW):
        opened = await replacements.open_replacements()
    assert len(opened) == 1
    return opened[0]


async def test_r13_decided_exchanges_open_one_order_credited_instead_beyond_hq_stock():
    net = await network()
    await stock(net, on_hand=4)
    await decided(net, [(6, 2, 0), (3, 0, 0), (0, 0, 5)])
    with clock.frozen(IN_WINDOW):
        first = await replacements.open_replacements()
        again = await replacements.open_replacements()
    assert len(first) == 1 and again == []
    lines = await _lines()
    # the first line takes the 4 on hand, the rest of it and the second line are credited
    assert [(l["exchanged_qty"], l["owed_qty"], l["credited_qty"]) for l in lines] == \
        [(6, 4, 2), (3, 0, 3)]
    assert {l["credit_reason"] for l in lines} == {rules.NO_STOCK_REASON}
    assert (await raw_fetch("SELECT on_hand FROM goods_hq_stock"))[0]["on_hand"] == 0
    assert _adds_up(lines)
    told = await raw_fetch("SELECT \"user\" FROM notification WHERE kind = 'replacement_opened'")
    assert {t["user"] for t in told} >= {net["users"]["clerk"]["id"],
                                        net["users"]["logistics"]["id"]}


def test_r13_reserve_rule_takes_stock_in_line_order():
    assert rules.reserve([(1, 5), (1, 5), (2, 3)], {1: 7}) == [(5, 0), (2, 3), (0, 3)]


async def test_r13_set_based_reservation_equals_the_rule_over_several_batches():
    net = await network()
    await stock(net, on_hand=9)
    await decided(net, [(4, 0, 0), (3, 1, 0)])
    with clock.frozen(IN_WINDOW):
        await replacements.open_replacements()
    lines = await _lines()
    expected = rules.reserve([(l["product"], l["exchanged_qty"]) for l in lines],
                             {net["products"]["cfl"]: 9})
    assert [(l["owed_qty"], l["credited_qty"]) for l in lines] == expected


async def test_r13_ship_once_then_nothing_is_owed():
    net = await network()
    a = net["actors"]
    rid = await _opened(net)
    with clock.frozen(IN_WINDOW):
        shipment = await replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP)
        with pytest.raises(Conflict):
            await replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP)
    assert [(l["shipped_qty"], l["owed_qty"]) for l in await _lines()] == [(6, 0)]
    row = await queries.shipment(shipment)
    assert [l["quantity"] for l in row["lines"]] == [6]
    told = await raw_fetch("SELECT \"user\" FROM notification WHERE kind = 'replacement_shipped'")
    assert {t["user"] for t in told} == {net["users"]["clerk"]["id"],
                                        net["users"]["manager"]["id"]}


async def test_r13_two_clerks_shipping_at_once_ship_it_once():
    net = await network()
    a = net["actors"]
    rid = await _opened(net)
    with clock.frozen(IN_WINDOW):
        results = await asyncio.gather(
            replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP),
            replacements.ship(actor=a["logistics2"], replacement_id=rid, data=SHIP),
            return_exceptions=True)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert sum(isinstance(r, int) for r in results) == 1
    assert (await raw_fetch("SELECT count(*) AS n FROM goods_shipment"))[0]["n"] == 1
    assert [(l["shipped_qty"], l["owed_qty"]) for l in await _lines()] == [(6, 0)]


async def test_r13_short_delivery_recorded_then_reshipped_or_credited():
    net = await network()
    a = net["actors"]
    rid = await _opened(net, on_hand=10)
    with clock.frozen(IN_WINDOW):
        shipment = await replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP)
        line = (await queries.shipment(shipment))["lines"][0]["id"]
        with pytest.raises(ValidationFailed):  # more than shipped
            await deliveries.confirm_receipt(actor=a["clerk"], shipment_id=shipment,
                                             data=ReceiptIn([ReceivedLineIn(line, 7)]))
        with pytest.raises(Forbidden):  # HQ does not confirm for the office
            await deliveries.confirm_receipt(actor=a["logistics"], shipment_id=shipment,
                                             data=ReceiptIn([ReceivedLineIn(line, 4)]))
        short = await deliveries.confirm_receipt(
            actor=a["clerk"], shipment_id=shipment, data=ReceiptIn([ReceivedLineIn(line, 4)]))
        assert short == 2
        told = await raw_fetch("SELECT \"user\" FROM notification WHERE kind = 'replacement_short'")
        assert net["users"]["logistics"]["id"] in {t["user"] for t in told}
        await deliveries.resolve_shortfall(actor=a["logistics"], shipment_id=shipment,
                                           data=ResolveIn("reship", "lost in transit"))
        assert [(l["shipped_qty"], l["owed_qty"]) for l in await _lines()] == [(4, 2)]
        assert (await raw_fetch("SELECT on_hand FROM goods_hq_stock"))[0]["on_hand"] == 2
        second = await replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP)
        await deliveries.confirm_receipt(actor=a["manager"], shipment_id=second,
                                         data=ReceiptIn([ReceivedLineIn(
                                             (await queries.shipment(second))["lines"][0]["id"], 1)]))
        with pytest.raises(ValidationFailed):  # a credit needs its reason
            await deliveries.resolve_shortfall(actor=a["cs"], shipment_id=second,
                                               data=ResolveIn("credit"))
        await deliveries.resolve_shortfall(actor=a["cs"], shipment_id=second,
                                           data=ResolveIn("credit", "carrier lost one"))
        with pytest.raises(Conflict):  # resolved once
            await deliveries.resolve_shortfall(actor=a["cs"], shipment_id=second,
                                               data=ResolveIn("credit", "again"))
    lines = await _lines()
    assert [(l["shipped_qty"], l["credited_qty"], l["owed_qty"]) for l in lines] == [(5, 1, 0)]
    assert _adds_up(lines)


async def test_r13_reship_refused_without_stock_then_credited_instead():
    net = await network()
    a = net["actors"]
    rid = await _opened(net, on_hand=6)
    with clock.frozen(IN_WINDOW):
        shipment = await replacements.ship(actor=a["logistics"], replacement_id=rid, data=SHIP)
        line = (await queries.shipment(shipment))["lines"][0]["id"]
        await deliveries.confirm_receipt(actor=a["clerk"], shipment_id=shipment,
                                         data=ReceiptIn([ReceivedLineIn(line, 5)]))
        with pytest.raises(RuleViolation):
            await deliveries.resolve_shortfall(actor=a["logistics"], shipment_id=shipment,
                                               data=ResolveIn("reship"))
    assert [(l["shipped_qty"], l["owed_qty"]) for l in await _lines()] == [(6, 0)]


async def test_r13_credit_instead_releases_the_reserved_stock():
    net = await network()
    a = net["actors"]
    rid = await _opened(net, on_hand=10)
    line = (await _lines())[0]["id"]
    with clock.frozen(IN_WINDOW):
        with pytest.raises(ValidationFailed):
            await replacements.credit_instead(actor=a["cs"], replacement_id=rid,
                                              data=CreditInsteadIn(line, " "))
        with pytest.raises(Forbidden):
            await replacements.credit_instead(actor=a["clerk"], replacement_id=rid,
                                              data=CreditInsteadIn(line, "x"))
        await replacements.credit_instead(actor=a["cs"], replacement_id=rid,
                                          data=CreditInsteadIn(line, "model discontinued"))
    assert [(l["credited_qty"], l["owed_qty"]) for l in await _lines()] == [(6, 0)]
    assert (await raw_fetch("SELECT on_hand FROM goods_hq_stock"))[0]["on_hand"] == 10


async def test_r13_the_database_refuses_quantities_that_do_not_add_up():
    net = await network()
    await _opened(net)
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await raw_fetch("UPDATE goods_replacement_line SET shipped_qty = shipped_qty + 1")
    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await raw_fetch("UPDATE goods_replacement_line SET owed_qty = owed_qty - 7, "
                        "shipped_qty = shipped_qty + 7")


async def test_r1_a_sibling_office_cannot_see_the_replacement():
    net = await network()
    rid = await _opened(net)
    with pytest.raises(NotFound):
        await replacements.get_replacement(actor=net["actors"]["other_clerk"], replacement_id=rid)
    assert (await replacements.get_replacement(actor=net["actors"]["clerk"],
                                               replacement_id=rid))["owed"] == 6
