"""R26 period close: one statement per dealer with its rebate, the repair fees of its points,
credits (R13), freight, approved adjustments and charges, and negative balances carried;
set-based (query count independent of the number of dealers); idempotent; one transaction
(a failure leaves nothing); progress visible while it runs; approved statements are frozen and
later items go to the next period."""
import asyncio
from datetime import date, datetime

import asyncpg
import pytest

from dealers.tables import ReturnBatch
from portal import clock
from portal.db import count_queries, raw_fetch
from portal.errors import Conflict, Forbidden, RuleViolation
from settlements import adjustments, close, service
from settlements import statements as review
from settlements.tables import PeriodClose, Statement, StatementLine
from tests.helpers import make_org
from tests.settlements.close_factory import (
    CHINA,
    DECEMBER,
    DECEMBER_10,
    JANUARY_5,
    NOVEMBER,
    decided_batch,
    lines_of,
    settlement_network,
    statement_of,
)


async def _dsn() -> str:
    return Statement._meta.db.config["dsn"]


async def test_r26_close_builds_one_statement_per_dealer_and_is_idempotent():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=12_345_678)
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["sibling"]["id"],
                                amount_fen=5_000_000)
    with clock.frozen(DECEMBER_10):
        assert await close.close_period(actor=finance, period=NOVEMBER) == 2
        before = [dict(r) for r in await StatementLine.select().order_by(StatementLine.id)]
        assert await close.close_period(actor=finance, period=NOVEMBER) == 2
        assert [dict(r) for r in await StatementLine.select().order_by(StatementLine.id)] == before
    statements = {r["dealer"]: r for r in await Statement.select()}
    office = statements[net["office"]["id"]]
    lines = {l["kind"]: l for l in await review.statement_lines(office["id"])}
    assert {k: l["amount_fen"] for k, l in lines.items()} == {"rebate": 123_457,
                                                              "repair_fee": 30000}
    # R24: the fee line names the point it pays for; the rebate line names no point
    assert lines["repair_fee"]["repair_point"] == net["point"]["id"]
    assert lines["rebate"]["repair_point"] is None
    assert office["total_fen"] == 153_457
    assert statements[net["sibling"]["id"]]["total_fen"] == 0  # below the 1 % tier


async def test_r26_close_refuses_other_roles_and_the_current_month():
    net = await settlement_network()
    with clock.frozen(DECEMBER_10):
        with pytest.raises(Forbidden):
            await close.close_period(actor=net["actors"]["cs"], period=NOVEMBER)
        with pytest.raises(RuleViolation):
            await close.close_period(actor=net["actors"]["finance"], period=DECEMBER)
        with pytest.raises(Forbidden):
            await close.start_close(actor=net["actors"]["admin"], period=NOVEMBER)
    assert await Statement.count() == 0 and await PeriodClose.count() == 0


async def test_r26_r13_close_bundles_credits_freight_adjustments_and_charges():
    net = await settlement_network()
    finance, finance2, admin = (net["actors"][k] for k in ("finance", "finance2", "admin"))
    office = net["office"]["id"]
    with clock.frozen(datetime(2026, 11, 1, 9, tzinfo=CHINA)):
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=3500,
                                       effective_from=date(2026, 11, 1), reason="list price")
    batch = await decided_batch(net, "RB-1", datetime(2026, 11, 20, 10, tzinfo=CHINA),
                                [(net["product"], None, 4), (None, net["parts"]["ELB-28"], 9)],
                                freight_fen=4500)
    with clock.frozen(datetime(2026, 11, 25, 10, tzinfo=CHINA)):
        fix = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                   kind="adjustment", amount_fen=1200,
                                                   reason="October freight missed")
        charge = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                      kind="charge", amount_fen=-800,
                                                      reason="Missing registration forms")
        refused = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                       kind="charge", amount_fen=-99_999,
                                                       reason="Typo")
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=fix, approve=True)
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=charge, approve=True)
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=refused, approve=False,
                                            reason="Typo")
    with clock.frozen(DECEMBER_10):
        assert await close.close_period(actor=finance, period=NOVEMBER) == 1
    got = {(l["kind"], l["source_type"], l["source_id"]): l["amount_fen"]
           for l in await lines_of(office, NOVEMBER)}
    assert got == {
        ("repair_fee", "repair_fee", f"{net['point']['id']}-2026-11"): 30000,
        # R13: 4 credited lamps at ¥35; the 9 spare parts are replaced old-for-new, not credited
        ("credit", "return_credit", str(batch)): 14000,
        ("freight", "return_batch", str(batch)): 4500,
        ("adjustment", "adjustment", str(fix)): 1200,
        ("charge", "adjustment", str(charge)): -800,
    }
    assert (await statement_of(office, NOVEMBER))["total_fen"] == 30000 + 14000 + 4500 + 400


async def test_r26_negative_total_is_carried_once_into_the_next_statement():
    net = await settlement_network(fee_fen=0)
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    office = net["office"]["id"]
    with clock.frozen(datetime(2026, 11, 20, 10, tzinfo=CHINA)):
        charge = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                      kind="charge", amount_fen=-50_000,
                                                      reason="Unreturned display stock")
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=charge, approve=True)
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        november = await statement_of(office, NOVEMBER)
        assert november["total_fen"] == -50_000
        assert await review.approve_statement(actor=finance2, statement_id=november["id"]) \
            == "approved"
    await service.record_volume(actor=finance, period=DECEMBER, dealer_id=office,
                                amount_fen=20_000_000)
    with clock.frozen(JANUARY_5):
        await close.close_period(actor=finance, period=DECEMBER)
        await close.close_period(actor=finance, period=DECEMBER)
    lines = {l["kind"]: l for l in await lines_of(office, DECEMBER)}
    assert lines["carry"]["source_type"] == "statement_carry"
    assert lines["carry"]["source_id"] == str(november["id"])
    assert lines["carry"]["amount_fen"] == -50_000
    assert (await statement_of(office, DECEMBER))["total_fen"] == 200_000 - 50_000
    carried = await raw_fetch("SELECT count(*) AS n FROM statement_line WHERE kind = 'carry'")
    assert carried[0]["n"] == 1


async def test_r26_nobody_approves_what_they_prepared_and_approved_is_frozen():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=20_000_000)
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        statement = (await Statement.select().first())["id"]
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement)
        with pytest.raises(RuleViolation):
            await review.approve_statement(actor=finance, statement_id=statement)
        await review.approve_statement(actor=net["actors"]["finance2"], statement_id=statement)
    conn = await asyncpg.connect(await _dsn())
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError, match="frozen"):
            await conn.execute("UPDATE statement_line SET amount_fen = 1")
    finally:
        await conn.close()


async def test_r26_items_after_approval_go_to_the_next_period():
    net = await settlement_network()
    finance, finance2, admin = (net["actors"][k] for k in ("finance", "finance2", "admin"))
    office = net["office"]["id"]
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        statement = (await Statement.select().first())["id"]
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement)
        await review.approve_statement(actor=finance2, statement_id=statement)
        # keyed in after November was approved, though they belong to November
        await service.set_credit_price(actor=admin, product_id=net["product"], price_fen=1000,
                                       effective_from=date(2026, 12, 10), reason="list")
        fix = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                   kind="adjustment", amount_fen=700,
                                                   reason="November correction",
                                                   corrects_statement_id=statement)
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=fix, approve=True)
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=office,
                                amount_fen=10_000_000)
    late = await decided_batch(net, "RB-LATE", datetime(2026, 11, 20, 10, tzinfo=CHINA),
                               [(net["product"], None, 2)], freight_fen=4500)
    with clock.frozen(DECEMBER_10):  # closing November again adds nothing to the frozen statement
        await close.close_period(actor=finance, period=NOVEMBER)
    assert [l["kind"] for l in await lines_of(office, NOVEMBER)] == ["repair_fee"]
    with clock.frozen(JANUARY_5):
        await close.close_period(actor=finance, period=DECEMBER)
    december = {l["kind"]: l for l in await lines_of(office, DECEMBER)}
    assert sorted(december) == ["adjustment", "credit", "freight", "rebate", "repair_fee"]
    assert december["rebate"]["amount_fen"] == 100_000  # November's volume at November's rate
    assert december["credit"]["source_id"] == str(late)
    assert december["credit"]["amount_fen"] == 2000  # first price, none on the decision day
    assert december["adjustment"]["amount_fen"] == 700
    assert await ReturnBatch.count() == 1


async def test_r26_second_close_by_another_user_makes_them_the_preparer():
    net = await settlement_network(fee_fen=0)
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    office = net["office"]["id"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=office,
                                amount_fen=10_000_000)
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        await close.close_period(actor=finance2, period=NOVEMBER)  # nothing new: unchanged
        assert (await statement_of(office, NOVEMBER))["prepared_by"] == finance.user_id
        await decided_batch(net, "RB-2", datetime(2026, 11, 20, 10, tzinfo=CHINA), [],
                            freight_fen=900)
        await close.close_period(actor=finance2, period=NOVEMBER)
        statement = await statement_of(office, NOVEMBER)
        assert statement["prepared_by"] == finance2.user_id
        with pytest.raises(RuleViolation):
            await review.approve_statement(actor=finance2, statement_id=statement["id"])
        assert await review.approve_statement(actor=finance, statement_id=statement["id"]) \
            == "approved"


async def _sources_for(net: dict, dealers: int, month: date) -> None:
    """`dealers` new offices each with a volume, a decided credited batch with freight, and an
    approved adjustment, in `month`."""
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    for n in range(dealers):
        dealer = (await make_org("office", parent=net["hq"], region="CN-ZJ"))["id"]
        await service.record_volume(actor=finance, period=month, dealer_id=dealer,
                                    amount_fen=10_000_000 + n)
        await decided_batch(net, f"RB-{month:%m}-{n}", datetime.combine(
            month.replace(day=15), datetime.min.time(), CHINA), [(net["product"], None, 3)],
            organisation=dealer, freight_fen=100 + n)
        with clock.frozen(datetime.combine(month.replace(day=16), datetime.min.time(), CHINA)):
            fix = await adjustments.request_adjustment(actor=finance, dealer_id=dealer,
                                                       kind="charge", amount_fen=-10,
                                                       reason="forms")
            await adjustments.decide_adjustment(actor=finance2, adjustment_id=fix, approve=True)


async def test_r26_close_issues_the_same_queries_for_2_and_20_dealers():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    with clock.frozen(datetime(2026, 8, 1, 9, tzinfo=CHINA)):
        await service.set_credit_price(actor=net["actors"]["admin"], product_id=net["product"],
                                       price_fen=500, effective_from=date(2026, 8, 1), reason="x")
    counts = []
    for month, n in ((date(2026, 8, 1), 2), (date(2026, 9, 1), 20)):
        await _sources_for(net, n, month)
        with clock.frozen(DECEMBER_10), count_queries() as counter:
            assert await close.close_period(actor=finance, period=month) == n
        counts.append(counter.count)
        kinds = await raw_fetch("SELECT l.kind, count(*) AS n FROM statement_line l JOIN "
                                "statement s ON s.id = l.statement WHERE s.period = $1 "
                                "GROUP BY l.kind", month)
        assert {k["kind"]: k["n"] for k in kinds} == {"rebate": n, "credit": n, "freight": n,
                                                      "charge": n}
    assert counts[0] == counts[1]


async def test_r26_start_close_shows_progress_while_the_data_is_not_yet_visible():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=10_000_000)
    # The close stops at its repair-fee line (step 2) until this connection lets it go.
    blocker = await asyncpg.connect(await _dsn())
    await blocker.execute("""
        CREATE FUNCTION test_hold() RETURNS trigger AS $$
        BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END; $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_hold AFTER INSERT ON statement_line FOR EACH ROW
            WHEN (NEW.kind = 'repair_fee') EXECUTE FUNCTION test_hold();""")
    await blocker.execute("SELECT pg_advisory_lock(4242)")
    try:
        with clock.frozen(DECEMBER_10):
            run = await close.start_close(actor=finance, period=NOVEMBER)
            with pytest.raises(Conflict):  # one run of a month at a time
                await close.start_close(actor=finance, period=NOVEMBER)
            progress = await close.close_progress(run)
            for _ in range(200):
                if progress["step"] >= 1:
                    break
                await asyncio.sleep(0.05)
                progress = await close.close_progress(run)
            assert progress["status"] == "running" and progress["steps"] == close.step_count()
            assert progress["step"] == 1  # rebates done, held inside the repair-fee step
            assert await Statement.count() == 0  # nothing visible before the commit
            await blocker.execute("SELECT pg_advisory_unlock(4242)")
            final = await close.wait_close(run)
    finally:
        await blocker.execute("DROP TRIGGER IF EXISTS test_hold ON statement_line; "
                              "DROP FUNCTION IF EXISTS test_hold();")
        await blocker.close()
    assert final["status"] == "done" and final["step"] == final["steps"] == close.step_count()
    assert final["statements"] == 1 and final["error"] == "" and final["finished_at"]
    assert [l["kind"] for l in await lines_of(net["office"]["id"], NOVEMBER)] == \
        ["rebate", "repair_fee"]


async def test_r26_a_failed_close_leaves_no_lines_and_says_why():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    await service.record_volume(actor=finance, period=NOVEMBER, dealer_id=net["office"]["id"],
                                amount_fen=10_000_000)
    await decided_batch(net, "RB-F", datetime(2026, 11, 20, 10, tzinfo=CHINA), [],
                        freight_fen=4500)
    conn = await asyncpg.connect(await _dsn())
    await conn.execute("""
        CREATE FUNCTION test_fail() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'freight ledger offline'; END; $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_fail BEFORE INSERT ON statement_line FOR EACH ROW
            WHEN (NEW.kind = 'freight') EXECUTE FUNCTION test_fail();""")
    try:
        with clock.frozen(DECEMBER_10):
            run = await close.start_close(actor=finance, period=NOVEMBER)
            final = await close.wait_close(run)
    finally:
        await conn.execute("DROP TRIGGER test_fail ON statement_line; DROP FUNCTION test_fail();")
        await conn.close()
    assert final["status"] == "failed" and "freight ledger offline" in final["error"]
    assert final["step"] == 3  # rebates, repair fees and credits had run: all rolled back
    assert await Statement.count() == 0 and await StatementLine.count() == 0
    with clock.frozen(DECEMBER_10):  # the month can be closed again
        again = await close.wait_close(await close.start_close(actor=finance, period=NOVEMBER))
    assert again["status"] == "done" and again["statements"] == 1


async def test_r26_an_interrupted_run_does_not_block_the_month_forever():
    net = await settlement_network()
    finance = net["actors"]["finance"]
    await raw_fetch("INSERT INTO period_close (period, status, started_by, started_at) VALUES "
                    "($1, 'running', $2, $3)", NOVEMBER, finance.user_id,
                    datetime(2026, 12, 10, 9, tzinfo=CHINA))
    with clock.frozen(DECEMBER_10):
        run = await close.start_close(actor=finance, period=NOVEMBER)
        assert (await close.wait_close(run))["status"] == "done"
    old = (await close.close_progress(1))
    assert old["status"] == "failed" and old["error"] == "Interrupted."
