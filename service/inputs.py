"""What each customer-service action takes: one dataclass per action, read from the posted form
by the page (portal.actions.form_input) and from JSON by its API twin."""
from __future__ import annotations

from dataclasses import dataclass  # noqa: F401
from datetime import date  # noqa: F401

# --- complaints (R32) --------------------------------------------------------------------------

@dataclass
class ComplaintIn:
    """R32: a complaint recorded by staff from any channel. `about_product` (a catalogue
    product) or `about_org` (a repair point or office) name what it is about; `about_person`
    a person."""
    name: str
    phone: str
    channel: str  # phone | web | letter | visit | card
    about: str  # product | repair_point | office | person | other
    description: str
    asks: str = ""
    about_product: int | None = None
    about_org: int | None = None
    about_person: str = ""


@dataclass
class PublicComplaintIn:
    """R32: a consumer's complaint on the public form (no account)."""
    name: str
    phone: str
    about: str
    description: str
    asks: str = ""
    about_product: int | None = None
    about_org: int | None = None
    about_person: str = ""


@dataclass
class ComplaintStatusIn:
    """R32: a consumer follows their complaint with its reference and their phone number."""
    reference: str
    phone: str


@dataclass
class ComplaintJudgeIn:
    """R32 step 2 (CS): does it stand; its kind; is it major. One that does not stand is
    answered now: the reason, and how the customer was told."""
    stands: bool
    kind: str  # quality | service | suggestion
    major: bool = False
    reason: str = ""
    told_how: str = ""


@dataclass
class ComplaintAssignIn:
    """R32 step 3 (CS): the responsible unit by type; `assigned_org` when it is an office or
    repair point ("unit")."""
    assigned_to: str  # management | hq_logistics | hq_tech | hq_cs | unit
    assigned_org: int | None = None
    reason: str = ""


@dataclass
class ComplaintInvestigateIn:
    """R32 step 4 (the assigned unit): the cause and who is responsible."""
    cause: str
    responsible: str


@dataclass
class ComplaintProposeIn:
    """R32 step 5 (the assigned unit): the resolution, after what the customer asks for."""
    resolution: str


@dataclass
class ComplaintApproveIn:
    """R32 step 6 (CS; the vice-president for a major complaint): approve, or send the
    proposal back with the reason."""
    approve: bool
    reason: str = ""


@dataclass
class ComplaintTellIn:
    """R32 step 7 (the recording unit): how and when the customer was told."""
    told_how: str


@dataclass
class ComplaintCloseIn:
    """R32 step 8: accountability and the improvement; a major complaint also a preventive
    action."""
    accountability: str
    improvement: str
    preventive: str = ""

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
