"""Service calls (R33): a consumer's repair call, routed to the repair point that covers the
customer's area, visited on site within 24 hours of the call (later is a breach, shown and
counted), its outcome and the point's repair record (R19) kept; then closed, or cancelled with
its reason. Each step keeps who and when on the call and why in the audit trail (R20), and
tells the point's staff what waits for them (portal/handoffs.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from service import call_queries, call_rules, opinion_cards
from service.customers import open_customer
from service.inputs import CallCancelIn, CallCloseIn, CallIn, CallVisitIn

TEXT_MAX = 2000
FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead of ours is not "the future"
OLDEST_CALL = timedelta(days=30)  # a call recorded later than this is a typing slip
# what people read for each code (the catalog collects *_LABELS)
CALL_STATUS_LABELS = {"open": "Waiting for the visit", "visited": "Visited",
                      "closed": "Closed", "cancelled": "Cancelled"}
OUTCOME_LABELS = {"fixed": "Fixed on site", "parts": "Needs parts", "not_fixed": "Not fixed",
                  "no_fault": "No fault found"}
CHANNEL_LABELS = {"tablet": "on the repair point's device", "link": "on the customer's phone"}
CALL_ACTION_LABELS = {"recorded": "call recorded", "visited": "visit recorded",
                      "closed": "call closed", "cancelled": "call cancelled",
                      "card_link": "opinion card link shown", "card_tablet":
                      "opinion card handed over on this device",
                      "card_filled": "opinion card filled in"}
BAD_INSTANT = "Enter a date and time as YYYY-MM-DD HH:MM (China time)."


def may_record_calls(actor: Actor) -> bool:
    """R33: a repair point's staff, an office's or agent's clerk or manager, HQ customer
    service record service calls."""
    kind = actor.organisation_kind
    return (kind == "repair_point" and actor.has("repair_staff")) \
        or (kind in ("office", "agent") and actor.has("dealer_clerk", "manager")) \
        or (kind == "hq" and actor.has("hq_cs"))


def is_point_staff(actor: Actor, point_id: int) -> bool:
    return actor.organisation_kind == "repair_point" and actor.has("repair_staff") \
        and actor.organisation_id == point_id


def sees_phone(actor: Actor, call: dict) -> bool:
    """R34: the customer's number in full for the point that serves them; masked for others."""
    return is_point_staff(actor, call["point_id"])


def actions_for(actor: Actor, call: dict) -> dict[str, Any]:
    """What `actor` may do with `call` now (call_rules.call_actions): the page shows it, the
    services enforce it."""
    return call_rules.call_actions(
        status=call["status"], own_point=is_point_staff(actor, call["point_id"]),
        may_record=may_record_calls(actor) and actor.can_see_path(call["point_path"]),
        card_filled=None if call["card_id"] is None else call["card_submitted_at"] is not None)


def enforce(actor: Actor, call: dict, action: str) -> None:
    actions = actions_for(actor, call)
    if action not in actions:
        if not (is_point_staff(actor, call["point_id"]) or may_record_calls(actor)):
            raise Forbidden("Your role may not change service calls.")
        raise Conflict("This service call is %(status)s.",
                       status=CALL_STATUS_LABELS[call["status"]])
    refusal = actions[action]
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def parse_instant(text: str, field: str, now: datetime) -> datetime:
    """'2026-12-02T14:30' (China time), or ISO 8601 with an offset; empty: now."""
    text = (text or "").strip()
    if not text:
        return now
    try:
        value = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValidationFailed({field: BAD_INSTANT}) from None
    return value.replace(tzinfo=clock.CHINA) if value.tzinfo is None else value


async def get_call(*, actor: Actor, call_id: int) -> dict:
    """A call `actor` may see (R1: the serving point, the offices above it, HQ); NotFound
    otherwise, so its existence is not revealed."""
    call = await call_queries.call_row(call_id, clock.now())
    if call is None or not actor.can_see_path(call["point_path"]):
        raise NotFound("Not found.")
    return call


async def locked_call(actor: Actor, call_id: int) -> dict:
    """The call, row-locked for this transaction (one winner when two act at once)."""
    await raw_fetch("SELECT id FROM service_call WHERE id = $1 FOR UPDATE", call_id)
    return await get_call(actor=actor, call_id=call_id)


def china_time(at: datetime) -> str:
    """An instant as people read it: China time, to the minute."""
    return at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")


def _check_text(errors: dict[str, str], field: str, value: str, required: str | None) -> None:
    if required and not value.strip():
        errors[field] = required
    elif len(value) > TEXT_MAX:
        errors[field] = "At most 2,000 characters."


async def _serving_point(actor: Actor, data: CallIn, errors: dict[str, str]) -> int | None:
    """R33: a point records its own calls; others route by the customer's area to the
    approved, active point in their scope that covers it (fewest open calls among several),
    or take the point they chose from that list."""
    if actor.organisation_kind == "repair_point":
        return actor.organisation_id
    points = await call_queries.call_points(actor)
    if data.point_id is not None:
        if data.point_id not in {p["id"] for p in points}:
            errors["point_id"] = "Choose one of the listed repair points."
        return data.point_id
    chosen = call_rules.route_call(data.area, points)
    if chosen is None:
        errors["point_id"] = ("No repair point's coverage area names this area: choose the "
                              "repair point that will serve the customer.")
    return chosen


@transactional
async def record_call(*, actor: Actor, data: CallIn) -> int:
    """R33: a consumer's repair call, with its promised visit 24 hours after the call; the
    customer's file is found or opened at the serving point (R34); its staff are told."""
    if not may_record_calls(actor):
        raise Forbidden("Your role may not record service calls.")
    now = clock.now()
    errors: dict[str, str] = {}
    _check_text(errors, "problem", data.problem, "Describe the problem the customer reports.")
    called_at = now
    try:
        called_at = parse_instant(data.called_at, "called_at", now)
        if called_at > now + FUTURE_SLACK:
            errors["called_at"] = "The call cannot be in the future."
        elif called_at < now - OLDEST_CALL:
            errors["called_at"] = "Record calls within 30 days of the call."
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if data.product_id is not None and not await raw_fetch(
            "SELECT 1 FROM product WHERE id = $1", data.product_id):
        errors["product_id"] = "Unknown product: choose a model from the catalogue."
    point_id = await _serving_point(actor, data, errors)
    if errors or point_id is None:
        raise ValidationFailed(errors)
    customer_id = await open_customer(actor=actor, organisation_id=point_id, name=data.name,
                                      phone=data.phone, address=data.address, area=data.area)
    visit_by = call_rules.visit_due(called_at)
    row = (await raw_fetch(
        "WITH n AS (SELECT nextval(pg_get_serial_sequence('service_call', 'id')) AS id) "
        "INSERT INTO service_call (id, number, organisation, customer, product, problem, "
        "address, called_at, visit_by, notes, status, recorded_by, recorded_at) "
        "SELECT n.id, $1 || n.id, $2, $3, $4, $5, $6, $7, $8, '', 'open', $9, $10 FROM n "
        "RETURNING id, number",
        "SC" + called_at.astimezone(clock.CHINA).strftime("%y%m%d") + "-", point_id,
        customer_id, data.product_id, data.problem.strip(), data.address.strip()[:200],
        called_at, visit_by, actor.user_id, now))[0]
    await audit.record(actor=actor, object_type="service_call", object_id=row["id"],
                       action="recorded", organisation_id=point_id,
                       after={"status": "open", "organisation": point_id,
                              "called_at": called_at.isoformat(),
                              "visit_by": visit_by.isoformat()})
    point = (await raw_fetch("SELECT name, name_en FROM organisation WHERE id = $1",
                             point_id))[0]
    await tell("call_recorded", actor=actor, point_id=point_id, dedupe_key=row["number"],
               params={"number": row["number"], "call_id": row["id"],
                       "point": names(point), "visit_by": china_time(visit_by),
                       "problem": data.problem.strip()[:200]})
    return row["id"]


@transactional
async def record_visit(*, actor: Actor, call_id: int, data: CallVisitIn) -> str:
    """R33: the point's visit on site: when, the outcome, whether it was fixed at the first
    visit, notes and the repair record it made (R19). Later than 24 h after the call is a
    breach (kept: it is computed from the two instants). Issues the call's opinion card and
    returns its one-time token (only its hash is stored)."""
    call = await locked_call(actor, call_id)
    enforce(actor, call, "visit")
    now = clock.now()
    errors: dict[str, str] = {}
    if data.outcome not in call_rules.CALL_OUTCOMES:
        errors["outcome"] = "Choose the outcome of the visit."
    _check_text(errors, "notes", data.notes, None)
    visited_at = now
    try:
        visited_at = parse_instant(data.visited_at, "visited_at", now)
        if visited_at > now + FUTURE_SLACK:
            errors["visited_at"] = "The visit cannot be in the future."
        elif visited_at < call["called_at"]:
            errors["visited_at"] = "The visit cannot be before the call."
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if data.repair_id is not None and not await raw_fetch(
            "SELECT 1 FROM repair WHERE id = $1 AND repair_point = $2", data.repair_id,
            call["point_id"]):
        errors["repair_id"] = "Choose one of this repair point's repair records."
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch(
        "UPDATE service_call SET status = 'visited', visited_at = $2, outcome = $3, "
        "first_time_fix = $4, notes = $5, repair = $6, visited_by = $7 WHERE id = $1",
        call_id, visited_at, data.outcome, data.first_time_fix, data.notes.strip(),
        data.repair_id, actor.user_id)
    breached = call_rules.visit_breached(call["called_at"], visited_at, now)
    await audit.record(actor=actor, object_type="service_call", object_id=call_id,
                       action="visited", organisation_id=call["point_id"],
                       before={"status": call["status"]},
                       after={"status": "visited", "visited_at": visited_at.isoformat(),
                              "outcome": data.outcome, "first_time_fix": data.first_time_fix,
                              "late": breached})
    return await opinion_cards.issue_card(call_id=call_id, now=now)


@transactional
async def close_call(*, actor: Actor, call_id: int, data: CallCloseIn) -> None:
    """R33: a visited call is closed; the note is kept as the reason (R20)."""
    call = await locked_call(actor, call_id)
    enforce(actor, call, "close")
    errors: dict[str, str] = {}
    _check_text(errors, "note", data.note, None)
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch("UPDATE service_call SET status = 'closed' WHERE id = $1", call_id)
    await audit.record(actor=actor, object_type="service_call", object_id=call_id,
                       action="closed", organisation_id=call["point_id"],
                       before={"status": call["status"]}, after={"status": "closed"},
                       reason=data.note.strip())


@transactional
async def cancel_call(*, actor: Actor, call_id: int, data: CallCancelIn) -> None:
    """R33, R20: a call not yet visited is cancelled with its reason; the point's staff and
    whoever recorded it are told."""
    call = await locked_call(actor, call_id)
    enforce(actor, call, "cancel")
    errors: dict[str, str] = {}
    _check_text(errors, "reason", data.reason, "Say why the call is cancelled.")
    if errors:
        raise ValidationFailed(errors)
    await raw_fetch("UPDATE service_call SET status = 'cancelled' WHERE id = $1", call_id)
    await audit.record(actor=actor, object_type="service_call", object_id=call_id,
                       action="cancelled", organisation_id=call["point_id"],
                       before={"status": call["status"]}, after={"status": "cancelled"},
                       reason=data.reason.strip())
    await tell("call_cancelled", actor=actor, point_id=call["point_id"],
               user_ids=[call["recorded_by"]], dedupe_key=call["number"],
               params={"number": call["number"], "call_id": call_id,
                       "reason": data.reason.strip()[:300]})


async def history(*, actor: Actor, call: dict) -> list[dict]:
    """R20: every step of the call with who, when and why."""
    return await audit.history(actor=actor, object_type="service_call", object_id=call["id"],
                               organisation_path=call["point_path"])
