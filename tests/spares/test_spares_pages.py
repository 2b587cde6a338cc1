"""Repair point pages through the real app: propose, approve, the point's file with deposit,
stock, fee and disputes; bad input answers 422 and changes nothing."""
from spares.tables import RepairPointApplication
from tests.helpers import client, login
from tests.spares.factory import network


async def test_office_proposes_and_cs_approves_through_the_pages():
    net = await network()
    async with client() as c:
        token = await login(c, "manager")
        bad = await c.post("/repair-points", data={"_csrf": token, "office_id": str(net["office"]["id"]),
                                                   "name": "", "sales_scale": "small"})
        assert bad.status_code == 422 and 'id="error-name"' in bad.text
        assert await RepairPointApplication.count() == 1  # the factory's own
        ok = await c.post("/repair-points", data={
            "_csrf": token, "office_id": str(net["office"]["id"]), "name": "夫子庙维修点",
            "coverage_area": "秦淮区", "sales_scale": "medium", "address": "夫子庙灯饰街",
            "proposed_fee": "250.00"})
        assert ok.status_code == 303
    app = await RepairPointApplication.select().order_by(RepairPointApplication.id, ascending=False).first()
    assert app["proposed_fee_fen"] == 25000
    async with client() as c:
        token = await login(c, "cs")
        r = await c.post(f"/repair-points/applications/{app['id']}/decide",
                         data={"_csrf": token, "approve": "1", "reason": ""})
        assert r.status_code == 303 and r.headers["location"].startswith("/repair-points/")
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and 'id="deposit"' in page.text and 'id="fees"' in page.text


async def test_point_file_hidden_from_a_sibling_office():
    net = await network()
    async with client() as c:
        await login(c, "gd.manager")
        assert (await c.get(f"/repair-points/{net['point']['id']}")).status_code == 404
        assert "南京灯具城维修点" not in (await c.get("/repair-points")).text
