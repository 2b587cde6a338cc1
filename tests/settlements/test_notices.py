"""R26/R27: the dealer is told, in each user's language, when its statement is approved and
when it is paid — once, and only the dealer's own people (never a sibling's)."""
from portal import clock
from portal.db import raw_fetch
from settlements import payouts, statements
from tests.settlements.statement_factory import DECEMBER, closed_month


async def _notices(kind: str) -> list[dict]:
    return await raw_fetch("SELECT n.subject, n.link, u.username, o.id AS org FROM notification n "
                           "JOIN portal_user u ON u.id = n.\"user\" "
                           "JOIN organisation o ON o.id = u.organisation WHERE n.kind = $1 "
                           "ORDER BY u.username", kind)


async def test_r26_r27_dealer_told_of_approval_and_payment_once_in_its_language():
    net = await closed_month()
    await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE id = $1",
                    net["users"]["manager"]["id"])
    statement = net["office_statement"]
    total = (await raw_fetch("SELECT total_fen FROM statement WHERE id = $1",
                             statement))[0]["total_fen"]
    with clock.frozen(DECEMBER):
        await statements.review_fees(actor=net["actors"]["cs"], statement_id=statement)
        assert await _notices("statement_approved") == []  # nothing before the approval
        await statements.approve_statement(actor=net["actors"]["finance2"], statement_id=statement)
        approved = await _notices("statement_approved")
        await payouts.record_bank_payment(actor=net["actors"]["finance"], statement_id=statement,
                                          reference="ICBC-1")
        paid = await _notices("statement_paid")
    assert {n["org"] for n in approved} == {net["office"]["id"]}  # the office's people only
    assert len(approved) >= 2 and len(paid) == len(approved)
    amount = f"{total // 100:,}.{total % 100:02d}"
    by_user = {n["username"]: n for n in approved}
    assert by_user[net["users"]["manager"]["username"]]["subject"] == \
        f"Your statement for 2026-11 is approved: ¥{amount}"
    assert by_user[net["users"]["clerk"]["username"]]["subject"].startswith("您的 2026-11 对账单已审批")
    assert all(n["link"] == f"/statements/{statement}" for n in approved + paid)
    assert amount in paid[0]["subject"]
