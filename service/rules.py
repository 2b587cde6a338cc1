"""Customer-service rules (SPEC §8), pure: no database, no clock of their own. One home per
rule; the services enforce them and the tests call them directly.

Time limits run in real hours from the recorded instant (24 h is 24 h across midnight and month
ends); what people read is China time (R3)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

VISIT_WITHIN = timedelta(hours=24)  # R33: on site within 24 hours of the call
RETURN_VISIT_SHARE_PERCENT = 5  # R34: at least 5 % of the year's customers


def visit_due(called_at: datetime) -> datetime:
    """R33: the latest instant the visit may start."""
    return called_at + VISIT_WITHIN


def visit_breached(called_at: datetime, visited_at: datetime | None, now: datetime) -> bool:
    """R33: visited later than 24 h after the call, or not yet visited and already late."""
    return (visited_at or now) > visit_due(called_at)


def visits_needed(customers: int) -> int:
    """R34: the fewest return visits a year's plan may hold: 5 % of the customers, rounded up."""
    return -(-customers * RETURN_VISIT_SHARE_PERCENT // 100)


_NOT_DIGITS = re.compile(r"[\s\-()+]")


def normalise_phone(text: str) -> str | None:
    """A phone number as digits only (spaces, dashes, brackets and a leading + dropped); None
    when it is not 5 to 20 digits."""
    digits = _NOT_DIGITS.sub("", text or "")
    return digits if digits.isdigit() and 5 <= len(digits) <= 20 else None


def mask_phone(digits: str) -> str:
    """R34: personal data shown masked to those who do not need it: 138****5678."""
    if len(digits) <= 7:
        return digits[:2] + "*" * (len(digits) - 2)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*; Li Lei -> L*****."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


# --- complaints (R32) --------------------------------------------------------------------------
# The eight steps of seed 003: record -> judge (stands or not) -> assign by type -> investigate
# -> propose a resolution -> approve it -> tell the customer -> close with accountability and an
# improvement (a major complaint also with a preventive action). A complaint that does not
# stand is answered with the reason when it is judged (the customer is told then).

import collections.abc
import typing

import dealers.rules  # Refusal: the one shape of a refusal, shared by every domain
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

# --- service calls and opinion cards (R33) ------------------------------------------------------
# A call is recorded (open), visited on site (visited: outcome, first-time fix, an opinion card
# issued), then closed; or cancelled with a reason before the visit. Who may do what in which
# status is `call_actions`: the call page shows each action (disabled with the reason a rule
# gives), the services refuse with the same words.

from dealers.rules import Refusal  # noqa: E402  (pure: a message and its parameters)

CALL_OUTCOMES = ("fixed", "parts", "not_fixed", "no_fault")
CARD_SCORES = ("attitude", "skill", "punctuality")
SCORE_MIN, SCORE_MAX = 1, 5
CARD_COMMENTS_MAX = 1000


def area_matches(area: str, coverage_area: str) -> bool:
    """R33: the customer's area (a city or district as typed) lies in a point's coverage area
    when the coverage text contains it, ignoring case and surrounding spaces."""
    wanted = (area or "").strip().casefold()
    return bool(wanted) and wanted in (coverage_area or "").casefold()


def route_call(area: str, points: list[dict]) -> int | None:
    """R33: the repair point that serves a call from `area`, among `points` (the approved,
    active points the recorder may route to: each {id, coverage_area, open_calls}): the one
    whose coverage matches, the one with the fewest open calls when several do (the lowest id
    on a tie); None when none matches (the recorder chooses)."""
    matching = [p for p in points if area_matches(area, p["coverage_area"])]
    if not matching:
        return None
    return min(matching, key=lambda p: (p["open_calls"], p["id"]))["id"]


def score_problems(scores: dict[str, int | None]) -> dict[str, str]:
    """R33: attitude, skill and punctuality are each scored 1 to 5; a message per bad field."""
    def valid(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) \
            and SCORE_MIN <= value <= SCORE_MAX

    return {name: "Choose a score from 1 to 5." for name in CARD_SCORES
            if not valid(scores.get(name))}


def call_actions(*, status: str, own_point: bool, may_record: bool, card_filled: bool | None
                 ) -> dict[str, Refusal | None]:
    """R33: what this person may do with a call in `status`: action -> None when allowed, or
    the Refusal a rule gives. `own_point`: the person is staff of the repair point that serves
    the call; `may_record`: a role that records calls (the point's staff, an office's clerk or
    manager, HQ customer service) in whose scope the call lies; `card_filled`: None while no
    card is issued. Actions of other roles are absent (the service answers Forbidden)."""
    if not (own_point or may_record):
        return {}
    actions: dict[str, Refusal | None] = {}
    if status == "open":
        actions["visit"] = None if own_point else Refusal(
            "Only the staff of the repair point that serves the call record its visit.")
        actions["close"] = Refusal("Record the visit before closing the call.")
        actions["cancel"] = None
    elif status == "visited":
        actions["close"] = None
        actions["cancel"] = Refusal("The visit is recorded: close the call instead of "
                                    "cancelling it.")
    if status in ("visited", "closed") and card_filled is not None:
        actions["card"] = Refusal("The customer has already filled in the opinion card.") \
            if card_filled else None
    return actions

# --- return visits, surveys, the customer archive (R34) ----------------------------------------

ARCHIVE_ORG_KINDS = frozenset({"store", "subdistributor", "office", "agent", "repair_point"})
PRAISE_MIN_SCORE = 4  # R34 praise: an opinion card with every score at least this
VISITS_LATE_FROM = (12, 1)  # R34: from 1 December unvisited customers of the year's plan are late
MAIN_PROBLEMS = 3  # R34: the survey's most frequent problems, each needing an action
# The short list of problems a survey answer may name (R34); free text is accepted too.
SURVEY_PROBLEM_LABELS = {
    "quality": "Product quality",
    "repair_slow": "Repairs take too long",
    "attitude": "Staff attitude",
    "price": "Repair or parts price",
    "parts": "Spare parts not available",
    "information": "Hard to find the repair point",
}
ACTION_KIND_LABELS = {"corrective": "Corrective action", "preventive": "Preventive action"}


def may_open_archive(actor) -> bool:
    """R34: who opens the customer archive at all: the organisations that serve customers, a
    regional manager, HQ customer service and the auditor (the rest of HQ has no need)."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs", "auditor") or (actor.has("manager") and bool(actor.covered_paths))
    return actor.organisation_kind in ARCHIVE_ORG_KINDS


def may_open_visits(actor) -> bool:
    """R34: return-visit plans and surveys are the office manager's (the sales-service manager),
    HQ customer service's, and the auditor reads them."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs", "auditor")
    return actor.organisation_kind in ("office", "agent") and actor.has("manager")


def may_lead_visits(actor, organisation_id: int) -> bool:
    """R34: the plan and the survey are led by the office's manager or by HQ customer service."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs")
    return actor.organisation_id == organisation_id and actor.has("manager") \
        and actor.organisation_kind in ("office", "agent")


def sees_personal_data(actor, holding_org_id: int) -> bool:
    """R34: name, phone and address in full only to those who need them: the people of the
    organisation holding the file, and HQ customer service. Everyone else who may see the file
    (an office above a store, a regional manager, the auditor) reads them masked."""
    if actor.organisation_kind == "hq":
        return actor.has("hq_cs")
    return actor.organisation_id == holding_org_id


def contact(row: dict, full: bool) -> dict:
    """A file's name, phone and address as this reader may see them (masked, or erased: '')."""
    if row.get("erased_at"):
        return {"name": "", "phone": "", "address": ""}
    if full:
        return {"name": row["name"], "phone": row["phone"], "address": row["address"]}
    return {"name": mask_name(row["name"]), "phone": mask_phone(row["phone"]),
            "address": "*" * min(len(row["address"]), 6) if row["address"] else ""}


def is_praise(attitude: int | None, skill: int | None, punctuality: int | None) -> bool:
    """R34 praise: an opinion card scoring every question at least PRAISE_MIN_SCORE."""
    scores = (attitude, skill, punctuality)
    return all(s is not None and s >= PRAISE_MIN_SCORE for s in scores)


def retention_cutoff(now: datetime, months: int) -> datetime:
    """R34: a file whose last activity is before this instant has been idle `months` calendar
    months (the same day of the month, clamped to the month's end)."""
    month = now.month - 1 - months
    year, month = now.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return now.replace(year=year, month=month, day=min(now.day, days))


def plan_refusal(customers: int, planned: int) -> tuple[str, dict] | None:
    """R34: why a plan of `planned` visits over `customers` customers is refused, or None."""
    if customers == 0:
        return ("No customers bought or were served in that year: there is nobody to visit.", {})
    if planned > customers:
        return ("The plan cannot visit more than the %(customers)s customers of the year.",
                {"customers": customers})
    needed = visits_needed(customers)
    if planned < needed:
        return ("At least 5 %% of the year's customers get a return visit: visit at least "
                "%(needed)s of the %(customers)s customers.",
                {"needed": needed, "customers": customers})
    return None


def visits_late(year: int, today) -> bool:
    """R34: the year's plan is late from 1 December of its year on (unvisited customers are
    flagged), and after its year."""
    month, day = VISITS_LATE_FROM
    return (today.year, today.month, today.day) >= (year, month, day)


def problem_key(text: str) -> str:
    """How answers naming the same problem group: the listed code, or the free text trimmed
    and lower-cased (the SQL groups by the same expression: lower(btrim(problem)))."""
    return text.strip().lower()


def main_problems(counts: dict[str, int], answers: int) -> list[dict]:
    """R34: the survey's problems, most frequent first (then by name), each with its count and
    its share of all answers in %; the first MAIN_PROBLEMS are the main ones."""
    ranked = sorted(((k, n) for k, n in counts.items() if k), key=lambda kn: (-kn[1], kn[0]))
    return [{"problem": k, "answers": n, "share": round(100 * n / answers, 1) if answers else 0,
             "main": i < MAIN_PROBLEMS} for i, (k, n) in enumerate(ranked)]


def survey_actions(*, analysed: bool, answers: int, is_leader: bool) -> dict[str, str | None]:
    """The survey's actions this person sees: action -> None when possible, else why not."""
    if not is_leader:
        return {}
    if analysed:  # nothing left to do with answers: the actions follow the main problems
        return {}
    return {"answer": None,
            "analyse": None if answers else "Record at least one answer before analysing."}
