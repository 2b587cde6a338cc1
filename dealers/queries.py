"""Batch lists and HQ queues: scoped (R1), filtered, keyset-paginated, a fixed number of
queries per page whatever the number of batches or lines; a batch's lines with their verdicts."""
from __future__ import annotations

import re
from datetime import date, datetime

from dealers import rules
from dealers.tables import ReasonCode, ReturnBatch
from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch, raw_rows
from portal.network import scope_sql
from portal.tables import Product

PAGE_SIZE = 50
_CHINA_DAY = "date_trunc('day', b.arrived_at AT TIME ZONE 'Asia/Shanghai')"
RECEIVE_DUE = f"(({_CHINA_DAY} + interval '2 days') AT TIME ZONE 'Asia/Shanghai')"
DECIDE_DUE = f"(({_CHINA_DAY} + interval '4 days') AT TIME ZONE 'Asia/Shanghai')"

OPEN_DISPUTE = "SELECT 1 FROM quality_dispute d WHERE d.batch = b.id AND d.verified_at IS NULL"
# HQ work queues (issue 3 §9). Each is a WHERE fragment over return_batch b.
QUEUES: dict[str, str] = {
    "to_sign": "b.status = 'submitted'",
    "to_approve": "b.status = 'signed'",
    # R9/R11: approved, not yet sent (or disposed of): the office acts next
    "to_dispatch": "b.status = 'approved' AND b.arrived_at IS NULL",
    "in_transit": "b.status = 'dispatched' AND b.arrived_at IS NULL",
    "to_receive": "b.status IN ('approved', 'dispatched') AND b.arrived_at IS NOT NULL",
    "to_decide": "b.status = 'received'",
    # R16: a quality dispute waits for HQ tech's visit
    "to_verify": f"EXISTS ({OPEN_DISPUTE})",
    # R12/R14: past a deadline and still not done.
    "breaching": (f"((b.arrived_at IS NOT NULL AND b.received_at IS NULL AND $1 >= {RECEIVE_DUE}) "
                  f"OR (b.status = 'received' AND $1 >= {DECIDE_DUE}))"),
}

# R13: a decided batch waits for its office to open the receipt (the batch page), once.
UNREAD_RECEIPT = "b.status = 'dispositioned' AND b.receipt_read_at IS NULL"
# What the list can be filtered to: HQ's queues (its tabs) and the office's unread receipts.
LIST_QUEUES: dict[str, str] = {**QUEUES, "to_read": UNREAD_RECEIPT}

STATUSES = tuple(s.value for s in ReturnBatch.Status)
_DIGITS = re.compile(r"(?:RB)?(\d+)")


def number_search(text: str) -> list[tuple[str, str]]:
    """A typed batch number (whole, or its start) -> (operator, value) comparisons on
    b.number. Numbers are RB + digits: a start becomes the range [RB2026, RB2027), which the
    unique index on number serves in any collation (upper-case letters and digits sort the same
    in all of them), besides the LIKE that states the intent."""
    compact = re.sub(r"\s+", "", text).upper()
    match = _DIGITS.fullmatch(compact)
    if not match:
        return [("LIKE", like_prefix(compact))]
    digits = match.group(1)
    if len(digits) == 12:
        return [("=", "RB" + digits)]
    comparisons = [(">=", "RB" + digits), ("LIKE", like_prefix("RB" + digits))]
    following = str(int(digits) + 1).zfill(len(digits))
    if len(following) == len(digits):  # not all nines
        comparisons.append(("<", "RB" + following))
    return comparisons


def like_prefix(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text) + "%"


async def list_batches(*, actor: Actor, now: datetime, queue: str | None = None,
                       status: str | None = None, month: date | None = None,
                       organisation_id: int | None = None, product_id: int | None = None,
                       after_id: int | None = None, limit: int = PAGE_SIZE,
                       number: str | None = None, org_name: str | None = None,
                       month_from: date | None = None, month_to: date | None = None,
                       submitted_from: datetime | None = None,
                       submitted_to: datetime | None = None) -> list[dict]:
    """Newest first. Two queries: the page of batches, then their line totals. `number` is a
    batch number or its start; `org_name` part of the organisation's name (zh or en, any
    case), matched against the organisations first (a few thousand rows), then by id;
    `submitted_from`/`_to` are instants (China days turned into [start, end))."""
    args: list = [now]
    where = [scope_sql(actor, "o.path", args)]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if queue in LIST_QUEUES:
        where.append(LIST_QUEUES[queue])
    if status:
        where.append(f"b.status = {arg(status)}")
    if month:
        where.append(f"b.month = {arg(month.replace(day=1))}")
    if organisation_id:
        where.append(f"b.organisation = {arg(organisation_id)}")
    if product_id:
        where.append(f"EXISTS (SELECT 1 FROM return_line l WHERE l.batch = b.id "
                     f"AND l.product = {arg(product_id)})")
    if number:
        for op, value in number_search(number):
            where.append(f"b.number {op} {arg(value)}" + (" ESCAPE '\\'" if op == "LIKE" else ""))
    if org_name:
        pattern = arg("%" + like_prefix(org_name)[:-1] + "%")
        where.append("b.organisation IN (SELECT n.id FROM organisation n WHERE "
                     f"n.name ILIKE {pattern} ESCAPE '\\' OR n.name_en ILIKE {pattern} ESCAPE '\\')")
    if month_from:
        where.append(f"b.month >= {arg(month_from.replace(day=1))}")
    if month_to:
        where.append(f"b.month <= {arg(month_to.replace(day=1))}")
    if submitted_from:
        where.append(f"b.submitted_at >= {arg(submitted_from)}")
    if submitted_to:
        where.append(f"b.submitted_at < {arg(submitted_to)}")
    if after_id:
        where.append(f"b.id < {arg(after_id)}")
    batches = await raw_fetch(
        "SELECT b.id, b.number, b.month, b.kind, b.status, b.organisation, b.arrived_at, "
        "b.received_at, b.decided_at, b.submitted_at, o.name AS org_name, o.name_en AS org_name_en, "
        f"{RECEIVE_DUE} AS receive_due, {DECIDE_DUE} AS decide_due, $1::timestamptz AS as_of "
        "FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        f"WHERE {' AND '.join(where)} ORDER BY b.id DESC LIMIT {int(limit)}", *args)
    if not batches:
        return []
    totals = {r["batch"]: r for r in await raw_rows(
        "SELECT batch, count(*) AS lines, sum(quantity) AS filed, sum(received_qty) AS received "
        "FROM return_line WHERE batch = ANY($1::int[]) GROUP BY batch",
        [b["id"] for b in batches])}
    for b in batches:
        t = totals.get(b["id"])
        if t is None:  # a batch with no line yet (a draft)
            b["lines"], b["filed"], b["received"] = 0, 0, None
        else:
            b["lines"], b["filed"], b["received"] = t["lines"], t["filed"] or 0, t["received"]
        b["breaching"] = bool(b["arrived_at"]) and (
            (b["received_at"] is None and now >= b["receive_due"])
            or (b["status"] == "received" and now >= b["decide_due"]))
    return batches


# Every queue but the disputes' holds only batches in these states: the counts read these rows
# (index return_batch_queue on status), never the closed history (issue 17 §3).
OPEN_STATUSES = ("submitted", "signed", "approved", "dispatched", "received")


async def queue_counts(*, actor: Actor, now: datetime) -> dict[str, int]:
    """How many batches wait in each queue: one query, whose cost follows open work."""
    if not actor.sees_everything:
        return {}
    parts = ", ".join(f"count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in QUEUES.items()
                      if name != "to_verify")
    # open disputes: the partial unique index quality_dispute_one_open holds exactly them
    rows = await raw_fetch(
        f"SELECT {parts}, (SELECT count(*) FROM quality_dispute d WHERE d.verified_at IS NULL) "
        f"AS to_verify FROM return_batch b WHERE b.status = ANY($2::varchar[])", now,
        list(OPEN_STATUSES))
    return {name: rows[0][name] for name in QUEUES}


SPECIAL_STATUSES = ("requested", "approved", "refused")


async def list_special_approvals(*, actor: Actor, status: str | None = None) -> list[dict]:
    """R7 requests, newest first, scoped (R1); `status` keeps only one state (e.g. the
    requests customer service has still to decide, linked from its home page)."""
    args: list = []
    where = [scope_sql(actor, "o.path", args)]
    if status in SPECIAL_STATUSES:
        args.append(status)
        where.append(f"s.status = ${len(args)}")
    return await raw_fetch(
        "SELECT s.*, o.name AS org_name, o.name_en AS org_name_en, "
        "u.display_name AS requester, "
        "(SELECT b.id FROM return_batch b WHERE b.special_approval = s.id) AS batch_id "
        "FROM special_approval s JOIN organisation o ON o.id = s.organisation "
        f"JOIN portal_user u ON u.id = s.requested_by WHERE {' AND '.join(where)} "
        "ORDER BY s.id DESC LIMIT 200", *args)


# --- a batch's lines, as pages and the registration form show them ------------------------------

async def list_lines(batch_id: int) -> list[dict]:
    """Lines with their product or spare part (R23: faulty spares travel in the batch too)."""
    return await raw_fetch(
        "SELECT l.*, coalesce(p.model, s.code) AS model, coalesce(p.spec, '') AS spec, "
        "coalesce(p.name_zh, s.name_zh) AS name_zh, coalesce(p.name_en, s.name_en) AS name_en, "
        "p.category AS category_id, c.warranty_months, c.is_cfl, "
        "r.name_zh AS reason_zh, r.name_en AS reason_en, "
        "rr.name_zh AS reject_zh, rr.name_en AS reject_en, rr.code AS reject_code "
        "FROM return_line l LEFT JOIN product p ON p.id = l.product "
        "LEFT JOIN product_category c ON c.id = p.category "
        "LEFT JOIN spare_part s ON s.id = l.spare_part "
        "LEFT JOIN reason_code r ON r.id = l.reason LEFT JOIN reason_code rr ON rr.id = l.reject_reason "
        "WHERE l.batch = $1 ORDER BY l.line_no", batch_id)


def _condition(line: dict, prefix: str = "") -> rules.Condition:
    return rules.Condition(bool(line[prefix + "lights"]), line[prefix + "cap_percent"],
                           bool(line[prefix + "tube_greyed"]),
                           bool(line[prefix + "bridge_blackened"]), bool(line[prefix + "broken"]))


async def lines_with_verdicts(batch_id: int) -> list[dict]:
    """Each line with its expected verdict as filed (R17, R18; judged today) and, once HQ has
    inspected it, the verdict of the inspection, which is the one that decides."""
    today = clock.china_today()
    lines = await list_lines(batch_id)
    for line in lines:
        if line["spare_part"] is not None:  # R23: faulty spares are exchanged one for one
            line["verdict"] = line["inspected"] = rules.Verdict(True, ())
            continue
        terms = rules.CategoryTerms(line["warranty_months"], line["is_cfl"])
        dates = {"date_code": line["date_code"], "purchase_date": line["purchase_date"]}
        line["verdict"] = None if line["extra"] else rules.expected_verdict(
            terms, _condition(line), on=today, **dates)
        line["inspected"] = None if line["i_lights"] is None else rules.expected_verdict(
            terms, _condition(line, "i_"), on=today, **dates)
    return lines


async def list_products() -> list[dict]:
    return await Product.select(Product.id, Product.model, Product.spec, Product.name_zh,
                                Product.name_en).where(Product.active == True).order_by(  # noqa: E712
        Product.model)


async def reason_codes(kind: str) -> list[dict]:
    return await ReasonCode.select().where(
        (ReasonCode.kind == kind) & (ReasonCode.active == True)).order_by(ReasonCode.id)  # noqa: E712
