"""R13 credits (冲帐): one credit line per decided return batch, credited quantities at the
product's credit price of the China day CS decided; spare parts are replaced, not credited; a
batch waiting for a price is listed, never half credited or lost. Credit prices are HQ data
with history (R20)."""
from datetime import UTC, date, datetime

import asyncpg
import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound, ValidationFailed
from settlements import close, service
from tests.settlements.close_factory import (
    CHINA,
    DECEMBER,
    DECEMBER_10,
    JANUARY_5,
    NOVEMBER,
    decided_batch,
    lines_of,
    product,
    settlement_network,
)


async def test_r13_set_credit_price_keeps_history_and_refuses_bad_input():
    net = await settlement_network()
    admin = net["actors"]["admin"]
    with clock.frozen(datetime(2026, 11, 1, 9, tzinfo=CHINA)):
        with pytest.raises(Forbidden):
            await service.set_credit_price(actor=net["actors"]["finance"],
                                           product_id=net["product"], price_fen=100,
                                           effective_from=date(2026, 11, 1), reason="x")
        with pytest.raises(ValidationFailed) as bad:
            await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=-1,
                                           effective_from=date(2026, 10, 31), reason=" ")
        assert set(bad.value.errors) == {"price", "effective_from", "reason"}
        with pytest.raises(NotFound):
            await service.set_credit_price(actor=admin, product_id=9999, price_fen=100,
                                           effective_from=date(2026, 11, 1), reason="x")
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=3500,
                                       effective_from=date(2026, 11, 1), reason="list price")
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=4000,
                                       effective_from=date(2026, 12, 1), reason="new list")
        with pytest.raises(ValidationFailed) as twice:
            await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=1,
                                           effective_from=date(2026, 12, 1), reason="again")
        assert "effective_from" in twice.value.errors
    history = await service.credit_price_history(net["product"])
    assert [(h["price_fen"], h["effective_from"]) for h in history] == [
        (4000, date(2026, 12, 1)), (3500, date(2026, 11, 1))]
    audit = await raw_fetch("SELECT actor, reason, from_state, to_state FROM audit_entry "
                            "WHERE object_type = 'credit_price' ORDER BY id")
    assert [a["reason"] for a in audit] == ["list price", "new list"]
    assert '"price_fen": 3500' in str(audit[1]["from_state"])
    assert audit[1]["actor"] == admin.user_id
    conn = await asyncpg.connect(await _dsn())
    try:  # R20: prices are never edited, only superseded
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("UPDATE credit_price SET price_fen = 1")
    finally:
        await conn.close()


async def _dsn() -> str:
    from settlements.tables import CreditPrice

    return CreditPrice._meta.db.config["dsn"]


async def test_r13_credit_uses_the_price_of_the_china_day_of_the_decision():
    net = await settlement_network()
    admin = net["actors"]["admin"]
    with clock.frozen(datetime(2026, 11, 1, 9, tzinfo=CHINA)):
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=3500,
                                       effective_from=date(2026, 11, 1), reason="list")
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=4000,
                                       effective_from=date(2026, 11, 11), reason="raise")
    # 15:30 UTC on the 10th is 23:30 in China: still the old price; 16:30 UTC is the 11th
    before = await decided_batch(net, "RB-A", datetime(2026, 11, 10, 15, 30, tzinfo=UTC),
                                 [(net["product"], None, 2), (net["product"], None, 1),
                                  (None, net["parts"]["ELB-28"], 5)])
    after = await decided_batch(net, "RB-B", datetime(2026, 11, 10, 16, 30, tzinfo=UTC),
                                [(net["product"], None, 3)])
    only_parts = await decided_batch(net, "RB-C", datetime(2026, 11, 12, tzinfo=CHINA),
                                     [(None, net["parts"]["RT-32"], 4)])
    undecided = await decided_batch(net, "RB-D", datetime(2026, 11, 12, tzinfo=CHINA),
                                    [(net["product"], None, 3)], status="received")
    next_month = await decided_batch(net, "RB-E", datetime(2026, 12, 1, 0, 5, tzinfo=CHINA),
                                     [(net["product"], None, 1)])
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=net["actors"]["finance"], period=NOVEMBER)
    credits = {l["source_id"]: l["amount_fen"] for l in await lines_of(net["office"]["id"],
                                                                         NOVEMBER)
               if l["kind"] == "credit"}
    assert credits == {str(before): 3 * 3500, str(after): 3 * 4000}
    assert str(only_parts) not in credits and str(undecided) not in credits
    with clock.frozen(JANUARY_5):
        await close.close_period(actor=net["actors"]["finance"], period=DECEMBER)
    december = [l for l in await lines_of(net["office"]["id"], DECEMBER) if l["kind"] == "credit"]
    assert [(l["source_id"], l["amount_fen"]) for l in december] == [(str(next_month), 4000)]


async def test_r13_a_batch_without_a_price_waits_whole_and_is_listed():
    net = await settlement_network()
    admin, finance = net["actors"]["admin"], net["actors"]["finance"]
    tube = await product("T8-36W", net)
    with clock.frozen(datetime(2026, 11, 1, 9, tzinfo=CHINA)):
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=3500,
                                       effective_from=date(2026, 11, 1), reason="list")
    waiting = await decided_batch(net, "RB-W", datetime(2026, 11, 20, 10, tzinfo=CHINA),
                                  [(net["product"], None, 2), (tube, None, 6)])
    with clock.frozen(DECEMBER_10):
        run = await close.start_close(actor=finance, period=NOVEMBER)
        progress = await close.wait_close(run)
        listed = await close.credits_waiting(period=NOVEMBER)
    # not half credited: the lamps wait with the tubes
    assert [l["kind"] for l in await lines_of(net["office"]["id"], NOVEMBER)] == ["repair_fee"]
    assert [(w["batch"], w["number"], w["unpriced_models"]) for w in listed] == [
        (waiting, "RB-W", ["T8-36W"])]
    assert [w["batch"] for w in progress["credits_waiting"]] == [waiting]
    audit = await raw_fetch("SELECT to_state FROM audit_entry WHERE object_type = 'period' "
                            "AND action = 'closed'")
    assert str(waiting) in str(audit[0]["to_state"])
    with clock.frozen(DECEMBER_10):  # HQ prices the tube today: the next close credits it all
        await service.set_credit_price(actor=admin, product_id=tube, price_fen=800,
                                       effective_from=date(2026, 12, 10), reason="new product")
        assert await close.credits_waiting(period=NOVEMBER) == []
        await close.close_period(actor=finance, period=NOVEMBER)
    credit = [l for l in await lines_of(net["office"]["id"], NOVEMBER) if l["kind"] == "credit"]
    # the lamps at the price of the decision day, the tubes at their first price
    assert [(l["source_id"], l["amount_fen"]) for l in credit] == [
        (str(waiting), 2 * 3500 + 6 * 800)]


async def test_r13_a_price_from_a_later_date_does_not_credit_before_it_applies():
    net = await settlement_network()
    admin, finance = net["actors"]["admin"], net["actors"]["finance"]
    with clock.frozen(datetime(2026, 11, 25, 9, tzinfo=CHINA)):
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=3500,
                                       effective_from=date(2027, 1, 1), reason="from next year")
    batch = await decided_batch(net, "RB-F", datetime(2026, 11, 20, 10, tzinfo=CHINA),
                                [(net["product"], None, 2)])
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        assert [w["batch"] for w in await close.credits_waiting(period=NOVEMBER)] == [batch]
    assert all(l["kind"] != "credit" for l in await lines_of(net["office"]["id"], NOVEMBER))
