"""Return freight of rejected goods on the office's monthly statement (R13, seed 004 §5.2.6):
goods sent back in a month are charged (a negative 'charge' line, source 'goods_rejected') by
that month's close, once however often the close runs; goods chosen for return but not yet
sent, or scrapped, are not charged; goods sent back later wait for a later close."""
from __future__ import annotations

from datetime import date, datetime

from goods import rejected, statement_charges
from goods.inputs import RejectedChoiceIn, RejectedSentIn
from portal import clock
from portal.db import raw_fetch
from settlements import close, close_sql, queries
from tests.dealers.factory import CHINA, IN_WINDOW, network
from tests.goods.factory import another_office, decided
from tests.helpers import actor_of, make_user

DECEMBER = date(2026, 12, 1)
JANUARY = date(2027, 1, 1)
FREIGHT = 1500


async def _world() -> dict:
    net = await network()
    net["actors"]["finance"] = await actor_of(
        await make_user(net["hq"], ["hq_finance"], username="finance"))
    await raw_fetch("INSERT INTO policy_value (key, value, effective_from, reason, created_at) "
                    "VALUES ('rejected_return_freight_fen', $1, '2026-01-01', 't', now())",
                    FREIGHT)
    await another_office(net, "zj")
    await another_office(net, "ah")
    return net


async def _rejected_back(net: dict, clerk: str, manager: str, choice: str,
                         sent_on: date | None) -> int:
    """A decided batch with 3 rejected items, the office's choice, and (if `sent_on`) HQ
    logistics sending them back on that day."""
    batch_id = await decided(net, [(2, 0, 3)], clerk=clerk, manager=manager)
    with clock.frozen(IN_WINDOW):
        await rejected.choose(actor=net["actors"][clerk], batch_id=batch_id,
                              data=RejectedChoiceIn(choice))
    if sent_on is not None:
        with clock.frozen(datetime.combine(sent_on, datetime.min.time(), CHINA).replace(hour=10)):
            await rejected.send_back(actor=net["actors"]["logistics"], batch_id=batch_id,
                                     data=RejectedSentIn("德邦", f"DB{batch_id}", sent_on))
    return batch_id


async def _charges() -> list[dict]:
    return await raw_fetch(
        "SELECT s.dealer, s.period, l.kind, l.source_id, l.amount_fen FROM statement_line l "
        "JOIN statement s ON s.id = l.statement WHERE l.source_type = 'goods_rejected' "
        "ORDER BY l.id")


async def _close(net: dict, period: date, today: datetime) -> None:
    with clock.frozen(today):
        await close.close_period(actor=net["actors"]["finance"], period=period)


def test_the_composition_root_registers_the_source_once():
    import portal.app  # noqa: F401  (the root registers it at import)

    close_sql.register_source(statement_charges.NAME, statement_charges.REJECTED_FREIGHT_SOURCE,
                              statement_charges.PARAMS)  # again: nothing changes
    names = [step[0] for step in close_sql.STEPS]
    assert names.count(statement_charges.NAME) == 1 and names[-1] == "carries"
    assert close.step_count() == len(close_sql.STEPS) + 1


async def test_r13_freight_of_goods_sent_back_is_charged_on_the_month_statement_once():
    net = await _world()
    sent = await _rejected_back(net, "clerk", "manager", "return", date(2026, 12, 10))
    waiting = await _rejected_back(net, "zj.clerk", "zj.manager", "return", None)
    await _rejected_back(net, "ah.clerk", "ah.manager", "scrap", None)  # never charged

    await _close(net, DECEMBER, datetime(2027, 1, 5, 10, tzinfo=CHINA))
    office = net["office"]["id"]
    assert await _charges() == [{"dealer": office, "period": DECEMBER, "kind": "charge",
                                 "source_id": str(sent), "amount_fen": -FREIGHT}]
    statement = (await raw_fetch("SELECT id, total_fen FROM statement WHERE dealer = $1 "
                                 "AND period = $2", office, DECEMBER))[0]
    lines = await queries.statement_lines(statement["id"])
    assert statement["total_fen"] == sum(l["amount_fen"] for l in lines)
    charge = next(l for l in lines if l["source_type"] == "goods_rejected")
    assert charge["link"] == f"/batches/{sent}"  # the drill-down reaches the batch

    # the close is idempotent: running it again charges nothing more and keeps the total
    await _close(net, DECEMBER, datetime(2027, 1, 6, 10, tzinfo=CHINA))
    assert len(await _charges()) == 1
    again = await raw_fetch("SELECT total_fen FROM statement WHERE id = $1", statement["id"])
    assert again[0]["total_fen"] == statement["total_fen"]

    # the other office's goods, sent back in January, are January's charge, not December's
    with clock.frozen(datetime(2027, 1, 8, 10, tzinfo=CHINA)):
        await rejected.send_back(actor=net["actors"]["logistics"], batch_id=waiting,
                                 data=RejectedSentIn("德邦", "DB-late", date(2027, 1, 8)))
    await _close(net, DECEMBER, datetime(2027, 1, 9, 10, tzinfo=CHINA))
    assert len(await _charges()) == 1
    await _close(net, JANUARY, datetime(2027, 2, 2, 10, tzinfo=CHINA))
    charges = await _charges()
    assert [(c["dealer"], c["period"], c["amount_fen"]) for c in charges[1:]] == [
        (net["zj"]["id"], JANUARY, -FREIGHT)]
