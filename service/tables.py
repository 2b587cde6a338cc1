"""Customer service (SPEC §8): the customer archive (R34), complaints (R32), service calls and
opinion cards (R33), return visits and satisfaction surveys (R34).

Scope (R1): every row names the organisation it belongs to (`organisation`: the store, repair
point, office or head office that holds it), and is seen by that organisation and those above it,
never by a sibling. Steps keep who and when here and why in the audit trail (R20)."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Organisation, Product, User
from spares.tables import Repair


class Customer(Table):
    """R34: one file per consumer, from the day of purchase. Personal data (name, phone,
    address) is erased after HQ's retention period without activity; the file's facts stay."""

    id: Serial

    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    name = Varchar(length=80, null=False)
    phone = Varchar(length=20, null=False)  # digits only, as the consumer gave it
    address = Varchar(length=200, null=False, default="")
    area = Varchar(length=80, null=False, default="")  # city or district: routes calls (R33)
    purchased_on = Date(null=True, default=None)  # the file starts on the day of purchase
    opened_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    opened_at = Timestamptz(null=False)
    last_activity_at = Timestamptz(null=False)  # the retention clock
    erased_at = Timestamptz(null=True, default=None)


class CustomerProduct(Table):
    """R34: what the customer bought, when, with which proof, from whom."""

    id: Serial

    customer = ForeignKey(Customer, null=False, on_delete=OnDelete.restrict)
    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False, default=1)
    purchased_on = Date(null=False)
    proof = Varchar(length=120, null=False, default="")
    sold_by = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)


class Complaint(Table):
    """R32: a complaint through its eight steps: recorded → judged (stands or not) → assigned by
    type → investigated → resolution proposed → approved → customer told → closed with
    accountability and an improvement (a major one also with a preventive action)."""

    class Status(str, Enum):
        recorded = "recorded"
        judged = "judged"  # stands; waits for CS to assign the responsible unit
        not_standing = "not_standing"
        assigned = "assigned"
        investigated = "investigated"
        proposed = "proposed"
        approved = "approved"
        told = "told"
        closed = "closed"

    id: Serial

    reference = Varchar(length=20, null=False, unique=True)  # given to the consumer
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.restrict)
    name = Varchar(length=80, null=False)
    phone = Varchar(length=20, null=False)
    channel = Varchar(length=12, null=False)  # phone | web | letter | visit | card
    about = Varchar(length=12, null=False)  # product | repair_point | office | person | other
    about_org = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    about_product = ForeignKey(Product, null=True, on_delete=OnDelete.restrict)
    about_person = Varchar(length=80, null=False, default="")
    description = Text(null=False)
    asks = Text(null=False, default="")
    kind = Varchar(length=12, null=True, default=None)  # quality | service | suggestion
    major = Boolean(null=False, default=False)
    status = Varchar(length=14, null=False, default="recorded", choices=Status)
    judgement = Text(null=False, default="")
    assigned_to = Varchar(length=16, null=True, default=None)  # management | hq_logistics | ...
    assigned_org = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    cause = Text(null=False, default="")
    responsible = Text(null=False, default="")
    resolution = Text(null=False, default="")
    proposed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)  # never its approver
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    told_how = Text(null=False, default="")
    accountability = Text(null=False, default="")
    improvement = Text(null=False, default="")
    preventive = Text(null=False, default="")
    recorded_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)  # none: public form
    recorded_at = Timestamptz(null=False)
    acknowledge_by = Timestamptz(null=False)  # SLA: judged by then
    resolve_by = Timestamptz(null=False)  # SLA: the customer told by then
    judged_at = Timestamptz(null=True, default=None)
    assigned_at = Timestamptz(null=True, default=None)
    investigated_at = Timestamptz(null=True, default=None)
    proposed_at = Timestamptz(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    told_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)  # told CS: not judged in time
    resolve_escalated_at = Timestamptz(null=True, default=None)  # told CS: customer not told in time


class PublicAttempt(Table):
    """R32: each request to a public (no account) form, by the client's IP, so the forms are
    rate-limited across processes (service.complaints.admit_public_attempt)."""

    id: Serial

    action = Varchar(length=16, null=False)  # complain | status | ...
    ip = Varchar(length=64, null=False)
    at = Timestamptz(null=False)


class ServiceCall(Table):
    """R33: a consumer's repair call, routed to the repair point covering the customer's area,
    visited on site within 24 hours of the call."""

    class Status(str, Enum):
        open = "open"
        visited = "visited"
        closed = "closed"
        cancelled = "cancelled"

    id: Serial

    number = Varchar(length=20, null=False, unique=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)  # the point
    customer = ForeignKey(Customer, null=False, on_delete=OnDelete.restrict)
    product = ForeignKey(Product, null=True, on_delete=OnDelete.restrict)
    problem = Text(null=False)
    address = Varchar(length=200, null=False)
    called_at = Timestamptz(null=False)
    visit_by = Timestamptz(null=False)  # called_at + 24 h
    visited_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=12, null=True, default=None)  # fixed | parts | not_fixed | no_fault
    first_time_fix = Boolean(null=True, default=None)
    repair = ForeignKey(Repair, null=True, on_delete=OnDelete.restrict)
    notes = Text(null=False, default="")
    status = Varchar(length=10, null=False, default="open", choices=Status)
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)
    visited_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)


class OpinionCard(Table):
    """R33: after each service the customer scores attitude, skill and punctuality (1-5) with
    free comments, on the point's tablet or once from a link only for that service."""

    id: Serial

    service_call = ForeignKey(ServiceCall, null=False, unique=True, on_delete=OnDelete.restrict)
    token_hash = Varchar(length=64, null=False, unique=True)
    issued_at = Timestamptz(null=False)
    attitude = Integer(null=True, default=None)
    skill = Integer(null=True, default=None)
    punctuality = Integer(null=True, default=None)
    comments = Text(null=False, default="")
    channel = Varchar(length=8, null=True, default=None)  # tablet | link
    submitted_at = Timestamptz(null=True, default=None)


class ReturnVisitPlan(Table):
    """R34: the year's return visits of an organisation's customers, at least 5 % of them,
    led by the sales-service manager."""

    id: Serial

    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    year = Integer(null=False)
    customers = Integer(null=False)  # customers in the year when the plan was drawn
    planned = Integer(null=False)
    led_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class ReturnVisit(Table):
    id: Serial

    plan = ForeignKey(ReturnVisitPlan, null=False, on_delete=OnDelete.restrict)
    customer = ForeignKey(Customer, null=False, on_delete=OnDelete.restrict)
    visited_at = Timestamptz(null=True, default=None)
    visited_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    satisfied = Boolean(null=True, default=None)
    findings = Text(null=False, default="")


class Survey(Table):
    """R34: the annual satisfaction survey of an organisation's customers."""

    id: Serial

    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    year = Integer(null=False)
    title = Varchar(length=120, null=False)
    created_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    analysed_at = Timestamptz(null=True, default=None)


class SurveyAnswer(Table):
    id: Serial

    survey = ForeignKey(Survey, null=False, on_delete=OnDelete.restrict)
    customer = ForeignKey(Customer, null=True, on_delete=OnDelete.restrict)
    satisfied = Boolean(null=False)
    problem = Varchar(length=40, null=False, default="")  # the main problem named, if any
    comments = Text(null=False, default="")
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)


class SurveyProblem(Table):
    """R34: a main problem the analysis found, and its corrective or preventive action."""

    id: Serial

    survey = ForeignKey(Survey, null=False, on_delete=OnDelete.restrict)
    problem = Varchar(length=40, null=False)
    answers = Integer(null=False)
    action_kind = Varchar(length=10, null=False)  # corrective | preventive
    action = Text(null=False)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    due_on = Date(null=False)
    done_at = Timestamptz(null=True, default=None)
