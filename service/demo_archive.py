"""Demo data of the customer archive, return visits and surveys (R34), played through the
services with the clock at each step's moment (`portal.demo.at`), relative to today. Runs
first of the three customer-service parts: the complaints and service-call demos attach to the
files opened here by phone (`service.customers.open_customer` finds them), see CUSTOMERS.

- Customers at the Jiangsu stores, office and repair point (the point's customer 王先生 has the
  phone of the spares demo's repairs, so his file lists them), and at Guangdong, Beijing and
  Sichuan; each with purchases. Twenty-two Jiangsu customers bought last year.
- Jiangsu's return visits: last year's plan (2 of 22) done; this year's (4) half done.
- Jiangsu's satisfaction survey of this year, analysed: three main problems, two with their
  action (one already done), one still without an action, on js.manager's home.
- One file idle for more than 36 months, erased by the retention job ("erased on …")."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from portal import clock
from portal.clock import CHINA
from portal.db import raw_fetch
from portal.demo import actors, at, orgs
from service import archive, surveys, visits
from service.inputs import ActionIn, AnswerIn, CustomerIn, PlanIn, PurchaseIn, SurveyIn, VisitIn

# (who opens it, name, phone, address, area, product model, quantity) -- this year's customers
CUSTOMERS = [
    ("js.store1", "张女士", "13812340001", "南京市玄武区中山路 18 号", "南京", "XD-2401", 2),
    ("js.store1", "周先生", "13812340002", "南京市鼓楼区北京西路 6 号", "南京", "TD-B13", 6),
    ("js.store1", "吴女士", "13812340003", "南京市秦淮区太平南路 90 号", "南京", "CFL-13W", 10),
    ("js.store2", "郑先生", "13812340004", "苏州市姑苏区观前街 12 号", "苏州", "XD-3602", 1),
    ("js.store2", "冯女士", "13812340005", "苏州市吴中区东吴北路 3 号", "苏州", "T5-28W", 8),
    ("js.clerk", "江苏灯饰工程 陈经理", "13812340006", "南京市江宁区", "南京", "T8-36W", 40),
    ("js.repair", "王先生", "13900000000", "南京灯具城 2 楼", "南京", "TD-B13", 1),
    ("gd.store1", "黄女士", "13912340007", "中山市古镇镇中兴大道", "中山", "XD-2401", 3),
    ("gd.repair", "陈女士", "13912340008", "中山市古镇灯饰城", "中山", "XD-3602", 1),
    ("bj.store1", "孙先生", "13712340009", "北京市丰台区十里河", "北京", "CFL-23W", 12),
    ("sc.store1", "刘女士", "13612340010", "成都市金牛区荷花池", "成都", "SL-C40", 2),
]
LAST_YEAR = 22  # Jiangsu customers who bought last year (at the two Jiangsu stores)
SURVEY = [  # (satisfied, listed problem or the customer's words, comments)
    (False, "repair_slow", "等了五天才修好"), (False, "repair_slow", ""),
    (False, "repair_slow", "维修点周末不开门"), (False, "price", "配件太贵"),
    (True, "price", ""), (False, "parts", "镇流器缺货"), (True, "parts", ""),
    (True, "", "很满意"), (True, "", ""), (True, "", "服务热情"), (False, "灯罩发黄", ""),
    (True, "", ""),
]


def _moment(year_start: datetime, now: datetime, fraction: float) -> datetime:
    """An instant this year before now: 0 the year's first instant, 1 now."""
    return year_start + (now - year_start) * fraction


async def load() -> bool:
    if (await raw_fetch("SELECT count(*) AS n FROM customer"))[0]["n"]:
        return False
    models = {r["model"]: r["id"] for r in await raw_fetch("SELECT id, model FROM product")}
    if not models or "js.store1" not in await orgs():
        return False
    people, now = await actors(), clock.now()
    today = clock.china_today(now)
    year_start = datetime(today.year, 1, 1, tzinfo=CHINA)
    await _last_year(people, models, today.year - 1)
    for i, (who, name, phone, address, area, model, quantity) in enumerate(CUSTOMERS):
        async with at(_moment(year_start, now, 0.1 + 0.03 * i)):
            await _customer(people[who], name, phone, address, area, models[model], quantity)
    await _this_years_visits(people, year_start, now)
    await _survey(people, year_start, now)
    async with at(now - timedelta(days=37 * 31)):  # bought over three years ago, then silent
        await _customer(people["js.store2"], "钱先生", "13812349999", "苏州市", "苏州",
                        models["CFL-13W"], 4)
    await archive.erase_expired_customers(now)
    return True


async def _customer(actor, name: str, phone: str, address: str, area: str, product_id: int,
                    quantity: int) -> int:
    today = clock.china_today()
    customer_id = await archive.open_file(actor=actor, data=CustomerIn(
        name, phone, address, area, purchased_on=today))
    await archive.record_purchase(actor=actor, customer_id=customer_id, data=PurchaseIn(
        product_id, today, quantity, proof=f"发票 {today:%Y%m%d}-{customer_id:03d}"))
    return customer_id


async def _last_year(people: dict, models: dict, year: int) -> None:
    """Twenty-two Jiangsu customers of last year; last year's plan drawn in November by
    js.manager, both visits made."""
    for i in range(LAST_YEAR):
        store = "js.store1" if i % 2 else "js.store2"
        async with at(datetime(year, 3 + i % 9, 1 + i, 11, tzinfo=CHINA)):
            await _customer(people[store], f"{'赵钱孙李周吴郑王'[i % 8]}{'先生' if i % 3 else '女士'}",
                            f"1351234{i:04d}", "江苏省", "南京" if i % 2 else "苏州",
                            models["XD-2401" if i % 3 else "CFL-13W"], 1 + i % 4)
    async with at(datetime(year, 11, 2, 9, tzinfo=CHINA)):
        plan = await visits.draw_plan(actor=people["js.manager"], data=PlanIn(year, 2))
    rows = await raw_fetch("SELECT id FROM return_visit WHERE plan = $1 ORDER BY id", plan)
    for i, row in enumerate(rows):
        day = date(year, 11, 10 + 8 * i)
        async with at(datetime(day.year, day.month, day.day, 15, tzinfo=CHINA)):
            await visits.record_visit(actor=people["js.manager"], plan_id=plan,
                                      visit_id=row["id"],
                                      data=VisitIn(day, i == 0, "灯具使用正常，顾客满意。"
                                                   if i == 0 else "维修等待时间较长。"))


async def _this_years_visits(people: dict, year_start: datetime, now: datetime) -> None:
    """This year's Jiangsu plan: 4 customers drawn, 2 visited."""
    async with at(_moment(year_start, now, 0.5)):
        plan = await visits.draw_plan(actor=people["js.manager"],
                                      data=PlanIn(year_start.year, 4))
    rows = await raw_fetch("SELECT id FROM return_visit WHERE plan = $1 ORDER BY id", plan)
    for i, row in enumerate(rows[:2]):
        moment = _moment(year_start, now, 0.6 + 0.1 * i)
        async with at(moment):
            await visits.record_visit(actor=people["js.manager"], plan_id=plan,
                                      visit_id=row["id"], data=VisitIn(
                                          clock.china_today(moment), i == 0,
                                          "顾客满意。" if i == 0 else "希望维修更快。"))


async def _survey(people: dict, year_start: datetime, now: datetime) -> None:
    """This year's Jiangsu survey: answered, analysed, two of three problems with an action."""
    manager = people["js.manager"]
    async with at(_moment(year_start, now, 0.3)):
        survey = await surveys.open_survey(actor=manager, data=SurveyIn(
            year_start.year, f"{year_start.year} 年江苏顾客满意度调查"))
    for i, (satisfied, problem, comments) in enumerate(SURVEY):
        listed = not problem or problem.isascii()
        async with at(_moment(year_start, now, 0.3 + 0.02 * i)):
            await surveys.record_answer(actor=manager, survey_id=survey, data=AnswerIn(
                satisfied, problem if listed else "", "" if listed else problem, comments))
    async with at(_moment(year_start, now, 0.7)):
        await surveys.analyse_survey(actor=manager, survey_id=survey)
    problems = {r["problem"]: r["id"] for r in await raw_fetch(
        "SELECT id, problem FROM survey_problem WHERE survey = $1", survey)}
    due = clock.china_today(now) + timedelta(days=20)
    cs = (await raw_fetch("SELECT id FROM portal_user WHERE username = 'hq.cs'"))[0]["id"]
    async with at(_moment(year_start, now, 0.75)):
        await surveys.record_action(actor=manager, survey_id=survey,
                                    problem_id=problems["repair_slow"], data=ActionIn(
                                        "corrective", "维修点周末轮流值班，承诺三天内修复。",
                                        manager.user_id, due))
        await surveys.record_action(actor=manager, survey_id=survey,
                                    problem_id=problems["price"], data=ActionIn(
                                        "preventive", "在维修点公示配件价格。", cs, due))
    async with at(_moment(year_start, now, 0.8)):
        await surveys.mark_action_done(actor=manager, survey_id=survey,
                                       problem_id=problems["repair_slow"])
