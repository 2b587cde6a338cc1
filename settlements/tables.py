"""Monthly statements (SPEC §6): purchase volumes and rebate policies in; one statement per
dealer customer per period out, its lines traced to their sources; a double-entry journal."""
from __future__ import annotations

from piccolo.columns import JSONB, BigInt, Date, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Organisation, User


class RebatePolicy(Table):
    """Tiered rebate percentages, HQ-editable; a change is a new row from a month on (history)."""

    effective_from = Date(null=False)
    tiers = JSONB(null=False)  # [{"from_fen": 0, "rate_bp": 0}, ...]
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class PurchaseVolume(Table):
    """A dealer's purchases in a period, imported by HQ (rows are replaced only by adjustments)."""

    period = Date(null=False)
    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    amount_fen = BigInt(null=False)
    imported_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    imported_at = Timestamptz(null=False)


class Statement(Table):
    """R26: one per dealer customer per period (a unique constraint)."""

    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    period = Date(null=False)
    status = Varchar(length=12, null=False, default="draft")  # draft|approved|paid
    total_fen = BigInt(null=False, default=0)
    prepared_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    approved_at = Timestamptz(null=True, default=None)


class StatementLine(Table):
    """One amount and its source; a source appears in at most one statement (unique)."""

    statement = ForeignKey(Statement, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=12, null=False)  # rebate|repair_fee|credit|freight|charge|adjustment
    source_type = Varchar(length=20, null=False)
    source_id = Varchar(length=40, null=False)
    amount_fen = BigInt(null=False)
    description = Varchar(length=200, null=False, default="")
