"""Oversight demo data (loaded after the other domains'; skips itself when already there):
the demo points' public entries for the locator (R38), an office visit to the Nanjing point
(R37), and audits (R30) at each step — a plan waiting for the vice-president (hq.vp), an
unannounced audit approved but not yet visited (Shanghai's office does not see it), and a
reported audit of Jiangsu with a rectification order waiting for the regional manager (rm.east,
the line department) to issue it."""
from __future__ import annotations

from datetime import timedelta

from oversight import audits, locator, points
from oversight.inputs import (
    AuditDecisionIn,
    AuditPlanIn,
    AuditReportIn,
    AuditVisitIn,
    InstructIn,
    PointVisitIn,
    PublishPointIn,
)
from oversight.tables import PublishedPoint
from portal import auth, clock
from portal.db import raw_fetch

ENTRIES = {  # point name -> (city, city_en, address, address_en, hours, phone, lat, lng)
    "南京灯具城特约维修点": ("南京", "Nanjing", "建邺区江东中路灯具城 2 楼 218 号",
                    "Unit 218, Lighting Market, Jiangdong Rd, Jianye", "9:00-18:00",
                    "025-8666 1234", "32.0310", "118.7320"),
    "古镇灯饰城特约维修点": ("中山", "Zhongshan", "古镇镇灯饰城东区 A 座 12 号",
                    "A-12, Guzhen Lighting City", "8:30-18:30", "0760-2233 4455",
                    "22.6100", "113.1900"),
    "十里河灯具市场特约维修点": ("北京", "Beijing", "朝阳区十里河灯具市场 3 区 8 号",
                      "Zone 3 No. 8, Shilihe Lighting Market, Chaoyang", "9:00-17:30",
                      "010-8765 4321", "39.8660", "116.4600"),
    "荷花池灯具市场特约维修点": ("成都", "Chengdu", "金牛区荷花池灯具市场 1 楼 6 号",
                      "1F No. 6, Hehuachi Lighting Market, Jinniu", "9:00-18:00",
                      "028-8333 2211", "30.6900", "104.0800"),
}


async def _actor(username: str):
    rows = await raw_fetch("SELECT id FROM portal_user WHERE username = $1", username)
    return await auth.load_actor(rows[0]["id"]) if rows else None


async def _org(name: str) -> int | None:
    rows = await raw_fetch("SELECT id FROM organisation WHERE name = $1", name)
    return rows[0]["id"] if rows else None


async def load() -> bool:
    if await PublishedPoint.count() or await _actor("hq.cs") is None:
        return False
    cs, cs2, vp = await _actor("hq.cs"), await _actor("hq.cs2"), await _actor("hq.vp")
    finance, rm = await _actor("hq.finance"), await _actor("rm.east")
    assert cs and cs2 and vp and finance and rm
    for name, (city, city_en, address, address_en, hours, phone, lat, lng) in ENTRIES.items():
        point = await _org(name)
        if point:
            await locator.publish(actor=cs, point_id=point, data=PublishPointIn(
                city=city, city_en=city_en, address=address, address_en=address_en,
                hours=hours, phone=phone, latitude=lat, longitude=lng))
    nanjing, jiangsu = await _org("南京灯具城特约维修点"), await _org("江苏办事处")
    js_manager = await _actor("js.manager")
    today = clock.china_today()
    if nanjing and js_manager:
        await points.record_visit(actor=js_manager, point_id=nanjing, data=PointVisitIn(
            visited_on=today - timedelta(days=12), parts_management="镇流器、环形灯管库存与台账一致",
            technique_guidance="LED 驱动电源的检测步骤", returns_appraisal="抽查 5 件退货，鉴定无误",
            service_improvement="上门前电话确认时间", training_who="维修点师傅 2 人",
            training_what="新款吸顶灯驱动更换", training_on=today - timedelta(days=12),
            feedback="顾客反映 36W 吸顶灯驱动易坏；上门及时"))
    offices = {name: await _org(name) for name in ("江苏办事处", "上海办事处", "浙江物流商")}

    def plan(office: int, announced: bool, days: int, scope: str) -> AuditPlanIn:
        return AuditPlanIn(office_id=office, kind="periodic", scope=scope,
                           method="现场查阅账册、盘点配件库存、抽访顾客", deadline=today + timedelta(days=days),
                           cost_fen=480000, announced=announced, finance_id=finance.user_id,
                           members=[cs2.user_id])

    if offices["浙江物流商"]:
        await audits.plan_audit(actor=cs, data=plan(offices["浙江物流商"], True, 20,
                                                    "2026 年下半年售后账册与返厂批次"))
    if offices["上海办事处"]:
        unannounced = await audits.plan_audit(actor=cs, data=plan(
            offices["上海办事处"], False, 15, "配件库存与维修点押金（不事先通知）"))
        await audits.decide(actor=vp, audit_id=unannounced, approve=True,
                            data=AuditDecisionIn(note="同意，不事先通知"))
    if jiangsu:
        reported = await audits.plan_audit(actor=cs, data=plan(jiangsu, True, 10,
                                                               "售后服务体系与顾客投诉处理"))
        await audits.decide(actor=vp, audit_id=reported, approve=True, data=AuditDecisionIn())
        await audits.record_visit(actor=cs, audit_id=reported,
                                  data=AuditVisitIn(notes="经理配合，账册齐全"))
        await audits.file_report(actor=cs, audit_id=reported, data=AuditReportIn(
            findings="投诉回复超时 3 起；配件台账与实物差 2 件", report="总体良好，需整改投诉时效与配件台账。",
            score=82))
        await audits.instruct(actor=vp, audit_id=reported,
                              data=InstructIn(instruction="请业务部门责成江苏办事处整改投诉时效和配件台账"))
    return True
