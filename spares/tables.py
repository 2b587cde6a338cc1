"""Repair points, their spare stock ledger, deposits, exchanges and repairs (SPEC §5)."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Organisation, Product, SparePart, User


class RepairPointApplication(Table):
    """R21: an office, agent or regional manager proposes a repair point; CS decides. R24: the
    proposed repair fee travels with it."""

    class Status(str, Enum):
        proposed = "proposed"
        approved = "approved"
        refused = "refused"

    id: Serial

    office = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    owner_store = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    name = Varchar(length=120, null=False)
    coverage_area = Text(null=False)
    sales_scale = Varchar(length=10, null=False)  # small | medium | large
    address = Varchar(length=200, null=False)
    proposed_fee_fen = BigInt(null=False)
    status = Varchar(length=10, null=False, default="proposed", choices=Status)
    proposed_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    proposed_at = Timestamptz(null=False)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(null=False, default="")
    repair_point = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)


class StockTemplate(Table):
    """R22: the first stock of a point, per sales-scale tier (HQ edits it)."""

    id: Serial

    sales_scale = Varchar(length=10, null=False)
    spare_part = ForeignKey(SparePart, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)


class StockMovement(Table):
    """R23: every change of a location's stock, good and faulty apart. Append-only; a trigger
    keeps stock_balance and refuses any movement that would make a balance negative."""

    id: Serial

    location = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    spare_part = ForeignKey(SparePart, null=False, on_delete=OnDelete.restrict)
    condition = Varchar(length=6, null=False)  # good | faulty
    quantity = Integer(null=False)  # signed
    kind = Varchar(length=20, null=False)
    reference = Varchar(length=60, null=False, default="")
    actor = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    at = Timestamptz(null=False)


class StockBalance(Table):
    """Sum of movements per (location, part, condition), kept by the movement trigger."""

    id: Serial

    location = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    spare_part = ForeignKey(SparePart, null=False, on_delete=OnDelete.restrict)
    condition = Varchar(length=6, null=False)
    quantity = Integer(null=False, default=0)


class Deposit(Table):
    """R22/R28: what a repair point owes as deposit; paid and refunded through movements."""

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, unique=True, on_delete=OnDelete.restrict)
    required_fen = BigInt(null=False)
    stock_value_fen = BigInt(null=False)
    ratio_bp = Integer(null=False)
    created_at = Timestamptz(null=False)
    shipped_at = Timestamptz(null=True, default=None)


class DepositMovement(Table):
    """R28: the deposit balance of a point always equals the sum of its movements."""

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    amount_fen = BigInt(null=False)  # + paid, - refunded or withheld
    kind = Varchar(length=20, null=False)  # stripe | bank_transfer | refund | withheld
    reference = Varchar(length=80, null=False)
    actor = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    at = Timestamptz(null=False)


class Exchange(Table):
    """R23: old-for-new at the office: good parts out to the point, faulty parts in."""

    class Status(str, Enum):
        requested = "requested"
        completed = "completed"
        cancelled = "cancelled"

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    office = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    spare_part = ForeignKey(SparePart, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    status = Varchar(length=10, null=False, default="requested", choices=Status)
    requested_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    requested_at = Timestamptz(null=False)
    completed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    completed_at = Timestamptz(null=True, default=None)


class Repair(Table):
    """R19: a consumer repair at a point, with its warranty verdict and charge (R17)."""

    class Status(str, Enum):
        repaired = "repaired"
        promised = "promised"  # R19: within 3 days; past it, an exchange or a refund
        exchanged = "exchanged"
        refunded = "refunded"

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    customer = Varchar(length=80, null=False)
    phone = Varchar(length=30, null=False, default="")
    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict)
    purchase_date = Date(null=False)
    proof = Varchar(length=120, null=False)
    in_warranty = Varchar(length=5, null=False)  # yes | no
    spare_part = ForeignKey(SparePart, null=True, on_delete=OnDelete.restrict)
    parts_quantity = Integer(null=False, default=0)
    parts_fen = BigInt(null=False, default=0)
    fee_fen = BigInt(null=False, default=0)
    charge_fen = BigInt(null=False, default=0)
    status = Varchar(length=12, null=False, choices=Status)
    promised_by = Date(null=True, default=None)
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)
    completed_at = Timestamptz(null=True, default=None)


class RepairFee(Table):
    """R24: a point's monthly repair fee, proposed by the office or regional manager and decided
    by CS. Rows are never edited: the decided row with the latest effective month applies."""

    class Status(str, Enum):
        proposed = "proposed"
        approved = "approved"
        refused = "refused"

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    amount_fen = BigInt(null=False)
    effective_from = Date(null=False)
    status = Varchar(length=10, null=False, default="proposed", choices=Status)
    proposed_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    proposed_at = Timestamptz(null=False)
    reason = Text(null=False, default="")
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(null=False, default="")


class ConsumerDispute(Table):
    """R29: a consumer dispute at a repair point, mediated by the office, ruled by CS when
    escalated; reasons kept."""

    class Status(str, Enum):
        open = "open"
        settled = "settled"  # by the office's mediation
        escalated = "escalated"  # to CS, for a final ruling
        ruled = "ruled"

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    customer = Varchar(length=80, null=False)
    description = Text(null=False)
    status = Varchar(length=10, null=False, default="open", choices=Status)
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)
    mediation = Text(null=False, default="")
    mediated_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    ruling = Text(null=False, default="")
    ruled_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    closed_at = Timestamptz(null=True, default=None)


class Closure(Table):
    """R25: closing a point: its stock returned and counted, the deposit refunded less anything
    missing."""

    id: Serial

    repair_point = ForeignKey(Organisation, null=False, unique=True, on_delete=OnDelete.restrict)
    missing_fen = BigInt(null=False)
    refund_fen = BigInt(null=False)
    method = Varchar(length=14, null=False)  # stripe | bank_transfer
    reference = Varchar(length=80, null=False, default="")
    closed_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    closed_at = Timestamptz(null=False)
