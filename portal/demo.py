"""`portal demo`: a believable network to try the portal with. Idempotent: loads once.

Every demo user's password is DEMO_PASSWORD (listed in the README with the usernames).

The demo tells a story that ends *today* (China time, `portal.clock`), whatever today is: the
network exists since the first of the month before last (`epoch`), and each domain's demo
(`dealers.demo`, `spares.demo`, `settlements.demo`) then plays its history through the real
services with the clock set to the moment each step happened (`at`)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from portal import auth, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.tables import (
    ManagerCoverage,
    Organisation,
    Product,
    ProductCategory,
    Region,
    SparePart,
    User,
)

DEMO_PASSWORD = "demo-pass-2026"

# (region code, name, English name, kind, user prefix)
DEALERS = [
    ("CN-BJ", "北京办事处", "Beijing Office", "office", "bj"),
    ("CN-TJ", "天津物流商", "Tianjin Logistics", "agent", "tj"),
    ("CN-LN", "辽宁办事处", "Liaoning Office", "office", "ln"),
    ("CN-HL", "黑龙江物流商", "Heilongjiang Logistics", "agent", "hl"),
    ("CN-SC", "四川办事处", "Sichuan Office", "office", "sc"),
    ("CN-CQ", "重庆物流商", "Chongqing Logistics", "agent", "cq"),
    ("CN-SN", "陕西办事处", "Shaanxi Office", "office", "sn"),
    ("CN-JS", "江苏办事处", "Jiangsu Office", "office", "js"),
    ("CN-SH", "上海办事处", "Shanghai Office", "office", "sh"),
    ("CN-ZJ", "浙江物流商", "Zhejiang Logistics", "agent", "zj"),
    ("CN-AH", "安徽办事处", "Anhui Office", "office", "ah"),
    ("CN-FJ-FZ", "福州物流商", "Fuzhou Logistics", "agent", "fz"),
    ("CN-FJ-XM", "厦门办事处", "Xiamen Office", "office", "xm"),
    ("CN-JX", "江西办事处", "Jiangxi Office", "office", "jx"),
    ("CN-GD", "广东办事处", "Guangdong Office", "office", "gd"),
    ("CN-GX", "广西物流商", "Guangxi Logistics", "agent", "gx"),
    ("CN-HB", "湖北办事处", "Hubei Office", "office", "hb"),
    ("CN-HN", "湖南物流商", "Hunan Logistics", "agent", "hn"),
    ("CN-SD", "山东办事处", "Shandong Office", "office", "sd"),
    ("CN-HA", "河南办事处", "Henan Office", "office", "ha"),
    ("CN-JL", "吉林办事处", "Jilin Office", "office", "jl"),  # R4: no window until HQ assigns
]
STORES = {
    "js": [("南京新街口专卖店", "Nanjing Xinjiekou Store"), ("苏州观前专卖店", "Suzhou Guanqian Store")],
    "gd": [("中山古镇专卖店", "Guzhen Lighting Store"), ("广州海珠专卖店", "Guangzhou Haizhu Store")],
    "bj": [("北京十里河专卖店", "Beijing Shilihe Store")],
    "sc": [("成都荷花池专卖店", "Chengdu Hehuachi Store")],
}
REPAIR_POINTS = {
    "js": ("南京灯具城特约维修点", "Nanjing Lighting Market Repair Point"),
    "gd": ("古镇灯饰城特约维修点", "Guzhen Lighting City Repair Point"),
    "bj": ("十里河灯具市场特约维修点", "Shilihe Lighting Market Repair Point"),
    "sc": ("荷花池灯具市场特约维修点", "Hehuachi Lighting Market Repair Point"),
}
HQ_USERS = [
    ("hq.admin", "系统管理员 王芳", ["hq_admin"]),
    ("hq.cs", "客服部 李娜", ["hq_cs"]),
    ("hq.cs2", "客服部 赵磊", ["hq_cs"]),
    ("hq.logistics", "物流部 张伟", ["hq_logistics"]),
    ("hq.tech", "技术部 刘洋", ["hq_tech"]),
    ("hq.finance", "财务部 陈静", ["hq_finance"]),
    ("hq.finance2", "财务部 杨帆", ["hq_finance"]),
    ("auditor", "审计 周敏", ["auditor"]),
    ("hq.vp", "营销中心副总 孙强", ["vice_president"]),
]
# (code, zh, en, warranty months, is CFL) -- R17
CATEGORIES = [
    ("ceiling", "吸顶灯", "Ceiling lamps", 12, False),
    ("recessed_ballast", "筒灯镇流器", "Recessed-lamp ballasts", 12, False),
    ("tube", "灯管", "Tubes", 6, False),
    ("plastic", "塑料件", "Plastic parts", 0, False),
    ("cfl", "节能灯", "CFLs", 12, True),
]
PRODUCTS = [
    ("XD-2401", "24W Φ400", "吸顶灯 24W", "Ceiling lamp 24W", "ceiling"),
    ("XD-3602", "36W Φ500", "吸顶灯 36W", "Ceiling lamp 36W", "ceiling"),
    ("TD-B13", "13W 电子", "筒灯电子镇流器 13W", "Recessed-lamp ballast 13W", "recessed_ballast"),
    ("T5-28W", "T5 28W 1149mm", "T5 灯管 28W", "T5 tube 28W", "tube"),
    ("T8-36W", "T8 36W 1200mm", "T8 灯管 36W", "T8 tube 36W", "tube"),
    ("SL-C40", "Φ400 亚克力", "吸顶灯灯罩", "Ceiling lamp cover", "plastic"),
    ("CFL-13W", "E27 13W 6500K", "节能灯 13W", "CFL 13W", "cfl"),
    ("CFL-23W", "E27 23W 6500K", "节能灯 23W", "CFL 23W", "cfl"),
]
SPARES = [
    ("ELB-28", "电子镇流器 28W", "Electronic ballast 28W", 1850),
    ("RT-32", "环形灯管 32W", "Ring tube 32W", 1200),
    ("FP-24", "平板灯管 24W", "Flat panel tube 24W", 2200),
    ("ST-01", "启辉器", "Starter", 150),
]


def china(day, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on a China date."""
    return datetime.combine(day, time(hour, minute), clock.CHINA)


def epoch(today=None) -> datetime:
    """When the demo network starts: the first of the month before last, 09:00 China time."""
    today = today or clock.china_today()
    return china(clock.previous_month(clock.previous_month(today)), 9)


def recent(now: datetime, fraction: float) -> datetime:
    """An instant this month before `now`: `fraction` 0 is the month's first instant, 1 is now.
    Steps "earlier this month" stay in this month even on its first morning."""
    start = china(clock.china_today(now).replace(day=1), 0)
    return start + (now - start) * fraction


def ago(now: datetime, **delta) -> datetime:
    return now - timedelta(**delta)


class at:
    """`async with at(moment):` runs the services inside with the clock at `moment` (the
    injected clock the tests move too); nested uses restore the outer moment."""

    def __init__(self, moment: datetime):
        self._frozen = clock.frozen(moment)

    async def __aenter__(self):
        return self._frozen.__enter__()

    async def __aexit__(self, *exc):
        self._frozen.__exit__(*exc)


async def actors() -> dict[str, Actor]:
    """Every demo user as an Actor, by username."""
    rows = await raw_fetch("SELECT id, username FROM portal_user")
    people: dict[str, Actor] = {}
    for r in rows:
        actor = await auth.load_actor(r["id"])
        if actor is None:  # the demo deactivates no one
            raise RuntimeError(f"demo user {r['username']} cannot act")
        people[r["username"]] = actor
    return people


async def orgs() -> dict[str, int]:
    """Demo organisations by user prefix ('js' the office, 'js.repair' its point, ...) and
    'hq', from the organisation of each demo user."""
    rows = await raw_fetch("SELECT u.username, u.organisation FROM portal_user u")
    found = {"hq": next(r["organisation"] for r in rows if r["username"] == "hq.admin")}
    for r in rows:
        prefix, _, role = r["username"].partition(".")
        if role == "clerk":
            found[prefix] = r["organisation"]
        elif role.startswith(("repair", "store")):
            found[r["username"]] = r["organisation"]
    return found


async def _org(name: str, name_en: str, kind: str, parent: dict | None,
               region_id: int | None) -> dict:
    org = Organisation(name=name, name_en=name_en, kind=kind,
                       parent=parent["id"] if parent else None, region=region_id,
                       created_at=clock.now())
    await Organisation.insert(org)
    path = f"{parent['path'] if parent else ''}{org.id}."
    await Organisation.update({Organisation.path: path}).where(Organisation.id == org.id)
    return {"id": org.id, "path": path, "region": region_id}


async def _user(username: str, name: str, org_id: int, roles: list[str], password_hash: str,
                locale: str = "zh_CN") -> int:
    user = User(username=username, display_name=name, email=f"{username}@demo.invalid",
                password_hash=password_hash, organisation=org_id, roles=roles, locale=locale,
                created_at=clock.now())
    await User.insert(user)
    return user.id


async def load_demo() -> bool:
    """Load the demo network unless head office already exists. Returns True if loaded."""
    if await Organisation.exists().where(Organisation.kind == "hq"):
        return False
    regions = {r["code"]: r["id"] for r in await Region.select(Region.id, Region.code)}
    password_hash = auth.hash_password(DEMO_PASSWORD)
    with clock.frozen(epoch()):
        await _load_network(regions, password_hash)
    return True


@transactional
async def _load_network(regions: dict[str, int], password_hash: str) -> None:
    hq = await _org("总部营销中心", "Head office", "hq", None, None)
    for username, name, roles in HQ_USERS:
        await _user(username, name, hq["id"], roles, password_hash)
    offices: dict[str, dict] = {}
    for code, name, name_en, kind, prefix in DEALERS:
        office = await _org(name, name_en, kind, hq, regions[code])
        offices[prefix] = office
        await _user(f"{prefix}.clerk", f"{name} 业务员", office["id"], ["dealer_clerk"],
                    password_hash)
        await _user(f"{prefix}.manager", f"{name} 经理", office["id"], ["manager"],
                    password_hash)
    for prefix, stores in STORES.items():
        for i, (name, name_en) in enumerate(stores):
            store = await _org(name, name_en, "store", offices[prefix], offices[prefix]["region"])
            await _user(f"{prefix}.store{i + 1}", f"{name} 店长", store["id"], ["dealer_clerk"],
                        password_hash)
            await _org(f"{name[:4]}分销商", f"{name_en} sub-distributor", "subdistributor",
                       store, store["region"])
    for prefix, (name, name_en) in REPAIR_POINTS.items():
        point = await _org(name, name_en, "repair_point", offices[prefix],
                           offices[prefix]["region"])
        await _user(f"{prefix}.repair", f"{name} 师傅", point["id"], ["repair_staff"],
                    password_hash)
    # A regional manager: an HQ employee covering the East China offices (SPEC §1).
    rm = await _user("rm.east", "华东区域经理 孙强", hq["id"], ["manager"], password_hash)
    for prefix in ("js", "sh", "zj", "ah"):
        await ManagerCoverage.insert(ManagerCoverage(user=rm, organisation=offices[prefix]["id"]))
    categories = {}
    for code, zh, en, months, cfl in CATEGORIES:
        category = ProductCategory(code=code, name_zh=zh, name_en=en, warranty_months=months,
                                   is_cfl=cfl)
        await ProductCategory.insert(category)
        categories[code] = category.id
    await Product.insert(*[
        Product(model=m, spec=s, name_zh=zh, name_en=en, category=categories[c])
        for m, s, zh, en, c in PRODUCTS
    ])
    await SparePart.insert(*[
        SparePart(code=c, name_zh=zh, name_en=en, unit_price_fen=p) for c, zh, en, p in SPARES
    ])
