"""Oversight rules (SPEC §7), pure: no database, no clock of their own. The services enforce
them, the pages show them (each action disabled with its reason), the tests call them directly.

Who is who in an audit (R30, seed 003 §4):
- the **audit group**, named per audit: led by a head-office customer-service user (the lead,
  who drew the plan), with sales planning, finance and members named for the occasion;
- the **marketing vice-president** (role `vice_president`) approves or returns the plan, receives
  the report and instructs rectification;
- the **line department**: the office's line management at head office — the regional managers
  (role `manager` at head office) who cover the office (SPEC §1: a regional manager is an HQ
  employee answering for several offices). They issue the rectification orders the
  vice-president instructs and close them. The group is not the office's line manager: a member
  of the audit's group never issues or closes its orders, whatever other role they hold;
- the **audited office**: its manager answers an order with evidence."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import Any

from dealers.rules import Refusal

SCORE_MIN, SCORE_MAX = 0, 100
TEXT_MAX = 4000
COST_MAX_FEN = 100_000_000_00  # a hundred million yuan: larger is a typing slip


class AuditStatus(str, Enum):
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    visited = "visited"
    reported = "reported"


class OrderStatus(str, Enum):
    instructed = "instructed"
    issued = "issued"
    answered = "answered"
    closed = "closed"


AUDIT_KINDS = ("periodic", "ad_hoc")
DUTIES = ("lead", "sales_planning", "finance", "member")
VISIBLE_TO_OFFICE = (AuditStatus.approved, AuditStatus.visited, AuditStatus.reported)



def office_sees(*, announced: bool, status: str, visited: bool) -> bool:
    """R30: the audited office sees an announced audit once it is approved, and an unannounced
    one only once its visit is recorded (never before)."""
    if visited:
        return True
    return announced and status in VISIBLE_TO_OFFICE


def report_due_breached(deadline: date, reported_on: date | None, today: date) -> bool:
    """R30: the written report is due by the plan's deadline (a China date); filed later, or
    not filed and the deadline past, is a breach."""
    return (reported_on or today) > deadline


def audit_actions(*, status: str, is_vp: bool, in_group: bool, is_lead: bool
                  ) -> dict[str, Refusal | None]:
    """R30: what this person may do with an audit in `status`: action -> None when allowed, or
    the Refusal shown beside it. Actions of other roles are absent (the service answers
    Forbidden)."""
    actions: dict[str, Refusal | None] = {}
    if is_vp:
        decided = None if status == AuditStatus.submitted else Refusal(
            "Only a plan waiting for approval can be approved or returned.")
        actions["approve"] = actions["return"] = decided
        actions["instruct"] = None if status == AuditStatus.reported else Refusal(
            "Rectification is instructed once the report is filed.")
    if is_lead and status == AuditStatus.returned:
        actions["resubmit"] = None
    if in_group:
        if status in (AuditStatus.submitted, AuditStatus.returned, AuditStatus.approved):
            actions["visit"] = None if status == AuditStatus.approved else Refusal(
                "No visit before the vice-president approves the plan.")
        if status in (AuditStatus.approved, AuditStatus.visited):
            actions["report"] = None if status == AuditStatus.visited else Refusal(
                "Record the visit before filing the report.")
    return actions


def order_actions(*, status: str, is_line: bool, in_group: bool, is_office: bool
                  ) -> dict[str, Refusal | None]:
    """R30: a rectification order: the line department issues it on the vice-president's
    instruction, the audited office answers it with evidence, the line department closes it or
    sends it back. A member of the audit group is refused the line department's steps."""
    actions: dict[str, Refusal | None] = {}
    line_refusal = Refusal(
        "The audit group cannot order anything itself: the line department issues and closes "
        "rectification orders.") if in_group else None
    if is_line or in_group:
        if status == OrderStatus.instructed:
            actions["issue"] = line_refusal
        if status == OrderStatus.answered:
            actions["close"] = actions["reopen"] = line_refusal
    if is_office and status in (OrderStatus.issued, OrderStatus.answered):
        actions["answer"] = None if status == OrderStatus.issued else Refusal(
            "The answer is with the line department.")
    return actions


def text_problems(values: Mapping[str, str], required: Mapping[str, str]) -> dict[str, str]:
    """Each field's problem: a required one left empty gets its message, any longer than
    TEXT_MAX is refused."""
    errors: dict[str, str] = {}
    for field, value in values.items():
        if field in required and not value.strip():
            errors[field] = required[field]
        elif len(value) > TEXT_MAX:
            errors[field] = "At most 4,000 characters."
    return errors


def plan_problems(*, kind: str, scope: str, method: str, deadline: date, cost_fen: int,
                  today: date) -> dict[str, str]:
    """R30: a plan names its scope, method, a deadline not in the past and its cost."""
    errors = text_problems(dict(scope=scope, method=method), {
        "scope": "Say what the audit covers.", "method": "Say how the audit is done."})
    if kind not in AUDIT_KINDS:
        errors["kind"] = "Choose periodic or ad hoc."
    if deadline < today:
        errors["deadline"] = "The deadline cannot be in the past."
    if not 0 <= cost_fen <= COST_MAX_FEN:
        errors["cost"] = "Enter a cost from 0 to 100,000,000.00 yuan."
    return errors


def report_problems(*, findings: str, report: str, score: int | None) -> dict[str, str]:
    """R30, R36: the written report with its findings and the score it gives the office."""
    errors = text_problems(dict(findings=findings, report=report), {
        "findings": "Record what the audit found.", "report": "Write the report."})
    if score is None or not SCORE_MIN <= score <= SCORE_MAX:
        errors["score"] = "Enter a score from 0 to 100."
    return errors


def appraisal_band(score: int) -> str:
    """R31/R36: below 70 fails, 80 and above good, 90 and above excellent."""
    if score >= 90:
        return "excellent"
    if score >= 80:
        return "good"
    return "pass" if score >= 70 else "fail"


# --- repair points (R37, R38) -------------------------------------------------------------------

VISIT_TOPICS = ("parts_management", "technique_guidance", "returns_appraisal",
                "service_improvement")


def visit_problems(values: Mapping[str, Any], *, visited_on: date, today: date) -> dict[str, str]:
    """R37: a visit covers the topics of seed 003 §3 art. 3C: at least one said, the feedback
    heard, training named by who and what together; not in the future."""
    texts = {k: str(values.get(k) or "") for k in (
        *VISIT_TOPICS, "training_who", "training_what", "feedback")}
    errors = text_problems(texts, {
        "feedback": "Record the quality and service feedback heard."})
    if not any(texts[k].strip() for k in VISIT_TOPICS):
        errors["parts_management"] = "Record what the visit covered."
    if bool(texts["training_who"].strip()) != bool(texts["training_what"].strip()):
        errors["training_what"] = "Training names both who was trained and what was taught."
    if visited_on > today:
        errors["visited_on"] = "The visit cannot be in the future."
    training_on = values.get("training_on")
    if training_on is not None and training_on > today:
        errors["training_on"] = "The training cannot be in the future."
    return errors


def published(*, approved: bool, active: bool, has_entry: bool) -> bool:
    """R38: a point appears on the public locator when approved, open and given its public
    address, hours and phone; closed or pending points never appear."""
    return approved and active and has_entry


def map_link(*, latitude: float | None, longitude: float | None, name: str,
             address: str) -> str:
    """R38: a map link for the point (Amap, which phones in China open): its position when
    known, else a search for its address."""
    from urllib.parse import quote

    if latitude is not None and longitude is not None:
        return (f"https://uri.amap.com/marker?position={longitude:.6f},{latitude:.6f}"
                f"&name={quote(name)}")
    return f"https://uri.amap.com/search?keyword={quote(address)}"


def ratio(numerator: int, denominator: int, minimum: int = 5) -> int | None:
    """A percentage (0-100, rounded down) or None when too few cases mean anything (R35)."""
    if denominator < minimum:
        return None
    return numerator * 100 // denominator
