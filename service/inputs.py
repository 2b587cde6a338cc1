"""What each customer-service action takes: one dataclass per action, read from the posted form
by the page (portal.actions.form_input) and from JSON by its API twin."""
from __future__ import annotations

from dataclasses import dataclass  # noqa: F401
from datetime import date  # noqa: F401

# --- complaints (R32) --------------------------------------------------------------------------

# --- service calls and opinion cards (R33) ------------------------------------------------------
# Instants are typed as people type them: "2026-12-02T14:30" is China time (a form's
# datetime-local field); with an offset ("…+08:00", "…Z") it is that instant. Empty: now.


@dataclass
class CallIn:
    """R33: a consumer's repair call. `point_id`: the repair point, when the recorder picks one
    (needed when no point's coverage area names the customer's area)."""
    name: str
    phone: str
    problem: str
    area: str = ""
    address: str = ""
    product_id: int | None = None
    called_at: str = ""
    point_id: int | None = None


@dataclass
class CallVisitIn:
    """R33: the on-site visit. `outcome`: fixed | parts | not_fixed | no_fault; `repair_id`:
    the point's repair record of this service (R19), if it made one."""
    outcome: str
    visited_at: str = ""
    first_time_fix: bool = False
    notes: str = ""
    repair_id: int | None = None


@dataclass
class CallCloseIn:
    note: str = ""


@dataclass
class CallCancelIn:
    reason: str = ""


@dataclass
class CardIn:
    """R33: the customer's opinion card: each score 1 to 5, comments free."""
    attitude: int | None = None
    skill: int | None = None
    punctuality: int | None = None
    comments: str = ""

# --- return visits, surveys, the customer archive (R34) ----------------------------------------


@dataclass
class CustomerIn:
    """Open a customer's file (or find it by phone) at an organisation: the reader's own, or
    for HQ customer service the organisation named."""
    name: str
    phone: str
    address: str = ""
    area: str = ""
    purchased_on: date | None = None
    organisation_id: int | None = None


@dataclass
class PurchaseIn:
    product_id: int
    purchased_on: date
    quantity: int = 1
    proof: str = ""
    sold_by_id: int | None = None  # the selling organisation; the file's holder when empty


@dataclass
class OwnerExportIn:
    """The customer's own data, on their request: the request's reference is kept (R20)."""
    reference: str
    format: str = "json"  # json | xlsx


@dataclass
class PlanIn:
    year: int
    planned: int
    organisation_id: int | None = None


@dataclass
class VisitIn:
    visited_on: date
    satisfied: bool = False
    findings: str = ""


@dataclass
class SurveyIn:
    year: int
    title: str
    organisation_id: int | None = None


@dataclass
class AnswerIn:
    satisfied: bool = False
    problem: str = ""  # a code of the listed problems
    other_problem: str = ""  # or the problem in the customer's words
    comments: str = ""
    customer_id: int | None = None


@dataclass
class ActionIn:
    action_kind: str
    action: str
    owner_id: int
    due_on: date
