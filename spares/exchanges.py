"""Old-for-new exchanges (R23): a repair point asks its office for good parts; the office hands
them over and takes as many faulty ones back, in one transaction.

Each step is two or three statements whatever the network's size (issue 17 §5): what it reads
(scope, part, balances) in one, its writes (record, movements, audit row) in one, then the
notice (`portal.handoffs.tell`, recipients resolved in its INSERT … SELECT)."""
from __future__ import annotations

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.handoffs import names, tell
from portal.i18n import current_locale
from portal.network import scope_sql
from spares import queries, rules
from spares.tables import Exchange
from spares.writes import Params, audit_row, enough_stock, movements

REQUESTED, COMPLETED = Exchange.Status.requested.value, Exchange.Status.completed.value


def _request_sql(p: Params, actor: Actor, spare_part_id: int, quantity: int) -> str:
    """The actor's point (R1: within their scope) and the part, read while the exchange and its
    audit row are inserted; no row when the point is out of reach, no exchange (`exchange_id`
    null) when the part is unknown."""
    part = p(spare_part_id, "int")
    source = (f"SELECT o.id, o.parent, o.name, o.name_en, s.code, s.name_zh, s.name_en AS part_en "
              f"FROM organisation o LEFT JOIN spare_part s ON s.id = {part} "
              f"WHERE o.id = {p(actor.organisation_id, 'int')} "
              f"AND {scope_sql(actor, 'o.path', p.values)}")
    insert = ("INSERT INTO exchange (repair_point, office, spare_part, quantity, status, "
              f"requested_by, requested_at) SELECT id, parent, {part}, {p(quantity, 'int')}, "
              f"{p(REQUESTED, 'text')}, {p(actor.user_id, 'int')}, {p(clock.now(), 'timestamptz')} "
              "FROM src WHERE code IS NOT NULL RETURNING id")
    audit = audit_row(p, source="ex", object_id_sql="ex.id::text", actor=actor,
                      object_type="exchange", action="requested",
                      after={"part": spare_part_id, "qty": quantity})
    return (f"WITH src AS ({source}), ex AS ({insert}), au AS ({audit}) "
            "SELECT src.*, ex.id AS exchange_id FROM src LEFT JOIN ex ON true")


@transactional
async def request_exchange(*, actor: Actor, spare_part_id: int, quantity: int | None) -> int:
    """R23: the point asks its office for good parts against as many faulty ones; the office's
    clerks and managers are told."""
    if actor.organisation_kind != "repair_point" or not actor.has("repair_staff"):
        raise Forbidden("Only repair-point staff request exchanges.")
    if quantity is None or not 1 <= quantity <= 1000:
        raise ValidationFailed({"quantity": "Quantity must be a whole number from 1 to 1,000."})
    p = Params()
    rows = await raw_fetch(_request_sql(p, actor, spare_part_id, quantity), *p.values)
    if not rows:
        raise NotFound("Not found.")
    point = rows[0]
    if point["exchange_id"] is None:
        raise ValidationFailed({"spare_part_id": "Choose a spare part from the list."})
    part = {"code": point["code"], "name_zh": point["name_zh"], "name_en": point["part_en"]}
    await tell("exchange_requested", actor=actor, org_id=point["parent"],
               point_id=point["id"], dedupe_key=str(point["exchange_id"]),
               params={"point": names(point), "qty": quantity, "part": part_names(part)})
    return point["exchange_id"]


def part_names(row: dict) -> dict[str, str]:
    """A spare part as people name it, in each language: its name and its code."""
    return {locale: f"{name} ({row['code']})" if name != row["code"] else name
            for locale, name in names(row).items()}


def actions_for(actor: Actor, ex: dict) -> dict:
    """What `actor` may do with exchange `ex` now (rules.exchange_actions), given what the
    office holds good and the point faulty (`office_good`, `point_faulty`): the exchange list
    shows it, complete_exchange enforces it."""
    return rules.exchange_actions(
        status=ex["status"], own_office=actor.organisation_id == ex["office"], roles=actor.roles,
        quantity=ex["quantity"], office_good=ex["office_good"], point_faulty=ex["point_faulty"],
        part=part_names(ex).get(current_locale.get()) or ex["code"])


# The exchange locked, with its part, what the office holds good and the point faulty, and the
# office (its path for the R1 scope check, its names for the notice).
_LOCK = (
    "SELECT e.*, s.code, s.name_zh, s.name_en, o.path AS office_path, o.name AS office_name, "
    f"o.name_en AS office_name_en, {queries.held('e.office', 'good')} AS office_good, "
    f"{queries.held('e.repair_point', 'faulty')} AS point_faulty FROM exchange e "
    "JOIN spare_part s ON s.id = e.spare_part JOIN organisation o ON o.id = e.office "
    "WHERE e.id = $1 FOR UPDATE OF e")


def _complete_sql(p: Params, actor: Actor, ex: dict) -> str:
    """Good parts out of the office into the point, as many faulty ones back (R23), the
    exchange completed and its audit row, in one statement."""
    q, part, office, point = ex["quantity"], ex["spare_part"], ex["office"], ex["repair_point"]
    now, exchange = clock.now(), p(ex["id"], "int")
    moves = movements(p, [(office, part, "good", -q), (point, part, "good", q),
                          (point, part, "faulty", -q), (office, part, "faulty", q)],
                      kind="exchange", reference_sql=p(f"exchange-{ex['id']}", "text"),
                      actor_id=actor.user_id, at=now)
    update = (f"UPDATE exchange SET status = {p(COMPLETED, 'text')}, "
              f"completed_by = {p(actor.user_id, 'int')}, "
              f"completed_at = {p(now, 'timestamptz')} WHERE id = {exchange} RETURNING id")
    audit = audit_row(p, source="done", object_id_sql="done.id::text", actor=actor,
                      object_type="exchange", action="completed", organisation_id=office,
                      after={"part": part, "qty": q})
    return f"WITH mv AS ({moves}), done AS ({update}) {audit}"


@transactional
async def complete_exchange(*, actor: Actor, exchange_id: int) -> None:
    """R23: the office hands over good parts and takes the faulty ones, in one transaction:
    good out = faulty in, and nobody's stock goes negative (also when two run at once)."""
    rows = await raw_fetch(_LOCK, exchange_id)
    if not rows or not actor.can_see_path(rows[0]["office_path"]):
        raise NotFound("Not found.")
    ex = rows[0]
    if actor.organisation_id != ex["office"] or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only the office's own clerks and managers may do this.")
    if ex["status"] != REQUESTED:
        raise Conflict("This exchange is already %(status)s.", status=ex["status"])
    # R23: a refusal that names the part, what is on hand and what is needed (issue 9 §4); the
    # balance trigger still refuses any race after this
    rules.enforce(actions_for(actor, ex), "complete")
    p = Params()
    with enough_stock():
        await raw_fetch(_complete_sql(p, actor, ex), *p.values)
    office = {"name": ex["office_name"], "name_en": ex["office_name_en"]}
    await tell("exchange_completed", actor=actor, point_id=ex["repair_point"],
               dedupe_key=str(exchange_id),
               params={"office": names(office), "qty": ex["quantity"], "part": part_names(ex),
                       "point_id": ex["repair_point"]})
