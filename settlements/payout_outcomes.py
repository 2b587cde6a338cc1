"""What Stripe's answer does to a payout, its statement and the journal (R27), each once: the
payout row is locked and its status checked, so a repeat (the direct answer and a webhook, two
deliveries, a reconciliation run) changes nothing. Each works inside a caller's transaction (a
webhook's) or opens its own."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import Actor
from portal.connect import TransferRefused
from portal.db import raw_fetch, transactional
from settlements import journal, notices


@transactional
async def fail(payout_id: int, exc: TransferRefused) -> None:
    """A definite refusal: nothing was paid; the statement stays approved (pay it again)."""
    rows = await raw_fetch("UPDATE payout SET status = 'failed', failure = $2, updated_at = $3 "
                           "WHERE id = $1 AND status = 'pending' RETURNING statement",
                           payout_id, str(exc.params.get("reason", exc.message))[:500],
                           clock.now())
    if rows:
        await audit.record(actor=None, object_type="statement", object_id=rows[0]["statement"],
                           action="payout_failed", after={"payout": payout_id},
                           reason=str(exc.params.get("reason", "")))


@transactional
async def settle(payout_id: int, transfer: dict, *, actor: Actor | None,
                 confirmed: bool = False) -> bool:
    """Stripe made `transfer` for this payout: the payout and its statement are paid and the
    journal posted, once (the payout row lock and its status make a repeat a no-op). Works
    inside a caller's transaction (a webhook) or on its own. Returns whether it settled now."""
    rows = await raw_fetch("SELECT p.*, s.dealer, s.period FROM payout p JOIN statement s "
                           "ON s.id = p.statement WHERE p.id = $1 FOR UPDATE OF p", payout_id)
    if not rows:
        return False
    payout = rows[0]
    if payout["status"] != "pending":
        if confirmed and payout["status"] == "paid" and payout["reconciled_at"] is None:
            await raw_fetch("UPDATE payout SET reconciled_at = $2 WHERE id = $1",
                            payout_id, clock.now())
        return False
    if (transfer["amount"], transfer["destination"]) != (payout["amount_fen"],
                                                        payout["destination"]):
        # never book what Stripe did not do: leave it for a person to look at
        await raw_fetch("UPDATE payout SET failure = $2, updated_at = $3 WHERE id = $1",
                        payout_id, f"transfer {transfer['id']} does not match", clock.now())
        return False
    now = clock.now()
    await raw_fetch("UPDATE payout SET status = 'paid', stripe_transfer = $2, updated_at = $3, "
                    "failure = '', reconciled_at = CASE WHEN $4::boolean "
                    "THEN $3::timestamptz END WHERE id = $1",
                    payout_id, transfer["id"], now, confirmed)
    await raw_fetch("UPDATE statement SET status = 'paid' WHERE id = $1", payout["statement"])
    await journal.post_payout(payout_id=payout_id, dealer_id=payout["dealer"],
                              period=payout["period"], method="stripe",
                              amount_fen=payout["amount_fen"], actor=actor)
    await audit.record(actor=actor, object_type="statement", object_id=payout["statement"],
                       action="paid", organisation_id=payout["dealer"],
                       after={"payout": payout_id, "transfer": transfer["id"],
                              "amount_fen": payout["amount_fen"]})
    await notices.tell_dealer(statement_id=payout["statement"], kind="statement_paid",
                              amount_fen=payout["amount_fen"])
    return True


@transactional
async def reverse(payout_id: int, transfer: dict) -> None:
    """A fully reversed transfer: the payout is 'reversed', the statement approved again (it can
    be paid anew) and the payout's journal entry reversed."""
    rows = await raw_fetch("SELECT p.*, s.dealer FROM payout p JOIN statement s "
                           "ON s.id = p.statement WHERE p.id = $1 FOR UPDATE OF p", payout_id)
    if not rows or rows[0]["status"] != "paid":
        return
    payout = rows[0]
    if not transfer.get("reversed"):  # a partial reversal: recorded for finance to settle
        await audit.record(actor=None, object_type="statement", object_id=payout["statement"],
                           action="payout_partly_reversed", organisation_id=payout["dealer"],
                           after={"payout": payout_id,
                                  "amount_reversed": transfer.get("amount_reversed")})
        return
    await raw_fetch("UPDATE payout SET status = 'reversed', updated_at = $2 WHERE id = $1",
                    payout_id, clock.now())
    await raw_fetch("UPDATE statement SET status = 'approved' WHERE id = $1",
                    payout["statement"])
    entries = await raw_fetch("SELECT e.id FROM journal_entry e WHERE e.source_type = 'payout' "
                              "AND e.source_id = $1 AND e.reverses IS NULL AND NOT EXISTS "
                              "(SELECT 1 FROM journal_entry r WHERE r.reverses = e.id)",
                              str(payout_id))
    for entry in entries:
        await journal.reverse(entry_id=entry["id"], actor=None,
                              memo=f"payout {payout_id}: transfer {transfer['id']} reversed")
    await audit.record(actor=None, object_type="statement", object_id=payout["statement"],
                       action="payout_reversed", organisation_id=payout["dealer"],
                       after={"payout": payout_id, "transfer": transfer["id"]})
