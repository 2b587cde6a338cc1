"""Statement reads for people (issue 5 §6): lists, one statement with its lines traced to their
sources, a repair point's fee lines, a period's totals. Every read is scoped (R1): a dealer sees
its own organisation and those below it, never a sibling; HQ roles see all; a regional manager
the offices they cover. A fixed number of queries per page, whatever the number of rows. The HQ
data behind the statements (adjustments, volumes, prices, accounts, policies) is
settlements.hq_queries."""
from __future__ import annotations

import json
import re
from datetime import date

from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import NotFound
from portal.network import scope_sql
from settlements import journal, rules
from spares import oversight

PAGE_SIZE = 50
STATUSES = ("draft", "second_approval", "approved", "paid")
KINDS = ("rebate", "repair_fee", "credit", "freight", "charge", "adjustment", "carry")
PAYOUT_STATUSES = ("pending", "paid", "failed", "reversed")
_FEE_LINES = ("EXISTS (SELECT 1 FROM statement_line fl WHERE fl.statement = s.id "
              "AND fl.kind = 'repair_fee')")
_LIVE = "EXISTS (SELECT 1 FROM payout lp WHERE lp.statement = s.id AND lp.status {})"
_LIVE_OR_PAID = _LIVE.format("IN ('pending', 'paid')")
# ?waiting=… on /statements: the statements waiting for someone (the home pages link here).
WAITING = {
    "fee_review": f"s.status = 'draft' AND s.fees_reviewed_at IS NULL AND {_FEE_LINES}",
    "approval": f"s.status = 'draft' AND (s.fees_reviewed_at IS NOT NULL OR NOT {_FEE_LINES})",
    "second_approval": "s.status = 'second_approval'",
    "payment": f"s.status = 'approved' AND NOT {_LIVE_OR_PAID}",
    "reconciliation": _LIVE.format("= 'pending'"),
}


# The live payout of a statement (at most one: a partial unique index, R27) and its people.
_STATEMENT_COLUMNS = """
s.id, s.dealer, s.period, s.status, s.total_fen, s.created_at, s.prepared_by,
s.fees_reviewed_by, s.fees_reviewed_at, s.approved_by, s.approved_at,
s.second_approved_by, s.second_approved_at,
o.name AS dealer_name, o.name_en AS dealer_name_en, o.path AS dealer_path, o.kind AS dealer_kind,
p.id AS payout_id, p.method AS payout_method, p.status AS payout_status,
p.bank_reference AS payout_reference, p.amount_fen AS payout_fen
"""
_LIVE_PAYOUT = """
LEFT JOIN LATERAL (SELECT id, method, status, bank_reference, amount_fen FROM payout
                   WHERE statement = s.id ORDER BY (status IN ('pending', 'paid')) DESC, id DESC
                   LIMIT 1) p ON true
"""


def with_number(row: dict) -> dict:
    """The statement's number for people (ST-202611-00042), computed in one place."""
    row["number"] = rules.statement_number(row["period"], row["dealer"])
    return row


def _number_condition(text: str, args: list) -> str:
    """Statements whose number is `text` or starts with it: the periods it names (indexed,
    statement_period_status), then the dealer's number. Not a number at all: none."""
    found = rules.parse_statement_search(text)
    if found is None:
        return "FALSE"
    args.extend([found.first, found.last])
    where = f"s.period BETWEEN ${len(args) - 1} AND ${len(args)}"
    if found.dealer_id is not None:
        args.append(found.dealer_id)
        where += f" AND s.dealer = ${len(args)}"
    elif found.dealer_prefix:
        args.append(found.dealer_prefix + "%")
        where += (" AND (CASE WHEN s.dealer < 100000 THEN lpad(s.dealer::text, 5, '0') "
                  f"ELSE s.dealer::text END) LIKE ${len(args)}")
    return where


def _contains(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


async def list_statements(actor: Actor, period: date | None = None, status: str | None = None,
                          after_id: int | None = None, limit: int = PAGE_SIZE,
                          dealer_id: int | None = None, waiting: str | None = None,
                          number: str | None = None, org_name: str | None = None,
                          period_from: date | None = None,
                          period_to: date | None = None) -> list[dict]:
    """Newest first, keyset-paginated by id; one query whatever the page holds. `number` is a
    statement number or its start (ST-202611, ST-202611-00042); `org_name` part of the
    dealer's name, zh or en, any case (matched against the organisations first, a few
    thousand rows, then by id); `period_from`/`_to` months, inclusive."""
    args: list = []
    where = [scope_sql(actor, "o.path", args)]
    if period:
        args.append(period.replace(day=1))
        where.append(f"s.period = ${len(args)}")
    if period_from:
        args.append(period_from.replace(day=1))
        where.append(f"s.period >= ${len(args)}")
    if period_to:
        args.append(period_to.replace(day=1))
        where.append(f"s.period <= ${len(args)}")
    if status in STATUSES:
        args.append(status)
        where.append(f"s.status = ${len(args)}")
    if dealer_id:
        args.append(dealer_id)
        where.append(f"s.dealer = ${len(args)}")
    if number:
        where.append(_number_condition(number, args))
    if org_name:
        args.append(_contains(org_name))
        where.append("s.dealer IN (SELECT n.id FROM organisation n WHERE "
                     f"n.name ILIKE ${len(args)} ESCAPE '\\' "
                     f"OR n.name_en ILIKE ${len(args)} ESCAPE '\\')")
    if waiting in WAITING:
        where.append(WAITING[waiting])
    if after_id:
        args.append(after_id)
        where.append(f"s.id < ${len(args)}")
    rows = await raw_fetch(
        f"SELECT {_STATEMENT_COLUMNS}, "
        "(SELECT count(*) FROM statement_line l WHERE l.statement = s.id) AS line_count "
        f"FROM statement s JOIN organisation o ON o.id = s.dealer {_LIVE_PAYOUT} "
        f"WHERE {' AND '.join(where)} ORDER BY s.id DESC LIMIT {int(limit)}", *args)
    return [with_number(r) for r in rows]


async def get_statement(actor: Actor, statement_id: int) -> dict:
    """One statement the actor may see, with the names of the people who handled it and its
    payouts; NotFound when it does not exist or is not theirs (existence is not revealed)."""
    rows = await raw_fetch(
        f"SELECT {_STATEMENT_COLUMNS}, "
        "up.display_name AS prepared_name, ur.display_name AS reviewed_name, "
        "ua.display_name AS approved_name, us.display_name AS second_name, "
        "(SELECT json_agg(json_build_object('id', x.id, 'method', x.method, 'status', x.status, "
        " 'amount_fen', x.amount_fen, 'reference', x.bank_reference, 'failure', x.failure, "
        " 'created_at', x.created_at) ORDER BY x.id) FROM payout x WHERE x.statement = s.id) "
        "AS payouts, "
        "(SELECT count(*) FROM statement_line l WHERE l.statement = s.id "
        " AND l.kind = 'repair_fee') AS fee_lines "
        f"FROM statement s JOIN organisation o ON o.id = s.dealer {_LIVE_PAYOUT} "
        "LEFT JOIN portal_user up ON up.id = s.prepared_by "
        "LEFT JOIN portal_user ur ON ur.id = s.fees_reviewed_by "
        "LEFT JOIN portal_user ua ON ua.id = s.approved_by "
        "LEFT JOIN portal_user us ON us.id = s.second_approved_by "
        "WHERE s.id = $1", statement_id)
    if not rows or not actor.can_see_path(rows[0]["dealer_path"]):
        raise NotFound("Not found.")
    statement = with_number(rows[0])
    statement["payouts"] = json.loads(statement["payouts"]) if statement["payouts"] else []
    return statement


def _int_source(*types: str) -> str:
    """The source id as an integer for lines of these source types (NULL for the others, whose
    ids are not numbers, e.g. a repair fee's '<point>-<month>')."""
    listed = ", ".join(f"'{t}'" for t in types)
    return (f"CASE WHEN l.source_type IN ({listed}) AND l.source_id ~ '^[0-9]+$' "
            "THEN l.source_id::int END")


# Each line with what its drill-down needs, in one query: the purchase volume of a rebate, the
# return batch of a credit or freight line (or of the charge for sending its rejected goods
# back, goods/statement_charges.py), the repair point of a fee, the reason of an adjustment and
# the statement it corrects, the earlier statement a carry comes from (with the period and
# dealer that make up those statements' numbers).
_LINES = f"""
SELECT l.id, l.kind, l.source_type, l.source_id, l.amount_fen, l.description, l.repair_point,
       v.amount_fen AS volume_fen, v.period AS volume_period,
       b.id AS batch_id, b.number AS batch_number,
       rp.name AS point_name, rp.name_en AS point_name_en,
       a.reason AS adjustment_reason, a.corrects AS corrects_id, a.kind AS adjustment_kind,
       cs.period AS corrects_period, cs.dealer AS corrects_dealer,
       c.id AS carried_id, c.period AS carried_period, c.dealer AS carried_dealer
FROM statement_line l
LEFT JOIN purchase_volume v ON v.id = {_int_source('purchase_volume')}
LEFT JOIN return_batch b
  ON b.id = {_int_source('return_batch', 'return_credit', 'goods_rejected')}
LEFT JOIN organisation rp ON rp.id = l.repair_point
LEFT JOIN adjustment a ON a.id = {_int_source('adjustment')}
LEFT JOIN statement cs ON cs.id = a.corrects
LEFT JOIN statement c ON c.id = {_int_source('statement_carry')}
WHERE l.statement = $1
ORDER BY array_position(ARRAY{list(KINDS)}::text[], l.kind), l.id
"""


def drill_down(line: dict) -> str | None:
    """Where a line's source lives in the portal."""
    if line["batch_id"]:
        return f"/batches/{line['batch_id']}"
    if line["repair_point"]:
        return f"/repair-points/{line['repair_point']}"
    if line["carried_id"]:
        return f"/statements/{line['carried_id']}"
    if line["corrects_id"]:
        return f"/statements/{line['corrects_id']}"
    return None


async def statement_lines(statement_id: int) -> list[dict]:
    """The lines of a statement already checked visible (call get_statement first)."""
    lines = await raw_fetch(_LINES, statement_id)
    for line in lines:
        line["link"] = drill_down(line)
    return lines


async def statement_with_lines(actor: Actor, statement_id: int) -> tuple[dict, list[dict]]:
    statement = await get_statement(actor, statement_id)
    return statement, await statement_lines(statement_id)


async def fee_lines_for_point(actor: Actor, point_id: int) -> tuple[dict, list[dict]]:
    """R24: the point and the repair fees it earned, statement by statement (its staff see
    their own); whether the reader may open each statement (its dealer's) is said per row."""
    point = await oversight.get_point(actor, point_id)
    args: list = [point_id]
    visible = scope_sql(actor, "o.path", args)
    rows = await raw_fetch(
        "SELECT l.id, l.amount_fen, l.description, l.source_id, s.id AS statement_id, s.period, "
        f"s.status, ({visible}) AS statement_visible "
        "FROM statement_line l JOIN statement s ON s.id = l.statement "
        "JOIN organisation o ON o.id = s.dealer "
        "WHERE l.repair_point = $1 AND l.kind = 'repair_fee' ORDER BY s.period DESC, l.id DESC "
        "LIMIT 120", *args)
    return point, rows


async def period_totals(period: date) -> dict:
    """Finance's view of a month: count and sum per statement status, per line kind, and per
    payout status, and how many approved statements the journal disagrees with — one query."""
    rows = await raw_fetch(f"""
        SELECT 'status' AS grp, s.status AS key, count(*) AS n, sum(s.total_fen) AS fen
        FROM statement s WHERE s.period = $1 GROUP BY s.status
        UNION ALL
        SELECT 'kind', l.kind, count(*), sum(l.amount_fen)
        FROM statement_line l JOIN statement s ON s.id = l.statement
        WHERE s.period = $1 GROUP BY l.kind
        UNION ALL
        SELECT 'payout', p.status, count(*), sum(p.amount_fen)
        FROM payout p JOIN statement s ON s.id = p.statement
        WHERE s.period = $1 GROUP BY p.status
        UNION ALL
        SELECT 'journal', 'unreconciled', count(*), NULL FROM ({journal.UNRECONCILED}) u
    """, period.replace(day=1), journal.PAYABLE)
    totals: dict = {"period": period.replace(day=1),
                    "status": {k: {"count": 0, "fen": 0} for k in STATUSES},
                    "kind": {k: {"count": 0, "fen": 0} for k in KINDS},
                    "payout": {k: {"count": 0, "fen": 0} for k in PAYOUT_STATUSES},
                    "journal": {"unreconciled": {"count": 0, "fen": 0}}}
    for row in rows:
        totals[row["grp"]].setdefault(row["key"], {})
        totals[row["grp"]][row["key"]] = {"count": int(row["n"]), "fen": int(row["fen"] or 0)}
    totals["statements"] = sum(v["count"] for v in totals["status"].values())
    totals["total_fen"] = sum(v["fen"] for v in totals["status"].values())
    return totals


async def dealer_balance(actor: Actor, dealer_id: int, dealer_path: str) -> int:
    """What HQ owes the dealer (+) or the dealer owes (-), from the journal (R26)."""
    if not actor.can_see_path(dealer_path):
        raise NotFound("Not found.")
    return await journal.dealer_balance(dealer_id)


async def recent_periods(limit: int = 12) -> list[date]:
    rows = await raw_fetch("SELECT DISTINCT period FROM statement ORDER BY period DESC "
                           f"LIMIT {int(limit)}")
    return [r["period"] for r in rows]
