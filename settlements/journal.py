"""The double-entry journal (R26, R27): every approved statement and every payout posts here.

Debits are positive, credits negative, in fen; each entry sums to zero (a deferred constraint
trigger refuses the commit otherwise). Rows are never changed: a correction is a new entry that
`reverses` the one it corrects. A dealer's balance is the sum of its `dealer_payable` postings
(negative: HQ owes the dealer; positive: the dealer owes HQ).

Posting a statement: each line kind debits its account, the dealer's payable is credited with
the total. A `carry` line (a negative balance brought from an earlier statement) posts nothing:
that amount already sits in the dealer's payable since the earlier statement was approved.
"""
from __future__ import annotations

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch

PAYABLE = "dealer_payable"
# statement line kind -> the account it debits
ACCOUNTS = {
    "rebate": "rebate_expense",
    "repair_fee": "repair_fee_expense",
    "credit": "return_credit",
    "freight": "freight_expense",
    "charge": "charges_income",
    "adjustment": "adjustments",
}
CASH = {"stripe": "cash_stripe", "bank": "cash_bank"}

_KIND_ACCOUNT = "CASE l.kind " + " ".join(
    f"WHEN '{k}' THEN '{a}'" for k, a in ACCOUNTS.items()) + " END"

# One entry per statement, then all their postings, in two statements whatever the number.
_ENTRIES = """
INSERT INTO journal_entry (at, period, memo, source_type, source_id, created_by)
SELECT $2, s.period, 'statement ' || s.id::text, 'statement', s.id::text, $3
FROM statement s WHERE s.id = ANY($1::int[])
  AND NOT EXISTS (SELECT 1 FROM journal_entry e WHERE e.source_type = 'statement'
                  AND e.source_id = s.id::text AND e.reverses IS NULL)
RETURNING id, source_id
"""
_POSTINGS = f"""
INSERT INTO journal_posting (entry, account, dealer, amount_fen)
SELECT e.id, {_KIND_ACCOUNT}, NULL, sum(l.amount_fen)
FROM journal_entry e JOIN statement_line l ON l.statement = e.source_id::int
WHERE e.id = ANY($1::int[]) AND l.kind <> 'carry'
GROUP BY e.id, l.kind HAVING sum(l.amount_fen) <> 0
UNION ALL
SELECT e.id, '{PAYABLE}', s.dealer, -sum(l.amount_fen)
FROM journal_entry e JOIN statement s ON s.id = e.source_id::int
JOIN statement_line l ON l.statement = s.id AND l.kind <> 'carry'
WHERE e.id = ANY($1::int[])
GROUP BY e.id, s.dealer HAVING sum(l.amount_fen) <> 0
"""


async def post_statements(statement_ids: list[int], *, actor: Actor | None) -> int:
    """Post approved statements (once each). Caller holds the transaction. Returns entries made."""
    if not statement_ids:
        return 0
    entries = await raw_fetch(_ENTRIES, statement_ids, clock.now(),
                              actor.user_id if actor else None)
    if entries:
        await raw_fetch(_POSTINGS, [e["id"] for e in entries])
    return len(entries)


async def post_payout(*, payout_id: int, dealer_id: int, period, method: str, amount_fen: int,
                      actor: Actor | None) -> int:
    """Money left HQ: the dealer's payable is debited, cash credited. Caller holds the
    transaction."""
    entry = (await raw_fetch(
        "INSERT INTO journal_entry (at, period, memo, source_type, source_id, created_by) "
        "VALUES ($1, $2, $3, 'payout', $4, $5) RETURNING id", clock.now(), period,
        f"payout {payout_id} by {method}", str(payout_id), actor.user_id if actor else None))[0]
    await raw_fetch(
        "INSERT INTO journal_posting (entry, account, dealer, amount_fen) VALUES "
        "($1, $2, $3, $4), ($1, $5, NULL, $6)",
        entry["id"], PAYABLE, dealer_id, amount_fen, CASH[method], -amount_fen)
    return entry["id"]


async def reverse(*, entry_id: int, memo: str, actor: Actor | None) -> int:
    """R20: a correction is a new entry with every posting negated, pointing at the original
    (a unique index lets an entry be reversed only once). Caller holds the transaction."""
    new = (await raw_fetch(
        "INSERT INTO journal_entry (at, period, memo, source_type, source_id, reverses, "
        "created_by) SELECT $2, period, $3, source_type, source_id, id, $4 "
        "FROM journal_entry WHERE id = $1 RETURNING id",
        entry_id, clock.now(), memo[:200], actor.user_id if actor else None))[0]
    await raw_fetch("INSERT INTO journal_posting (entry, account, dealer, amount_fen) "
                    "SELECT $2, account, dealer, -amount_fen FROM journal_posting WHERE entry = $1",
                    entry_id, new["id"])
    return new["id"]


async def dealer_balance(dealer_id: int) -> int:
    """What HQ owes the dealer (positive) or the dealer owes HQ (negative), from the journal."""
    rows = await raw_fetch("SELECT coalesce(sum(amount_fen), 0) AS b FROM journal_posting "
                           "WHERE dealer = $1 AND account = $2", dealer_id, PAYABLE)
    return -int(rows[0]["b"])


async def unbalanced_entries() -> list[dict]:
    """Entries whose postings do not sum to zero (the trigger makes this empty; audits check)."""
    return await raw_fetch("SELECT entry, sum(amount_fen) AS total FROM journal_posting "
                           "GROUP BY entry HAVING sum(amount_fen) <> 0")


# Approved or paid statements of a month ($1) whose journal does not match them: no live
# entry, or a payable credit ($2 the payable account) that differs from the lines (carry lines
# excluded, see above). Also counted on finance's month totals (settlements.queries).
UNRECONCILED = """
        SELECT s.id, s.total_fen, coalesce(p.payable, 0) AS posted,
               coalesce(c.carried, 0) AS carried
        FROM statement s
        LEFT JOIN LATERAL (
            SELECT -sum(jp.amount_fen) AS payable FROM journal_entry e
            JOIN journal_posting jp ON jp.entry = e.id AND jp.account = $2
            WHERE e.source_type = 'statement' AND e.source_id = s.id::text) p ON true
        LEFT JOIN LATERAL (
            SELECT sum(l.amount_fen) AS carried FROM statement_line l
            WHERE l.statement = s.id AND l.kind = 'carry') c ON true
        WHERE s.period = $1 AND s.status IN ('approved', 'paid')
          AND coalesce(p.payable, 0) + coalesce(c.carried, 0) <> s.total_fen
"""


async def unreconciled_statements(period) -> list[dict]:
    return await raw_fetch(UNRECONCILED, period, PAYABLE)
