"""Repair points for the locator, visit and scorecard tests (R37, R38): two approved points under
the Jiangsu office (one published in Nanjing, one without its entry), a closed point, a point
whose proposal is still pending, and a published point under the Guangdong office (a sibling)."""
from __future__ import annotations

from dataclasses import dataclass, field

from oversight import locator
from oversight.inputs import PublishPointIn
from portal import clock
from portal.actor import Actor
from portal.tables import Organisation, SparePart
from spares import applications
from spares.tables import StockTemplate
from tests.helpers import actor_of, make_org, make_user


@dataclass
class Points:
    orgs: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)

    def id(self, key: str) -> int:
        return self.orgs[key]["id"]


async def _person(w: Points, name: str, org: dict, roles: list[str], **kw) -> None:
    w.users[name] = await make_user(org, roles, username=name, **kw)
    w.actors[name] = await actor_of(w.users[name])


async def _point(w: Points, key: str, office: str, manager: str, name: str) -> int:
    application = await applications.propose_repair_point(
        actor=w.actors[manager], office_id=w.id(office), name=name, coverage_area="市区",
        sales_scale="small", address="灯具城", proposed_fee_fen=30000)
    point_id = await applications.decide_repair_point(actor=w.actors["cs"],
                                                      application_id=application, approve=True)
    assert point_id is not None
    w.orgs[key] = {"id": point_id}
    return point_id


def entry(city: str = "南京", **kw) -> PublishPointIn:
    values = dict(city=city, city_en="Nanjing", address="建邺区灯具城 3 号",
                  address_en="3 Lighting Market", hours="9:00-18:00", phone="025-8888 0000",
                  latitude="32.0400", longitude="118.7300")
    values.update(kw)
    return PublishPointIn(**values)  # type: ignore[arg-type]


async def points_world() -> Points:
    w = Points()
    hq = w.orgs["hq"] = await make_org("hq", region=None)
    w.orgs["office"] = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    w.orgs["sibling"] = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    await _person(w, "cs", hq, ["hq_cs"])
    await _person(w, "vp", hq, ["vice_president"])
    await _person(w, "rm", hq, ["manager"], covers=[w.orgs["office"]])
    await _person(w, "manager", w.orgs["office"], ["manager"])
    await _person(w, "gd.manager", w.orgs["sibling"], ["manager"])
    part = SparePart(code="ELB-28", name_zh="电子镇流器", name_en="Electronic ballast",
                     unit_price_fen=1850)
    await SparePart.insert(part)
    w.orgs["part"] = {"id": part.id}
    await StockTemplate.insert(StockTemplate(sales_scale="small", spare_part=part.id, quantity=5))
    await _point(w, "point", "office", "manager", "南京灯具城维修点")
    await _point(w, "bare", "office", "manager", "无锡维修点")
    await _point(w, "closed", "office", "manager", "苏州维修点")
    await _point(w, "gd.point", "sibling", "gd.manager", "广州维修点")
    pending = await make_org("repair_point", parent=w.orgs["office"], region="CN-JS",
                             name="待批维修点")
    w.orgs["pending"] = pending
    await _person(w, "staff", {"id": w.id("point")}, ["repair_staff"])
    await _person(w, "gd.staff", {"id": w.id("gd.point")}, ["repair_staff"])
    for key, actor, city in (("point", "manager", "南京"), ("closed", "manager", "苏州"),
                             ("gd.point", "gd.manager", "广州")):
        await locator.publish(actor=w.actors[actor], point_id=w.id(key), data=entry(
            city=city, city_en={"南京": "Nanjing", "苏州": "Suzhou", "广州": "Guangzhou"}[city],
            latitude="23.1300" if city == "广州" else "32.0400",
            longitude="113.2600" if city == "广州" else "118.7300"))
    # a pending point's entry (written directly: nobody may publish it, it must not appear)
    await locator.publish(actor=w.actors["cs"], point_id=w.id("pending"), data=entry())
    await Organisation.update({Organisation.active: False}).where(
        Organisation.id == w.id("closed"))
    assert clock.now()
    return w
