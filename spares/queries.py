"""Repair-point lists for people: applications (with the filters the home pages link to) and
old-for-new exchanges. Scoped (R1); one query each, whatever the number of rows."""
from __future__ import annotations

from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql

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


async def list_applications(actor: Actor, waiting: str | None = None) -> list[dict]:
    args: list = []
    where = [scope_sql(actor, "o.path", args)]
    if waiting in WAITING:
        where.append(WAITING[waiting])
    return await raw_fetch("SELECT a.*, o.name AS office_name, o.name_en AS office_name_en "
                           "FROM repair_point_application a "
                           f"JOIN organisation o ON o.id = a.office WHERE {' AND '.join(where)} "
                           "ORDER BY a.id DESC LIMIT 200", *args)


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
