"""Repair-point lists for people: applications (with the filters the home pages link to and
the search people type, issue 9 §5) and old-for-new exchanges. Scoped (R1); one query each,
whatever the number of rows."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.db import raw_fetch
from portal.listing import like_pattern
from portal.network import scope_sql
from portal.validation import INT4_MAX

PAGE_SIZE = 50
# The list's status: the application's, or "closed" once its point was closed (R25).
STATUSES = ("proposed", "approved", "refused", "closed")
_STATE = "CASE WHEN p.id IS NOT NULL AND NOT p.active THEN 'closed' ELSE a.status END"

_BALANCE = ("(SELECT coalesce(sum(m.amount_fen), 0) FROM deposit_movement m "
            "WHERE m.repair_point = d.repair_point)")
# ?waiting=… on /repair-points: the points (by their application) waiting for someone. SQL, not
# words: a dict() call keeps scripts/catalog.py from collecting it as messages.
WAITING = dict(
    proposed="a.status = 'proposed'",
    fees=("EXISTS (SELECT 1 FROM repair_fee f WHERE f.repair_point = a.repair_point "
          "AND f.status = 'proposed')"),
    disputes=("EXISTS (SELECT 1 FROM consumer_dispute c WHERE c.repair_point = a.repair_point "
              "AND c.status = 'open')"),
    escalated=("EXISTS (SELECT 1 FROM consumer_dispute c WHERE c.repair_point = a.repair_point "
               "AND c.status = 'escalated')"),
    deposit=("EXISTS (SELECT 1 FROM deposit d JOIN organisation p ON p.id = d.repair_point "
             f"AND p.active WHERE d.repair_point = a.repair_point AND {_BALANCE} < d.required_fen)"),
    to_ship=("EXISTS (SELECT 1 FROM deposit d WHERE d.repair_point = a.repair_point "
             f"AND d.shipped_at IS NULL AND {_BALANCE} >= d.required_fen)"),
)
EXCHANGE_STATUSES = ("requested", "completed", "cancelled")


async def list_applications(actor: Actor, waiting: str | None = None, *,
                            text: str | None = None, status: str | None = None,
                            office_name: str | None = None,
                            proposed_from: datetime | None = None,
                            proposed_to: datetime | None = None,
                            decided_from: datetime | None = None,
                            decided_to: datetime | None = None,
                            after_id: int | None = None, limit: int = PAGE_SIZE) -> list[dict]:
    """Newest first, keyset-paginated by id; one query whatever the page holds. `text` is part
    of the point's name (zh or en, any case), of its office's name, or the point's number;
    `office_name` part of the office's name; `status` one of STATUSES; `*_from`/`*_to`
    instants (China days turned into [start, end)) of the proposal and of CS's decision."""
    args: list = []
    where = [scope_sql(actor, "o.path", args)]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if waiting in WAITING:
        where.append(WAITING[waiting])
    if text:
        pattern = arg(like_pattern(text))
        found = [f"{c} ILIKE {pattern} ESCAPE '\\'"
                 for c in ("a.name", "p.name", "p.name_en", "o.name", "o.name_en")]
        if text.isascii() and text.isdigit() and int(text) <= INT4_MAX:
            found.append(f"a.repair_point = {arg(int(text))}")
        where.append(f"({' OR '.join(found)})")
    if office_name:
        pattern = arg(like_pattern(office_name))
        where.append(f"(o.name ILIKE {pattern} ESCAPE '\\' OR o.name_en ILIKE {pattern} "
                     "ESCAPE '\\')")
    if status in STATUSES:
        where.append(f"{_STATE} = {arg(status)}")
    for column, bound, op in (("a.proposed_at", proposed_from, ">="),
                              ("a.proposed_at", proposed_to, "<"),
                              ("a.decided_at", decided_from, ">="),
                              ("a.decided_at", decided_to, "<")):
        if bound:
            where.append(f"{column} {op} {arg(bound)}")
    if after_id:
        where.append(f"a.id < {arg(after_id)}")
    return await raw_fetch(
        "SELECT a.id, a.office, a.repair_point, a.address, a.sales_scale, a.proposed_fee_fen, "
        "a.status, a.decision_reason, a.proposed_at, a.decided_at, "
        "coalesce(p.name, a.name) AS name, coalesce(p.name_en, '') AS name_en, "
        f"{_STATE} AS state, o.name AS office_name, o.name_en AS office_name_en "
        "FROM repair_point_application a JOIN organisation o ON o.id = a.office "
        "LEFT JOIN organisation p ON p.id = a.repair_point "
        f"WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT {int(limit)}", *args)


async def offices_in_scope(actor: Actor) -> list[dict]:
    """The offices and agents the actor sees (R1): where a point may be proposed, and the
    names the list's office filter offers."""
    args: list = []
    return await raw_fetch(
        "SELECT o.id, o.name, o.name_en FROM organisation o WHERE o.kind IN ('office', 'agent') "
        f"AND {scope_sql(actor, 'o.path', args)} ORDER BY o.id", *args)


async def list_exchanges(actor: Actor, status: str | None = None) -> list[dict]:
    """The exchanges of the actor's office (its points asked for) or of its own point."""
    args: list = [actor.organisation_id]
    where = "(e.office = $1 OR e.repair_point = $1)"
    if status in EXCHANGE_STATUSES:
        args.append(status)
        where += " AND e.status = $2"
    return await raw_fetch(
        "SELECT e.*, p.code, o.name AS point_name, o.name_en AS point_name_en "
        "FROM exchange e JOIN spare_part p ON p.id = e.spare_part "
        "JOIN organisation o ON o.id = e.repair_point "
        f"WHERE {where} ORDER BY e.id DESC LIMIT 200", *args)
