"""What the repair-point pages and services read: applications (with the filters the home
pages link to and the search people type, issue 9 §5), old-for-new exchanges, a point's
deposit, stock, repairs, fees and disputes, the first-stock templates. Lists are scoped (R1);
one query each, whatever the number of rows."""
from __future__ import annotations

from datetime import datetime

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import NotFound
from portal.listing import like_pattern
from portal.network import get_organisation, scope_sql
from portal.validation import INT4_MAX
from spares import rules
from spares.tables import Exchange, RepairPointApplication

PAGE_SIZE = 50
# The list's status: the application's, or "closed" once its point was closed (R25).
STATUSES = (*(s.value for s in RepairPointApplication.Status), "closed")
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
EXCHANGE_STATUSES = tuple(s.value for s in Exchange.Status)


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


def held(location: str, condition: str) -> str:
    return (f"coalesce((SELECT b.quantity FROM stock_balance b WHERE b.location = {location} "
            f"AND b.spare_part = e.spare_part AND b.condition = '{condition}'), 0)")


async def list_exchanges(actor: Actor, status: str | None = None) -> list[dict]:
    """The exchanges of the actor's office (its points asked for) or of its own point, with
    what the office holds good and the point faulty of the part (R23: both must suffice)."""
    args: list = [actor.organisation_id]
    where = "(e.office = $1 OR e.repair_point = $1)"
    if status in EXCHANGE_STATUSES:
        args.append(status)
        where += " AND e.status = $2"
    return await raw_fetch(
        "SELECT e.*, p.code, p.name_zh, p.name_en, o.name AS point_name, "
        f"o.name_en AS point_name_en, {held('e.office', 'good')} AS office_good, "
        f"{held('e.repair_point', 'faulty')} AS point_faulty "
        "FROM exchange e JOIN spare_part p ON p.id = e.spare_part "
        "JOIN organisation o ON o.id = e.repair_point "
        f"WHERE {where} ORDER BY e.id DESC LIMIT 200", *args)


async def deposit_status(point_id: int) -> dict:
    """R22/R28: what the point owes, what it has paid (the sum of its movements), whether the
    first stock shipped. NotFound when the point has no deposit on record."""
    rows = await raw_fetch(
        "SELECT d.*, coalesce((SELECT sum(amount_fen) FROM deposit_movement m "
        "WHERE m.repair_point = d.repair_point), 0)::bigint AS balance_fen "
        "FROM deposit d WHERE d.repair_point = $1", point_id)
    if not rows:
        raise NotFound("Not found.")
    row = rows[0]
    row["paid"] = row["balance_fen"] >= row["required_fen"]
    return row


async def stock_of(location_id: int) -> list[dict]:
    """R23: every spare part with what the location holds, good and faulty."""
    return await raw_fetch(
        "SELECT s.id, s.code, s.name_zh, s.name_en, s.unit_price_fen, "
        "coalesce(sum(b.quantity) FILTER (WHERE b.condition = 'good'), 0) AS good, "
        "coalesce(sum(b.quantity) FILTER (WHERE b.condition = 'faulty'), 0) AS faulty "
        "FROM spare_part s LEFT JOIN stock_balance b ON b.spare_part = s.id AND b.location = $1 "
        "GROUP BY s.id ORDER BY s.code", location_id)


async def list_repairs(*, actor: Actor, point_id: int) -> list[dict]:
    """R19: the point's latest repairs, each saying whether its promise has passed."""
    await get_organisation(actor=actor, org_id=point_id)
    rows = await raw_fetch("SELECT r.*, p.model FROM repair r JOIN product p ON p.id = r.product "
                           "WHERE r.repair_point = $1 ORDER BY r.id DESC LIMIT 100", point_id)
    today = clock.china_today()
    for row in rows:
        row["overdue"] = rules.overdue(row["promised_by"], row["completed_at"] is not None, today)
    return rows


async def fee_history(point_id: int) -> list[dict]:
    """R24: every fee proposed for the point, newest first, with who proposed it."""
    return await raw_fetch("SELECT f.*, u.display_name AS proposer FROM repair_fee f JOIN "
                           "portal_user u ON u.id = f.proposed_by WHERE f.repair_point = $1 "
                           "ORDER BY f.id DESC", point_id)


async def disputes_of(point_id: int) -> list[dict]:
    return await raw_fetch("SELECT * FROM consumer_dispute WHERE repair_point = $1 ORDER BY id DESC",
                           point_id)


async def list_templates() -> list[dict]:
    """R22: the first stock of each sales scale, part by part."""
    return await raw_fetch("SELECT t.id, t.sales_scale, t.quantity, s.id AS part_id, s.code, "
                           "s.unit_price_fen FROM stock_template t JOIN spare_part s "
                           "ON s.id = t.spare_part ORDER BY t.sales_scale, s.code")


async def active_parts() -> list[dict]:
    """The spare parts a form offers."""
    return await raw_fetch("SELECT id, code, name_zh, name_en, unit_price_fen FROM spare_part "
                           "WHERE active ORDER BY code")


async def active_products() -> list[dict]:
    return await raw_fetch("SELECT id, model FROM product WHERE active ORDER BY model")


async def hq_id() -> int:
    """Head office: where first stocks and replacement parts ship from."""
    return (await raw_fetch("SELECT id FROM organisation WHERE kind = 'hq' ORDER BY id "
                            "LIMIT 1"))[0]["id"]


async def last_deposit_payment(point_id: int) -> int | None:
    """The point's latest deposit payment, which the browser comes back from (R28)."""
    rows = await raw_fetch("SELECT id FROM payment WHERE purpose = 'deposit' AND object_id = $1 "
                           "ORDER BY id DESC LIMIT 1", str(point_id))
    return rows[0]["id"] if rows else None
