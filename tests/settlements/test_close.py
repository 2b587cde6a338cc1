"""R26 period close: one statement per dealer with its rebate, the repair fees of its points and
freight; set-based (query count independent of the number of dealers); idempotent; approved
statements are frozen and later items go to the next period."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dealers.tables import ReturnBatch
from portal import clock
from portal.db import count_queries, raw_fetch
from portal.errors import RuleViolation
from settlements import rules, service
from settlements.tables import Statement, StatementLine
from spares import oversight
from tests.helpers import actor_of, make_org, make_user
from tests.spares.factory import network

CHINA = ZoneInfo("Asia/Shanghai")
DECEMBER = datetime(2026, 12, 10, 10, tzinfo=CHINA)
NOVEMBER = date(2026, 11, 1)


async def _setup():
    net = await network()
    finance2 = await actor_of(await make_user(net["hq"], ["hq_finance"], username="finance2"))
    admin = await actor_of(await make_user(net["hq"], ["hq_admin"], username="admin"))
    with clock.frozen(datetime(2026, 10, 5, 10, tzinfo=CHINA)):
        await service.set_rebate_policy(actor=admin, effective_from=date(2026, 11, 1), reason="2027",
                                        tiers=[rules.Tier(0, 0), rules.Tier(10_000_000, 100)])
        fee = await oversight.propose_fee(actor=net["actors"]["manager"],
                                          point_id=net["point"]["id"], amount_fen=30000, reason="")
        await oversight.decide_fee(actor=net["actors"]["cs"], fee_id=fee, approve=True)
    return net, finance2


async def test_r26_close_builds_one_statement_per_dealer_and_is_idempotent():
    net, finance2 = await _setup()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=12_345_678)
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["sibling"]["id"],
                                amount_fen=5_000_000)
    with clock.frozen(DECEMBER):
        assert await service.close_period(actor=finance, period=NOVEMBER) == 2
        before = [dict(r) for r in await StatementLine.select().order_by(StatementLine.id)]
        assert await service.close_period(actor=finance, period=NOVEMBER) == 2
        assert [dict(r) for r in await StatementLine.select().order_by(StatementLine.id)] == before
    statements = {r["dealer"]: r for r in await Statement.select()}
    office = statements[net["office"]["id"]]
    lines = {l["kind"]: l["amount_fen"] for l in await service.statement_lines(office["id"])}
    assert lines == {"rebate": 123_457, "repair_fee": 30000}  # 1 % of ¥123,456.78, half up
    assert office["total_fen"] == 153_457
    assert statements[net["sibling"]["id"]]["total_fen"] == 0  # below the 1 % tier


async def test_r26_nobody_approves_what_they_prepared_and_approved_is_frozen():
    net, finance2 = await _setup()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=20_000_000)
    with clock.frozen(DECEMBER):
        await service.close_period(actor=finance, period=NOVEMBER)
        statement = (await Statement.select().first())["id"]
        with pytest.raises(RuleViolation):
            await service.approve_statement(actor=finance, statement_id=statement)
        await service.approve_statement(actor=finance2, statement_id=statement)
    conn = await asyncpg.connect(Statement._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError, match="frozen"):
            await conn.execute("UPDATE statement_line SET amount_fen = 1")
    finally:
        await conn.close()


async def test_r26_items_after_approval_go_to_the_next_period():
    net, finance2 = await _setup()
    finance = net["actors"]["finance"]
    with clock.frozen(DECEMBER):
        await service.close_period(actor=finance, period=NOVEMBER)
        statement = (await Statement.select().first())["id"]
        await service.approve_statement(actor=finance2, statement_id=statement)
    # freight of a batch received in November, keyed in after November was approved
    await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, created_at, "
        "refused_reason, disposal_evidence, carrier, waybill, freight_fen, received_at, "
        "company_bears_freight) VALUES ('RB-LATE', $1, '2026-11-01', 'regular', 'received', $2, "
        "now(), '', '', 'x', 'y', 4500, '2026-11-20 02:00+00', true)",
        net["office"]["id"], net["users"]["clerk"]["id"])
    with clock.frozen(datetime(2027, 1, 5, 10, tzinfo=CHINA)):
        await service.close_period(actor=finance, period=date(2026, 12, 1))
    december = await Statement.select().where(Statement.period == date(2026, 12, 1)).first()
    kinds = sorted(l["kind"] for l in await service.statement_lines(december["id"]))
    assert kinds == ["freight", "repair_fee"]
    assert await ReturnBatch.count() == 1


async def test_r26_close_issues_the_same_queries_for_2_and_40_dealers():
    net, _ = await _setup()
    finance = net["actors"]["finance"]
    counts = []
    for month, n in ((date(2026, 10, 1), 2), (date(2026, 9, 1), 40)):
        for _ in range(n):
            dealer = await make_org("office", parent=net["hq"], region="CN-ZJ")
            await service.record_volume(actor=finance, period=month, dealer_id=dealer["id"],
                                        amount_fen=1_000_000)
        with clock.frozen(DECEMBER), count_queries() as counter:
            await service.close_period(actor=finance, period=month)
        counts.append(counter.count)
    assert counts[0] == counts[1]
