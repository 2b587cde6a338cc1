"""Old-for-new exchanges (R23): a repair point asks its office for good parts; the office hands
them over and takes as many faulty ones back, in one transaction."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.handoffs import names, tell
from portal.i18n import current_locale
from portal.network import get_organisation
from spares import queries, rules
from spares.stock import move_stock
from spares.tables import Exchange


@transactional
async def request_exchange(*, actor: Actor, spare_part_id: int, quantity: int | None) -> int:
    """R23: the point asks its office for good parts against as many faulty ones; the office's
    clerks and managers are told."""
    if actor.organisation_kind != "repair_point" or not actor.has("repair_staff"):
        raise Forbidden("Only repair-point staff request exchanges.")
    if quantity is None or not 1 <= quantity <= 1000:
        raise ValidationFailed({"quantity": "Quantity must be a whole number from 1 to 1,000."})
    point = await get_organisation(actor=actor, org_id=actor.organisation_id)
    part = await raw_fetch("SELECT code, name_zh, name_en FROM spare_part WHERE id = $1",
                           spare_part_id)
    if not part:
        raise ValidationFailed({"spare_part_id": "Choose a spare part from the list."})
    row = Exchange(repair_point=point["id"], office=point["parent"], spare_part=spare_part_id,
                   quantity=quantity, requested_by=actor.user_id, requested_at=clock.now())
    await Exchange.insert(row)
    await audit.record(actor=actor, object_type="exchange", object_id=row.id,
                       action="requested", after={"part": spare_part_id, "qty": quantity})
    await tell("exchange_requested", actor=actor, org_id=point["parent"],
               point_id=point["id"], dedupe_key=str(row.id),
               params={"point": names(point), "qty": quantity, "part": part_names(part[0])})
    return row.id


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


@transactional
async def complete_exchange(*, actor: Actor, exchange_id: int) -> None:
    """R23: the office hands over good parts and takes the faulty ones, in one transaction:
    good out = faulty in, and nobody's stock goes negative (also when two run at once)."""
    rows = await raw_fetch(
        "SELECT e.*, s.code, s.name_zh, s.name_en, "
        f"{queries.held('e.office', 'good')} AS office_good, "
        f"{queries.held('e.repair_point', 'faulty')} AS point_faulty FROM exchange e "
        "JOIN spare_part s ON s.id = e.spare_part WHERE e.id = $1 FOR UPDATE OF e", exchange_id)
    if not rows:
        raise NotFound("Not found.")
    ex = rows[0]
    office = await get_organisation(actor=actor, org_id=ex["office"])
    if actor.organisation_id != office["id"] or not actor.has("dealer_clerk", "manager"):
        raise Forbidden("Only the office's own clerks and managers may do this.")
    if ex["status"] != Exchange.Status.requested:
        raise Conflict("This exchange is already %(status)s.", status=ex["status"])
    q, part = ex["quantity"], ex["spare_part"]
    # R23: a refusal that names the part, what is on hand and what is needed (issue 9 §4); the
    # balance trigger still refuses any race after this
    rules.enforce(actions_for(actor, ex), "complete")
    await move_stock([(ex["office"], part, "good", -q), (ex["repair_point"], part, "good", q),
                      (ex["repair_point"], part, "faulty", -q), (ex["office"], part, "faulty", q)],
                     kind="exchange", reference=f"exchange-{exchange_id}", actor=actor)
    await raw_fetch("UPDATE exchange SET status = 'completed', completed_by = $2, "
                    "completed_at = $3 WHERE id = $1", exchange_id, actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="exchange", object_id=exchange_id,
                       action="completed", organisation_id=ex["office"],
                       after={"part": part, "qty": q})
    await tell("exchange_completed", actor=actor, point_id=ex["repair_point"],
               dedupe_key=str(exchange_id),
               params={"office": names(office), "qty": q, "part": part_names(ex),
                       "point_id": ex["repair_point"]})
