"""Defect analytics (R35 return rate, R12/R13 reasons): the units HQ received back, counted by
defect reason x product x date-code month x region over the months of receipt chosen; the
Pareto of reasons; the rejection reasons CS wrote (R13); returns per 1,000 units sold per
product (units sold: the customer archive's purchases, as tower/kpi_queries.py).

Each is one statement, scoped to what the reader may see (R1). The reason codes are HQ data:
the HQ administrator adds, renames and (de)activates them here (rows of dealers' reason_code;
the table itself belongs to dealers), each change audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal import audit
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.network import scope_sql
from tower import rules
from tower.inputs import ReasonCodeEditIn, ReasonCodeIn
from tower.kpi_queries import china_midnight

KINDS = ("defect", "reject")
KIND_LABELS = {"defect": "defect reason", "reject": "rejection reason"}


@dataclass(frozen=True)
class DefectFilter:
    first: date  # first month of receipt
    last: date  # last month of receipt (inclusive)
    region: int | None = None
    product: int | None = None
    reason: int | None = None


_BASE = """
  FROM return_line l JOIN return_batch b ON b.id = l.batch
  JOIN product p ON p.id = l.product
  JOIN organisation o ON o.id = b.organisation
  LEFT JOIN organisation top ON top.id = nullif(split_part(o.path, '.', 2), '')::int
  LEFT JOIN region r ON r.id = top.region
  LEFT JOIN reason_code rc ON rc.id = l.{reason_column}
 WHERE b.received_at >= $1 AND b.received_at < $2
   AND ($3::int IS NULL OR top.region = $3) AND ($4::int IS NULL OR l.product = $4)
   AND ($5::int IS NULL OR l.reason = $5) AND {scope}
"""
REASON = ("l.reason AS reason_id, rc.code AS reason_code, rc.name_zh AS reason_zh, "
          "rc.name_en AS reason_en")


def _args(f: DefectFilter) -> list:
    return [china_midnight(f.first), china_midnight(rules.add_months(f.last, 1)), f.region,
            f.product, f.reason]


async def breakdown(*, actor: Actor, f: DefectFilter, limit: int = 50_001) -> list[dict]:
    """Units received by reason x product x date-code month x region, most first."""
    args = _args(f)
    scope = scope_sql(actor, "o.path", args)
    args.append(limit)
    return await raw_fetch(
        f"SELECT {REASON}, l.product AS product_id, p.model, "
        "date_trunc('month', l.date_code)::date AS date_code_month, top.region AS region_id, "
        "r.name_zh AS region_zh, r.name_en AS region_en, "
        "sum(coalesce(l.received_qty, 0))::int AS units, count(*)::int AS lines"
        + _BASE.format(scope=scope, reason_column="reason")
        + " GROUP BY l.reason, rc.code, rc.name_zh, rc.name_en, l.product, p.model, "
          "date_trunc('month', l.date_code), top.region, r.name_zh, r.name_en "
          f"ORDER BY units DESC, l.reason, l.product LIMIT ${len(args)}", *args)


async def pareto(*, actor: Actor, f: DefectFilter) -> list[dict]:
    """Units received per defect reason, most first, with each reason's share and the
    cumulative share (bp) — the few reasons behind most returns."""
    args = _args(f)
    scope = scope_sql(actor, "o.path", args)
    rows = await raw_fetch(
        f"SELECT {REASON}, sum(coalesce(l.received_qty, 0))::int AS units"
        + _BASE.format(scope=scope, reason_column="reason")
        + " GROUP BY l.reason, rc.code, rc.name_zh, rc.name_en ORDER BY units DESC, l.reason",
        *args)
    return with_shares(rows)


def with_shares(rows: list[dict]) -> list[dict]:
    """Pareto shares in bp (rounded half up) and the running total, in the rows' order."""
    total = sum(r["units"] for r in rows)
    running = 0
    for row in rows:
        running += row["units"]
        row["share_bp"] = rules.ratio_bp(row["units"], total) if total else 0
        row["cumulative_bp"] = rules.ratio_bp(running, total) if total else 0
    return rows


async def rejections(*, actor: Actor, f: DefectFilter) -> list[dict]:
    """R13: units CS rejected, per rejection reason, most first."""
    args = _args(f)
    scope = scope_sql(actor, "o.path", args)
    rows = await raw_fetch(
        "SELECT l.reject_reason AS reason_id, rc.code AS reason_code, rc.name_zh AS reason_zh, "
        "rc.name_en AS reason_en, sum(l.rejected_qty)::int AS units"
        + _BASE.format(scope=scope, reason_column="reject_reason")
        + " AND l.rejected_qty > 0 GROUP BY l.reject_reason, rc.code, rc.name_zh, rc.name_en "
          "ORDER BY units DESC, l.reject_reason", *args)
    return with_shares(rows)


async def per_thousand_sold(*, actor: Actor, f: DefectFilter) -> list[dict]:
    """Returns per 1,000 units sold, per product, over the months chosen (one statement):
    units received back / units sold in the archive in the same months."""
    args = _args(f)
    scope = scope_sql(actor, "o.path", args)
    args += [f.first, rules.add_months(f.last, 1)]
    n = len(args)
    sold_scope = scope.replace("o.path", "so.path")
    return await raw_fetch(
        "WITH back AS (SELECT l.product, sum(coalesce(l.received_qty, 0))::bigint AS units"
        + _BASE.format(scope=scope, reason_column="reason") + " GROUP BY l.product), "
        "sold AS (SELECT cp.product, sum(cp.quantity)::bigint AS units FROM customer_product cp "
        "JOIN customer cu ON cu.id = cp.customer "
        "JOIN organisation so ON so.id = coalesce(cp.sold_by, cu.organisation) "
        "LEFT JOIN organisation top ON top.id = nullif(split_part(so.path, '.', 2), '')::int "
        f"WHERE cp.purchased_on >= ${n - 1} AND cp.purchased_on < ${n} "
        "AND ($3::int IS NULL OR top.region = $3) AND ($4::int IS NULL OR cp.product = $4) "
        f"AND {sold_scope} GROUP BY cp.product) "
        "SELECT p.id AS product_id, p.model, coalesce(back.units, 0)::int AS returned, "
        "coalesce(sold.units, 0)::int AS sold FROM product p "
        "LEFT JOIN back ON back.product = p.id LEFT JOIN sold ON sold.product = p.id "
        "WHERE back.units IS NOT NULL OR sold.units IS NOT NULL ORDER BY p.model", *args)


def per_thousand(returned: int, sold: int) -> str | None:
    """Units back per 1,000 sold, one decimal (half up); None when nothing was sold."""
    if sold <= 0:
        return None
    tenths = (returned * 20000 + sold) // (2 * sold)
    return f"{tenths // 10}.{tenths % 10}"


async def choices() -> dict:
    """The filters' lists: regions, products, defect reasons (one query each)."""
    return {"regions": await raw_fetch("SELECT id, code, name_zh, name_en FROM region ORDER BY code"),
            "products": await raw_fetch("SELECT id, model FROM product ORDER BY model"),
            "reasons": await raw_fetch("SELECT id, code, name_zh, name_en FROM reason_code "
                                       "WHERE kind = 'defect' ORDER BY code")}


# --- HQ-editable reason codes ---------------------------------------------------------------

def _require_admin(actor: Actor) -> None:
    if not (actor.organisation_kind == "hq" and actor.has("hq_admin")):
        raise Forbidden("Only the HQ administrator may do this.")


async def reason_codes() -> list[dict]:
    return await raw_fetch("SELECT id, kind, code, name_zh, name_en, active FROM reason_code "
                           "ORDER BY kind, code")


def _names(name_zh: str, name_en: str) -> dict[str, str]:
    errors = {}
    if not name_zh.strip() or len(name_zh) > 120:
        errors["name_zh"] = "Enter a name (up to 120 characters)."
    if not name_en.strip() or len(name_en) > 120:
        errors["name_en"] = "Enter a name (up to 120 characters)."
    return errors


@transactional
async def add_reason_code(*, actor: Actor, data: ReasonCodeIn) -> int:
    _require_admin(actor)
    code = data.code.strip().upper()
    errors = _names(data.name_zh, data.name_en)
    if data.kind not in KINDS:
        errors["kind"] = "Choose defect or rejection."
    if not code or len(code) > 20 or not code.replace("_", "").isalnum() or not code.isascii():
        errors["code"] = "A code of up to 20 letters, digits or underscores."
    elif await raw_fetch("SELECT 1 FROM reason_code WHERE kind = $1 AND code = $2",
                         data.kind, code):
        errors["code"] = "This code already exists."
    if errors:
        raise ValidationFailed(errors)
    row = await raw_fetch("INSERT INTO reason_code (kind, code, name_zh, name_en, active) "
                          "VALUES ($1, $2, $3, $4, TRUE) RETURNING id", data.kind, code,
                          data.name_zh.strip(), data.name_en.strip())
    await audit.record(actor=actor, object_type="reason_code", object_id=row[0]["id"],
                       action="add", after={"kind": data.kind, "code": code,
                                            "name_zh": data.name_zh.strip(),
                                            "name_en": data.name_en.strip()})
    return row[0]["id"]


@transactional
async def edit_reason_code(*, actor: Actor, reason_id: int, data: ReasonCodeEditIn) -> None:
    """Rename or (de)activate: an inactive code stays on the lines that carry it and in the
    analytics, and is no longer offered for new lines."""
    _require_admin(actor)
    rows = await raw_fetch("SELECT id, name_zh, name_en, active FROM reason_code WHERE id = $1 "
                           "FOR UPDATE", reason_id)
    if not rows:
        raise NotFound("Not found.")
    errors = _names(data.name_zh, data.name_en)
    if errors:
        raise ValidationFailed(errors)
    before = {k: rows[0][k] for k in ("name_zh", "name_en", "active")}
    after = {"name_zh": data.name_zh.strip(), "name_en": data.name_en.strip(),
             "active": data.active}
    old, new = audit.changes(before, after)
    if not new:
        return
    await raw_fetch("UPDATE reason_code SET name_zh = $2, name_en = $3, active = $4 WHERE id = $1",
                    reason_id, after["name_zh"], after["name_en"], after["active"])
    await audit.record(actor=actor, object_type="reason_code", object_id=reason_id,
                       action="edit", before=old, after=new)
