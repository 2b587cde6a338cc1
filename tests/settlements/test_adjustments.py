"""R26/R20 adjustments and charges: a reason always, a second finance user decides (the database
refuses the same person too), corrections point at the frozen statement they correct, and the
next close puts each approved one on the dealer's statement once."""
from datetime import datetime

import asyncpg
import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from settlements import adjustments, close
from settlements import statements as review
from settlements.tables import Adjustment
from tests.settlements.close_factory import (
    CHINA,
    DECEMBER,
    DECEMBER_10,
    JANUARY_5,
    NOVEMBER,
    lines_of,
    settlement_network,
    statement_of,
)

NOV_20 = datetime(2026, 11, 20, 10, tzinfo=CHINA)


async def test_r26_request_needs_a_reason_a_kind_and_a_sensible_amount():
    net = await settlement_network()
    finance, office = net["actors"]["finance"], net["office"]["id"]
    cases = [
        (dict(kind="adjustment", amount_fen=100, reason="  "), "reason"),
        (dict(kind="bonus", amount_fen=100, reason="x"), "kind"),
        (dict(kind="adjustment", amount_fen=0, reason="x"), "amount"),
        (dict(kind="charge", amount_fen=500, reason="x"), "amount"),  # a charge is negative
        (dict(kind="adjustment", amount_fen=None, reason="x"), "amount"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationFailed) as bad:
            await adjustments.request_adjustment(actor=finance, dealer_id=office, **fields)
        assert field in bad.value.errors, fields
    with pytest.raises(Forbidden):
        await adjustments.request_adjustment(actor=net["actors"]["cs"], dealer_id=office,
                                             kind="adjustment", amount_fen=100, reason="x")
    with pytest.raises(RuleViolation):  # a repair point has no statements of its own
        await adjustments.request_adjustment(actor=finance, dealer_id=net["point"]["id"],
                                             kind="adjustment", amount_fen=100, reason="x")
    with pytest.raises(NotFound):
        await adjustments.request_adjustment(actor=finance, dealer_id=9999,
                                             kind="adjustment", amount_fen=100, reason="x")
    assert await Adjustment.count() == 0


async def test_r26_a_second_finance_user_decides_and_the_database_agrees():
    net = await settlement_network()
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    adjustment = await adjustments.request_adjustment(
        actor=finance, dealer_id=net["office"]["id"], kind="charge", amount_fen=-2500,
        reason="Forms missing")
    with pytest.raises(RuleViolation):
        await adjustments.decide_adjustment(actor=finance, adjustment_id=adjustment, approve=True)
    with pytest.raises(Forbidden):
        await adjustments.decide_adjustment(actor=net["actors"]["cs"], adjustment_id=adjustment,
                                            approve=True)
    with pytest.raises(ValidationFailed):  # R20: a refusal keeps its reason
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=adjustment,
                                            approve=False)
    conn = await asyncpg.connect(Adjustment._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await conn.execute("UPDATE adjustment SET status = 'approved', decided_by = "
                               "requested_by WHERE id = $1", adjustment)
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await conn.execute("UPDATE adjustment SET reason = '' WHERE id = $1", adjustment)
    finally:
        await conn.close()
    await adjustments.decide_adjustment(actor=finance2, adjustment_id=adjustment, approve=True,
                                        reason="Confirmed with the office")
    with pytest.raises(Conflict):
        await adjustments.decide_adjustment(actor=net["actors"]["finance3"],
                                            adjustment_id=adjustment, approve=False, reason="no")
    row = await Adjustment.select().where(Adjustment.id == adjustment).first()
    assert (row["status"], row["decided_by"], row["decision_reason"]) == (
        "approved", finance2.user_id, "Confirmed with the office")
    audit = await raw_fetch("SELECT action, actor, reason FROM audit_entry WHERE "
                            "object_type = 'adjustment' ORDER BY id")
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("requested", finance.user_id), ("approved", finance2.user_id)]
    assert audit[0]["reason"] == "Forms missing"


async def test_r26_r20_a_correction_points_at_a_frozen_statement_of_the_dealer():
    net = await settlement_network()
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    office, sibling = net["office"]["id"], net["sibling"]["id"]
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
        november = await statement_of(office, NOVEMBER)
        with pytest.raises(RuleViolation):  # a draft is still open: close it again instead
            await adjustments.request_adjustment(
                actor=finance, dealer_id=office, kind="adjustment", amount_fen=-300,
                reason="fee too high", corrects_statement_id=november["id"])
        await review.review_fees(actor=net["actors"]["cs"], statement_id=november["id"])
        await review.approve_statement(actor=finance2, statement_id=november["id"])
        with pytest.raises(ValidationFailed):  # another dealer's statement
            await adjustments.request_adjustment(
                actor=finance, dealer_id=sibling, kind="adjustment", amount_fen=-300,
                reason="fee too high", corrects_statement_id=november["id"])
        fix = await adjustments.request_adjustment(
            actor=finance, dealer_id=office, kind="adjustment", amount_fen=-300,
            reason="fee too high", corrects_statement_id=november["id"])
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=fix, approve=True)
        await close.close_period(actor=finance, period=NOVEMBER)  # frozen: nothing added
    assert [l["kind"] for l in await lines_of(office, NOVEMBER)] == ["repair_fee"]
    with clock.frozen(JANUARY_5):
        await close.close_period(actor=finance, period=DECEMBER)
        await close.close_period(actor=finance, period=DECEMBER)
    [line] = [l for l in await lines_of(office, DECEMBER) if l["kind"] == "adjustment"]
    assert (line["source_type"], line["source_id"], line["amount_fen"]) == (
        "adjustment", str(fix), -300)
    assert "fee too high" in line["description"]
    listed = await adjustments.list_adjustments(dealer_id=office)
    assert [(a["id"], a["corrects"], a["in_statement"]) for a in listed] == [
        (fix, november["id"], (await statement_of(office, DECEMBER))["id"])]


async def test_r26_requested_refused_and_late_adjustments_stay_off_the_statement():
    net = await settlement_network(fee_fen=0)
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    office = net["office"]["id"]
    with clock.frozen(NOV_20):
        pending = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                       kind="charge", amount_fen=-100,
                                                       reason="pending")
        refused = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                       kind="charge", amount_fen=-200,
                                                       reason="refused")
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=refused,
                                            approve=False, reason="not owed")
        late = await adjustments.request_adjustment(actor=finance, dealer_id=office,
                                                    kind="adjustment", amount_fen=300,
                                                    reason="late")
    with clock.frozen(datetime(2026, 12, 2, 10, tzinfo=CHINA)):  # decided after November ended
        await adjustments.decide_adjustment(actor=finance2, adjustment_id=late, approve=True)
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=finance, period=NOVEMBER)
    assert await statement_of(office, NOVEMBER) is None  # nothing owed in November
    with clock.frozen(JANUARY_5):
        await close.close_period(actor=finance, period=DECEMBER)
    assert [(l["source_id"], l["amount_fen"]) for l in await lines_of(office, DECEMBER)] == [
        (str(late), 300)]
    waiting = {a["id"]: (a["status"], a["in_statement"])
               for a in await adjustments.list_adjustments(dealer_id=office)}
    assert waiting[pending] == ("requested", None) and waiting[refused] == ("refused", None)
