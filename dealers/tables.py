"""Return calendar and return batches (SPEC §2-§4)."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    BigInt,
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

from portal.tables import Organisation, Product, ProductCategory, Region, SparePart, User


class CalendarAssignment(Table):
    """R2/R4: which week of the month a region returns in, from a month on. Never edited: an
    HQ change is a new row effective from the first of next month, so the rows are the history.
    `week` NULL means the region was explicitly left without a window."""

    id: Serial

    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict)
    week = Integer(null=True, default=None)
    effective_from = Date(null=False)
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class ReasonCode(Table):
    """Coded lists HQ maintains: defect reasons dealers pick, rejection reasons CS writes (R13)."""

    id: Serial

    kind = Varchar(length=10, null=False)  # "defect" | "reject"
    code = Varchar(length=20, null=False)
    name_zh = Varchar(length=120, null=False)
    name_en = Varchar(length=120, null=False)
    active = Boolean(null=False, default=True)


class SpecialApproval(Table):
    """R7: an exception (batch quality problem or another reason) requested by a manager and
    decided by CS; an approved one lets a batch be submitted outside the window."""

    id: Serial

    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    month = Date(null=False)
    quality_problem = Boolean(null=False, default=False)
    reason = Text(null=False)
    status = Varchar(length=12, null=False, default="requested")  # requested|approved|refused
    requested_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    requested_at = Timestamptz(null=False)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(null=False, default="")


class ReturnBatch(Table):
    """The defective-goods return application and, once approved, its registration form."""

    id: Serial

    class Status(str, Enum):
        draft = "draft"
        submitted = "submitted"
        signed = "signed"
        approved = "approved"
        dispatched = "dispatched"
        received = "received"
        dispositioned = "dispositioned"
        closed = "closed"
        refused = "refused"
        withdrawn = "withdrawn"

    number = Varchar(length=24, null=False, unique=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    month = Date(null=False)
    kind = Varchar(length=10, null=False, default="regular")  # regular | special (R7)
    special_approval = ForeignKey(SpecialApproval, null=True, on_delete=OnDelete.restrict)
    status = Varchar(length=16, null=False, default="draft", choices=Status)
    disposition = Varchar(length=10, null=True, default=None)  # return | dispose (R9)
    created_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    submitted_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    submitted_at = Timestamptz(null=True, default=None)
    signed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    signed_at = Timestamptz(null=True, default=None)
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    approved_at = Timestamptz(null=True, default=None)
    refused_reason = Text(null=False, default="")
    disposal_evidence = Text(null=False, default="")
    carrier = Varchar(length=80, null=False, default="")
    waybill = Varchar(length=60, null=False, default="")
    packages = Integer(null=True, default=None)
    freight_fen = BigInt(null=True, default=None)
    dispatched_on = Date(null=True, default=None)
    arrived_at = Timestamptz(null=True, default=None)
    received_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    received_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    company_bears_freight = Boolean(null=False, default=True)  # R11, R16
    # R13: when the office first opened its decided batch's receipt (its home stops listing it)
    receipt_read_at = Timestamptz(null=True, default=None)


class ReturnLine(Table):
    id: Serial

    batch = ForeignKey(ReturnBatch, null=False, on_delete=OnDelete.restrict)
    line_no = Integer(null=False)
    product = ForeignKey(Product, null=True, on_delete=OnDelete.restrict)
    # R23: an office's faulty spare parts travel back in its monthly batch as spare-part lines
    spare_part = ForeignKey(SparePart, null=True, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)  # as filed by the dealer; 0 only for extra lines found at HQ
    reason = ForeignKey(ReasonCode, null=True, on_delete=OnDelete.restrict)
    reason_text = Varchar(length=200, null=False, default="")
    date_code = Date(null=True, default=None)  # CFL manufacture date (R18d)
    purchase_date = Date(null=True, default=None)  # consumer's purchase (R17)
    lights = Boolean(null=False, default=False)
    cap_percent = Integer(null=True, default=None)
    tube_greyed = Boolean(null=False, default=False)
    bridge_blackened = Boolean(null=False, default=False)
    broken = Boolean(null=False, default=False)
    extra = Boolean(null=False, default=False)  # goods not on the form, found at receipt (R12)
    received_qty = Integer(null=True, default=None)
    i_lights = Boolean(null=True, default=None)
    i_cap_percent = Integer(null=True, default=None)
    i_tube_greyed = Boolean(null=True, default=None)
    i_bridge_blackened = Boolean(null=True, default=None)
    i_broken = Boolean(null=True, default=None)
    exchanged_qty = Integer(null=True, default=None)
    credited_qty = Integer(null=True, default=None)
    rejected_qty = Integer(null=True, default=None)
    reject_reason = ForeignKey(ReasonCode, null=True, on_delete=OnDelete.restrict)
    decision_note = Varchar(length=200, null=False, default="")


class DockRefusal(Table):
    """R10: goods arriving without an approved form are refused and recorded."""

    id: Serial

    reference = Varchar(length=60, null=False)
    batch = ForeignKey(ReturnBatch, null=True, on_delete=OnDelete.restrict)
    reason = Text(null=False)
    refused_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    refused_at = Timestamptz(null=False)


class TransitClaim(Table):
    """R15: a claim against the carrier for goods lost or damaged in transit."""

    id: Serial

    batch = ForeignKey(ReturnBatch, null=False, on_delete=OnDelete.restrict)
    carrier = Varchar(length=80, null=False)
    lost_qty = Integer(null=False, default=0)
    damaged_qty = Integer(null=False, default=0)
    claimed_fen = BigInt(null=False, default=0)
    recovered_fen = BigInt(null=True, default=None)
    status = Varchar(length=10, null=False, default="open")  # open | closed
    note = Text(null=False, default="")
    opened_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    opened_at = Timestamptz(null=False)
    closed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    closed_at = Timestamptz(null=True, default=None)


class QualityDispute(Table):
    """R16: a batch quality dispute; HQ tech verifies on site within 2 days of the request."""

    id: Serial

    batch = ForeignKey(ReturnBatch, null=False, on_delete=OnDelete.restrict)
    description = Text(null=False)
    raised_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    raised_at = Timestamptz(null=False)
    due_at = Timestamptz(null=False)
    verified_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    verified_at = Timestamptz(null=True, default=None)
    confirmed = Boolean(null=True, default=None)
    findings = Text(null=False, default="")


class DockCount(Table):
    """R12, issue 12 §7: one count of one line at the dock, as a phone sent it, kept (R20).
    `key` is the phone's idempotency key, unique: however often a count is retried, from however
    many tabs, it is applied once. `version` numbers a line's counts 1, 2, ...: a count made on
    an older version than the line's latest is a conflict, shown to the phone, never applied."""

    id: Serial

    key = Varchar(length=64, null=False, unique=True)
    batch = ForeignKey(ReturnBatch, null=False, on_delete=OnDelete.restrict)
    line = ForeignKey(ReturnLine, null=False, on_delete=OnDelete.restrict)
    version = Integer(null=False)
    received_qty = Integer(null=False)
    lights = Boolean(null=False, default=False)
    cap_percent = Integer(null=True, default=None)
    tube_greyed = Boolean(null=False, default=False)
    bridge_blackened = Boolean(null=False, default=False)
    broken = Boolean(null=False, default=False)
    counted_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    counted_at = Timestamptz(null=False)


class DockPackage(Table):
    """R11/R12, issue 12 §6: the cartons of a batch as they arrive at the dock, possibly on
    different days; the batch is counted when the last has arrived, or closed short by HQ
    logistics with a reason."""

    id: Serial

    batch = ForeignKey(ReturnBatch, null=False, on_delete=OnDelete.restrict)
    package_no = Integer(null=False)
    arrived_at = Timestamptz(null=False)
    arrived_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)


class InspectionChecklist(Table):
    """R18, issue 12 §4: what HQ logistics checks on a product category's returned goods at the
    dock, HQ data like the warranty periods. Never edited: a change is a new row from a date,
    so the rows are the history. Without a row a category has the default list (CFLs: R18's)."""

    id: Serial

    category = ForeignKey(ProductCategory, null=False, on_delete=OnDelete.restrict)
    checks = Varchar(length=200, null=False)  # comma-separated keys of checklists.CHECKS
    effective_from = Date(null=False)
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
