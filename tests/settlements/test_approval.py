"""R26 review and approval: CS reviews repair-fee lines before finance approves; nobody approves
what they prepared; above the HQ-set amount a second, different finance user approves; the
final approval freezes the statement and posts it to the journal in the same transaction; two
approvers at once: one wins, the other is told."""
import asyncio
from datetime import date

import pytest

from portal import clock, policy
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, RuleViolation
from settlements import close, journal, service
from settlements import statements as review
from tests.settlements.close_factory import (
    DECEMBER_10,
    NOVEMBER,
    OCTOBER_5,
    settlement_network,
    statement_of,
)


async def _closed(volume_fen: int = 20_000_000, fee_fen: int = 30000) -> tuple[dict, dict]:
    net = await settlement_network(fee_fen=fee_fen)
    await service.record_volume(actor=net["actors"]["finance"], period=NOVEMBER,
                                dealer_id=net["office"]["id"], amount_fen=volume_fen)
    with clock.frozen(DECEMBER_10):
        await close.close_period(actor=net["actors"]["finance"], period=NOVEMBER)
    return net, await statement_of(net["office"]["id"], NOVEMBER)


async def _entries(statement_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM journal_entry WHERE source_type = 'statement' "
                           "AND source_id = $1", str(statement_id))


async def test_r26_repair_fees_are_reviewed_by_cs_before_approval():
    net, statement = await _closed()
    finance2, cs = net["actors"]["finance2"], net["actors"]["cs"]
    with clock.frozen(DECEMBER_10):
        with pytest.raises(RuleViolation, match="review the repair fees"):
            await review.approve_statement(actor=finance2, statement_id=statement["id"])
        with pytest.raises(Forbidden):
            await review.review_fees(actor=finance2, statement_id=statement["id"])
        await review.review_fees(actor=cs, statement_id=statement["id"])
        with pytest.raises(Conflict):
            await review.review_fees(actor=cs, statement_id=statement["id"])
        assert await review.approve_statement(actor=finance2, statement_id=statement["id"]) \
            == "approved"
    after = await statement_of(net["office"]["id"], NOVEMBER)
    assert after["fees_reviewed_by"] == cs.user_id and after["approved_by"] == finance2.user_id
    actions = [r["action"] for r in await raw_fetch(
        "SELECT action FROM audit_entry WHERE object_type = 'statement' ORDER BY id")]
    assert actions == ["fees_reviewed", "approved"]


async def test_r26_a_statement_without_repair_fees_needs_no_review():
    net, statement = await _closed(fee_fen=0)
    with clock.frozen(DECEMBER_10):
        with pytest.raises(RuleViolation):
            await review.review_fees(actor=net["actors"]["cs"], statement_id=statement["id"])
        assert await review.approve_statement(actor=net["actors"]["finance2"],
                                              statement_id=statement["id"]) == "approved"


async def test_r26_preparer_and_other_roles_cannot_approve():
    net, statement = await _closed()
    with clock.frozen(DECEMBER_10):
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement["id"])
        with pytest.raises(RuleViolation, match="prepared"):
            await review.approve_statement(actor=net["actors"]["finance"],
                                           statement_id=statement["id"])
        for role in ("cs", "admin", "auditor"):
            with pytest.raises(Forbidden):
                await review.approve_statement(actor=net["actors"][role],
                                               statement_id=statement["id"])
    assert (await statement_of(net["office"]["id"], NOVEMBER))["status"] == "draft"
    assert await _entries(statement["id"]) == []


async def test_r26_final_approval_posts_a_balanced_journal_entry_once():
    net, statement = await _closed()
    with clock.frozen(DECEMBER_10):
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement["id"])
        await review.approve_statement(actor=net["actors"]["finance2"],
                                       statement_id=statement["id"])
        with pytest.raises(Conflict, match="already approved"):
            await review.approve_statement(actor=net["actors"]["finance3"],
                                           statement_id=statement["id"])
    [entry] = await _entries(statement["id"])
    postings = {p["account"]: p["amount_fen"] for p in await raw_fetch(
        "SELECT account, amount_fen FROM journal_posting WHERE entry = $1", entry["id"])}
    assert postings == {"rebate_expense": 200_000, "repair_fee_expense": 30000,
                        "dealer_payable": -230_000}
    assert await journal.dealer_balance(net["office"]["id"]) == 230_000
    assert await journal.unreconciled_statements(NOVEMBER) == []


async def test_r26_above_the_hq_amount_a_second_finance_user_approves():
    # ¥20,000,000 of purchases at 1 % = ¥200,000, above the default ¥100,000
    net, statement = await _closed(volume_fen=2_000_000_000)
    finance, finance2, finance3 = (net["actors"][k] for k in ("finance", "finance2", "finance3"))
    sid = statement["id"]
    with clock.frozen(DECEMBER_10):
        await review.review_fees(actor=net["actors"]["cs"], statement_id=sid)
        with pytest.raises(Conflict, match="first approval"):
            await review.second_approve(actor=finance3, statement_id=sid)
        assert await review.approve_statement(actor=finance2, statement_id=sid) \
            == "second_approval"
        assert await _entries(sid) == []  # not approved yet: nothing posted
        with pytest.raises(Conflict, match="second approval"):
            await review.approve_statement(actor=finance3, statement_id=sid)
        for same in (finance2, finance):  # the first approver, the preparer
            with pytest.raises(RuleViolation):
                await review.second_approve(actor=same, statement_id=sid)
        await review.second_approve(actor=finance3, statement_id=sid)
        with pytest.raises(Conflict):
            await review.second_approve(actor=finance3, statement_id=sid)
    after = await statement_of(net["office"]["id"], NOVEMBER)
    assert (after["status"], after["approved_by"], after["second_approved_by"]) == (
        "approved", finance2.user_id, finance3.user_id)
    assert len(await _entries(sid)) == 1
    assert await journal.dealer_balance(net["office"]["id"]) == 20_030_000


async def test_r26_the_second_approval_amount_is_hq_data():
    net, statement = await _closed(volume_fen=20_000_000)  # ¥2,300 in all
    with clock.frozen(OCTOBER_5):
        await policy.change(actor=net["actors"]["admin"], key="second_approval_above_fen",
                            value=200_000, effective_from=date(2026, 12, 1), reason="tighter")
    with clock.frozen(DECEMBER_10):
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement["id"])
        assert await review.approve_statement(actor=net["actors"]["finance2"],
                                              statement_id=statement["id"]) == "second_approval"


async def test_r26_two_approvers_at_once_one_wins_the_other_gets_a_conflict():
    net, statement = await _closed()
    with clock.frozen(DECEMBER_10):
        await review.review_fees(actor=net["actors"]["cs"], statement_id=statement["id"])
        results = await asyncio.gather(
            review.approve_statement(actor=net["actors"]["finance2"], statement_id=statement["id"]),
            review.approve_statement(actor=net["actors"]["finance3"], statement_id=statement["id"]),
            return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "str"]
    assert "approved" in results
    assert len(await _entries(statement["id"])) == 1


async def test_r26_approval_waits_for_a_running_close_of_the_month():
    """The close locks the month's drafts: an approval meanwhile waits, then sees every line."""
    net, statement = await _closed(fee_fen=0)
    finance, finance2 = net["actors"]["finance"], net["actors"]["finance2"]
    await service.record_volume(actor=finance, period=date(2026, 10, 1),
                                dealer_id=net["office"]["id"], amount_fen=10_000_000)
    with clock.frozen(DECEMBER_10):
        both = await asyncio.gather(close.close_period(actor=finance, period=NOVEMBER),
                                    review.approve_statement(actor=finance2,
                                                             statement_id=statement["id"]),
                                    return_exceptions=True)
    after = await statement_of(net["office"]["id"], NOVEMBER)
    posted = await raw_fetch(
        "SELECT -sum(p.amount_fen) AS payable FROM journal_posting p JOIN journal_entry e ON "
        "e.id = p.entry WHERE e.source_id = $1 AND p.account = 'dealer_payable'",
        str(statement["id"]))
    lines = await raw_fetch("SELECT sum(amount_fen) AS s FROM statement_line WHERE statement = $1",
                            statement["id"])
    # whichever came first, the approved total is its lines and the journal agrees
    assert after["total_fen"] == lines[0]["s"] == posted[0]["payable"], both
    assert await journal.unreconciled_statements(NOVEMBER) == []
