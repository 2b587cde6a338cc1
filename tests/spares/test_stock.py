"""R23 stock ledger and old-for-new exchanges; R19/R17 consumer repairs."""
import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from spares import exchanges, queries, repairs, stock
from spares.tables import Exchange, Repair, StockMovement
from tests.helpers import actor_of, make_user
from tests.spares.factory import network

CHINA = ZoneInfo("Asia/Shanghai")


async def _stocked(net, office_good: int = 5, point_good: int = 3, point_faulty: int = 3) -> None:
    part = net["parts"]["ELB-28"]
    moves = [(net["office"]["id"], part, "good", office_good)] if office_good else []
    moves += [(net["point"]["id"], part, "good", point_good)] if point_good else []
    moves += [(net["point"]["id"], part, "faulty", point_faulty)] if point_faulty else []
    await stock.move_stock(moves, kind="adjustment", reference="opening", actor=None)


def _stock(rows, code="ELB-28"):
    row = [r for r in rows if r["code"] == code][0]
    return row["good"], row["faulty"]


async def test_r23_exchange_moves_good_out_and_faulty_in_equally():
    net = await network()
    await _stocked(net)
    a = net["actors"]
    ex = await exchanges.request_exchange(actor=a["staff"], spare_part_id=net["parts"]["ELB-28"],
                                        quantity=2)
    with pytest.raises(Forbidden):
        await exchanges.complete_exchange(actor=a["cs"], exchange_id=ex)
    await exchanges.complete_exchange(actor=a["clerk"], exchange_id=ex)
    assert _stock(await queries.stock_of(net["office"]["id"])) == (3, 2)
    assert _stock(await queries.stock_of(net["point"]["id"])) == (5, 1)
    with pytest.raises(Conflict):
        await exchanges.complete_exchange(actor=a["clerk"], exchange_id=ex)


async def test_r23_balance_never_negative_enforced_by_the_database():
    net = await network()
    await _stocked(net, office_good=1)
    with pytest.raises(RuleViolation, match="Not enough parts"):
        await stock.move_stock([(net["office"]["id"], net["parts"]["ELB-28"], "good", -2)],
                                 kind="adjustment", reference="x", actor=None)
    conn = await asyncpg.connect(StockMovement._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await conn.execute("INSERT INTO stock_movement (location, spare_part, condition, quantity, "
                               "kind, reference, at) VALUES ($1, $2, 'good', -5, 'raw', '', now())",
                               net["office"]["id"], net["parts"]["ELB-28"])
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("UPDATE stock_movement SET quantity = 99")
    finally:
        await conn.close()
    assert _stock(await queries.stock_of(net["office"]["id"])) == (1, 0)


async def test_r23_two_exchanges_drawing_the_last_good_part_one_wins():
    net = await network()
    await _stocked(net, office_good=1, point_faulty=2)
    a = net["actors"]
    first = await exchanges.request_exchange(actor=a["staff"], spare_part_id=net["parts"]["ELB-28"],
                                           quantity=1)
    second = await exchanges.request_exchange(actor=a["staff"], spare_part_id=net["parts"]["ELB-28"],
                                            quantity=1)
    results = await asyncio.gather(
        exchanges.complete_exchange(actor=a["clerk"], exchange_id=first),
        exchanges.complete_exchange(actor=a["manager"], exchange_id=second),
        return_exceptions=True)
    assert sum(isinstance(r, RuleViolation) for r in results) == 1
    assert sum(r is None for r in results) == 1
    assert _stock(await queries.stock_of(net["office"]["id"])) == (0, 1)
    statuses = sorted(r["status"] for r in await Exchange.select(Exchange.status))
    assert statuses == ["completed", "requested"]


async def test_r23_balances_equal_the_sum_of_movements():
    net = await network()
    await _stocked(net)
    ex = await exchanges.request_exchange(actor=net["actors"]["staff"],
                                        spare_part_id=net["parts"]["ELB-28"], quantity=2)
    await exchanges.complete_exchange(actor=net["actors"]["clerk"], exchange_id=ex)
    mismatches = await raw_fetch(
        "SELECT b.* FROM stock_balance b LEFT JOIN (SELECT location, spare_part, condition, "
        "sum(quantity) AS s FROM stock_movement GROUP BY 1, 2, 3) m USING (location, spare_part, "
        "condition) WHERE b.quantity <> coalesce(m.s, 0)")
    assert mismatches == []


@pytest.mark.parametrize("bought, warranty, charge", [
    (date(2026, 6, 1), True, 0),          # within a year: free (R17)
    (date(2025, 11, 9), False, 3700 + 370),  # 2 ballasts at 18.50 + 10 % fee
])
async def test_r17_r19_repair_charge_and_parts_become_faulty(bought, warranty, charge):
    net = await network()
    await _stocked(net, office_good=0, point_good=3, point_faulty=0)
    with clock.frozen(datetime(2026, 11, 10, 10, tzinfo=CHINA)):
        repair_id = await repairs.record_repair(
            actor=net["actors"]["staff"], customer="王先生", phone="138", product_id=net["product"],
            purchase_date=bought, proof="发票 No.123", spare_part_id=net["parts"]["ELB-28"],
            parts_quantity=2, on_the_spot=True)
    row = await Repair.select().where(Repair.id == repair_id).first()
    assert (row["in_warranty"] == "yes") is warranty and row["charge_fen"] == charge
    assert _stock(await queries.stock_of(net["point"]["id"])) == (1, 2)


async def test_r19_promise_three_days_then_overdue():
    net = await network()
    with clock.frozen(datetime(2026, 11, 10, 10, tzinfo=CHINA)):
        await repairs.record_repair(actor=net["actors"]["staff"], customer="李女士", phone="",
                                    product_id=net["product"], purchase_date=date(2026, 5, 1),
                                    proof="小票", spare_part_id=None, parts_quantity=0,
                                    on_the_spot=False)
    with clock.frozen(datetime(2026, 11, 13, 20, tzinfo=CHINA)):
        rows = await queries.list_repairs(actor=net["actors"]["staff"], point_id=net["point"]["id"])
        assert rows[0]["promised_by"] == date(2026, 11, 13) and not rows[0]["overdue"]
    with clock.frozen(datetime(2026, 11, 14, 0, 1, tzinfo=CHINA)):
        rows = await queries.list_repairs(actor=net["actors"]["staff"], point_id=net["point"]["id"])
        assert rows[0]["overdue"]


@pytest.mark.parametrize("override, field", [
    ({"proof": ""}, "proof"), ({"customer": " "}, "customer"),
    ({"purchase_date": date(2030, 1, 1)}, "purchase_date"), ({"product_id": 999999}, "product_id"),
    ({"parts_quantity": 2, "spare_part_id": None}, "parts"),
])
async def test_r19_bad_repair_input_changes_nothing(override, field):
    net = await network()
    values = dict(customer="王先生", phone="", product_id=net["product"],
                  purchase_date=date(2026, 1, 1), proof="发票", spare_part_id=None,
                  parts_quantity=0, on_the_spot=True)
    values.update(override)
    with pytest.raises(ValidationFailed) as caught:
        await repairs.record_repair(actor=net["actors"]["staff"], **values)
    assert field in caught.value.errors
    assert await Repair.count() == 0 and await StockMovement.count() == 0


async def test_only_repair_staff_of_a_point_record_and_request():
    net = await network()
    with pytest.raises(Forbidden):
        await exchanges.request_exchange(actor=net["actors"]["clerk"],
                                       spare_part_id=net["parts"]["ELB-28"], quantity=1)
    other_point_staff = await actor_of(await make_user(net["office"], ["repair_staff"], username="x"))
    with pytest.raises(Forbidden):
        await exchanges.request_exchange(actor=other_point_staff,
                                       spare_part_id=net["parts"]["ELB-28"], quantity=1)


async def test_r19_overdue_promise_ends_in_exchange_or_refund_not_before():
    net = await network()
    with clock.frozen(datetime(2026, 11, 10, 10, tzinfo=CHINA)):
        repair_id = await repairs.record_repair(
            actor=net["actors"]["staff"], customer="李女士", phone="", product_id=net["product"],
            purchase_date=date(2026, 5, 1), proof="小票", spare_part_id=None, parts_quantity=0,
            on_the_spot=False)
        with pytest.raises(RuleViolation):
            await repairs.complete_repair(actor=net["actors"]["staff"], repair_id=repair_id,
                                          outcome="refunded")
    with clock.frozen(datetime(2026, 11, 14, 9, tzinfo=CHINA)):
        await repairs.complete_repair(actor=net["actors"]["staff"], repair_id=repair_id,
                                      outcome="exchanged")
        with pytest.raises(Conflict):
            await repairs.complete_repair(actor=net["actors"]["staff"], repair_id=repair_id,
                                          outcome="repaired")
    assert (await Repair.select(Repair.status).first())["status"] == "exchanged"
