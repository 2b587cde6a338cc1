"""A network with a week-2 office, its people and a catalogue, for return batch tests."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dealers.batch_lines import LineInput
from dealers.tables import ReasonCode
from portal.tables import Product, ProductCategory
from tests.helpers import actor_of, make_org, make_user

CHINA = ZoneInfo("Asia/Shanghai")
IN_WINDOW = datetime(2026, 12, 9, 10, 0, tzinfo=CHINA)  # CN-JS returns in week 2 (days 8-14)


async def catalogue() -> dict[str, int]:
    ids = {}
    for code, months, cfl in (("ceiling", 12, False), ("tube", 6, False), ("plastic", 0, False),
                              ("cfl", 12, True)):
        category = ProductCategory(code=code, name_zh=code, name_en=code, warranty_months=months,
                                   is_cfl=cfl)
        await ProductCategory.insert(category)
        product = Product(model=f"{code.upper()}-1", spec="", name_zh=code, name_en=code,
                          category=category.id)
        await Product.insert(product)
        ids[code] = product.id
    return ids


async def reason(code: str = "NO_LIGHT", kind: str = "defect") -> int:
    row = await ReasonCode.select(ReasonCode.id).where(
        (ReasonCode.code == code) & (ReasonCode.kind == kind)).first()
    return row["id"]


async def network() -> dict:
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    sibling = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    people = {
        "clerk": await make_user(office, ["dealer_clerk"], username="clerk"),
        "manager": await make_user(office, ["manager"], username="manager"),
        "other_clerk": await make_user(sibling, ["dealer_clerk"], username="gd.clerk"),
        "cs": await make_user(hq, ["hq_cs"], username="cs"),
        "cs2": await make_user(hq, ["hq_cs"], username="cs2"),
        "logistics": await make_user(hq, ["hq_logistics"], username="logistics"),
        "logistics2": await make_user(hq, ["hq_logistics"], username="logistics2"),
    }
    actors = {name: await actor_of(user) for name, user in people.items()}
    return {"hq": hq, "office": office, "sibling": sibling, "users": people, "actors": actors,
            "products": await catalogue(), "reason": await reason()}


def cfl_line(net: dict, quantity: int = 10, **overrides) -> LineInput:
    values = dict(product_id=net["products"]["cfl"], quantity=quantity, reason_id=net["reason"],
                  date_code=date(2026, 3, 1), cap_percent=90)
    values.update(overrides)
    return LineInput(**values)
