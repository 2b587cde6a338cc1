"""Demo complaints (R32), played through the real services with the clock at each step's moment,
relative to now (so it works on any day). Skipped once a complaint exists. The consumers are the
archive demo's where they bought (their files are found by phone).

- 陈女士 on the public form 3 hours ago, about the Nanjing repair point: waits for hq.cs to judge.
- 张女士 at the Nanjing store (js.store1) 30 hours ago, not judged: **past its deadline**
  (red on the list; escalated to CS by the deadline job, which the demo runs once).
- A major quality complaint the Jiangsu clerk recorded 4 days ago: HQ tech investigated and
  proposed; it waits for the vice-president (hq.vp) to approve.
- A service complaint js.manager recorded yesterday about the Nanjing repair point: assigned to
  the point (js.repair investigates and proposes).
- 周先生 at the Nanjing store: resolution approved; js.store1 tells the customer.
- A Guangdong transport complaint: assigned to HQ logistics (hq.logistics).
- A Jiangsu complaint that did not stand (answered with the reason), and one closed a few days
  ago with accountability and an improvement action."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from portal import clock
from portal.db import raw_fetch
from portal.demo import actors, at, orgs
from service import complaint_steps, complaints
from service.inputs import (
    ComplaintApproveIn,
    ComplaintAssignIn,
    ComplaintCloseIn,
    ComplaintIn,
    ComplaintInvestigateIn,
    ComplaintJudgeIn,
    ComplaintProposeIn,
    ComplaintTellIn,
    PublicComplaintIn,
)


async def _record(people, who: str, moment: datetime, **fields) -> int:
    async with at(moment):
        saved = await complaints.record_complaint(actor=people[who], data=ComplaintIn(**fields))
    return saved["id"]


async def _steps(people, complaint_id: int, start: datetime,
                 steps: list[tuple[str, str, object]]) -> None:
    """Each (who, step, input) one hour after the one before, from `start`."""
    run: dict[str, Callable[..., Awaitable[Any]]] = {"judge": complaint_steps.judge_complaint, "assign": complaint_steps.assign_complaint,
           "investigate": complaint_steps.investigate_complaint,
           "propose": complaint_steps.propose_resolution,
           "approve": complaint_steps.approve_resolution, "tell": complaint_steps.tell_customer,
           "close": complaint_steps.close_complaint}
    for n, (who, step, data) in enumerate(steps):
        async with at(start + timedelta(hours=n)):
            await run[step](actor=people[who], complaint_id=complaint_id, data=data)


async def load() -> bool:
    if await raw_fetch("SELECT 1 FROM complaint LIMIT 1"):
        return False
    people, ids = await actors(), await orgs()
    if not {"js.clerk", "js.store1", "js.repair", "hq.cs", "hq.vp"} <= set(people):
        return False
    models = {r["model"]: r["id"] for r in await raw_fetch("SELECT id, model FROM product")}
    now = clock.now()
    point = ids["js.repair"]
    # the public form, 3 hours ago: to judge
    async with at(now - timedelta(hours=3)):
        await complaints.record_public_complaint(data=PublicComplaintIn(
            name="陈女士", phone="139 1234 0011", about="repair_point", about_org=point,
            description="送修的吸顶灯一周了还没修好，打电话也没人接。", asks="尽快修好并说明原因。"))
    # past the acknowledgement deadline
    await _record(people, "js.store1", now - timedelta(hours=30), name="张女士",
                  phone="13812340001", channel="visit", about="product",
                  about_product=models.get("XD-2401"),
                  description="买的吸顶灯灯罩两周就发黄。", asks="换一个灯罩。")
    await _major(people, models, now)
    # a service complaint about the repair point, assigned to it
    unit = await _record(people, "js.manager", now - timedelta(days=1), name="王先生",
                         phone="13900000000", channel="phone", about="repair_point",
                         about_org=point, description="维修员上门迟到两个小时，态度也不好。",
                         asks="道歉。")
    await _steps(people, unit, now - timedelta(hours=20), [
        ("hq.cs", "judge", ComplaintJudgeIn(True, "service", reason="电话核实属实。")),
        ("hq.cs", "assign", ComplaintAssignIn("unit", point))])
    await _approved_at_the_store(people, models, now)
    await _elsewhere(people, ids, now)
    await complaints.escalate_overdue_complaints(now)  # what the periodic job does
    return True


async def _major(people, models, now: datetime) -> None:
    """A major quality complaint waiting for the vice-president's approval."""
    major = await _record(people, "js.clerk", now - timedelta(days=4), name="江苏灯饰工程 陈经理",
                          phone="13812340006", channel="letter", about="product",
                          about_product=models.get("T8-36W"),
                          description="工程项目安装的 40 支灯管中 12 支一个月内发黑。",
                          asks="全部更换并承担返工费用。")
    await _steps(people, major, now - timedelta(days=4) + timedelta(hours=2), [
        ("hq.cs", "judge", ComplaintJudgeIn(True, "quality", major=True,
                                            reason="批量质量问题，影响工程客户。")),
        ("hq.cs", "assign", ComplaintAssignIn("hq_tech")),
        ("hq.tech", "investigate", ComplaintInvestigateIn(
            "同一批次灯丝涂层不良。", "灯管车间（批次 2511）")),
        ("hq.tech", "propose", ComplaintProposeIn(
            "全部 40 支免费更换，承担返工人工费，附检测报告。"))])


async def _approved_at_the_store(people, models, now: datetime) -> None:
    """One approved (the store tells the customer), one not standing, one closed."""
    told = await _record(people, "js.store1", now - timedelta(days=6), name="周先生",
                         phone="13812340002", channel="phone", about="product",
                         about_product=models.get("TD-B13"), description="筒灯装上就不亮。",
                         asks="换新。")
    await _steps(people, told, now - timedelta(days=5), [
        ("hq.cs", "judge", ComplaintJudgeIn(True, "quality")),
        ("hq.cs", "assign", ComplaintAssignIn("hq_tech")),
        ("hq.tech", "investigate", ComplaintInvestigateIn("驱动电源虚焊。", "电源供应商")),
        ("hq.tech", "propose", ComplaintProposeIn("免费换新并上门安装。")),
        ("hq.cs2", "approve", ComplaintApproveIn(True))])
    answered = await _record(people, "js.clerk", now - timedelta(days=5), name="吴女士",
                             phone="13812340003", channel="phone", about="product",
                             about_product=models.get("CFL-13W"),
                             description="节能灯用了两年坏了，要求免费换。", asks="免费换新。")
    await _steps(people, answered, now - timedelta(days=5) + timedelta(hours=3), [
        ("hq.cs", "judge", ComplaintJudgeIn(False, "quality", reason="已超过一年保修期。",
                                            told_how="电话答复顾客，说明保修条款。"))])
    closed = await _record(people, "js.store1", now - timedelta(days=12), name="冯女士",
                           phone="13812340005", channel="card", about="person",
                           about_person="送货司机", description="送货时把灯箱摔坏了。",
                           asks="重新送一台。")
    await _steps(people, closed, now - timedelta(days=11), [
        ("hq.cs", "judge", ComplaintJudgeIn(True, "service")),
        ("hq.cs", "assign", ComplaintAssignIn("hq_logistics")),
        ("hq.logistics", "investigate", ComplaintInvestigateIn("搬运时未按规定轻放。", "物流部")),
        ("hq.logistics", "propose", ComplaintProposeIn("重新送货并致歉。")),
        ("hq.cs2", "approve", ComplaintApproveIn(True)),
        ("js.store1", "tell", ComplaintTellIn("上门送新灯并当面致歉。")),
        ("js.store1", "close", ComplaintCloseIn("送货司机通报批评。", "装卸培训，加装防震包装。"))])


async def _elsewhere(people, ids, now: datetime) -> None:
    """Guangdong's transport complaint with HQ logistics (Jiangsu never sees it)."""
    if "gd.clerk" not in people:
        return
    transport = await _record(people, "gd.clerk", now - timedelta(days=2), name="黄女士",
                              phone="13912340007", channel="phone", about="other",
                              description="订的灯具到货时外箱破损，灯罩裂了。", asks="补发。")
    await _steps(people, transport, now - timedelta(days=2) + timedelta(hours=1), [
        ("hq.cs", "judge", ComplaintJudgeIn(True, "service", reason="运输破损。")),
        ("hq.cs", "assign", ComplaintAssignIn("hq_logistics"))])
