"""What the dealer is told about its statement (R26, R27): in each of its users' language, in the
inbox and by email when SMTP is set. Called inside the transaction that makes the change, so a
notice exists exactly when the change does; a repeat (same statement, same kind) is ignored."""
from __future__ import annotations

from portal.db import raw_fetch
from portal.money import format_fen
from portal.notify import notify

NOTICE_LABELS = {  # kind -> (subject, body) msgids
    "statement_approved": ("Your statement for %(month)s is approved: %(amount)s",
                           "It is frozen now; payment follows. Corrections go into a later "
                           "statement."),
    "statement_paid": ("Your statement for %(month)s is paid: %(amount)s",
                       "HQ has paid statement %(id)s; the payment reference is on its page."),
}


async def tell_dealer(*, statement_id: int, kind: str, amount_fen: int) -> None:
    rows = await raw_fetch(
        "SELECT s.id, s.period, u.id AS user_id FROM statement s "
        "JOIN portal_user u ON u.organisation = s.dealer AND u.active WHERE s.id = $1",
        statement_id)
    if not rows:
        return
    subject, body = NOTICE_LABELS[kind]
    await notify(user_ids=[r["user_id"] for r in rows], kind=kind, dedupe_key=str(statement_id),
                 subject=subject, body=body, link=f"/statements/{statement_id}",
                 params={"month": rows[0]["period"].strftime("%Y-%m"), "id": statement_id,
                         "amount": format_fen(amount_fen)})
