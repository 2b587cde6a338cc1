"""The statement queues of each role's home page (issue 9 §1): one statement of scalar
subqueries, scoped to the dealers the actor may see (R1), whatever the number of statements."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import SECTIONS, Queue, count_columns, sections_of
from settlements.queries import WAITING

QUEUE_LABELS = {
    "approved": ("Statements approved, payment on the way",
                 "Once finance approves a monthly statement, it appears here until it is paid."),
    "fees_unpaid": ("Repair fees not yet paid",
                    "Your monthly repair fees appear here from the month's statement until the "
                    "dealer is paid."),
    "fee_review": ("Statements waiting for your fee review",
                   "Statements with repair fees wait here until customer service has reviewed "
                   "the fees; finance approves them afterwards."),
    "approval": ("Statements to approve",
                 "Closed months' statements ready for approval wait here (fees reviewed where "
                 "there are any)."),
    "second_approval": ("Statements needing a second approval",
                        "Large statements approved once wait here for a second finance user."),
    "payment": ("Statements to pay",
                "Approved statements wait here until they are paid by transfer or bank."),
    "reconciliation": ("Payouts waiting for reconciliation",
                       "When Stripe's answer to a payout is lost it waits here until the "
                       "periodic check finds it. None is waiting."),
    "adjustments": ("Adjustments waiting for a second person",
                    "Adjustments and charges asked for by one finance user wait here for "
                    "another one's decision."),
    "no_credit_price": ("Products without a credit price",
                        "Products with no credit price appear here: credits for returned goods "
                        "wait until a price is set."),
}
SECTION_QUEUES = {
    "dealer_clerk": ("approved",),
    "store": ("approved",),
    "repair_staff": ("fees_unpaid",),
    "hq_cs": ("fee_review",),
    "hq_finance": ("approval", "second_approval", "payment", "reconciliation", "adjustments"),
    "hq_admin": ("no_credit_price",),
    "auditor": ("approval", "payment", "reconciliation"),
}
_STATEMENTS = "FROM statement s JOIN organisation o ON o.id = s.dealer{scope} WHERE {cond}"
_PARTS = {
    **{key: (_STATEMENTS.replace("{cond}", cond), "s.created_at")
       for key, cond in WAITING.items()},
    "approved": (_STATEMENTS.replace("{cond}", "s.status = 'approved'"), "s.approved_at"),
    "fees_unpaid": ("FROM statement_line l JOIN statement s ON s.id = l.statement "
                    "WHERE l.repair_point = $1 AND l.kind = 'repair_fee' AND s.status <> 'paid'",
                    "s.created_at"),
    "adjustments": ("FROM adjustment a WHERE a.status = 'requested'", "a.requested_at"),
    "no_credit_price": ("FROM product p WHERE p.active AND NOT EXISTS (SELECT 1 FROM "
                        "credit_price c WHERE c.product = p.id)", None),
}


def _link(key: str, own: int) -> str:
    if key in WAITING:
        return f"/statements?waiting={key}"
    return {"approved": "/statements?status=approved",
            "fees_unpaid": f"/settlements/repair-points/{own}/fees",
            "adjustments": "/settlements/adjustments?status=requested",
            "no_credit_price": "/settlements/credit-prices"}[key]


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    mine = sections_of(actor)
    wanted = [(section, key) for section in SECTIONS if section in mine
              for key in SECTION_QUEUES.get(section, ())]
    if not wanted:
        return []
    args: list = [actor.organisation_id]
    columns = ["$1::int AS own"]  # every parameter typed, even when unused
    scope = ""
    if not actor.sees_everything:
        scope = " AND " + scope_sql(actor, "o.path", args)
        columns.append(f"cardinality(${len(args)}::text[]) AS roots")
    columns += count_columns(_PARTS, (key for _, key in wanted), scope)
    row = (await raw_fetch(f"SELECT {', '.join(columns)}", *args))[0]
    return [Queue(key=key, title_msgid=QUEUE_LABELS[key][0], count=row[f"{key}_n"],
                  oldest_at=row.get(f"{key}_at"), link=_link(key, actor.organisation_id),
                  empty_msgid=QUEUE_LABELS[key][1], section=section,
                  alarm=key == "reconciliation" and row[f"{key}_n"] > 0)
            for section, key in wanted]
