"""Service-call and opinion-card reads (R33): one statement per list page, detail or choice
list, whatever the number of calls; scoped on the serving point's path (R1: a point sees its
own calls, an office its points', HQ all)."""
from __future__ import annotations

from portal.db import raw_fetch
from portal.listing import like_pattern
from portal.network import scope_sql

CALL_PAGE_SIZE = 50
CALL_STATUSES = ("open", "visited", "closed", "cancelled")
# a call breaches when visited (or still not visited) later than its visit_by (R33)
CALL_BREACHING = "(c.status <> 'cancelled' AND coalesce(c.visited_at, $1) > c.visit_by)"
_CALL_SELECT = (
    "SELECT c.id, c.number, c.status, c.called_at, c.visit_by, c.visited_at, c.outcome, "
    "c.first_time_fix, c.problem, c.address, c.notes, c.repair AS repair_id, c.recorded_at, "
    "c.recorded_by, "
    "c.organisation AS point_id, o.name AS point_name, o.name_en AS point_name_en, "
    "o.path AS point_path, o.parent AS office_id, c.customer AS customer_id, "
    "cu.name AS customer_name, cu.phone AS customer_phone, cu.area AS customer_area, "
    "c.product AS product_id, p.model AS product_model, p.name_zh AS product_zh, "
    "p.name_en AS product_en, " + CALL_BREACHING + " AS breaching, "
    "oc.id AS card_id, oc.issued_at AS card_issued_at, oc.submitted_at AS card_submitted_at, "
    "oc.attitude, oc.skill, oc.punctuality, oc.comments AS card_comments, "
    "oc.channel AS card_channel {extra} "
    "FROM service_call c JOIN organisation o ON o.id = c.organisation "
    "JOIN customer cu ON cu.id = c.customer LEFT JOIN product p ON p.id = c.product "
    "LEFT JOIN opinion_card oc ON oc.service_call = c.id {joins}")


async def list_calls(*, actor, now, number: str | None = None, phone: str | None = None,
                     status: str | None = None, breaching: bool = False,
                     called_from=None, called_to=None, point_id: int | None = None,
                     after_id: int | None = None, limit: int = CALL_PAGE_SIZE) -> list[dict]:
    """The calls `actor` may see (R1), newest first, keyset-paged on id: `number` a call number
    or part of it, `phone` the customer's full number (digits), `status`, only `breaching` ones,
    called between the instants [called_from, called_to), at one point."""
    args: list = [now]
    where = [scope_sql(actor, "o.path", args)]
    for value, condition in (
            (number, "c.number ILIKE {} ESCAPE '\\'"), (phone, "cu.phone = {}"),
            (status, "c.status = {}"), (called_from, "c.called_at >= {}"),
            (called_to, "c.called_at < {}"), (point_id, "c.organisation = {}"),
            (after_id, "c.id < {}")):
        if value is not None and value != "":
            args.append(like_pattern(str(value)) if condition.startswith("c.number") else value)
            where.append(condition.format(f"${len(args)}"))
    if breaching:
        where.append(CALL_BREACHING)
    args.append(limit)
    return await raw_fetch(
        _CALL_SELECT.format(extra="", joins="") + " WHERE " + " AND ".join(where)
        + f" ORDER BY c.id DESC LIMIT ${len(args)}", *args)


async def call_row(call_id: int, now) -> dict | None:
    """One call with its point, customer, product, card and people (the caller checks scope)."""
    rows = await raw_fetch(
        _CALL_SELECT.format(
            extra=", rb.display_name AS recorded_by_name, vb.display_name AS visited_by_name, "
                  "rp.model AS repair_model, r.recorded_at AS repair_at",
            joins="JOIN portal_user rb ON rb.id = c.recorded_by "
                  "LEFT JOIN portal_user vb ON vb.id = c.visited_by "
                  "LEFT JOIN repair r ON r.id = c.repair LEFT JOIN product rp ON rp.id = r.product")
        + " WHERE c.id = $2", now, call_id)
    return rows[0] if rows else None


async def call_points(actor) -> list[dict]:
    """R33: the approved, active repair points `actor` may route a call to (their scope), each
    with its coverage area and its open calls (one statement)."""
    args: list = []
    scope = scope_sql(actor, "o.path", args)
    return await raw_fetch(
        "SELECT o.id, o.name, o.name_en, a.coverage_area, (SELECT count(*) FROM service_call c "
        "WHERE c.organisation = o.id AND c.status = 'open') AS open_calls "
        "FROM organisation o JOIN LATERAL (SELECT coverage_area FROM repair_point_application "
        "WHERE repair_point = o.id AND status = 'approved' ORDER BY id DESC LIMIT 1) a ON TRUE "
        f"WHERE o.kind = 'repair_point' AND o.active AND {scope} ORDER BY o.id", *args)


async def point_repairs(point_id: int, limit: int = 50) -> list[dict]:
    """R19: the point's latest repair records, to link one to a visit."""
    return await raw_fetch(
        "SELECT r.id, r.customer, r.recorded_at, p.model FROM repair r "
        "JOIN product p ON p.id = r.product WHERE r.repair_point = $1 "
        "ORDER BY r.id DESC LIMIT $2", point_id, limit)


async def card_by_hash(token_hash: str) -> dict | None:
    """R33: the opinion card a link opens, with what its page may show of the service: the
    point, the visit's day, the product — nothing about the customer."""
    rows = await raw_fetch(
        "SELECT oc.id, oc.service_call, oc.submitted_at, oc.channel, c.visited_at, "
        "o.name AS point_name, o.name_en AS point_name_en, p.model AS product_model, "
        "p.name_zh AS product_zh, p.name_en AS product_en FROM opinion_card oc "
        "JOIN service_call c ON c.id = oc.service_call "
        "JOIN organisation o ON o.id = c.organisation LEFT JOIN product p ON p.id = c.product "
        "WHERE oc.token_hash = $1", token_hash)
    return rows[0] if rows else None


async def call_products() -> list[dict]:
    return await raw_fetch("SELECT id, model, name_zh, name_en FROM product WHERE active "
                           "ORDER BY model")

