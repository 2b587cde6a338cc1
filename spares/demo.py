"""Demo data for repair points: stock templates, HQ stock, the demo points' applications,
deposits (three paid by bank transfer, one still due), first stock, fees. Idempotent."""
from __future__ import annotations

from portal import auth, clock
from portal.db import raw_fetch
from spares import service
from spares.tables import RepairPointApplication, RepairFee, StockTemplate

TEMPLATES = {"small": {"ELB-28": 10, "RT-32": 5, "FP-24": 3, "ST-01": 20},
             "medium": {"ELB-28": 20, "RT-32": 10, "FP-24": 6, "ST-01": 40},
             "large": {"ELB-28": 40, "RT-32": 20, "FP-24": 12, "ST-01": 80}}


async def load_spares_demo() -> bool:
    if await StockTemplate.count():
        return False
    parts = {r["code"]: r["id"] for r in await raw_fetch("SELECT id, code FROM spare_part")}
    if not parts:
        return False
    await StockTemplate.insert(*[StockTemplate(sales_scale=scale, spare_part=parts[code], quantity=q)
                                 for scale, items in TEMPLATES.items() for code, q in items.items()])
    hq = (await raw_fetch("SELECT id FROM organisation WHERE kind = 'hq'"))[0]["id"]
    await service.move_stock([(hq, part, "good", 1000) for part in parts.values()],
                             kind="receipt", reference="demo-factory", actor=None)
    users = {r["username"]: r["id"] for r in await raw_fetch("SELECT id, username FROM portal_user")}
    logistics = await auth.load_actor(users["hq.logistics"])
    points = await raw_fetch("SELECT o.id, o.name, o.parent, p.path AS office_path FROM organisation o "
                             "JOIN organisation p ON p.id = o.parent WHERE o.kind = 'repair_point' "
                             "ORDER BY o.id")
    offices = {r["id"]: r["username"] for r in await raw_fetch(
        "SELECT o.id, min(u.username) AS username FROM organisation o JOIN portal_user u "
        "ON u.organisation = o.id AND 'manager' = ANY(u.roles) GROUP BY o.id")}
    # the demo fees have been in force since last month, so closing last month pays them (R24)
    since = clock.previous_month(clock.china_today())
    for i, point in enumerate(points):
        manager = users.get(offices.get(point["parent"], ""), users["hq.admin"])
        await RepairPointApplication.insert(RepairPointApplication(
            office=point["parent"], name=point["name"], coverage_area="市区灯饰市场",
            sales_scale="small", address=point["name"], proposed_fee_fen=30000,
            status="approved", proposed_by=manager, proposed_at=clock.now(),
            decided_by=users["hq.cs"], decided_at=clock.now(), repair_point=point["id"]))
        await service._size_deposit(point["id"], "small")
        await RepairFee.insert(RepairFee(repair_point=point["id"], amount_fen=30000,
                                         effective_from=since,
                                         status="approved", proposed_by=manager,
                                         proposed_at=clock.now(), decided_by=users["hq.cs"],
                                         decided_at=clock.now()))
        if i == len(points) - 1:
            continue  # the last demo point has not paid yet
        status = await service.deposit_status(point["id"])
        await service.credit_deposit(point_id=point["id"], amount_fen=status["required_fen"],
                                     kind="bank_transfer", reference=f"DEMO-{point['id']}",
                                     actor=None)
        await service.ship_first_stock(actor=logistics, point_id=point["id"], hq_id=hq)
    return True
