"""Head office oversight of the network (SPEC §7): audits of offices (R30), offices' visits to
their repair points (R37), and what the public locator publishes about a point (R38).

Scope (R1): an audit belongs to the audited office and is seen by head office and, with its
rules (an unannounced audit only once its visit is recorded), by that office; a visit and a
published entry belong to the repair point and are seen by the point, the office above it and
head office — never by a sibling. Who and when are kept here, why in the audit trail (R20)."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Organisation, User


class Audit(Table, tablename="office_audit"):
    """R30: one audit of one office, from the group's plan (scope, method, deadline, cost) through
    the vice-president's approval, the visit and the written report. The cost is borne by
    `cost_bearer` (head office), never by the audited office: a CHECK keeps it so."""

    class Status(str, Enum):
        submitted = "submitted"  # waits for the vice-president
        returned = "returned"  # sent back to the group with the reason; may be resubmitted
        approved = "approved"  # the visit may take place
        visited = "visited"  # the visit is recorded; findings follow
        reported = "reported"  # the written report is filed

    class Kind(str, Enum):
        periodic = "periodic"
        ad_hoc = "ad_hoc"

    id: Serial

    office = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    cost_bearer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=10, null=False, choices=Kind)
    announced = Boolean(null=False, default=True)
    scope = Text(null=False)
    method = Text(null=False)
    deadline = Date(null=False)  # the report is due by the end of this China day
    cost_fen = BigInt(null=False, default=0)
    status = Varchar(length=10, null=False, default="submitted", choices=Status)
    created_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(null=False, default="")
    visited_at = Timestamptz(null=True, default=None)
    visit_notes = Text(null=False, default="")
    findings = Text(null=False, default="")
    report = Text(null=False, default="")
    score = Integer(null=True, default=None)  # 0-100, counts in the office's appraisal (R36)
    reported_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    reported_at = Timestamptz(null=True, default=None)


class AuditMember(Table):
    """R30: the audit group, named for each audit: CS leads it, with sales planning, finance
    and members named for the occasion."""

    class Duty(str, Enum):
        lead = "lead"
        sales_planning = "sales_planning"
        finance = "finance"
        member = "member"

    id: Serial

    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.cascade)
    user = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    duty = Varchar(length=16, null=False, choices=Duty)


class RectificationOrder(Table):
    """R30: the vice-president instructs, the line department issues the order (the group never
    does), the audited office answers with evidence, the line department closes it (or sends
    it back for a better answer)."""

    class Status(str, Enum):
        instructed = "instructed"  # the vice-president's instruction, waiting for the line dept
        issued = "issued"  # the office must answer
        answered = "answered"  # the line department checks the answer
        closed = "closed"

    id: Serial

    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.restrict)
    office = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    status = Varchar(length=10, null=False, default="instructed", choices=Status)
    instruction = Text(null=False)
    instructed_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    instructed_at = Timestamptz(null=False)
    requirement = Text(null=False, default="")
    due = Date(null=True, default=None)
    issued_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    issued_at = Timestamptz(null=True, default=None)
    answer = Text(null=False, default="")
    answered_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    answered_at = Timestamptz(null=True, default=None)
    closing_note = Text(null=False, default="")
    closed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    closed_at = Timestamptz(null=True, default=None)


class PointVisit(Table):
    """R37: an office's visit to one of its repair points, with the five topics of seed 003 §3
    art. 3C, the training given (who, what, when) and the feedback heard."""

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    visited_on = Date(null=False)
    parts_management = Text(null=False, default="")
    technique_guidance = Text(null=False, default="")
    returns_appraisal = Text(null=False, default="")
    service_improvement = Text(null=False, default="")
    training_who = Varchar(length=200, null=False, default="")
    training_what = Text(null=False, default="")
    training_on = Date(null=True, default=None)
    feedback = Text(null=False, default="")
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)


class PublishedPoint(Table):
    """R38: what the public locator says about an approved repair point, and nothing else: city,
    address, opening hours, phone, a map position. Shown only while the point is open."""

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, unique=True, on_delete=OnDelete.restrict)
    city = Varchar(length=40, null=False)
    city_en = Varchar(length=60, null=False, default="")
    address = Varchar(length=200, null=False)
    address_en = Varchar(length=200, null=False, default="")
    hours = Varchar(length=80, null=False)
    phone = Varchar(length=30, null=False)
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
    updated_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    updated_at = Timestamptz(null=False)
