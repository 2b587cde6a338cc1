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
from portal import clock, notify
from portal.db import count_queries, raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.dealers.factory import CHINA, cfl_line, network, reason
from tests.goods.factory import another_office, decided
from tests.helpers import actor_of, api_token, client, login, make_user
from tests.portal.test_notify import smtp  # noqa: F401  (aiosmtpd fixture)

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


async def test_r13_each_step_tells_the_next_person_in_the_inbox_and_by_email(smtp):  # noqa: F811
    """Rolled up: HQ tech checks and sends; sent and answered: HQ finance settles; settled: tech
    reads the outcome (portal/handoffs.py supplier_claim* rows), each in their language."""
    net = await network()
    await _setup(net)
    await decided(net, [(6, 2, 0)])  # 8 x 250 fen claimed from the ballast maker
    await make_user(net["hq"], ["hq_tech"], username="tech", email="tech@hq.test", locale="en")
    finance = await make_user(net["hq"], ["hq_finance"], username="finance",
                              email="finance@hq.test", locale="zh_CN")
    cs, fin = net["actors"]["cs"], await actor_of(finance)
    with clock.frozen(JANUARY):
        await suppliers.roll_up(actor=cs, data=DECEMBER)
        claim = (await raw_fetch("SELECT id FROM goods_supplier_claim"))[0]["id"]
        await suppliers.send_claim(actor=cs, claim_id=claim)
        await suppliers.answer_claim(actor=cs, claim_id=claim, data=ClaimAnswerIn(1500, "接受 6 只"))
        await suppliers.settle_claim(actor=fin, claim_id=claim, data=ClaimSettleIn(1500))
    inbox = {(r["username"], r["kind"]): r for r in await raw_fetch(
        "SELECT u.username, n.kind, n.subject, n.link FROM notification n "
        "JOIN portal_user u ON u.id = n.\"user\" WHERE n.kind LIKE 'supplier_claim%'")}
    assert set(inbox) == {("tech", "supplier_claims_drawn_up"), ("finance", "supplier_claim_sent"),
                          ("finance", "supplier_claim_answered"),
                          ("tech", "supplier_claim_settled")}  # finance settled: not told
    assert inbox[("finance", "supplier_claim_answered")]["link"] == \
        f"/goods/supplier-claims/{claim}"
    await notify.send_pending_emails(smtp.settings())  # with the batch's own hand-offs
    mails = {(m["to"], m["subject"]): m for m in smtp.handler.received}
    assert ("tech@hq.test", "Supplier claims for 2026-12 wait to be sent") in mails
    answered = mails[("finance@hq.test", "供应商索赔待结算：镇流器厂，2026-12")]
    assert "认可了索赔金额 ¥20.00 中的 ¥15.00" in answered["body"]
    assert answered["body"].rstrip().endswith(f"/goods/supplier-claims/{claim}")
    settled = mails[("tech@hq.test", "Supplier claim settled: Ballast Co, 2026-12")]
    assert "Ballast Co settled ¥15.00 of the ¥20.00 claimed for 2026-12." in settled["body"]
