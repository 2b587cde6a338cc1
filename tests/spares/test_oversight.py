"""R24 repair fee, R29 consumer disputes, R25 closure with the deposit refunded less what is
missing (a real Stripe refund against localstripe, or a bank transfer)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal import clock
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.tables import Organisation
from spares import deposits, oversight, queries, stock
from spares.tables import Closure, DepositMovement
from tests.spares.factory import card, network, stripe_settings

CHINA = ZoneInfo("Asia/Shanghai")


async def test_r24_fee_proposed_by_manager_decided_by_cs_with_history():
    net = await network()
    a = net["actors"]
    point = net["point"]["id"]
    with clock.frozen(datetime(2026, 11, 20, 10, tzinfo=CHINA)):
        with pytest.raises(Forbidden):
            await oversight.propose_fee(actor=a["clerk"], point_id=point, amount_fen=30000, reason="")
        fee = await oversight.propose_fee(actor=a["manager"], point_id=point, amount_fen=30000,
                                          reason="覆盖全南京")
        assert await oversight.fee_on(point, date(2026, 12, 1)) is None  # not decided yet
        await oversight.decide_fee(actor=a["cs"], fee_id=fee, approve=True)
        with pytest.raises(Conflict):
            await oversight.decide_fee(actor=a["cs"], fee_id=fee, approve=False, reason="x")
    assert await oversight.fee_on(point, date(2026, 11, 1)) is None
    assert await oversight.fee_on(point, date(2026, 12, 1)) == 30000
    history = await queries.fee_history(point)
    assert [(h["amount_fen"], h["status"]) for h in history] == [(30000, "approved")]


async def test_r29_dispute_mediated_escalated_and_ruled():
    net = await network()
    a = net["actors"]
    dispute = await oversight.record_dispute(actor=a["staff"], point_id=net["point"]["id"],
                                             customer="张女士", description="维修后仍不亮")
    with pytest.raises(Forbidden):
        await oversight.rule_dispute(actor=a["manager"], dispute_id=dispute, ruling="x")
    with pytest.raises(ValidationFailed):
        await oversight.mediate_dispute(actor=a["manager"], dispute_id=dispute, settled=False,
                                        notes=" ")
    await oversight.mediate_dispute(actor=a["manager"], dispute_id=dispute, settled=False,
                                    notes="责任难以界定，上报客服部")
    await oversight.rule_dispute(actor=a["cs"], dispute_id=dispute, ruling="为顾客免费换新")
    row = (await queries.disputes_of(net["point"]["id"]))[0]
    assert (row["status"], row["ruling"]) == ("ruled", "为顾客免费换新")
    with pytest.raises(NotFound):  # a sibling office cannot even see it
        await oversight.mediate_dispute(actor=a["gd"], dispute_id=dispute, settled=True, notes="x")


async def _paid_and_stocked(net, localstripe):
    await deposits.pay_deposit_by_card(stripe_settings(localstripe), actor=net["actors"]["staff"],
                                      point_id=net["point"]["id"], payment_method=card(localstripe))
    await stock.move_stock([(net["hq"]["id"], net["parts"]["ELB-28"], "good", 50),
                              (net["hq"]["id"], net["parts"]["RT-32"], "good", 50)],
                             kind="receipt", reference="factory", actor=None)
    await deposits.ship_first_stock(actor=net["actors"]["logistics"], point_id=net["point"]["id"],
                                   hq_id=net["hq"]["id"])


async def test_r25_closure_refunds_deposit_less_missing_by_stripe(localstripe):
    net = await network()
    await _paid_and_stocked(net, localstripe)  # 10 × ELB-28 (18.50) and 5 × RT-32 (12.00)
    point, parts = net["point"]["id"], net["parts"]
    result = await oversight.close_point(
        stripe_settings(localstripe), actor=net["actors"]["finance"], point_id=point,
        returned={(parts["ELB-28"], "good"): 8, (parts["RT-32"], "good"): 5}, method="stripe")
    assert result == {"missing_fen": 2 * 1850, "refund_fen": 24500 - 3700, "withheld_fen": 3700}
    assert (await queries.deposit_status(point))["balance_fen"] == 0
    assert all(s["good"] == s["faulty"] == 0 for s in await queries.stock_of(point))
    office_stock = {s["code"]: s["good"] for s in await queries.stock_of(net["office"]["id"])}
    assert office_stock == {"ELB-28": 8, "RT-32": 5}
    assert not (await Organisation.select(Organisation.active).where(
        Organisation.id == point).first())["active"]
    with pytest.raises(Conflict):
        await oversight.close_point(stripe_settings(localstripe), actor=net["actors"]["finance"],
                                    point_id=point, returned={}, method="bank_transfer",
                                    reference="again")


async def test_r25_bad_closure_changes_nothing():
    net = await network()
    await deposits.record_bank_transfer(actor=net["actors"]["finance"], point_id=net["point"]["id"],
                                       amount_fen=24500, reference="ICBC-9")
    before = await DepositMovement.count()
    with pytest.raises(ValidationFailed):
        await oversight.close_point(None, actor=net["actors"]["finance"],
                                    point_id=net["point"]["id"],
                                    returned={(net["parts"]["ELB-28"], "good"): 1},
                                    method="bank_transfer", reference="B-1")
    with pytest.raises(ValidationFailed):
        await oversight.close_point(None, actor=net["actors"]["finance"],
                                    point_id=net["point"]["id"], returned={},
                                    method="bank_transfer", reference="")
    assert await DepositMovement.count() == before and await Closure.count() == 0
    result = await oversight.close_point(None, actor=net["actors"]["finance"],
                                         point_id=net["point"]["id"], returned={},
                                         method="bank_transfer", reference="B-2")
    assert result["refund_fen"] == 24500


async def test_r22_hq_admin_edits_stock_templates_with_audit():
    from portal.tables import AuditEntry
    from tests.helpers import actor_of, client, login, make_user

    net = await network()
    admin = await make_user(net["hq"], ["hq_admin"], username="admin")
    with pytest.raises(Forbidden):
        await stock.set_template(actor=net["actors"]["cs"], sales_scale="small",
                                   spare_part_id=net["parts"]["ELB-28"], quantity=12, reason="x")
    await stock.set_template(actor=await actor_of(admin), sales_scale="small",
                               spare_part_id=net["parts"]["ELB-28"], quantity=12,
                               reason="南京市场扩大")
    rows = {(t["sales_scale"], t["code"]): t["quantity"] for t in await queries.list_templates()}
    assert rows[("small", "ELB-28")] == 12
    entry = await AuditEntry.select().where(AuditEntry.object_type == "stock_template").first()
    assert '"quantity": 10' in entry["from_state"] and entry["reason"] == "南京市场扩大"
    async with client() as c:
        token = await login(c, "admin")
        bad = await c.post("/admin/stock-templates", data={
            "_csrf": token, "sales_scale": "huge", "spare_part_id": str(net["parts"]["RT-32"]),
            "quantity": "3", "reason": "x"})
        assert bad.status_code == 422
        ok = await c.post("/admin/stock-templates", data={
            "_csrf": token, "sales_scale": "large", "spare_part_id": str(net["parts"]["RT-32"]),
            "quantity": "30", "reason": "大市场"})
        assert ok.status_code == 303
    rows = {(t["sales_scale"], t["code"]): t["quantity"] for t in await queries.list_templates()}
    assert rows[("large", "RT-32")] == 30 and ("large", "ELB-28") not in rows
