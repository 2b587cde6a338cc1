"""Rejected goods (R13, seed 004 §5.2.6): the office chooses once per decided batch (sent back at
HQ's freight policy, or scrapped); HQ logistics sends them back or scraps a category's waiting
goods as one lot with the recycler, its certificate number and document; mercury flagged;
pages and API twins; a sibling office gets 404."""
from __future__ import annotations

from datetime import date

import pytest

from goods import rejected
from goods.inputs import CategoryFlagIn, RejectedChoiceIn, RejectedSentIn, ScrapLotIn
from portal import clock
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation
from tests.dealers.factory import IN_WINDOW, network
from tests.goods.factory import another_office, decided
from tests.helpers import api_token, client, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(IN_WINDOW):
        yield


def _lot(net, **overrides) -> ScrapLotIn:
    values = dict(category_id=0, recycler="苏州绿色回收有限公司", certificate_no="HW-2026-118",
                  scrapped_on=date(2026, 12, 9))
    values.update(overrides)
    return ScrapLotIn(**values)


async def _cfl_category() -> int:
    return (await raw_fetch("SELECT id FROM product_category WHERE code = 'cfl'"))[0]["id"]


async def test_r13_office_chooses_once_and_logistics_sends_back_at_the_policy_freight():
    net = await network()
    a = net["actors"]
    batch_id = await decided(net, [(2, 0, 3)])
    await raw_fetch("INSERT INTO policy_value (key, value, effective_from, reason, created_at) "
                    "VALUES ('rejected_return_freight_fen', 1500, '2026-01-01', 't', now())")
    with pytest.raises(Forbidden):
        await rejected.choose(actor=a["logistics"], batch_id=batch_id,
                              data=RejectedChoiceIn("return"))
    assert await rejected.choose(actor=a["clerk"], batch_id=batch_id,
                                 data=RejectedChoiceIn("return")) == "to_return"
    with pytest.raises(Conflict):
        await rejected.choose(actor=a["manager"], batch_id=batch_id,
                              data=RejectedChoiceIn("scrap"))
    with pytest.raises(NotFound):
        await rejected.batch_rejected(actor=a["other_clerk"], batch_id=batch_id)
    await rejected.send_back(actor=a["logistics"], batch_id=batch_id,
                             data=RejectedSentIn("德邦", "DB9", date(2026, 12, 9)))
    row = await rejected.batch_rejected(actor=a["clerk"], batch_id=batch_id)
    assert (row["choice_status"], row["rejected"], row["freight_fen"]) == ("returned", 3, 1500)


async def test_seed004_scrapped_goods_of_two_offices_make_one_lot_flagged_for_mercury():
    net = await network()
    a = net["actors"]
    await another_office(net, "zj")
    first = await decided(net, [(0, 0, 3)])
    second = await decided(net, [(1, 0, 2)], clerk="zj.clerk", manager="zj.manager")
    for batch, clerk in ((first, "clerk"), (second, "zj.clerk")):
        await rejected.choose(actor=a[clerk], batch_id=batch, data=RejectedChoiceIn("scrap"))
    cfl = await _cfl_category()
    with pytest.raises(RuleViolation):  # nothing of the tube category waits
        tube = (await raw_fetch("SELECT id FROM product_category WHERE code = 'tube'"))[0]["id"]
        await rejected.record_scrap_lot(actor=a["logistics"], data=_lot(net, category_id=tube))
    with pytest.raises(Forbidden):
        await rejected.record_scrap_lot(actor=a["cs"], data=_lot(net, category_id=cfl))
    lot_id = await rejected.record_scrap_lot(actor=a["logistics"],
                                             data=_lot(net, category_id=cfl),
                                             certificate=("certificate.pdf", PDF))
    lot = await rejected.get_lot(actor=a["cs"], lot_id=lot_id)
    assert (lot["quantity"], lot["contains_mercury"], len(lot["items"])) == (5, True, 2)
    assert (await raw_fetch("SELECT count(*) AS n FROM attachment WHERE subject = $1",
                            rejected.SUBJECT))[0]["n"] == 1
    states = {r["status"] for r in await raw_fetch("SELECT status FROM goods_rejected")}
    assert states == {"scrapped"}
    with pytest.raises(RuleViolation):  # each line is scrapped once
        await rejected.record_scrap_lot(actor=a["logistics"], data=_lot(net, category_id=cfl))
    with pytest.raises(NotFound):  # a lot is head office's record
        await rejected.get_lot(actor=a["clerk"], lot_id=lot_id)


async def test_seed004_a_category_flag_overrides_the_default():
    net = await network()
    tube = (await raw_fetch("SELECT id FROM product_category WHERE code = 'tube'"))[0]["id"]
    await rejected.set_category_flag(actor=net["actors"]["logistics"],
                                     data=CategoryFlagIn(tube, True))
    flags = {c["code"]: c["contains_mercury"] for c in await rejected.waiting_by_category()}
    assert flags["tube"] is True and flags["cfl"] is True and flags["ceiling"] is False


async def test_pages_and_api_the_office_chooses_logistics_records_a_lot_with_its_document():
    net = await network()
    batch_id = await decided(net, [(0, 0, 4)])
    async with client() as c:
        csrf = await login(c, "clerk")
        panel = await c.get(f"/goods/batches/{batch_id}/panel")
        assert f'href="/goods/batches/{batch_id}/rejected"' in panel.text
        page = await c.get(f"/goods/batches/{batch_id}/rejected")
        assert 'id="choose-form"' in page.text
        r = await c.post(f"/goods/batches/{batch_id}/rejected/choose",
                         data={"_csrf": csrf, "choice": "scrap"})
        assert r.status_code == 303
    async with client() as c:
        csrf = await login(c, "logistics")
        page = await c.get("/goods/scrap-lots")
        assert page.status_code == 200 and 'id="lot-form"' in page.text
        cfl = await _cfl_category()
        fields = {"_csrf": csrf, "category_id": str(cfl), "recycler": "苏州绿色回收",
                  "certificate_no": "HW-1", "scrapped_on": "2026-12-09"}
        r = await c.post("/goods/scrap-lots", data=fields)
        assert r.status_code == 422 and 'id="error-certificate"' in r.text
        r = await c.post("/goods/scrap-lots", data=fields,
                         files={"certificate": ("cert.pdf", PDF, "application/pdf")})
        assert r.status_code == 303, r.text
        lot_id = (await raw_fetch("SELECT id FROM goods_scrap_lot"))[0]["id"]
        page = await c.get(f"/goods/scrap-lots/{lot_id}")
        assert "cert.pdf" in page.text and 'id="lot-mercury"' in page.text
    async with client() as c:
        await login(c, "clerk")
        assert (await c.get(f"/goods/scrap-lots/{lot_id}")).status_code == 404
        assert (await c.get("/goods/scrap-lots")).status_code == 403
    token = await api_token(net["users"]["other_clerk"])
    async with client() as c:
        r = await c.get(f"/api/v1/goods/batches/{batch_id}/rejected",
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 404
        await login(c, "gd.clerk")
        assert (await c.get(f"/goods/batches/{batch_id}/rejected")).status_code == 404


async def test_api_twins_choose_send_and_record_a_lot():
    net = await network()
    returned = await decided(net, [(0, 0, 2)])
    await another_office(net, "zj")
    scrapped = await decided(net, [(0, 0, 1)], clerk="zj.clerk", manager="zj.manager")
    clerk, zj = await api_token(net["users"]["clerk"]), await api_token(net["users"]["zj.clerk"])
    logistics = await api_token(net["users"]["logistics"])
    async with client() as c:
        def h(t):
            return {"Authorization": f"Bearer {t}"}
        r = await c.post(f"/api/v1/goods/batches/{returned}/rejected/choose", headers=h(clerk),
                         json={"choice": "return"})
        assert r.status_code == 200 and r.json()["choice_status"] == "to_return"
        r = await c.post(f"/api/v1/goods/batches/{returned}/rejected/send", headers=h(logistics),
                         json={"carrier": "德邦", "waybill": "DB2", "sent_on": "2026-12-09"})
        assert r.status_code == 200 and r.json()["choice_status"] == "returned"
        await c.post(f"/api/v1/goods/batches/{scrapped}/rejected/choose", headers=h(zj),
                     json={"choice": "scrap"})
        r = await c.post("/api/v1/goods/scrap-lots", headers=h(logistics), json={
            "category_id": await _cfl_category(), "recycler": "R", "certificate_no": "C1",
            "scrapped_on": "2026-12-09"})
        assert r.status_code == 201
        lot = r.json()["id"]
        r = await c.post(r.json()["attach_certificate"], headers=h(logistics),
                         files={"file": ("c.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
        r = await c.get(f"/api/v1/goods/scrap-lots/{lot}", headers=h(logistics))
        assert r.status_code == 200 and r.json()["quantity"] == 1
