"""Complaint rules (R32), pure: no database, no clock of their own.

The eight steps of seed 003: record -> judge (stands or not) -> assign by type -> investigate
-> propose a resolution -> approve it -> tell the customer -> close with accountability and an
improvement (a major complaint also with a preventive action). A complaint that does not
stand is answered with the reason when it is judged (the customer is told then)."""
from __future__ import annotations

import collections.abc
import re
import typing
from datetime import datetime, timedelta

import dealers.rules
import portal.actor

_Complaint = collections.abc.Mapping[str, typing.Any]  # a complaint's row (service.queries)
_Actor = portal.actor.Actor
_Steps = dict[str, "dealers.rules.Refusal | None"]

COMPLAINT_STATUSES = ("recorded", "judged", "not_standing", "assigned", "investigated",
                      "proposed", "approved", "told", "closed")
COMPLAINT_FINISHED = ("not_standing", "closed")
COMPLAINT_CHANNELS = ("phone", "web", "letter", "visit", "card")
COMPLAINT_ABOUT = ("product", "repair_point", "office", "person", "other")
COMPLAINT_KINDS = ("quality", "service", "suggestion")
# Assigned by type (seed 003 §3.3): contract disputes to top management (the marketing
# vice-president), transport to HQ logistics, quality to HQ tech, suggestions to customer
# service, a service complaint to the office or repair point concerned ("unit").
COMPLAINT_ASSIGNEES = ("management", "hq_logistics", "hq_tech", "hq_cs", "unit")
ASSIGNEE_ROLE = {"management": "vice_president", "hq_logistics": "hq_logistics",
                 "hq_tech": "hq_tech", "hq_cs": "hq_cs"}
UNIT_KINDS = ("office", "agent", "repair_point")
# Who works for an organisation of each kind on its complaints (records, investigates, tells).
STAFF_ROLES = {"hq": ("hq_cs",), "office": ("dealer_clerk", "manager"),
               "agent": ("dealer_clerk", "manager"), "store": ("dealer_clerk", "manager"),
               "repair_point": ("repair_staff",)}
COMPLAINT_TEXT_MAX = 4000  # description, cause, resolution, ...: enough for a letter
# Public forms (no account): at most so many requests per client IP in so many seconds.
PUBLIC_LIMITS = {"complain": (10, 3600), "status": (10, 900)}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
REFERENCE_LENGTH = 8  # 32^8 ≈ 10^12 references: not guessable at the public limits
_REFERENCE = re.compile(f"TS[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")


def complaint_deadlines(recorded_at: datetime, acknowledge_hours: int,
                        resolve_days: int) -> tuple[datetime, datetime]:
    """R32: (judged by, customer told by), from the recording instant in real hours and days,
    as HQ's policy stands on the day it is recorded."""
    return (recorded_at + timedelta(hours=acknowledge_hours),
            recorded_at + timedelta(days=resolve_days))


def complaint_breaches(complaint: _Complaint, now: datetime) -> tuple[bool, bool]:
    """R32: (acknowledgement late, resolution late): judged after `acknowledge_by` (or not yet
    and already late); the customer told after `resolve_by` (or not yet and already late). A
    complaint answered as not standing was told when it was judged."""
    judged, told = complaint.get("judged_at"), complaint.get("told_at")
    return ((judged or now) > complaint["acknowledge_by"],
            (told or now) > complaint["resolve_by"])


def complaint_breaching(complaint: _Complaint, now: datetime) -> bool:
    """Late now on a step not yet done: what lists show in red and the job escalates."""
    if complaint["status"] in COMPLAINT_FINISHED:
        return False
    return (complaint.get("judged_at") is None and now > complaint["acknowledge_by"]) or \
        (complaint.get("told_at") is None and now > complaint["resolve_by"])


def normalise_reference(text: str) -> str:
    """What a consumer typed as their reference: spaces and dashes dropped, upper case."""
    return re.sub(r"[\s\-]", "", text or "").upper()[:20]


def is_reference(text: str) -> bool:
    return _REFERENCE.fullmatch(text) is not None


def suggested_assignee(kind: str | None, about: str, about_org_kind: str | None) -> str:
    """R32: the responsible unit a complaint's type points to (CS may choose another: contract
    disputes go to management, transport to HQ logistics)."""
    if kind == "quality":
        return "hq_tech"
    if kind == "service" and about in ("repair_point", "office") and about_org_kind in UNIT_KINDS:
        return "unit"
    return "hq_cs"


def works_for(actor: _Actor, organisation_id: int | None, kind: str | None) -> bool:
    """The actor is staff of this organisation for its complaints."""
    return organisation_id == actor.organisation_id and kind is not None \
        and actor.has(*STAFF_ROLES.get(kind, ()))


def may_record_complaint(actor: _Actor) -> bool:
    """R32: a repair point's staff, a store's or office's clerk or manager, or HQ CS."""
    return works_for(actor, actor.organisation_id, actor.organisation_kind)


def is_complaint_assignee(complaint: _Complaint, actor: _Actor) -> bool:
    """The actor belongs to the unit the complaint is assigned to."""
    to = complaint.get("assigned_to")
    if to == "unit":
        return works_for(actor, complaint.get("assigned_org"), complaint.get("assigned_kind"))
    role = ASSIGNEE_ROLE.get(to or "")
    return role is not None and actor.organisation_kind == "hq" and actor.has(role)


def _is_cs(actor: _Actor) -> bool:
    return actor.organisation_kind == "hq" and actor.has("hq_cs")


def _approve_step(complaint: _Complaint, actor: _Actor, steps: _Steps) -> None:
    vp = actor.organisation_kind == "hq" and actor.has("vice_president")
    if complaint["major"] and vp:
        steps["approve"] = None  # top management rules on it, also on what it investigated
    elif complaint["major"] and _is_cs(actor):
        steps["approve"] = dealers.rules.Refusal(
            "A major complaint's resolution is approved by the marketing vice-president (R32).")
    elif not complaint["major"] and _is_cs(actor):
        steps["approve"] = dealers.rules.Refusal(
            "Nobody approves their own proposal: another customer service colleague approves "
            "it.") if complaint.get("proposed_by") == actor.user_id else None


def allowed_actions(complaint: _Complaint, actor: _Actor) -> _Steps:
    """The steps `actor` sees on `complaint` now: step -> None when possible, or why not (shown
    beside the disabled button; the services refuse with the same words). Other people's
    steps are absent."""
    status = complaint["status"]
    steps: _Steps = {}
    if status == "recorded" and _is_cs(actor):
        steps["judge"] = None
    if status == "judged" and _is_cs(actor):
        steps["assign"] = None
    if status in ("assigned", "investigated") and is_complaint_assignee(complaint, actor):
        if status == "assigned":
            steps["investigate"] = None
        steps["propose"] = None if status == "investigated" else dealers.rules.Refusal(
            "Record the investigation (the cause and who is responsible) before proposing a "
            "resolution.")
    if status == "proposed":
        _approve_step(complaint, actor, steps)
    holder = _is_cs(actor) or works_for(actor, complaint["organisation"], complaint.get("org_kind"))
    if holder and status in ("assigned", "investigated", "proposed", "approved"):
        steps["tell"] = None if status == "approved" else dealers.rules.Refusal(
            "The customer is told once the resolution is approved (R32).")
    if holder and status in ("approved", "told"):
        steps["close"] = None if status == "told" else dealers.rules.Refusal(
            "Nothing is closed before the customer is told (R32).")
    return steps


def close_problems(*, major: bool, accountability: str, improvement: str,
                   preventive: str) -> dict[str, str]:
    """R32: closing names who answers for it and the improvement; a major complaint also its
    preventive action."""
    errors = {}
    if not accountability.strip():
        errors["accountability"] = "Say who is accountable and what follows for them (R32)."
    if not improvement.strip():
        errors["improvement"] = "Name the improvement action (R32)."
    if major and not preventive.strip():
        errors["preventive"] = "A major complaint needs a preventive action before it closes (R32)."
    return errors

