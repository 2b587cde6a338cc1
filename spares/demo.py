"""Demo data for repair points, played through the services with the clock set to each step's
moment (`portal.demo.at`). Idempotent: skipped once a stock template exists.

Since the demo's first day (`portal.demo.epoch`): stock templates and HQ stock; the four demo
points' applications (approved before the portal), deposits (three paid by bank transfer and
stocked, Hehuachi still owing), fees proposed by their managers and decided by CS (in force
from last month, so last month's statements pay them, R24); the four offices holding spare
stock. Relative to today: consumer repairs at Nanjing and Guzhen (one promise overdue, R19),
an exchange completed at Guzhen and one waiting at Nanjing for the Jiangsu office (R23),
disputes (one waiting for js.manager to mediate, one escalated to CS, one settled, R29), a
new repair point proposed by Guangdong waiting for CS (R21) and a new fee for Nanjing waiting
for CS (R24)."""
from __future__ import annotations

from datetime import timedelta

from portal import clock
from portal.db import raw_fetch
from portal.demo import actors, ago, at, epoch, orgs
from spares import applications, deposits, exchanges, oversight, queries, repairs, stock
from spares.tables import RepairPointApplication, StockTemplate

TEMPLATES = {"small": {"ELB-28": 10, "RT-32": 5, "FP-24": 3, "ST-01": 20},
             "medium": {"ELB-28": 20, "RT-32": 10, "FP-24": 6, "ST-01": 40},
             "large": {"ELB-28": 40, "RT-32": 20, "FP-24": 12, "ST-01": 80}}
OFFICE_STOCK = {"ELB-28": 12, "RT-32": 6, "FP-24": 4, "ST-01": 30}  # each office with a point
POINT_OFFICES = ("js", "gd", "bj", "sc")  # sc's Hehuachi point has not paid (the last one)


async def load_spares_demo() -> bool:
    if await StockTemplate.count():
        return False
    parts = {r["code"]: r["id"] for r in await raw_fetch("SELECT id, code FROM spare_part")}
    if not parts:
        return False
    now = clock.now()
    people, ids = await actors(), await orgs()
    start = epoch() + timedelta(hours=1)
    async with at(start):
        await _founding(parts, people, ids)
    async with at(start + timedelta(days=1)):
        for prefix in POINT_OFFICES:
            # R24: each office's manager proposes its point's fee; it applies from next month
            fee = await oversight.propose_fee(actor=people[f"{prefix}.manager"],
                                              point_id=ids[f"{prefix}.repair"],
                                              amount_fen=30000, reason="按覆盖区域和销售规模")
            await oversight.decide_fee(actor=people["hq.cs"], fee_id=fee, approve=True)
    await _today(parts, people, ids, now)
    return True


async def _founding(parts: dict[str, int], people: dict, ids: dict[str, int]) -> None:
    """Stock templates, HQ's stock, the demo points (approved before the portal was used) with
    their deposits and first stock, and the offices' own spare stock."""
    await StockTemplate.insert(*[StockTemplate(sales_scale=scale, spare_part=parts[code], quantity=q)
                                 for scale, items in TEMPLATES.items() for code, q in items.items()])
    hq = ids["hq"]
    await stock.move_stock([(hq, part, "good", 1000) for part in parts.values()],
                             kind="receipt", reference="demo-factory", actor=None)
    points = await raw_fetch("SELECT o.id, o.name, o.parent FROM organisation o "
                             "WHERE o.kind = 'repair_point' ORDER BY o.id")
    for i, point in enumerate(points):
        prefix = next(p for p in POINT_OFFICES if ids[f"{p}.repair"] == point["id"])
        await RepairPointApplication.insert(RepairPointApplication(
            office=point["parent"], name=point["name"], coverage_area="市区灯饰市场",
            sales_scale="small", address=point["name"], proposed_fee_fen=30000,
            status="approved", proposed_by=people[f"{prefix}.manager"].user_id,
            proposed_at=clock.now(), decided_by=people["hq.cs"].user_id, decided_at=clock.now(),
            repair_point=point["id"]))
        await deposits.size_deposit(point["id"], "small")
        if i == len(points) - 1:
            continue  # the last demo point has not paid yet
        status = await queries.deposit_status(point["id"])
        await deposits.record_bank_transfer(actor=people["hq.finance"], point_id=point["id"],
                                           amount_fen=status["required_fen"],
                                           reference=f"DEMO-{point['id']}")
        await deposits.ship_first_stock(actor=people["hq.logistics"], point_id=point["id"], hq_id=hq)
    # R23: the offices keep good parts to hand over old-for-new
    await stock.move_stock(
        [(hq, parts[code], "good", -q * len(POINT_OFFICES)) for code, q in OFFICE_STOCK.items()]
        + [(ids[prefix], parts[code], "good", q) for prefix in POINT_OFFICES
           for code, q in OFFICE_STOCK.items()],
        kind="replenish", reference="demo-office-stock", actor=people["hq.logistics"])


async def _repair(people, ids, moment, who: str, *, product: str, bought_days_ago: int,
                  part: str | None, quantity: int, on_the_spot: bool, customer: str,
                  parts: dict[str, int]) -> int:
    product_id = (await raw_fetch("SELECT id FROM product WHERE model = $1", product))[0]["id"]
    async with at(moment):
        return await repairs.record_repair(
            actor=people[who], customer=customer, phone="139 0000 0000", product_id=product_id,
            purchase_date=clock.china_today() - timedelta(days=bought_days_ago),
            proof="购物小票", spare_part_id=parts[part] if part else None, parts_quantity=quantity,
            on_the_spot=on_the_spot)


async def _today(parts: dict[str, int], people: dict, ids: dict[str, int], now) -> None:
    # Guzhen: a repair with a ring tube, the faulty tube exchanged at the Guangdong office.
    await _repair(people, ids, ago(now, days=3), "gd.repair", product="XD-3602",
                  bought_days_ago=200, part="RT-32", quantity=1, on_the_spot=True,
                  customer="陈女士", parts=parts)
    async with at(ago(now, days=3, hours=-1)):
        exchange = await exchanges.request_exchange(actor=people["gd.repair"],
                                                  spare_part_id=parts["RT-32"], quantity=1)
    async with at(ago(now, days=2)):
        await exchanges.complete_exchange(actor=people["gd.clerk"], exchange_id=exchange)
    # Nanjing: on the spot in warranty; a promise five days old, overdue (R19); one out of
    # warranty (parts + 10 %, R17); one promised an hour ago. Then two faulty ballasts wait for
    # the Jiangsu office to exchange them (R23).
    await _repair(people, ids, ago(now, days=6), "js.repair", product="TD-B13",
                  bought_days_ago=90, part="ELB-28", quantity=1, on_the_spot=True,
                  customer="王先生", parts=parts)
    await _repair(people, ids, ago(now, days=5), "js.repair", product="XD-2401",
                  bought_days_ago=150, part="ELB-28", quantity=1, on_the_spot=False,
                  customer="李女士", parts=parts)
    await _repair(people, ids, ago(now, days=2), "js.repair", product="XD-2401",
                  bought_days_ago=500, part="FP-24", quantity=1, on_the_spot=True,
                  customer="赵先生", parts=parts)
    await _repair(people, ids, ago(now, hours=1), "js.repair", product="XD-3602",
                  bought_days_ago=30, part=None, quantity=0, on_the_spot=False,
                  customer="刘女士", parts=parts)
    async with at(ago(now, minutes=40)):
        await exchanges.request_exchange(actor=people["js.repair"], spare_part_id=parts["ELB-28"],
                                       quantity=2)
    # R29 disputes: Nanjing's waits for js.manager; Guzhen's was escalated to CS; Shilihe's settled.
    async with at(ago(now, days=1)):
        await oversight.record_dispute(actor=people["js.repair"], point_id=ids["js.repair"],
                                       customer="周先生", description="更换镇流器后三天又不亮，要求退款")
    async with at(ago(now, days=4)):
        escalated = await oversight.record_dispute(
            actor=people["gd.repair"], point_id=ids["gd.repair"], customer="黄女士",
            description="认为维修收费过高，拒绝付款")
    async with at(ago(now, days=3)):
        await oversight.mediate_dispute(actor=people["gd.manager"], dispute_id=escalated,
                                        settled=False, notes="顾客不接受按配件价加10%收费，提交客服部裁决")
    async with at(ago(now, days=10)):
        settled = await oversight.record_dispute(
            actor=people["bj.repair"], point_id=ids["bj.repair"], customer="孙先生",
            description="维修等待时间过长")
    async with at(ago(now, days=9)):
        await oversight.mediate_dispute(actor=people["bj.manager"], dispute_id=settled,
                                        settled=True, notes="致歉并赠送启辉器一只，顾客满意")
    # R21: Guangdong proposes a second point, waiting for CS.
    async with at(ago(now, days=1, hours=2)):
        await applications.propose_repair_point(
            actor=people["gd.manager"], office_id=ids["gd"], name="广州海珠灯饰城特约维修点",
            coverage_area="广州市海珠区、番禺区", sales_scale="medium", address="广州市海珠区灯饰城 2 楼 15 号",
            proposed_fee_fen=40000, owner_store_id=ids["gd.store2"])
    # R24: a new fee for Nanjing from next month, waiting for CS.
    async with at(ago(now, hours=2)):
        await oversight.propose_fee(actor=people["js.manager"], point_id=ids["js.repair"],
                                    amount_fen=35000, reason="维修量增加，申请上调维修费")
