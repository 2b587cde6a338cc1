"""Care of repair points (R37): the office's visits with the five topics and the feedback, the
management file gathered from the point's records (one statement, flat as data grows), the
scorecard beside its region; every page and API twin tenant-isolated (R1)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from oversight import points
from oversight.inputs import PointVisitIn
from portal import clock
from portal.db import count_queries
from portal.errors import Forbidden, ValidationFailed
from spares.tables import ConsumerDispute, Repair
from tests.helpers import api_token, client, login
from tests.oversight.point_world import points_world


def visit(**kw) -> PointVisitIn:
    values = dict(visited_on=clock.china_today(), feedback="顾客反映维修及时",
                  parts_management="镇流器库存清点", training_who="张师傅",
                  training_what="LED驱动检修", training_on=clock.china_today())
    values.update(kw)
    return PointVisitIn(**values)  # type: ignore[arg-type]


async def test_r37_office_records_a_visit_with_topics_training_and_feedback():
    w = await points_world()
    visit_id = await points.record_visit(actor=w.actors["manager"], point_id=w.id("point"),
                                         data=visit())
    (row,) = await points.visits(w.id("point"))
    assert row["id"] == visit_id and row["training_who"] == "张师傅"
    assert row["feedback"] == "顾客反映维修及时"
    with pytest.raises(ValidationFailed) as refused:
        await points.record_visit(actor=w.actors["manager"], point_id=w.id("point"),
                                  data=visit(parts_management="", feedback="",
                                             training_what="",
                                             visited_on=clock.china_today() + timedelta(days=1)))
    assert set(refused.value.errors) == {"parts_management", "feedback", "training_what",
                                         "visited_on"}
    with pytest.raises(Forbidden):  # the point does not visit itself
        await points.record_visit(actor=w.actors["staff"], point_id=w.id("point"), data=visit())
    await points.record_visit(actor=w.actors["rm"], point_id=w.id("point"), data=visit())


async def _history(w, n: int) -> None:
    product = None
    from portal.tables import Product, ProductCategory
    if not await Product.count():
        cat = ProductCategory(code="CFL", name_zh="节能灯", name_en="CFL", warranty_months=12)
        await ProductCategory.insert(cat)
        product = Product(model="YDW-18", name_zh="节能灯", name_en="CFL", category=cat.id)
        await Product.insert(product)
    pid = (await Product.select(Product.id).first())["id"]
    for i in range(n):
        await Repair.insert(Repair(
            repair_point=w.id("point"), customer=f"客户{i}", product=pid,
            purchase_date=clock.china_today(), proof="发票", in_warranty="yes",
            parts_quantity=1, status="promised" if i % 2 else "repaired",
            promised_by=clock.china_today() if i % 2 else None,
            recorded_by=w.users["staff"]["id"], recorded_at=clock.now()))
        await ConsumerDispute.insert(ConsumerDispute(
            repair_point=w.id("point"), customer=f"客户{i}", description="收费争议",
            recorded_by=w.users["manager"]["id"], recorded_at=clock.now()))
        await points.record_visit(actor=w.actors["manager"], point_id=w.id("point"),
                                  data=visit())
    assert product is None or product.id


async def test_r37_management_file_gathers_the_records_in_one_query():
    w = await points_world()
    counts = []
    for n in (2, 20):
        await _history(w, n)
        with count_queries() as counter:
            entries = await points.management_file(w.id("point"))
        counts.append(counter.count)
        kinds = {e["kind"] for e in entries}
        assert {"repair", "dispute", "visit"} <= kinds
    assert counts == [1, 1]


async def test_r37_scorecard_compares_with_the_region():
    w = await points_world()
    await _history(w, 6)
    card = await points.scorecard(w.id("point"), clock.china_today() - timedelta(days=30),
                                  clock.china_today())
    assert card["point"]["disputes"] == 6 and card["point"]["parts_used"] == 6
    assert card["point"]["promises_kept"] is None  # 3 promises: too few for a percentage
    # the Jiangsu region's approved points (point, bare, closed) and the pending one
    assert card["points_in_region"] == 4 and card["region"]["disputes"] == 1.5


ROUTES = ("/repair-points/{id}/visits", "/repair-points/{id}/file",
          "/repair-points/{id}/scorecard")


@pytest.mark.parametrize("viewer, status", [
    ("staff", 200), ("manager", 200), ("rm", 200), ("cs", 200), ("vp", 200),
    ("gd.manager", 404), ("gd.staff", 404)])
async def test_r1_visits_file_scorecard_tenant_matrix(viewer, status):
    w = await points_world()
    point = w.id("point")
    token = {"Authorization": f"Bearer {await api_token(w.users[viewer])}"}
    async with client() as c:
        csrf = await login(c, viewer)
        for route in ROUTES:
            url = route.format(id=point)
            assert (await c.get(url)).status_code == status, url
            assert (await c.get("/api/v1" + url, headers=token)).status_code == status, url
        posted = await c.post(f"/repair-points/{point}/visits", data={
            "_csrf": csrf, "visited_on": clock.china_today().isoformat(), "feedback": "好",
            "parts_management": "清点"})
        api = await c.post(f"/api/v1/repair-points/{point}/visits", headers=token, json={
            "visited_on": clock.china_today().isoformat(), "feedback": "好",
            "parts_management": "清点"})
    expected = {"manager": (303, 201), "rm": (303, 201), "gd.manager": (404, 404),
                "gd.staff": (404, 404)}.get(viewer, (403, 403))
    assert (posted.status_code, api.status_code) == expected


async def test_r37_pages_show_the_visit_file_and_scorecard():
    w = await points_world()
    await _history(w, 2)
    async with client() as c:
        await login(c, "staff")
        v = await c.get(f"/repair-points/{w.id('point')}/visits")
        assert "LED驱动检修" in v.text and 'id="visit-form"' not in v.text
        f = await c.get(f"/repair-points/{w.id('point')}/file")
        assert "收费争议" in f.text
        s = await c.get(f"/repair-points/{w.id('point')}/scorecard?from=2020-01-01")
        assert 'id="measure-disputes"' in s.text
        bad = await c.get(f"/repair-points/{w.id('point')}/scorecard?from=2030-01-01&to=2020-01-01")
        assert bad.status_code == 422
