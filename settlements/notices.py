"""What the dealer is told about its statement (R26, R27): in each of its users' language, in the
inbox and by email when SMTP is set. Called inside the transaction that makes the change, so a
notice exists exactly when the change does; a repeat (same statement, same kind) is ignored.
Who hears it and the words are rows `statement_approved` / `statement_paid` of
`portal.handoffs.HANDOFFS`."""
from __future__ import annotations

from portal.db import raw_fetch
from portal.handoffs import tell
from portal.money import format_fen


async def tell_dealer(*, statement_id: int, kind: str, amount_fen: int) -> None:
    rows = await raw_fetch("SELECT dealer, period FROM statement WHERE id = $1", statement_id)
    if not rows:
        return
    # The actor (finance, at HQ) is never one of the dealer's people: nobody to leave out.
    await tell(kind, actor=None, org_id=rows[0]["dealer"], dedupe_key=str(statement_id),
               params={"month": rows[0]["period"].strftime("%Y-%m"), "id": statement_id,
                       "statement_id": statement_id, "amount": format_fen(amount_fen)})
