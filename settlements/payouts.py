"""R27: paying an approved statement exactly once, by Stripe Connect transfer to the dealer's
connected account or by a bank transfer recorded with its reference.

The order of events is what makes "exactly once" hold:
1. a `payout` row with its idempotency key is COMMITTED before Stripe is called; the partial
   unique index `payout_once` allows one live (pending or paid) payout per statement, so a second
   attempt is refused by the database whatever the code path;
2. Stripe answers: the payout is paid, the statement paid and the journal posted, in one
   transaction;
3. Stripe does not answer (timeout, 5xx, 409 lock): the payout stays `pending` ("pending
   reconciliation"), never `failed`, because the money may have moved. `reconcile_pending` looks
   the transfer up by its transfer group (the statement) and, if Stripe has none, sends the same
   request with the same key, which Stripe replays instead of paying again;
4. Stripe refuses (4xx: no such account, transfers not enabled): the payout is `failed`, the
   statement stays `approved` and can be paid again with a new key.
Webhooks confirm (`transfer.created`: reconciled) or undo (`transfer.reversed`: the statement is
approved again and the payout's journal entry reversed). What each outcome books is in
`payout_outcomes.py`.
"""
from __future__ import annotations

import re
import uuid

import asyncpg

from portal import audit, clock, connect, payments
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.settings import Settings
from settlements import journal, notices
from settlements import payout_outcomes as outcomes

ACCOUNT = re.compile(r"acct_[A-Za-z0-9]{1,35}")


def _finance(actor: Actor) -> None:
    if not actor.has("hq_finance"):
        raise Forbidden("Only HQ finance may do this.")


def transfer_group(statement_id: int) -> str:
    """Every transfer for a statement carries this group, so it can be found again (R27)."""
    return f"statement-{statement_id}"


# --- where a dealer is paid ---------------------------------------------------------------------

async def payout_account(dealer_id: int) -> dict | None:
    """The dealer's current payout account (the newest row; older rows are its history)."""
    rows = await raw_fetch("SELECT * FROM payout_account WHERE dealer = $1 ORDER BY id DESC "
                           "LIMIT 1", dealer_id)
    return rows[0] if rows else None


async def set_payout_account(*, actor: Actor, dealer_id: int, stripe_account: str = "",
                             bank_name: str = "", bank_account: str = "",
                             settings: Settings | None = None) -> int:
    """Finance records where a dealer is paid; a change is a new row (history) and audited.
    With `settings` (Stripe configured) the connected account is checked at Stripe first."""
    _finance(actor)
    stripe_account, bank_name, bank_account = (stripe_account.strip(), bank_name.strip(),
                                               bank_account.strip())
    errors = {}
    if stripe_account and not ACCOUNT.fullmatch(stripe_account):
        errors["stripe_account"] = "A Stripe connected account id looks like acct_1AbC..."
    if bool(bank_name) != bool(bank_account) or len(bank_name) > 80 or len(bank_account) > 40:
        errors["bank_account"] = "Enter both the bank's name and the account number."
    if not (stripe_account or bank_account) and not errors:
        errors["stripe_account"] = "Enter a Stripe connected account or a bank account."
    if errors:
        raise ValidationFailed(errors)
    if stripe_account and settings is not None and settings.stripe_secret_key:
        await _check_account(settings, stripe_account)
    return await _store_payout_account(actor, dealer_id, stripe_account, bank_name, bank_account)


@transactional
async def _store_payout_account(actor: Actor, dealer_id: int, stripe_account: str,
                                bank_name: str, bank_account: str) -> int:
    dealer = await raw_fetch("SELECT id, kind FROM organisation WHERE id = $1", dealer_id)
    if not dealer or dealer[0]["kind"] == "hq":
        raise NotFound("Not found.")
    before = await payout_account(dealer_id)
    row = (await raw_fetch(
        "INSERT INTO payout_account (dealer, stripe_account, bank_name, bank_account, "
        "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", dealer_id,
        stripe_account, bank_name, bank_account, actor.user_id, clock.now()))[0]
    keys = ("stripe_account", "bank_name", "bank_account")
    await audit.record(actor=actor, object_type="payout_account", object_id=dealer_id,
                       action="set", organisation_id=dealer_id,
                       before={k: before[k] for k in keys} if before else None,
                       after=dict(zip(keys, (stripe_account, bank_name, bank_account), strict=True)))
    return row["id"]


async def _check_account(settings: Settings, account_id: str) -> None:
    try:
        account = await connect.retrieve_account(settings, account_id=account_id)
    except connect.TransferRefused as exc:
        raise ValidationFailed({"stripe_account": "Stripe has no such connected account."}) from exc
    if (account.get("capabilities") or {}).get("transfers") != "active":
        raise ValidationFailed({"stripe_account": "This connected account cannot receive "
                                                  "transfers yet."})


# --- paying -------------------------------------------------------------------------------------

async def _payable_statement(statement_id: int) -> dict:
    """Lock the statement and check it may be paid now. Caller holds the transaction."""
    rows = await raw_fetch("SELECT * FROM statement WHERE id = $1 FOR UPDATE", statement_id)
    if not rows:
        raise NotFound("Not found.")
    statement = rows[0]
    if statement["status"] == "paid":
        raise Conflict("This statement has already been paid.")
    if statement["status"] != "approved":
        raise RuleViolation("Only an approved statement can be paid (R27).")
    if statement["total_fen"] <= 0:
        raise RuleViolation("Nothing to pay: the statement's total is not above zero.")
    live = await raw_fetch("SELECT status FROM payout WHERE statement = $1 "
                           "AND status IN ('pending', 'paid')", statement_id)
    if live:
        raise Conflict("This statement is already being paid; a payment pending "
                       "reconciliation is resolved by the next run.")
    return statement


async def _insert_payout(statement: dict, actor: Actor, **values) -> dict:
    now = clock.now()
    try:
        return (await raw_fetch(
            "INSERT INTO payout (statement, method, amount_fen, status, idempotency_key, "
            "destination, bank_reference, attempts, created_by, created_at, updated_at, "
            "reconciled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) "
            "RETURNING *", statement["id"], values["method"], statement["total_fen"],
            values["status"], f"payout-{statement['id']}-{uuid.uuid4().hex}",
            values["destination"], values.get("reference", ""), values.get("attempts", 0),
            actor.user_id, now, now if values["status"] == "paid" else None))[0]
    except asyncpg.exceptions.UniqueViolationError as exc:  # payout_once, bank_reference_once
        if "bank_reference" in str(exc):
            raise Conflict("This bank reference has already been recorded.") from exc
        raise Conflict("This statement is already being paid.") from exc


async def pay_statement(settings: Settings, *, actor: Actor, statement_id: int) -> dict:
    """R27: pay an approved statement by Connect transfer. Returns the payout's id and status:
    'paid', or 'pending' when Stripe's answer did not arrive (pending reconciliation)."""
    _finance(actor)
    if not settings.stripe_secret_key:
        raise payments.PaymentUnavailable("Stripe payouts are not configured; record a bank "
                                          "transfer instead.")
    payout = await _start_payout(actor, statement_id)
    # committed: from here on the key is on record, whatever happens to this process
    try:
        transfer = await _send(settings, payout)
    except connect.TransferOutcomeUnknown:
        return {"payout_id": payout["id"], "status": "pending"}
    except connect.TransferRefused as exc:
        await outcomes.fail(payout["id"], exc)
        raise
    await outcomes.settle(payout["id"], transfer, actor=actor)
    return {"payout_id": payout["id"], "status": "paid", "transfer": transfer["id"]}


@transactional
async def _start_payout(actor: Actor, statement_id: int) -> dict:
    statement = await _payable_statement(statement_id)
    account = await payout_account(statement["dealer"])
    if not account or not account["stripe_account"]:
        raise RuleViolation("This dealer has no Stripe connected account; set one, or "
                            "record a bank transfer.")
    payout = await _insert_payout(statement, actor, method="stripe", status="pending",
                                  destination=account["stripe_account"], attempts=1)
    await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                       action="payout_started", organisation_id=statement["dealer"],
                       after={"payout": payout["id"], "amount_fen": payout["amount_fen"],
                              "destination": payout["destination"]})
    return payout


async def _send(settings: Settings, payout: dict) -> dict:
    return await connect.transfer(
        settings, amount_fen=payout["amount_fen"], destination=payout["destination"],
        idempotency_key=payout["idempotency_key"], transfer_group=transfer_group(payout["statement"]),
        metadata={"payout_id": payout["id"], "statement_id": payout["statement"]})


@transactional
async def record_bank_payment(*, actor: Actor, statement_id: int, reference: str) -> int:
    """R27: finance records the bank transfer it made, with the bank's reference (unique): the
    statement is paid and the journal posted at once. Returns the payout id."""
    _finance(actor)
    reference = reference.strip()
    if not reference or len(reference) > 80:
        raise ValidationFailed({"reference": "Enter the bank reference."})
    statement = await _payable_statement(statement_id)
    if await raw_fetch("SELECT 1 FROM payout WHERE method = 'bank' AND bank_reference = $1 "
                       "AND status <> 'failed'", reference):
        raise Conflict("This bank reference has already been recorded.")
    account = await payout_account(statement["dealer"])
    payout = await _insert_payout(statement, actor, method="bank", status="paid",
                                  destination=account["bank_account"] if account else "",
                                  reference=reference)
    await raw_fetch("UPDATE statement SET status = 'paid' WHERE id = $1", statement_id)
    await journal.post_payout(payout_id=payout["id"], dealer_id=statement["dealer"],
                              period=statement["period"], method="bank",
                              amount_fen=payout["amount_fen"], actor=actor)
    await audit.record(actor=actor, object_type="statement", object_id=statement_id,
                       action="paid", organisation_id=statement["dealer"],
                       after={"payout": payout["id"], "bank_reference": reference,
                              "amount_fen": payout["amount_fen"]})
    await notices.tell_dealer(statement_id=statement_id, kind="statement_paid",
                              amount_fen=payout["amount_fen"])
    return payout["id"]


async def payouts_of(statement_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM payout WHERE statement = $1 ORDER BY id", statement_id)


# --- reconciliation -----------------------------------------------------------------------------

async def reconcile_pending(settings: Settings) -> dict:
    """R27: resolve every pending Stripe payout without paying twice: find its transfer by the
    statement's transfer group; if Stripe has none, send the same request with the same key
    (Stripe replays it if it did arrive). Stripe calls are one per payout by nature; pending
    payouts are the few whose answer was lost. Returns how many ended in each state."""
    result = {"paid": 0, "pending": 0, "failed": 0}
    if not settings.stripe_secret_key:
        return result
    for payout in await raw_fetch("SELECT * FROM payout WHERE status = 'pending' "
                                  "AND method = 'stripe' ORDER BY id"):
        result[await _reconcile_one(settings, payout)] += 1
    return result


async def _reconcile_one(settings: Settings, payout: dict) -> str:
    try:
        found = await connect.find_transfer(settings,
                                             transfer_group=transfer_group(payout["statement"]),
                                             metadata={"payout_id": payout["id"]})
    except (connect.TransferOutcomeUnknown, connect.TransferRefused):
        return "pending"  # we learnt nothing; a lookup failing proves nothing was paid
    if found is None:
        await raw_fetch("UPDATE payout SET attempts = attempts + 1, updated_at = $2 WHERE id = $1",
                        payout["id"], clock.now())
        try:
            found = await _send(settings, payout)
        except connect.TransferOutcomeUnknown:
            return "pending"
        except connect.TransferRefused as exc:  # Stripe has none and refuses to make it
            await outcomes.fail(payout["id"], exc)
            return "failed"
    if await outcomes.settle(payout["id"], found, actor=None):
        if found.get("reversed"):  # made and undone before we learnt of it
            await outcomes.reverse(payout["id"], found)
        return "paid"
    rows = await raw_fetch("SELECT status FROM payout WHERE id = $1", payout["id"])
    return "paid" if rows and rows[0]["status"] == "paid" else "pending"


# --- webhooks (registered in portal/app.py; run inside the event's transaction) -----------------

async def _payout_for(transfer: dict) -> dict | None:
    """Our payout for a Stripe transfer: by its id, or (not yet learnt) by the payout id we put
    in its metadata, checked against the transfer group."""
    payout_id = (transfer.get("metadata") or {}).get("payout_id", "")
    rows = await raw_fetch(
        "SELECT * FROM payout WHERE method = 'stripe' AND (stripe_transfer = $1 OR "
        "(stripe_transfer IS NULL AND id::text = $2 AND 'statement-' || statement::text = $3))",
        transfer["id"], payout_id, transfer.get("transfer_group") or "")
    return rows[0] if rows else None


async def on_transfer_created(transfer: dict, event: dict) -> None:
    """transfer.created: Stripe confirms the transfer; a pending payout is paid, a paid one is
    marked reconciled. A repeat (another delivery, another event id) changes nothing."""
    payout = await _payout_for(transfer)
    if payout is not None:
        await outcomes.settle(payout["id"], transfer, actor=None, confirmed=True)


async def on_transfer_reversed(transfer: dict, event: dict) -> None:
    """transfer.reversed: the money came back. When fully reversed the payout is 'reversed', the
    statement approved again (it can be paid anew) and the payout's journal entry reversed."""
    payout = await _payout_for(transfer)
    if payout is None:
        return
    if payout["status"] == "pending":
        await outcomes.settle(payout["id"], transfer, actor=None, confirmed=True)
    await outcomes.reverse(payout["id"], transfer)
