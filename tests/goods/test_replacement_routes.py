"""Replacement pages and API twins (R13): logistics ships from the page (a second shipment
refused beside the action), the office confirms a short delivery, HQ resolves it through the
API; the batch page's goods panel shows the chain; tenant isolation (R1: a sibling office gets
404 on the page, the actions, the panel and the API); the list and homes flat in queries."""
from __future__ import annotations

from datetime import date

import pytest

from goods import queries, replacements
from portal import clock
from portal.db import count_queries, raw_fetch
from tests.dealers.factory import IN_WINDOW, network
from tests.goods.factory import another_office, decided, stock
from tests.helpers import api_token, client, login


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(IN_WINDOW):
        yield


async def _world() -> tuple[dict, int, int]:
    net = await network()
    await stock(net, on_hand=50)
    batch_id = await decided(net, [(6, 2, 0), (0, 0, 3)])
    return net, batch_id, (await replacements.open_replacements())[0]


async def test_r13_logistics_ships_on_the_page_once_and_the_office_confirms_short():
    net, batch_id, rid = await _world()
    async with client() as c:
        csrf = await login(c, "logistics")
        page = await c.get(f"/goods/replacements/{rid}")
        assert page.status_code == 200 and 'id="ship-form"' in page.text
        assert 'id="sum-owed">6<' in page.text
        r = await c.post(f"/goods/replacements/{rid}/ship", data={
            "_csrf": csrf, "carrier": "顺丰", "waybill": "", "packages": "2",
            "shipped_on": "2026-12-09"})
        assert r.status_code == 422 and 'id="error-waybill"' in r.text
        r = await c.post(f"/goods/replacements/{rid}/ship", data={
            "_csrf": csrf, "carrier": "顺丰", "waybill": "SF9", "packages": "2",
            "shipped_on": "2026-12-09"})
        assert r.status_code == 303 and r.headers["location"] == f"/goods/replacements/{rid}"
        again = await c.post(f"/goods/replacements/{rid}/ship", data={
            "_csrf": csrf, "carrier": "顺丰", "waybill": "SF9", "packages": "2",
            "shipped_on": "2026-12-09"})
        assert again.status_code == 409 and "没有待发的货" in again.text
        home = await c.get("/")  # HQ logistics' home: the shipment in transit
        assert 'id="count-goods_in_transit">1<' in home.text
        assert 'id="count-goods_to_ship">0<' in home.text
    shipment = (await raw_fetch("SELECT id FROM goods_shipment"))[0]["id"]
    line = (await queries.shipment(shipment))["lines"][0]["id"]
    async with client() as c:
        csrf = await login(c, "clerk")
        home = await c.get("/")  # the office's home: a delivery to confirm
        assert 'id="count-goods_to_confirm">1<' in home.text
        page = await c.get(f"/goods/replacements/{rid}")
        assert f'id="confirm-{shipment}"' in page.text and 'id="ship-form"' not in page.text
        r = await c.post(f"/goods/shipments/{shipment}/confirm", data={
            "_csrf": csrf, f"received_{line}": "5", "note": "少一件"})
        assert r.status_code == 303
        page = await c.get(f"/goods/replacements/{rid}")
        assert f'id="short-{shipment}"' in page.text
        panel = await c.get(f"/goods/batches/{batch_id}/panel")
        assert panel.status_code == 200 and f"/goods/replacements/{rid}" in panel.text
        assert "repeat-claims" not in panel.text  # head office's view only
    token = await api_token(net["users"]["cs"])
    async with client() as c:
        r = await c.post(f"/api/v1/goods/shipments/{shipment}/resolve",
                         headers={"Authorization": f"Bearer {token}"},
                         json={"resolution": "credit", "note": "承运商丢失"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["shipped"], body["credited"], body["owed"]) == (5, 1, 0)
        r = await c.post(f"/api/v1/goods/shipments/{shipment}/resolve",
                         headers={"Authorization": f"Bearer {token}"},
                         json={"resolution": "credit", "note": "again"})
        assert r.status_code == 409


async def test_r13_api_twins_ship_and_confirm():
    net, _, rid = await _world()
    logistics = await api_token(net["users"]["logistics"])
    clerk = await api_token(net["users"]["clerk"])
    async with client() as c:
        r = await c.post(f"/api/v1/goods/replacements/{rid}/ship",
                         headers={"Authorization": f"Bearer {logistics}"},
                         json={"carrier": "德邦", "waybill": "DB1", "packages": 1,
                               "shipped_on": "2026-12-09"})
        assert r.status_code == 200 and r.json()["owed"] == 0
        shipment = r.json()["shipments"][0]
        r = await c.post(f"/api/v1/goods/shipments/{shipment['id']}/confirm",
                         headers={"Authorization": f"Bearer {clerk}"},
                         json={"lines": [{"line_id": shipment["lines"][0]["id"], "received": 6}]})
        assert r.status_code == 200
        assert r.json()["shipments"][0]["status"] == "received"
        listed = await c.get("/api/v1/goods/replacements?status=owed",
                             headers={"Authorization": f"Bearer {clerk}"})
        assert listed.status_code == 200 and listed.json() == []


async def test_r1_a_sibling_office_gets_404_everywhere():
    net, batch_id, rid = await _world()
    shipment = await replacements.ship(actor=net["actors"]["logistics"], replacement_id=rid,
                                       data=__import__("goods.inputs").inputs.ShipIn(
                                           "顺丰", "SF1", 1, date(2026, 12, 9)))
    token = await api_token(net["users"]["other_clerk"])
    async with client() as c:
        csrf = await login(c, "gd.clerk")
        assert (await c.get(f"/goods/replacements/{rid}")).status_code == 404
        assert (await c.get(f"/goods/batches/{batch_id}/panel")).status_code == 404
        r = await c.post(f"/goods/shipments/{shipment}/confirm", data={"_csrf": csrf})
        assert r.status_code == 404
        listed = await c.get("/goods/replacements")
        assert f'id="replacement-{rid}"' not in listed.text
        for method, url, body in (
                ("GET", f"/api/v1/goods/replacements/{rid}", None),
                ("POST", f"/api/v1/goods/shipments/{shipment}/confirm", {"lines": []})):
            r = await c.request(method, url, json=body,
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 404, url
    async with client() as c:  # own office and HQ see it
        await login(c, "clerk")
        assert (await c.get(f"/goods/replacements/{rid}")).status_code == 200


async def test_r13_list_and_home_are_flat_in_queries():
    net = await network()
    await stock(net, on_hand=1000)
    counts = []
    for batches in (1, 3):
        for n in range(batches - (1 if counts else 0)):
            await another_office(net, f"o{batches}{n}")
            await decided(net, [(2, 0, 0)], clerk=f"o{batches}{n}.clerk",
                          manager=f"o{batches}{n}.manager")
        await replacements.open_replacements()
        async with client() as c:
            await login(c, "logistics")
            with count_queries() as counter:
                assert (await c.get("/goods/replacements")).status_code == 200
                assert (await c.get("/")).status_code == 200
            counts.append(counter.count)
    assert counts[0] == counts[1]
