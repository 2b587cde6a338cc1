"""Repair points proposed by an office, agent or regional manager and decided by CS (R21);
an approved point joins the tree under its office with its deposit sized (R22)."""
from __future__ import annotations

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, ValidationFailed
from portal.handoffs import names, tell
from portal.money import format_fen
from portal.network import DEALER_KINDS, get_organisation
from portal.tables import Organisation
from spares import rules
from spares.deposits import size_deposit
from spares.tables import RepairPointApplication

Status = RepairPointApplication.Status


@transactional
async def propose_repair_point(*, actor: Actor, office_id: int, name: str, coverage_area: str,
                               sales_scale: str, address: str, proposed_fee_fen: int | None,
                               owner_store_id: int | None = None) -> int:
    """R21: an office, agent or regional manager proposes a point and its fee (R24)."""
    office = await get_organisation(actor=actor, org_id=office_id)
    if office["kind"] not in DEALER_KINDS or not actor.has("manager", "dealer_clerk"):
        raise Forbidden("Only offices, logistics agents and regional managers propose repair points.")
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 120:
        errors["name"] = "Enter a name (up to 120 characters)."
    if not coverage_area.strip():
        errors["coverage_area"] = "Describe the area it covers."
    if sales_scale not in rules.SCALES:
        errors["sales_scale"] = "Choose the sales scale."
    if not address.strip() or len(address) > 200:
        errors["address"] = "Enter the address (a lighting market or street)."
    if proposed_fee_fen is None or not 0 <= proposed_fee_fen <= rules.MAX_FEE_FEN:
        errors["proposed_fee"] = "Enter the proposed monthly repair fee, e.g. 300.00."
    if owner_store_id is not None:
        store = await Organisation.select(Organisation.kind, Organisation.parent).where(
            Organisation.id == owner_store_id).first()
        if store is None or store["kind"] != "store" or store["parent"] != office_id:
            errors["owner_store"] = "Choose a franchise store of this office."
    if errors:
        raise ValidationFailed(errors)
    row = RepairPointApplication(
        office=office_id, owner_store=owner_store_id, name=name.strip(),
        coverage_area=coverage_area.strip(), sales_scale=sales_scale, address=address.strip(),
        proposed_fee_fen=proposed_fee_fen, proposed_by=actor.user_id, proposed_at=clock.now())
    await RepairPointApplication.insert(row)
    await audit.record(actor=actor, object_type="repair_point_application", object_id=row.id,
                       action="proposed", organisation_id=office_id,
                       after={"name": name.strip(), "scale": sales_scale,
                              "fee_fen": proposed_fee_fen})
    await tell("repair_point_proposed", actor=actor, org_id=office_id,
               params={"name": name.strip(), "office": names(office),
                       "address": address.strip(), "fee": format_fen(proposed_fee_fen or 0)},
               dedupe_key=str(row.id))
    return row.id


@transactional
async def decide_repair_point(*, actor: Actor, application_id: int, approve: bool,
                              reason: str = "") -> int | None:
    """R21: CS approves (the point joins the tree under its office, its deposit is sized from
    the stock template, R22) or refuses with a reason."""
    if not actor.has("hq_cs"):
        raise Forbidden("Only HQ customer service may approve.")
    if not approve and not reason.strip():
        raise ValidationFailed({"reason": "Give the reason for refusing."})
    rows = await raw_fetch("SELECT a.*, o.path, o.region FROM repair_point_application a "
                           "JOIN organisation o ON o.id = a.office WHERE a.id = $1 "
                           "FOR UPDATE OF a", application_id)
    if not rows:
        raise NotFound("Not found.")
    app = rows[0]
    if app["status"] != Status.proposed:
        raise Conflict("This request has already been decided.")
    status = Status.approved if approve else Status.refused
    point_id, deposit_fen = None, 0
    if approve:
        point = Organisation(name=app["name"], name_en="", kind="repair_point",
                             parent=app["office"], region=app["region"], created_at=clock.now())
        await Organisation.insert(point)
        point_id = point.id
        await Organisation.update({Organisation.path: f"{app['path']}{point.id}."}).where(
            Organisation.id == point.id)
        deposit_fen = await size_deposit(point_id, app["sales_scale"])
    await raw_fetch("UPDATE repair_point_application SET status = $2, decided_by = $3, "
                    "decided_at = $4, decision_reason = $5, repair_point = $6 WHERE id = $1",
                    application_id, status.value, actor.user_id, clock.now(), reason.strip(),
                    point_id)
    await audit.record(actor=actor, object_type="repair_point_application",
                       object_id=application_id, action=status.value,
                       organisation_id=app["office"], reason=reason.strip(),
                       after={"repair_point": point_id})
    await tell(f"repair_point_{status.value}", actor=actor, user_ids=[app["proposed_by"]],
               dedupe_key=str(application_id),
               params={"name": app["name"], "point_id": point_id, "reason": reason.strip(),
                       "deposit": format_fen(deposit_fen)})
    return point_id
