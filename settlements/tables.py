"""Monthly statements (SPEC §6): purchase volumes and rebate policies in; one statement per
dealer customer per period out, its lines traced to their sources; a double-entry journal."""
from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigInt,
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


class RebatePolicy(Table):
    """Tiered rebate percentages, HQ-editable; a change is a new row from a month on (history)."""

    id: Serial

    effective_from = Date(null=False)
    tiers = JSONB(null=False)  # [{"from_fen": 0, "rate_bp": 0}, ...]
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class PurchaseVolume(Table):
    """A dealer's purchases in a period, imported by HQ (rows are replaced only by adjustments)."""

    id: Serial

    period = Date(null=False)
    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    amount_fen = BigInt(null=False)
    imported_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    imported_at = Timestamptz(null=False)


class Statement(Table):
    """R26: one per dealer customer per period (a unique constraint)."""

    id: Serial

    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    period = Date(null=False)
    # draft -> (second_approval) -> approved -> paid; only a draft's lines may change
    status = Varchar(length=16, null=False, default="draft")
    total_fen = BigInt(null=False, default=0)
    prepared_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    # R26: CS reviews the repair-fee lines before finance approves
    fees_reviewed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    fees_reviewed_at = Timestamptz(null=True, default=None)
    approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    approved_at = Timestamptz(null=True, default=None)
    # above the HQ-set amount a second finance approver (policy second_approval_above_fen)
    second_approved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    second_approved_at = Timestamptz(null=True, default=None)


class StatementLine(Table):
    """One amount and its source; a source appears in at most one statement (unique)."""

    id: Serial

    statement = ForeignKey(Statement, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=12, null=False)  # rebate|repair_fee|credit|freight|charge|adjustment|carry
    source_type = Varchar(length=20, null=False)
    source_id = Varchar(length=40, null=False)
    amount_fen = BigInt(null=False)
    description = Varchar(length=200, null=False, default="")
    # the repair point a repair-fee line pays for (it sees its own fee lines)
    repair_point = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)


class CreditPrice(Table):
    """R13: what one credited unit of a product is worth to the dealer (冲帐), HQ data with
    history: a change is a new row from a date on; a batch is credited at the price of the
    day CS decided it."""

    id: Serial

    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict)
    price_fen = BigInt(null=False)
    effective_from = Date(null=False)
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class Adjustment(Table):
    """A manual amount for a dealer's next statement: a correction (pointing at the statement it
    corrects, R20/R26) or a charge (negative). Needs a reason and a second person's approval."""

    id: Serial

    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=12, null=False)  # adjustment | charge
    amount_fen = BigInt(null=False)  # signed: what the dealer is owed (+) or owes (-)
    reason = Text(null=False)
    corrects = ForeignKey(Statement, null=True, on_delete=OnDelete.restrict)
    status = Varchar(length=12, null=False, default="requested")  # requested|approved|refused
    requested_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    requested_at = Timestamptz(null=False)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(null=False, default="")


class PeriodClose(Table):
    """One run of closing a month, with its progress (the page shows a bar while it runs)."""

    id: Serial

    period = Date(null=False)
    status = Varchar(length=10, null=False, default="running")  # running|done|failed
    step = Integer(null=False, default=0)
    steps = Integer(null=False, default=0)
    statements = Integer(null=False, default=0)
    error = Text(null=False, default="")
    started_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    started_at = Timestamptz(null=False)
    finished_at = Timestamptz(null=True, default=None)


class JournalEntry(Table):
    """Double-entry journal (append-only): an entry's postings sum to zero (a deferred
    constraint trigger checks it at commit); a correction is a new entry that `reverses` one."""

    id: Serial

    at = Timestamptz(null=False)
    period = Date(null=False)
    memo = Varchar(length=200, null=False, default="")
    source_type = Varchar(length=20, null=False)  # statement | payout | ...
    source_id = Varchar(length=40, null=False)
    reverses: ForeignKey[JournalEntry] = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)


class JournalPosting(Table):
    """One side of an entry: debit positive, credit negative, in fen. `dealer` is set on the
    dealer's own accounts (payable), so a dealer's balance is a sum of its postings."""

    id: Serial

    entry = ForeignKey(JournalEntry, null=False, on_delete=OnDelete.restrict)
    account = Varchar(length=30, null=False)
    dealer = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    amount_fen = BigInt(null=False)


class PayoutAccount(Table):
    """Where a dealer is paid: its Stripe connected account and/or bank account. A change is a
    new row (history); the newest applies."""

    id: Serial

    dealer = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    stripe_account = Varchar(length=40, null=False, default="")  # acct_...
    bank_name = Varchar(length=80, null=False, default="")
    bank_account = Varchar(length=40, null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class Payout(Table):
    """R27: paying one approved statement. The idempotency key is stored before Stripe is called;
    an unknown outcome (timeout, 5xx, 409) is `pending` until reconciled, never `failed`. At most
    one payout per statement that is not failed or reversed (a partial unique index)."""

    id: Serial

    statement = ForeignKey(Statement, null=False, on_delete=OnDelete.restrict)
    method = Varchar(length=10, null=False)  # stripe | bank
    amount_fen = BigInt(null=False)
    status = Varchar(length=12, null=False, default="pending")  # pending|paid|failed|reversed
    idempotency_key = Varchar(length=80, null=False, unique=True)
    destination = Varchar(length=40, null=False, default="")  # acct_... or bank account
    stripe_transfer = Varchar(length=40, null=True, default=None, unique=True)  # tr_...
    bank_reference = Varchar(length=80, null=False, default="")
    failure = Text(null=False, default="")
    attempts = Integer(null=False, default=0)
    created_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
    updated_at = Timestamptz(null=False)
    reconciled_at = Timestamptz(null=True, default=None)
