"""R27: approved statements are paid exactly once, by Stripe Connect transfer (the official SDK
against a local fake Connect server answering with Stripe's published fixtures) or by a bank
transfer recorded with its reference. Timeouts, 5xx and 409 leave a payout pending, never
failed, and reconciliation resolves it without a second transfer; webhooks confirm and undo."""
import asyncio
import json
from datetime import date

import pytest

from portal import payments
from portal.connect import connect_client
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from settlements import journal, payouts
from tests.helpers import actor_of, make_user
from tests.settlements.fake_connect import FakeConnect
from tests.spares.factory import WEBHOOK_SECRET, network, stripe_settings

PERIOD = date(2026, 11, 1)
ACCOUNT = "acct_1JiangsuOffice"
TIMEOUT = 0.3  # the portal's Stripe timeout in these tests; the fake holds answers 0.8 s


@pytest.fixture(scope="module")
def fake():
    server = FakeConnect(timeout_sleep=0.8).start()
    yield server
    server.stop()


@pytest.fixture
def connect(fake):
    fake.reset()
    fake.add_account(ACCOUNT)
    return fake


def settings_for(fake: FakeConnect):
    return stripe_settings(fake.url, stripe_timeout_seconds=TIMEOUT)


async def approved_statement(net, *, dealer=None, total_lines=(150_000, 3_457), period=PERIOD,
                             stripe_account: str | None = ACCOUNT) -> int:
    """An approved statement with its lines, posted to the journal as approval does (R26), and
    the dealer's payout account."""
    dealer = dealer or net["office"]
    preparer = (await raw_fetch("SELECT id FROM portal_user WHERE username = 'cs'"))[0]["id"]
    statement = (await raw_fetch(
        "INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at) "
        "VALUES ($1, $2, 'draft', $3, $4, now()) RETURNING id", dealer["id"], period,
        sum(total_lines), preparer))[0]["id"]
    for n, amount in enumerate(total_lines):
        await raw_fetch("INSERT INTO statement_line (statement, kind, source_type, source_id, "
                        "amount_fen) VALUES ($1, $2, 'test', $3, $4)", statement,
                        "rebate" if n == 0 else "freight", f"{statement}-{n}", amount)
    await raw_fetch("UPDATE statement SET status = 'approved', approved_by = $2, "
                    "approved_at = now() WHERE id = $1", statement, net["users"]["finance"]["id"])
    await journal.post_statements([statement], actor=None)
    if stripe_account is not None:
        await payouts.set_payout_account(actor=net["actors"]["finance"], dealer_id=dealer["id"],
                                         stripe_account=stripe_account, bank_name="ICBC",
                                         bank_account="6222000011112222")
    return statement


async def state(statement_id: int) -> dict:
    s = (await raw_fetch("SELECT status, total_fen, dealer FROM statement WHERE id = $1",
                         statement_id))[0]
    rows = await payouts.payouts_of(statement_id)
    return {"statement": s["status"], "payouts": [p["status"] for p in rows],
            "balance": await journal.dealer_balance(s["dealer"]), "total": s["total_fen"],
            "rows": rows}


async def payout_entries() -> list[dict]:
    return await raw_fetch("SELECT * FROM journal_entry WHERE source_type = 'payout' ORDER BY id")


async def test_r27_pay_once_by_connect_transfer(connect):
    net = await network()
    statement = await approved_statement(net)
    assert (await state(statement))["balance"] == 153_457  # HQ owes the dealer the total
    result = await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "paid"
    [transfer] = connect.transfers_to(ACCOUNT)
    assert transfer["amount"] == 153_457 and transfer["currency"] == "cny"
    assert transfer["transfer_group"] == f"statement-{statement}"
    assert transfer["metadata"] == {"payout_id": str(result["payout_id"]),
                                    "statement_id": str(statement)}
    now = await state(statement)
    assert now["statement"] == "paid" and now["payouts"] == ["paid"] and now["balance"] == 0
    payout = now["rows"][0]
    assert payout["stripe_transfer"] == transfer["id"] == result["transfer"]
    assert payout["idempotency_key"] in connect._keys  # the stored key is the one sent
    assert payout["reconciled_at"] is None  # Stripe's webhook has not confirmed it yet
    assert len(await payout_entries()) == 1 and await journal.unbalanced_entries() == []


async def test_r27_paying_twice_is_refused(connect):
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    await payouts.pay_statement(settings, actor=net["actors"]["finance"], statement_id=statement)
    with pytest.raises(Conflict, match="already been paid"):
        await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                    statement_id=statement)
    with pytest.raises(Conflict):
        await payouts.record_bank_payment(actor=net["actors"]["finance"], statement_id=statement,
                                          reference="ICBC-2026-001")
    assert len(connect.transfers) == 1 and len(await payout_entries()) == 1


async def test_r27_paying_twice_is_impossible_in_the_database(connect):
    net = await network()
    statement = await approved_statement(net)
    await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                statement_id=statement)
    import asyncpg

    with pytest.raises(asyncpg.exceptions.UniqueViolationError, match="payout_once"):
        await raw_fetch("INSERT INTO payout (statement, method, amount_fen, status, "
                        "idempotency_key, created_by, created_at, updated_at) VALUES "
                        "($1, 'bank', 1, 'paid', 'x', $2, now(), now())", statement,
                        net["users"]["finance"]["id"])


async def test_r27_concurrent_pay_makes_one_transfer_and_a_clear_conflict(connect):
    net = await network()
    statement = await approved_statement(net)
    finance2 = await actor_of(await make_user(net["hq"], ["hq_finance"], username="finance2"))
    settings = settings_for(connect)
    results = await asyncio.gather(
        payouts.pay_statement(settings, actor=net["actors"]["finance"], statement_id=statement),
        payouts.pay_statement(settings, actor=finance2, statement_id=statement),
        return_exceptions=True)
    paid = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(paid) == 1 and paid[0]["status"] == "paid"
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    assert len(connect.transfers) == 1 and (await state(statement))["payouts"] == ["paid"]


async def test_r27_timeout_after_transfer_created_is_pending_then_reconciled_once(connect):
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    connect.fail("timeout", times=3)  # the first try and the SDK's two retries all time out
    result = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "pending"
    now = await state(statement)
    assert now["payouts"] == ["pending"] and now["statement"] == "approved"  # never 'failed'
    assert len(connect.transfers) == 1  # Stripe did make it: only the answer was lost
    assert await payout_entries() == []  # nothing booked on an unknown outcome
    with pytest.raises(Conflict, match="pending reconciliation"):
        await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                    statement_id=statement)
    assert await payouts.reconcile_pending(settings) == {"paid": 1, "pending": 0, "failed": 0}
    assert await payouts.reconcile_pending(settings) == {"paid": 0, "pending": 0, "failed": 0}
    now = await state(statement)
    assert now["payouts"] == ["paid"] and now["statement"] == "paid" and now["balance"] == 0
    assert now["rows"][0]["stripe_transfer"] == next(iter(connect.transfers))
    assert len(connect.transfers) == 1 and len(await payout_entries()) == 1


async def test_r27_500_before_creating_is_pending_and_reconcile_creates_it_once(connect):
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    connect.fail("500_before", times=3)
    result = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "pending" and connect.transfers == {}
    assert (await state(statement))["payouts"] == ["pending"]
    assert (await payouts.reconcile_pending(settings))["paid"] == 1
    assert len(connect.transfers) == 1
    payout = (await state(statement))["rows"][0]
    assert payout["status"] == "paid" and payout["attempts"] == 2
    assert list(connect._keys) == [payout["idempotency_key"]]  # the same key, sent again


async def test_r27_500_after_creating_is_found_by_transfer_group_not_paid_again(connect):
    """Stripe stores a 500 under the key: sending again replays the 500, so reconciliation
    must find the transfer by its group (the statement)."""
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    connect.fail("500_after", times=1)
    result = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "pending" and len(connect.transfers) == 1
    assert (await payouts.reconcile_pending(settings))["paid"] == 1
    assert len(connect.transfers) == 1 and (await state(statement))["statement"] == "paid"
    assert ("GET", "/v1/transfers") in connect.requests


async def test_r27_409_lock_is_pending_then_resolved(connect):
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    connect.fail("409", times=3)
    result = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "pending" and connect.transfers == {}
    assert (await payouts.reconcile_pending(settings))["paid"] == 1
    assert len(connect.transfers) == 1 and (await state(statement))["payouts"] == ["paid"]


async def test_r27_one_409_is_retried_by_the_sdk_with_the_same_key(connect):
    net = await network()
    statement = await approved_statement(net)
    connect.fail("409", times=1)
    result = await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                         statement_id=statement)
    assert result["status"] == "paid" and len(connect.transfers) == 1
    assert connect.requests.count(("POST", "/v1/transfers")) == 2


async def test_r27_invalid_destination_fails_and_can_be_paid_again(connect):
    net = await network()
    statement = await approved_statement(net, stripe_account="acct_1NotConnected")
    settings = settings_for(connect)
    with pytest.raises(RuleViolation, match="refused"):
        await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                    statement_id=statement)
    now = await state(statement)
    assert now["payouts"] == ["failed"] and now["statement"] == "approved"
    assert "No such destination" in now["rows"][0]["failure"]
    assert await payout_entries() == [] and now["balance"] == 153_457
    await payouts.set_payout_account(actor=net["actors"]["finance"], dealer_id=net["office"]["id"],
                                     stripe_account=ACCOUNT)
    assert (await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                        statement_id=statement))["status"] == "paid"
    now = await state(statement)
    assert now["payouts"] == ["failed", "paid"] and len(connect.transfers) == 1
    assert now["rows"][0]["idempotency_key"] != now["rows"][1]["idempotency_key"]


async def _pending(connect, net) -> tuple[int, dict]:
    statement = await approved_statement(net)
    connect.fail("timeout", times=3)
    await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                statement_id=statement)
    [transfer] = connect.transfers.values()
    return statement, transfer


async def test_r27_duplicate_webhook_delivery_has_one_effect(connect):
    net = await network()
    statement, transfer = await _pending(connect, net)
    settings = settings_for(connect)
    event = connect.event("transfer.created", transfer)
    payload, signature = connect.signed(event, WEBHOOK_SECRET)
    assert await payments.handle_webhook(settings, payload=payload,
                                         signature=signature) == "processed"
    assert await payments.handle_webhook(settings, payload=payload,
                                         signature=signature) == "duplicate"
    # Stripe may also send another event about the same transfer: still one effect
    again = connect.signed(connect.event("transfer.created", transfer), WEBHOOK_SECRET)
    assert await payments.handle_webhook(settings, payload=again[0],
                                         signature=again[1]) == "processed"
    now = await state(statement)
    assert now["payouts"] == ["paid"] and now["statement"] == "paid"
    assert now["rows"][0]["reconciled_at"] is not None  # Stripe confirmed it
    assert len(await payout_entries()) == 1 and now["balance"] == 0
    assert (await payouts.reconcile_pending(settings))["paid"] == 0
    assert len(connect.transfers) == 1


@pytest.mark.parametrize("forgery", ["wrong-secret", "tampered", "stale"])
async def test_r27_forged_transfer_webhook_is_refused(connect, forgery):
    net = await network()
    statement, transfer = await _pending(connect, net)
    event = connect.event("transfer.created", transfer)
    payload, signature = connect.signed(event, "whsec_attacker" if forgery == "wrong-secret"
                                        else WEBHOOK_SECRET,
                                        timestamp=1_000_000 if forgery == "stale" else None)
    if forgery == "tampered":
        payload = payload.replace(b"statement-", b"statement-9")
    with pytest.raises(payments.SignatureRejected):
        await payments.handle_webhook(settings_for(connect), payload=payload,
                                      signature=signature)
    assert (await state(statement))["payouts"] == ["pending"]
    assert await raw_fetch("SELECT 1 FROM stripe_event") == []


async def test_r27_transfer_reversed_reopens_statement_and_reverses_journal(connect):
    net = await network()
    statement = await approved_statement(net)
    settings = settings_for(connect)
    paid = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                       statement_id=statement)
    sdk = connect_client(settings)
    sdk.v1.transfers.reversals.create(paid["transfer"], options={"idempotency_key": "rev-1"})
    reversed_ = sdk.v1.transfers.retrieve(paid["transfer"]).to_dict()
    assert reversed_["reversed"] and reversed_["amount_reversed"] == 153_457
    for _ in range(2):  # two events (Stripe may send more than one): one reversal
        payload, signature = connect.signed(connect.event("transfer.reversed", reversed_),
                                            WEBHOOK_SECRET)
        await payments.handle_webhook(settings, payload=payload, signature=signature)
    now = await state(statement)
    assert now["payouts"] == ["reversed"] and now["statement"] == "approved"
    entries = await payout_entries()
    assert len(entries) == 2 and entries[1]["reverses"] == entries[0]["id"]
    assert await journal.unbalanced_entries() == [] and now["balance"] == 153_457
    # the money came back: the statement can be paid again, once
    again = await payouts.pay_statement(settings, actor=net["actors"]["finance"],
                                        statement_id=statement)
    assert again["status"] == "paid" and (await state(statement))["balance"] == 0
    assert len(connect.transfers) == 2


async def test_r27_bank_payment_needs_a_unique_reference(connect):
    net = await network()
    first = await approved_statement(net, stripe_account=None)
    second = await approved_statement(net, dealer=net["sibling"], stripe_account=None)
    finance = net["actors"]["finance"]
    with pytest.raises(ValidationFailed):
        await payouts.record_bank_payment(actor=finance, statement_id=first, reference="  ")
    with pytest.raises(Forbidden):
        await payouts.record_bank_payment(actor=net["actors"]["cs"], statement_id=first,
                                          reference="ICBC-001")
    await payouts.record_bank_payment(actor=finance, statement_id=first, reference="ICBC-001")
    with pytest.raises(Conflict, match="bank reference"):
        await payouts.record_bank_payment(actor=finance, statement_id=second,
                                          reference=" ICBC-001 ")
    assert (await state(second))["statement"] == "approved"
    paid = await state(first)
    assert paid["statement"] == "paid" and paid["rows"][0]["reconciled_at"] is not None
    assert paid["rows"][0]["method"] == "bank" and paid["balance"] == 0
    postings = await raw_fetch("SELECT account, amount_fen FROM journal_posting p JOIN "
                               "journal_entry e ON e.id = p.entry WHERE e.source_type = 'payout' "
                               "ORDER BY account")
    assert postings == [{"account": "cash_bank", "amount_fen": -153_457},
                        {"account": "dealer_payable", "amount_fen": 153_457}]


async def test_r27_only_approved_statements_with_something_to_pay(connect):
    net = await network()
    statement = await approved_statement(net)
    await raw_fetch("UPDATE statement SET status = 'second_approval' WHERE id = $1", statement)
    with pytest.raises(RuleViolation, match="approved"):
        await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                    statement_id=statement)
    carry = await approved_statement(net, dealer=net["sibling"], total_lines=(-500,))
    with pytest.raises(RuleViolation, match="Nothing to pay"):
        await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                    statement_id=carry)
    with pytest.raises(Forbidden):
        await payouts.pay_statement(settings_for(connect), actor=net["actors"]["cs"],
                                    statement_id=carry)
    assert connect.transfers == {} and await raw_fetch("SELECT 1 FROM payout") == []


async def test_r27_payouts_never_exceed_the_approved_total(connect):
    net = await network()
    settings = settings_for(connect)
    finance = net["actors"]["finance"]
    a = await approved_statement(net)
    b = await approved_statement(net, dealer=net["sibling"], total_lines=(99_999,))
    connect.fail("timeout", times=3)
    await payouts.pay_statement(settings, actor=finance, statement_id=a)
    for _ in range(3):  # reconciliation runs again and again
        await payouts.reconcile_pending(settings)
    with pytest.raises(Conflict):
        await payouts.pay_statement(settings, actor=finance, statement_id=a)
    await payouts.record_bank_payment(actor=finance, statement_id=b, reference="ICBC-9")
    rows = await raw_fetch(
        "SELECT s.id, s.total_fen, coalesce(sum(p.amount_fen) FILTER (WHERE p.status = 'paid'), 0)"
        " AS paid FROM statement s LEFT JOIN payout p ON p.statement = s.id GROUP BY s.id")
    assert {r["id"]: (r["paid"], r["total_fen"]) for r in rows} == {a: (153_457, 153_457),
                                                                     b: (99_999, 99_999)}
    assert sum(t["amount"] for t in connect.transfers.values()) == 153_457


async def test_r27_set_payout_account_validated_with_history(connect):
    net = await network()
    finance, dealer = net["actors"]["finance"], net["office"]["id"]
    for bad in ({"stripe_account": "acct_"}, {"stripe_account": "ba_123"}, {},
                {"bank_name": "ICBC"}):
        with pytest.raises(ValidationFailed):
            await payouts.set_payout_account(actor=finance, dealer_id=dealer, **bad)
    with pytest.raises(Forbidden):
        await payouts.set_payout_account(actor=net["actors"]["manager"], dealer_id=dealer,
                                         stripe_account=ACCOUNT)
    await payouts.set_payout_account(actor=finance, dealer_id=dealer, stripe_account="acct_1Old")
    await payouts.set_payout_account(actor=finance, dealer_id=dealer, stripe_account=ACCOUNT)
    assert (await payouts.payout_account(dealer))["stripe_account"] == ACCOUNT
    history = await raw_fetch("SELECT stripe_account FROM payout_account WHERE dealer = $1 "
                              "ORDER BY id", dealer)
    assert [h["stripe_account"] for h in history] == ["acct_1Old", ACCOUNT]
    audit = await raw_fetch("SELECT from_state, to_state FROM audit_entry WHERE "
                            "object_type = 'payout_account' ORDER BY id")
    assert json.loads(audit[1]["from_state"])["stripe_account"] == "acct_1Old"


async def test_r27_the_periodic_jobs_reconcile_pending_payouts(connect):
    from portal.app import run_jobs_once

    net = await network()
    statement, _ = await _pending(connect, net)
    await run_jobs_once(settings_for(connect))
    assert (await state(statement))["payouts"] == ["paid"] and len(connect.transfers) == 1


async def test_r27_transfer_webhooks_over_http_to_the_live_portal(connect):
    """The fake POSTs signed events to the running portal's /webhooks/stripe, as Stripe does."""
    from tests.browser.live import live_portal

    net = await network()
    statement, transfer = await _pending(connect, net)
    async with live_portal(stripe_secret_key="sk_test_portal", stripe_api_base=connect.url,
                           stripe_webhook_secret=WEBHOOK_SECRET) as base:
        url = f"{base}/webhooks/stripe"
        event = connect.event("transfer.created", transfer)
        assert await asyncio.to_thread(connect.deliver, url, "whsec_attacker", event) == 400
        assert (await state(statement))["payouts"] == ["pending"]
        assert await asyncio.to_thread(connect.deliver, url, WEBHOOK_SECRET, event) == 200
        assert await asyncio.to_thread(connect.deliver, url, WEBHOOK_SECRET, event) == 200
    now = await state(statement)
    assert now["payouts"] == ["paid"] and now["rows"][0]["reconciled_at"] is not None
    assert len(await payout_entries()) == 1


async def test_r27_payout_and_its_key_are_committed_before_stripe_is_called(connect):
    """Seen from another connection while Stripe is being called: the row is already there."""
    import os

    import asyncpg

    net = await network()
    statement = await approved_statement(net)
    seen: list = []

    async def look(key: str) -> None:
        conn = await asyncpg.connect(os.environ["PORTAL_DATABASE_URL"])
        try:
            seen.append(await conn.fetchval("SELECT status FROM payout WHERE idempotency_key = $1",
                                            key))
        finally:
            await conn.close()

    connect.on_request = lambda method, path, form, key: (
        asyncio.run(look(key)) if method == "POST" else None)
    await payouts.pay_statement(settings_for(connect), actor=net["actors"]["finance"],
                                statement_id=statement)
    assert seen == ["pending"]


async def test_r27_payout_account_checked_at_stripe_when_configured(connect):
    net = await network()
    finance, dealer = net["actors"]["finance"], net["office"]["id"]
    settings = settings_for(connect)
    connect.add_account("acct_1Restricted", transfers="inactive")
    with pytest.raises(ValidationFailed) as unknown:
        await payouts.set_payout_account(actor=finance, dealer_id=dealer, settings=settings,
                                         stripe_account="acct_1Unknown")
    assert "no such" in unknown.value.errors["stripe_account"]
    with pytest.raises(ValidationFailed) as restricted:
        await payouts.set_payout_account(actor=finance, dealer_id=dealer, settings=settings,
                                         stripe_account="acct_1Restricted")
    assert "cannot receive" in restricted.value.errors["stripe_account"]
    await payouts.set_payout_account(actor=finance, dealer_id=dealer, settings=settings,
                                     stripe_account=ACCOUNT)
    assert (await payouts.payout_account(dealer))["stripe_account"] == ACCOUNT
