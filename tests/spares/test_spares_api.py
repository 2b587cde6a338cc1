"""The repair-point journey over /api/v1: propose, approve, pay by card (localstripe), ship,
repair with a part, exchange old-for-new; a sibling office is refused."""
from portal.tables import Organisation
from spares import stock
from tests.helpers import api_token, client, make_user
from tests.spares.factory import card, network


def _h(token):
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


async def test_repair_point_journey_over_the_api(localstripe):
    net = await network()
    u = net["users"]
    t = {k: await api_token(u[k]) for k in ("manager", "cs", "staff", "logistics", "clerk", "gd")}
    async with client(stripe_secret_key="sk_test_portal", stripe_api_base=localstripe) as c:
        r = await c.post("/api/v1/repair-points", headers=_h(t["manager"]), json={
            "office_id": net["office"]["id"], "name": "新街口维修点", "coverage_area": "鼓楼区",
            "sales_scale": "small", "address": "新街口灯具市场", "proposed_fee_fen": 20000})
        assert r.status_code == 201
        bad = await c.post("/api/v1/repair-points", headers=_h(t["manager"]), json={
            "office_id": net["office"]["id"], "name": "", "coverage_area": "", "sales_scale": "huge",
            "address": "", "proposed_fee_fen": -1})
        assert bad.status_code == 422 and set(bad.json()["fields"]) >= {"name", "sales_scale"}
        sibling = await c.post("/api/v1/repair-points", headers=_h(t["gd"]), json={
            "office_id": net["office"]["id"], "name": "x", "coverage_area": "x",
            "sales_scale": "small", "address": "x", "proposed_fee_fen": 1})
        assert sibling.status_code == 404
        decided = await c.post(f"/api/v1/repair-points/applications/{r.json()['application_id']}/decide",
                               headers=_h(t["cs"]), json={"approve": True})
        point_id = decided.json()["repair_point_id"]
        staff = await make_user({"id": point_id}, ["repair_staff"], username="staff2")
        staff_token = await api_token(staff)
        paid = await c.post(f"/api/v1/repair-points/{point_id}/deposit/card",
                            headers=_h(staff_token), json={"payment_method": card(localstripe)})
        assert paid.status_code == 200 and paid.json()["status"] == "succeeded"
        hq = await Organisation.select(Organisation.id).where(Organisation.kind == "hq").first()
        await stock.move_stock([(hq["id"], net["parts"]["ELB-28"], "good", 20),
                                  (hq["id"], net["parts"]["RT-32"], "good", 20),
                                  (net["office"]["id"], net["parts"]["ELB-28"], "good", 5)],
                                 kind="receipt", reference="factory", actor=None)
        assert (await c.post(f"/api/v1/repair-points/{point_id}/first-stock",
                             headers=_h(t["logistics"]))).status_code == 200
        repair = await c.post("/api/v1/repair-points/repairs", headers=_h(staff_token), json={
            "customer": "赵先生", "product_id": net["product"], "purchase_date": "2026-01-05",
            "proof": "发票", "spare_part_id": net["parts"]["ELB-28"], "parts_quantity": 1})
        assert repair.status_code == 201
        exchange = await c.post("/api/v1/repair-points/exchanges", headers=_h(staff_token),
                                json={"spare_part_id": net["parts"]["ELB-28"], "quantity": 1})
        done = await c.post(f"/api/v1/repair-points/exchanges/{exchange.json()['exchange_id']}/complete",
                            headers=_h(t["clerk"]))
        assert done.status_code == 200
        file = (await c.get(f"/api/v1/repair-points/{point_id}", headers=_h(t["manager"]))).json()
        assert file["deposit"]["paid"] is True
        held = {s["code"]: (s["good"], s["faulty"]) for s in file["stock"]}
        assert held["ELB-28"] == (10, 0)  # 10 shipped, 1 used, 1 exchanged back to good
        assert (await c.get(f"/api/v1/repair-points/{point_id}", headers=_h(t["gd"]))).status_code == 404
