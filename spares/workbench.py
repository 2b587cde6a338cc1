"""The repair-point queues of each role's home page (issue 9 §1): one statement of scalar
subqueries, scoped (R1), whatever the number of points, exchanges, repairs or disputes."""
from __future__ import annotations

from datetime import datetime

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import SECTIONS, Queue, count_columns, sections_of
from spares.queries import _BALANCE

QUEUE_LABELS = {
    "exchanges": ("Old-for-new exchanges asked for",
                  "When a repair point asks for good parts in exchange for faulty ones, the "
                  "request waits here until the office hands them over."),
    "points": ("Your repair points",
               "Repair points approved under your office appear here; propose one on the repair "
               "points page."),
    "disputes": ("Consumer disputes to mediate",
                 "Disputes recorded at your repair points wait here until you settle them or "
                 "pass them to customer service."),
    "applications": ("Repair points proposed",
                     "Offices' proposals for new repair points wait here for your decision."),
    "fees": ("Repair fees proposed",
             "New monthly repair fees proposed by offices wait here for your decision."),
    "escalated": ("Disputes for your final ruling",
                  "Disputes an office could not settle wait here for customer service's ruling."),
    "deposits": ("Deposits not yet paid",
                 "Approved repair points whose deposit is not fully paid appear here; record a "
                 "bank transfer when it arrives."),
    "to_ship": ("First stock to ship",
                "Repair points whose deposit is paid wait here until their first stock ships."),
    "below_template": ("Parts below your first-stock level",
                       "Parts you hold fewer of than your first stock appear here; ask your "
                       "office for an old-for-new exchange."),
    "promised": ("Repairs promised, not yet done",
                 "Repairs you promised to finish within 3 days appear here until you record "
                 "the outcome."),
    "overdue": ("Repairs past their promised day",
                "Promised repairs not done in time appear here: offer the customer an exchange "
                "or a refund. None is late."),
    "my_exchanges": ("Your exchange requests",
                     "Exchanges you asked your office for wait here until it hands over the "
                     "good parts."),
    "deposit": ("Your deposit to pay",
                "Until your deposit is paid, it appears here; the first stock ships once it is "
                "paid."),
    "run_points": ("Repair points you run",
                   "Repair points your store runs appear here; their repair fees come on your "
                   "statements."),
}
SECTION_QUEUES = {
    "dealer_clerk": ("exchanges",),
    "manager": ("disputes", "exchanges", "points"),
    "store": ("run_points",),
    "repair_staff": ("deposit", "below_template", "promised", "overdue", "my_exchanges"),
    "hq_cs": ("applications", "fees", "escalated"),
    "hq_logistics": ("to_ship",),
    "hq_finance": ("deposits",),
}
_POINT = "JOIN organisation p ON p.id = {t}.repair_point{scope}"
_DEPOSIT = ("FROM deposit d JOIN organisation p ON p.id = d.repair_point AND p.active{scope} "
            "WHERE {cond}")
# key: (FROM … WHERE …, the column whose minimum is the oldest item, or None)
_PARTS = {
    "exchanges": ("FROM exchange e WHERE e.status = 'requested' AND e.office = $2",
                  "e.requested_at"),
    "my_exchanges": ("FROM exchange e WHERE e.status = 'requested' AND e.repair_point = $2",
                     "e.requested_at"),
    "points": ("FROM organisation p WHERE p.kind = 'repair_point' AND p.active{scope}", None),
    "disputes": (f"FROM consumer_dispute c {_POINT.format(t='c', scope='{scope}')} "
                 "WHERE c.status = 'open'", "c.recorded_at"),
    "escalated": (f"FROM consumer_dispute c {_POINT.format(t='c', scope='{scope}')} "
                  "WHERE c.status = 'escalated'", "c.recorded_at"),
    "applications": ("FROM repair_point_application a JOIN organisation p ON p.id = a.office"
                     "{scope} WHERE a.status = 'proposed'", "a.proposed_at"),
    "fees": (f"FROM repair_fee f {_POINT.format(t='f', scope='{scope}')} "
             "WHERE f.status = 'proposed'", "f.proposed_at"),
    "deposits": (_DEPOSIT.replace("{cond}", f"{_BALANCE} < d.required_fen"), "d.created_at"),
    "to_ship": (_DEPOSIT.replace("{cond}", f"d.shipped_at IS NULL AND {_BALANCE} >= d.required_fen"),
                "d.created_at"),
    "deposit": (f"FROM deposit d WHERE d.repair_point = $2 AND {_BALANCE} < d.required_fen",
                "d.created_at"),
    "below_template": (
        "FROM stock_template t JOIN repair_point_application a ON a.repair_point = $2 "
        "AND a.sales_scale = t.sales_scale LEFT JOIN stock_balance sb ON sb.location = $2 "
        "AND sb.spare_part = t.spare_part AND sb.condition = 'good' "
        "WHERE coalesce(sb.quantity, 0) < t.quantity", None),
    "promised": ("FROM repair r WHERE r.repair_point = $2 AND r.status = 'promised'",
                 "r.recorded_at"),
    "overdue": ("FROM repair r WHERE r.repair_point = $2 AND r.status = 'promised' "
                "AND r.promised_by < $1", "r.recorded_at"),
    "run_points": ("FROM repair_point_application a JOIN organisation p ON p.id = a.repair_point "
                   "AND p.active WHERE a.owner_store = $2 AND a.status = 'approved'", None),
}


def _link(key: str, own: int) -> str | None:
    return {"exchanges": "/repair-points/exchanges?status=requested",
            "my_exchanges": "/repair-points/exchanges?status=requested",
            "points": "/network?kind=repair_point",
            "disputes": "/repair-points?waiting=disputes",
            "escalated": "/repair-points?waiting=escalated",
            "applications": "/repair-points?waiting=proposed",
            "fees": "/repair-points?waiting=fees",
            "deposits": "/repair-points?waiting=deposit",
            "to_ship": "/repair-points?waiting=to_ship",
            "deposit": f"/repair-points/{own}#deposit",
            "below_template": f"/repair-points/{own}#stock",
            "promised": f"/repair-points/{own}#repairs",
            "overdue": f"/repair-points/{own}#repairs",
            "run_points": None}[key]


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    mine = sections_of(actor)
    wanted = [(section, key) for section in SECTIONS if section in mine
              for key in SECTION_QUEUES.get(section, ())
              # exchanges are handed over at an office, not by a regional manager
              if key != "exchanges" or actor.organisation_kind in ("office", "agent")]
    if not wanted:
        return []
    args: list = [clock.china_today(now), actor.organisation_id]
    columns = ["$1::date AS today", "$2::int AS own"]  # every parameter typed, even unused
    scope = ""
    if not actor.sees_everything:
        scope = " AND " + scope_sql(actor, "p.path", args)
        columns.append(f"cardinality(${len(args)}::text[]) AS roots")
    columns += count_columns(_PARTS, (key for _, key in wanted), scope)
    row = (await raw_fetch(f"SELECT {', '.join(columns)}", *args))[0]
    result = []
    for section, key in wanted:
        title, empty = QUEUE_LABELS[key]
        count = row[f"{key}_n"]
        result.append(Queue(key, title, count, row.get(f"{key}_at"),
                            _link(key, actor.organisation_id), empty, section,
                            alarm=key == "overdue" and count > 0))
    return result
