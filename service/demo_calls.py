"""Demo service calls and opinion cards (R33), played through the real services with the clock
at each step's moment, relative to now (so it works on any day). Skipped once a call exists.

Nanjing (`js.repair`): a call the Jiangsu clerk recorded 3 hours ago (to visit), one recorded
30 hours ago and not visited (**breaching**), one visited within the day whose card the
customer filled in on their phone, one visited 26 hours after the call (a late visit) linked to
the point's repair record, its card not filled in yet, one closed after a visit whose card was
filled in on the point's tablet, and one customer service cancelled. Guzhen (`gd.repair`): one
to visit and one visited with its card filled in. Shilihe (`bj.repair`): one closed."""
from __future__ import annotations

from datetime import timedelta

from portal import clock
from portal.db import raw_fetch
from portal.demo import actors, ago, at, orgs
from service import calls, opinion_cards
from service.inputs import CallCancelIn, CallCloseIn, CallIn, CallVisitIn, CardIn

AREA = "市区"  # the demo points cover "市区灯饰市场" (spares/demo.py)


async def _call(people, who: str, moment, name: str, phone: str, problem: str, *,
                point: int | None = None, product: str | None = "XD-3602") -> int:
    product_id = None
    if product:
        found = await raw_fetch("SELECT id FROM product WHERE model = $1", product)
        product_id = found[0]["id"] if found else None
    async with at(moment):
        return await calls.record_call(actor=people[who], data=CallIn(
            name=name, phone=phone, problem=problem, area=AREA, address="市区灯饰市场附近小区",
            product_id=product_id, point_id=point))


async def _visit(people, who: str, call_id: int, moment, outcome: str = "fixed", *,
                 repair_id: int | None = None, notes: str = "") -> str:
    async with at(moment):
        return await calls.record_visit(actor=people[who], call_id=call_id, data=CallVisitIn(
            outcome=outcome, first_time_fix=outcome == "fixed", notes=notes,
            repair_id=repair_id))


async def _fill(token: str, moment, scores: tuple[int, int, int], comments: str = "") -> None:
    async with at(moment):
        await opinion_cards.submit_card(token=token, data=CardIn(*scores, comments=comments))


async def load() -> bool:
    if await raw_fetch("SELECT 1 FROM service_call LIMIT 1"):
        return False
    people, ids = await actors(), await orgs()
    if "js.repair" not in people or "js.clerk" not in people:
        return False
    now = clock.now()
    # Nanjing: to visit, and breaching (30 hours without a visit)
    await _call(people, "js.clerk", ago(now, hours=3), "王先生", "139 0000 1001",
                "客厅吸顶灯不亮，开关后闪烁")
    await _call(people, "js.repair", ago(now, hours=30), "钱女士", "139 0000 1002",
                "筒灯镇流器有异响", product="TD-B13")
    # visited within the day, card filled on the customer's phone
    filled = await _call(people, "js.clerk", ago(now, days=2), "孙先生", "139 0000 1003",
                         "卧室灯管发黑")
    token = await _visit(people, "js.repair", filled, ago(now, days=1, hours=22))
    await _fill(token, ago(now, days=1, hours=20), (5, 5, 4), "师傅很耐心，讲解清楚")
    # visited 26 hours after the call (late, R33), with the point's repair record (R19)
    repair = await raw_fetch("SELECT id FROM repair WHERE repair_point = $1 ORDER BY id LIMIT 1",
                             ids["js.repair"])
    late = await _call(people, "js.clerk", ago(now, days=3), "周女士", "139 0000 1004",
                       "吸顶灯完全不亮")
    await _visit(people, "js.repair", late, ago(now, days=3) + timedelta(hours=26), "parts",
                 repair_id=repair[0]["id"] if repair else None, notes="需更换镇流器，已登记维修")
    # closed after a visit; the card filled in on the point's tablet
    closed = await _call(people, "js.repair", ago(now, days=6), "吴先生", "139 0000 1005",
                         "灯具安装后不亮")
    await _visit(people, "js.repair", closed, ago(now, days=5, hours=20), "no_fault",
                 notes="电源开关未接好，现场调整")
    async with at(ago(now, days=5, hours=19, minutes=50)):
        tablet = await opinion_cards.hand_over(actor=people["js.repair"], call_id=closed,
                                               channel="tablet")
    await _fill(tablet, ago(now, days=5, hours=19, minutes=45), (4, 5, 5))
    async with at(ago(now, days=5, hours=18)):
        await calls.close_call(actor=people["js.repair"], call_id=closed,
                               data=CallCloseIn(note="顾客确认正常"))
    # cancelled by customer service, with its reason
    cancelled = await _call(people, "hq.cs", ago(now, days=1, hours=5), "郑女士",
                            "139 0000 1006", "阳台灯不亮", point=ids["js.repair"])
    async with at(ago(now, days=1, hours=4)):
        await calls.cancel_call(actor=people["hq.cs"], call_id=cancelled,
                                data=CallCancelIn(reason="顾客来电：自行更换灯泡后已正常"))
    # Guzhen: to visit; visited with its card filled in. Shilihe: closed.
    if "gd.repair" in people:
        await _call(people, "gd.clerk", ago(now, hours=2), "陈女士", "139 0000 2001",
                    "餐厅吊灯一半不亮")
        guzhen = await _call(people, "gd.repair", ago(now, days=4), "黄先生", "139 0000 2002",
                             "环形灯管闪烁")
        token = await _visit(people, "gd.repair", guzhen, ago(now, days=3, hours=20))
        await _fill(token, ago(now, days=3, hours=18), (5, 4, 5))
    if "bj.repair" in people:
        shilihe = await _call(people, "bj.repair", ago(now, days=8), "孙女士", "139 0000 3001",
                              "筒灯不亮")
        await _visit(people, "bj.repair", shilihe, ago(now, days=7, hours=21))
        async with at(ago(now, days=7)):
            await calls.close_call(actor=people["bj.repair"], call_id=shilihe,
                                   data=CallCloseIn())
    return True
