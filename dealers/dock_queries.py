"""What the dock reads (issue 12): the batches expected at head office and one batch's summary
before its arrival is recorded (R10, R11, R12). Reads only; one query each whatever the data."""
from __future__ import annotations

from dealers.queries import like_prefix
from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql

EXPECTED_LIMIT = 200

_FIELDS = (
    "b.id, b.number, b.status, b.disposition, b.carrier, b.waybill, b.packages, "
    "b.dispatched_on, b.arrived_at, b.received_at, b.month, "
    "o.name AS org_name, o.name_en AS org_name_en, "
    "(SELECT count(*) FROM return_line l WHERE l.batch = b.id AND NOT l.extra) AS line_count, "
    "(SELECT coalesce(sum(l.quantity), 0) FROM return_line l WHERE l.batch = b.id) AS quantity")


async def expected_arrivals(*, actor: Actor, search: str = "") -> list[dict]:
    """R11/R12: batches on their way to head office (dispatched, or approved for return and not
    yet dispatched on the portal) and those arrived but not yet counted; those arrived first,
    then by date dispatched. `search` is the start of a batch number or of a waybill (any case)."""
    args: list = []
    where = [scope_sql(actor, "o.path", args),
             "b.status IN ('approved', 'dispatched')", "b.disposition = 'return'"]
    text = search.strip()[:60]
    if text:
        args.append(like_prefix(text.upper()))
        where.append(f"(b.number LIKE ${len(args)} ESCAPE '\\' "
                     f"OR upper(b.waybill) LIKE ${len(args)} ESCAPE '\\')")
    return await raw_fetch(
        f"SELECT {_FIELDS} FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY b.arrived_at IS NULL, b.dispatched_on NULLS LAST, b.number "
        f"LIMIT {EXPECTED_LIMIT}", *args)


async def batch_summary(*, actor: Actor, number: str) -> dict | None:
    """One batch by its number, as the dock reads it before recording the arrival: office,
    carrier, waybill, packages, lines and quantity. None if no batch the actor may see has it."""
    args: list = [number.strip().upper()[:24]]
    rows = await raw_fetch(
        f"SELECT {_FIELDS} FROM return_batch b JOIN organisation o ON o.id = b.organisation "
        f"WHERE b.number = $1 AND {scope_sql(actor, 'o.path', args)}", *args)
    return rows[0] if rows else None
