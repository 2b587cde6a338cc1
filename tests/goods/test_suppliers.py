"""Supplier recovery (R13, R16, R20): a month's confirmed defects — decided exchanges and
credits with a reason the supplier answers for, and lines of a batch whose quality problem was
confirmed — roll up into one claim per supplier with quantities and amounts in fen (credit
price of the day), each line once; claims go draft -> sent -> answered -> settled with their
history; the page and API twins; offices see nothing."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from goods import suppliers
from goods.inputs import (
    ClaimAnswerIn,
    ClaimMonthIn,
    ClaimSettleIn,
    ProductSupplierIn,
    ReasonAttributionIn,
    SupplierIn,
)
from portal import clock
from portal.db import count_queries, raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.dealers.factory import CHINA, cfl_line, network, reason
from tests.goods.factory import another_office, decided
from tests.helpers import api_token, client, login

JANUARY = datetime(2027, 1, 5, 10, 0, tzinfo=CHINA)
DECEMBER = ClaimMonthIn(month=date(2026, 12, 1))


async def _setup(net) -> dict:
    cs = net["actors"]["cs"]
    ballast = await suppliers.save_supplier(actor=cs, data=SupplierIn("BAL", "镇流器厂", "Ballast Co"))
    tubes = await suppliers.save_supplier(actor=cs, data=SupplierIn("TUB", "灯管厂", "Tube Co"))
    await suppliers.map_product(actor=cs, data=ProductSupplierIn(net["products"]["cfl"], ballast,
                                                                 "ballast"))
    await suppliers.map_product(actor=cs, data=ProductSupplierIn(net["products"]["tube"], tubes))
    await suppliers.attribute_reason(actor=cs, data=ReasonAttributionIn(net["reason"], True))
    await raw_fetch(
        "INSERT INTO credit_price (product, price_fen, effective_from, reason, created_at) "
        "VALUES ($1, 250, '2026-01-01', 't', now()), ($2, 900, '2026-01-01', 't', now())",
        net["products"]["cfl"], net["products"]["tube"])
    return {"ballast": ballast, "tubes": tubes}


async def _defects(net) -> None:
    await decided(net, [(6, 2, 3)])  # 8 confirmed (exchanged + credited), 3 rejected
    await another_office(net, "zj")
    disputed = await decided(net, [(0, 0, 4)], clerk="zj.clerk", manager="zj.manager",
                             lines=[cfl_line(net, 4, product_id=net["products"]["tube"],
                                             reason_id=await reason("NO_LIGHT"))])
    await raw_fetch(
        "INSERT INTO quality_dispute (batch, description, raised_by, raised_at, due_at, "
        "verified_by, verified_at, confirmed, findings) VALUES ($1, 'tubes fail', $2, "
        "'2026-12-10', '2026-12-12', $3, '2026-12-11 10:00+08', true, 'confirmed on site')",
        disputed, net["users"]["zj.clerk"]["id"], net["users"]["cs"]["id"])


async def test_r13_r16_a_month_rolls_up_into_one_claim_per_supplier_each_line_once():
    net = await network()
    ids = await _setup(net)
    await _defects(net)
    cs = net["actors"]["cs"]
    with clock.frozen(datetime(2026, 12, 20, tzinfo=CHINA)), pytest.raises(RuleViolation):
        await suppliers.roll_up(actor=cs, data=DECEMBER)  # the month has not ended
    with clock.frozen(JANUARY):
        with pytest.raises(Forbidden):
            await suppliers.roll_up(actor=net["actors"]["clerk"], data=DECEMBER)
        assert await suppliers.roll_up(actor=cs, data=DECEMBER) == 2
        assert await suppliers.roll_up(actor=cs, data=DECEMBER) == 0  # each line once
    claims = {c["supplier"]: c for c in await raw_fetch("SELECT * FROM goods_supplier_claim")}
    assert (claims[ids["ballast"]]["quantity"], claims[ids["ballast"]]["amount_fen"]) == (8, 2000)
    # R16: the confirmed batch's whole received quantity, though CS rejected it
    assert (claims[ids["tubes"]]["quantity"], claims[ids["tubes"]]["amount_fen"]) == (4, 3600)


async def test_r13_a_reason_the_supplier_does_not_answer_for_is_not_claimed():
    net = await network()
    await _setup(net)
    await suppliers.attribute_reason(actor=net["actors"]["cs"],
                                     data=ReasonAttributionIn(net["reason"], False))
    await decided(net, [(5, 0, 0)])
    with clock.frozen(JANUARY):
        assert await suppliers.roll_up(actor=net["actors"]["cs"], data=DECEMBER) == 0


async def test_r20_a_claim_is_sent_answered_and_settled_in_order_with_its_history():
    net = await network()
    await _setup(net)
    await decided(net, [(6, 2, 0)])
    cs, finance = net["actors"]["cs"], net["actors"]["cs2"]
    with clock.frozen(JANUARY):
        await suppliers.roll_up(actor=cs, data=DECEMBER)
        claim = (await raw_fetch("SELECT id FROM goods_supplier_claim"))[0]["id"]
        with pytest.raises(Conflict):
            await suppliers.settle_claim(actor=cs, claim_id=claim, data=ClaimSettleIn(100))
        await suppliers.send_claim(actor=cs, claim_id=claim)
        with pytest.raises(ValidationFailed):  # more than claimed
            await suppliers.answer_claim(actor=cs, claim_id=claim,
                                         data=ClaimAnswerIn(5000, "all"))
        await suppliers.answer_claim(actor=finance, claim_id=claim,
                                     data=ClaimAnswerIn(1500, "接受 6 只"))
        with pytest.raises(ValidationFailed):  # more than accepted
            await suppliers.settle_claim(actor=cs, claim_id=claim, data=ClaimSettleIn(1600))
        await suppliers.settle_claim(actor=cs, claim_id=claim, data=ClaimSettleIn(1500))
        with pytest.raises(NotFound):
            await suppliers.get_claim(actor=net["actors"]["clerk"], claim_id=claim)
    row = await suppliers.get_claim(actor=cs, claim_id=claim)
    assert (row["status"], row["accepted_fen"], row["settled_fen"]) == ("settled", 1500, 1500)
    actions = [r["action"] for r in await raw_fetch(
        "SELECT action FROM audit_entry WHERE object_type = 'goods_supplier_claim' ORDER BY id")]
    assert actions == ["rolled_up", "sent", "answered", "settled"]


async def test_r13_the_roll_up_is_flat_in_queries():
    net = await network()
    await _setup(net)
    counts = []
    for key, lines in (("a", 1), ("b", 15)):
        await raw_fetch("DELETE FROM goods_supplier_claim_line")
        await raw_fetch("DELETE FROM goods_supplier_claim")
        await another_office(net, key)
        await decided(net, [(1, 0, 0)] * lines, clerk=f"{key}.clerk", manager=f"{key}.manager")
        with clock.frozen(JANUARY), count_queries() as counter:
            await suppliers.roll_up(actor=net["actors"]["cs"], data=DECEMBER)
        counts.append(counter.count)
    assert counts[0] == counts[1]


async def test_pages_and_api_twins():
    net = await network()
    await _setup(net)
    await decided(net, [(6, 2, 0)])
    with clock.frozen(JANUARY):
        async with client() as c:
            csrf = await login(c, "cs")
            page = await c.get("/goods/suppliers")
            assert page.status_code == 200 and 'id="rollup-form"' in page.text
            r = await c.post("/goods/suppliers/roll-up", data={"_csrf": csrf,
                                                               "month": "2026-12-01"})
            assert r.status_code == 303
            claim = (await raw_fetch("SELECT id FROM goods_supplier_claim"))[0]["id"]
            page = await c.get(f"/goods/supplier-claims/{claim}")
            assert page.status_code == 200 and 'id="claim-lines"' in page.text
            r = await c.post(f"/goods/supplier-claims/{claim}/send", data={"_csrf": csrf})
            assert r.status_code == 303
        token = await api_token(net["users"]["cs"])
        async with client() as c:
            h = {"Authorization": f"Bearer {token}"}
            r = await c.post(f"/api/v1/goods/supplier-claims/{claim}/answer", headers=h,
                             json={"accepted_fen": 1000, "answer": "ok"})
            assert r.status_code == 200 and r.json()["status"] == "answered"
            r = await c.post(f"/api/v1/goods/supplier-claims/{claim}/settle", headers=h,
                             json={"settled_fen": 1000})
            assert r.status_code == 200 and r.json()["status"] == "settled"
        clerk = await api_token(net["users"]["clerk"])
        async with client() as c:
            r = await c.get(f"/api/v1/goods/supplier-claims/{claim}",
                            headers={"Authorization": f"Bearer {clerk}"})
            assert r.status_code == 404
            await login(c, "clerk")
            assert (await c.get(f"/goods/supplier-claims/{claim}")).status_code == 404
            assert (await c.get("/goods/suppliers")).status_code == 403
