"""The eight steps of a complaint after it is recorded (R32, seed 003): judge -> assign by type
-> investigate -> propose a resolution -> approve it -> tell the customer -> close with
accountability and an improvement action. Each step checks who may take it now
(service.rules.allowed_actions: the same words the page shows beside a disabled button), writes,
records who, when and why (R20) and tells the next person, in one transaction."""
from __future__ import annotations

from typing import Any

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from service import complaint_rules
from service.complaints import get_complaint, text_field
from service.inputs import (
    ComplaintApproveIn,
    ComplaintAssignIn,
    ComplaintCloseIn,
    ComplaintInvestigateIn,
    ComplaintJudgeIn,
    ComplaintProposeIn,
    ComplaintTellIn,
)

# Who may take each step, when the role is wrong (the state is checked after).
WHO_LABELS = {
    "judge": "Customer service judges complaints (R32).",
    "assign": "Customer service assigns complaints (R32).",
    "investigate": "Only the unit the complaint is assigned to investigates it (R32).",
    "propose": "Only the unit the complaint is assigned to proposes its resolution (R32).",
    "approve": "Customer service approves resolutions; the marketing vice-president those of "
               "major complaints (R32).",
    "tell": "The unit that recorded the complaint, or customer service, tells the customer (R32).",
    "close": "The unit that recorded the complaint, or customer service, closes it (R32).",
}


def _may_ever(actor: Actor, complaint: dict, step: str) -> bool:
    cs = actor.organisation_kind == "hq" and actor.has("hq_cs")
    if step in ("judge", "assign"):
        return cs
    if step in ("investigate", "propose"):
        return complaint_rules.is_complaint_assignee(complaint, actor)
    if step == "approve":
        return cs or (actor.organisation_kind == "hq" and actor.has("vice_president"))
    return cs or complaint_rules.works_for(actor, complaint["organisation"], complaint["org_kind"])


def _enforce(actor: Actor, complaint: dict, step: str) -> None:
    """The step as the page shows it: not this person's (403), not now (409), or refused by a
    rule with the page's own words (422)."""
    steps = complaint_rules.allowed_actions(complaint, actor)
    if step not in steps:
        if not _may_ever(actor, complaint, step):
            raise Forbidden(WHO_LABELS[step])
        raise Conflict("This complaint is %(status)s: this step is not possible now.",
                       status=complaint["status"])
    refusal = steps[step]
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def _about(complaint: dict, **extra: Any) -> dict:
    """Parameters of a complaint's notices: its reference, page and holding organisation."""
    return {"reference": complaint["reference"], "complaint_id": complaint["id"],
            "org": names(complaint, "org_name"), **extra}


async def _write(actor: Actor | None, complaint: dict, action: str, changes: dict[str, Any],
                 reason: str = "") -> None:
    """Update the complaint's columns and record the step (R20), in the caller's transaction."""
    columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await raw_fetch(f"UPDATE complaint SET {columns} WHERE id = $1", complaint["id"],
                    *changes.values())
    await audit.record(actor=actor, object_type="complaint", object_id=complaint["id"],
                       action=action, organisation_id=complaint["organisation"],
                       before={"status": complaint["status"]},
                       after={k: v for k, v in changes.items() if not k.endswith("_by")},
                       reason=reason)


@transactional
async def judge_complaint(*, actor: Actor, complaint_id: int, data: ComplaintJudgeIn) -> dict:
    """R32 step 2: CS judges whether it stands, its kind and whether it is major. One that does
    not stand is answered now, with the reason, and the customer told."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "judge")
    errors: dict[str, str] = {}
    if data.kind not in complaint_rules.COMPLAINT_KINDS:
        errors["kind"] = "Choose the kind: product quality, service or suggestion."
    needed = None if data.stands else \
        "Say why it does not stand: the customer is answered with the reason (R32)."
    reason = text_field(errors, "reason", data.reason, required=needed)
    told_how = text_field(errors, "told_how", data.told_how, limit=500, required=None if data.stands
                     else "Say how and when the customer was given the answer.")
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    if data.stands:
        await _write(actor, complaint, "judged", {
            "status": "judged", "kind": data.kind, "major": data.major, "judgement": reason,
            "judged_at": now}, reason)
        if data.major:  # R32: a major complaint goes to the general manager's level
            await tell("complaint_major", actor=actor, params=_about(complaint),
                       dedupe_key=complaint["reference"])
    else:
        await _write(actor, complaint, "not_standing", {
            "status": "not_standing", "kind": data.kind, "major": False, "judgement": reason,
            "judged_at": now, "told_how": told_how, "told_at": now}, reason)
        await tell("complaint_not_standing", actor=actor, params=_about(complaint, reason=reason),
                   org_id=None if complaint["org_kind"] == "hq" else complaint["organisation"],
                   dedupe_key=complaint["reference"])
    return complaint


async def _unit_people(assigned_to: str, assigned_org: int | None) -> list[int]:
    """The active people of the unit a complaint is assigned to (one query)."""
    if assigned_to == "unit":
        return [r["id"] for r in await raw_fetch(
            "SELECT u.id FROM portal_user u JOIN organisation o ON o.id = u.organisation "
            "WHERE u.organisation = $1 AND u.active AND u.roles && (CASE o.kind "
            "WHEN 'repair_point' THEN ARRAY['repair_staff'] "
            "ELSE ARRAY['dealer_clerk', 'manager'] END)::varchar[]", assigned_org)]
    return [r["id"] for r in await raw_fetch(
        "SELECT u.id FROM portal_user u JOIN organisation o ON o.id = u.organisation "
        "WHERE o.kind = 'hq' AND u.active AND $1 = ANY(u.roles)",
        complaint_rules.ASSIGNEE_ROLE[assigned_to])]


@transactional
async def assign_complaint(*, actor: Actor, complaint_id: int, data: ComplaintAssignIn) -> dict:
    """R32 step 3: CS assigns the responsible unit by type."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "assign")
    errors: dict[str, str] = {}
    org = None
    if data.assigned_to not in complaint_rules.COMPLAINT_ASSIGNEES:
        errors["assigned_to"] = "Choose who is responsible."
    elif data.assigned_to == "unit":
        org = data.assigned_org
        if org is None or not await raw_fetch(
                "SELECT 1 FROM organisation WHERE id = $1 AND active AND kind = ANY($2::text[])",
                org, list(complaint_rules.UNIT_KINDS)):
            errors["assigned_org"] = "Choose the office or repair point concerned."
    reason = text_field(errors, "reason", data.reason, limit=1000)
    if errors:
        raise ValidationFailed(errors)
    await _write(actor, complaint, "assigned", {
        "status": "assigned", "assigned_to": data.assigned_to, "assigned_org": org,
        "assigned_at": clock.now()}, reason)
    await tell("complaint_assigned", actor=actor, params=_about(complaint),
               user_ids=await _unit_people(data.assigned_to, org),
               dedupe_key=f"{complaint['reference']}:{data.assigned_to}:{org or ''}")
    return complaint


@transactional
async def investigate_complaint(*, actor: Actor, complaint_id: int,
                                data: ComplaintInvestigateIn) -> dict:
    """R32 step 4: the assigned unit finds the cause and who is responsible."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "investigate")
    errors: dict[str, str] = {}
    cause = text_field(errors, "cause", data.cause, required="Describe the cause you found.")
    responsible = text_field(errors, "responsible", data.responsible, limit=1000,
                        required="Name the department or people responsible.")
    if errors:
        raise ValidationFailed(errors)
    await _write(actor, complaint, "investigated", {
        "status": "investigated", "cause": cause, "responsible": responsible,
        "investigated_at": clock.now()})
    await tell("complaint_investigated", actor=actor, params=_about(complaint),
               dedupe_key=complaint["reference"])
    return complaint


@transactional
async def propose_resolution(*, actor: Actor, complaint_id: int,
                             data: ComplaintProposeIn) -> dict:
    """R32 step 5: the assigned unit proposes a resolution, after what the customer asks."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "propose")
    errors: dict[str, str] = {}
    resolution = text_field(errors, "resolution", data.resolution,
                       required="Describe the resolution you propose.")
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    await _write(actor, complaint, "proposed", {
        "status": "proposed", "resolution": resolution, "proposed_by": actor.user_id,
        "proposed_at": now})
    await tell("complaint_proposed_major" if complaint["major"] else "complaint_proposed",
               actor=actor, params=_about(complaint),
               dedupe_key=f"{complaint['reference']}@{now.isoformat()}")
    return complaint


@transactional
async def approve_resolution(*, actor: Actor, complaint_id: int,
                             data: ComplaintApproveIn) -> dict:
    """R32 step 6: CS approves the resolution (the vice-president for a major complaint), or
    sends it back to the unit with the reason."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "approve")
    errors: dict[str, str] = {}
    reason = text_field(errors, "reason", data.reason, limit=1000, required=None if data.approve
                   else "Say what the resolution lacks, for the unit to propose again.")
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    if not data.approve:
        await _write(actor, complaint, "proposal_refused", {"status": "investigated"}, reason)
        await tell("complaint_refused", actor=actor, params=_about(complaint, reason=reason),
                   user_ids=[complaint["proposed_by"]] if complaint["proposed_by"] else [],
                   dedupe_key=f"{complaint['reference']}@{now.isoformat()}")
        return complaint
    await _write(actor, complaint, "approved", {
        "status": "approved", "approved_by": actor.user_id, "approved_at": now}, reason)
    held_by_hq = complaint["org_kind"] == "hq"
    await tell("complaint_approved_hq" if held_by_hq else "complaint_approved", actor=actor,
               params=_about(complaint), org_id=None if held_by_hq else complaint["organisation"],
               dedupe_key=complaint["reference"])
    return complaint


@transactional
async def tell_customer(*, actor: Actor, complaint_id: int, data: ComplaintTellIn) -> dict:
    """R32 step 7: once the resolution is approved, the customer is told (how, when)."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "tell")
    errors: dict[str, str] = {}
    told_how = text_field(errors, "told_how", data.told_how, limit=500,
                     required="Say how and when the customer was told.")
    if errors:
        raise ValidationFailed(errors)
    await _write(actor, complaint, "told", {"status": "told", "told_how": told_how,
                                            "told_at": clock.now()})
    await tell("complaint_told", actor=actor, params=_about(complaint),
               dedupe_key=complaint["reference"])
    return complaint


@transactional
async def close_complaint(*, actor: Actor, complaint_id: int, data: ComplaintCloseIn) -> dict:
    """R32 step 8: closed only once the customer is told, with accountability and an
    improvement action; a major complaint also with a preventive action."""
    complaint = await get_complaint(actor=actor, complaint_id=complaint_id, lock=True)
    _enforce(actor, complaint, "close")
    errors = complaint_rules.close_problems(major=complaint["major"], accountability=data.accountability,
                                  improvement=data.improvement, preventive=data.preventive)
    values = {field: text_field(errors, field, getattr(data, field))
              for field in ("accountability", "improvement", "preventive")}
    if errors:
        raise ValidationFailed(errors)
    await _write(actor, complaint, "closed", {"status": "closed", **values,
                                              "closed_at": clock.now()})
    if complaint["major"]:
        await tell("complaint_major_closed", actor=actor, params=_about(complaint),
                   dedupe_key=complaint["reference"])
    return complaint


