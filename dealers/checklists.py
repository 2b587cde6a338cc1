"""Inspection checklists per product category (R18, issue 12 §4): which checks HQ logistics
makes on a category's returned goods at the dock. HQ data with history, like the warranty
periods: a change is a new row effective from a future date. A category without a row has the
default list; a CFL category has R18's checklist (lights, cap, greyed tube, blackened bridges,
broken). What is checked is the line's inspected condition, from which the rules propose the
decision and its receipt reason (R13, R18: `receiving.proposals`)."""
from __future__ import annotations

from datetime import date

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed

# each check: the inspected condition field it fills (return_line.i_<key>)
CHECKS = ("lights", "cap_percent", "tube_greyed", "bridge_blackened", "broken")
CHECK_LABELS = {"lights": "Lights", "cap_percent": "Cap, %% new", "tube_greyed": "Tube greyed",
                "bridge_blackened": "Bridges blackened", "broken": "Broken"}
CFL_CHECKLIST = CHECKS  # R18 a-c, seeded for every CFL category
DEFAULT_CHECKLIST = ("broken", "lights")


async def checklists_on(day: date) -> dict[int, tuple[str, ...]]:
    """Each category's checklist in effect on `day` (one query); default lists filled in."""
    rows = await raw_fetch(
        "SELECT c.id, c.is_cfl, k.checks FROM product_category c LEFT JOIN LATERAL ("
        "SELECT checks FROM inspection_checklist i WHERE i.category = c.id "
        "AND i.effective_from <= $1 ORDER BY i.effective_from DESC LIMIT 1) k ON true", day)
    return {r["id"]: tuple(r["checks"].split(",")) if r["checks"] is not None
            else (CFL_CHECKLIST if r["is_cfl"] else DEFAULT_CHECKLIST) for r in rows}


async def history(category_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT i.checks, i.effective_from, i.reason, i.created_at, u.display_name AS author "
        "FROM inspection_checklist i LEFT JOIN portal_user u ON u.id = i.created_by "
        "WHERE i.category = $1 ORDER BY i.effective_from DESC", category_id)


@transactional
async def change(*, actor: Actor, category_id: int, checks: list[str], effective_from: date,
                 reason: str) -> None:
    """A new checklist for a category from a future date; today's and the past stay (R20)."""
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    if not await raw_fetch("SELECT 1 FROM product_category WHERE id = $1", category_id):
        raise NotFound("Not found.")
    errors: dict[str, str] = {}
    chosen = [c for c in CHECKS if c in checks]
    if not chosen or len(set(checks)) != len(chosen):
        errors["checks"] = "Choose the checks from the list, at least one."
    if effective_from <= clock.china_today():
        errors["effective_from"] = "A change takes effect from a future date."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if not errors and await raw_fetch(
            "SELECT 1 FROM inspection_checklist WHERE category = $1 AND effective_from = $2",
            category_id, effective_from):
        errors["effective_from"] = "A change from that date already exists."
    if errors:
        raise ValidationFailed(errors)
    before = (await checklists_on(effective_from)).get(category_id, ())
    await raw_fetch(
        "INSERT INTO inspection_checklist (category, checks, effective_from, reason, created_by, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6)", category_id, ",".join(chosen),
        effective_from, reason.strip(), actor.user_id, clock.now())
    await audit.record(actor=actor, object_type="inspection_checklist", object_id=category_id,
                       action="change", before={"checks": list(before)},
                       after={"checks": chosen, "from": effective_from.isoformat()},
                       reason=reason.strip())
