"""Tables of the shell: regions, the organisation tree, people, sessions, audit, catalogue, policy."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    JSONB,
    Array,
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


class Region(Table):
    """Province-level divisions plus the three Fujian cities the return calendar names (R2)."""

    id: Serial

    code = Varchar(length=16, unique=True, null=False)
    name_zh = Varchar(length=32, null=False)
    name_en = Varchar(length=64, null=False)


class Organisation(Table):
    """One node of the dealer tree (R1). `path` is the chain of ids from HQ, e.g. '1.4.17.'."""

    id: Serial

    class Kind(str, Enum):
        hq = "hq"
        office = "office"
        agent = "agent"
        store = "store"
        subdistributor = "subdistributor"
        repair_point = "repair_point"

    name = Varchar(length=120, null=False)
    name_en = Varchar(length=120, null=False, default="")
    kind = Varchar(length=20, choices=Kind, null=False)
    parent: ForeignKey[Organisation] = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    region = ForeignKey(Region, null=True, on_delete=OnDelete.restrict)
    path = Varchar(length=255, null=False, default="", index=True)
    active = Boolean(default=True, null=False)
    created_at = Timestamptz(null=False)


class User(Table, tablename="portal_user"):
    id: Serial

    class Role(str, Enum):
        dealer_clerk = "dealer_clerk"
        manager = "manager"
        repair_staff = "repair_staff"
        hq_cs = "hq_cs"
        hq_logistics = "hq_logistics"
        hq_tech = "hq_tech"
        hq_finance = "hq_finance"
        hq_admin = "hq_admin"
        auditor = "auditor"
        vice_president = "vice_president"  # marketing VP: major complaints (R32), audits (R30)

    username = Varchar(length=64, unique=True, null=False)
    display_name = Varchar(length=120, null=False)
    email = Varchar(length=200, null=False, default="")
    password_hash = Varchar(length=255, null=False, secret=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    roles = Array(base_column=Varchar(length=20), null=False, default=list)
    locale = Varchar(length=8, null=False, default="zh_CN")
    active = Boolean(default=True, null=False)
    created_at = Timestamptz(null=False)


class ManagerCoverage(Table):
    """A regional manager (an HQ employee) covers several offices and may sign for them (SPEC §1)."""

    id: Serial

    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)


class UserSession(Table):
    """Server-side session. Only a hash of the cookie value is stored."""

    id: Serial

    token_hash = Varchar(length=64, unique=True, null=False)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    csrf_token = Varchar(length=64, null=False)
    created_at = Timestamptz(null=False)
    last_seen_at = Timestamptz(null=False)


class ApiToken(Table):
    id: Serial

    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=80, null=False)
    token_hash = Varchar(length=64, unique=True, null=False)
    prefix = Varchar(length=12, null=False)
    created_at = Timestamptz(null=False)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class LoginAttempt(Table):
    id: Serial

    username = Varchar(length=64, null=False, index=True)
    ip = Varchar(length=64, null=False, default="")
    succeeded = Boolean(null=False, default=False)
    at = Timestamptz(null=False)


class AuditEntry(Table):
    """R20: who did what, when and why. Append-only: a trigger refuses UPDATE and DELETE."""

    id: Serial

    at = Timestamptz(null=False)
    actor = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    object_type = Varchar(length=40, null=False)
    object_id = Varchar(length=40, null=False)
    action = Varchar(length=40, null=False)
    from_state = JSONB(null=True, default=None)
    to_state = JSONB(null=True, default=None)
    reason = Text(null=False, default="")
    request_id = Varchar(length=40, null=False, default="")


class Notification(Table):
    id: Serial

    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=40, null=False)
    dedupe_key = Varchar(length=80, null=False)
    subject = Varchar(length=200, null=False)
    body = Text(null=False, default="")
    link = Varchar(length=200, null=False, default="")
    created_at = Timestamptz(null=False)
    read_at = Timestamptz(null=True, default=None)
    emailed_at = Timestamptz(null=True, default=None)


class ProductCategory(Table):
    """R17: warranty months per category are data; 0 means no warranty (plastic parts)."""

    id: Serial

    code = Varchar(length=32, unique=True, null=False)
    name_zh = Varchar(length=60, null=False)
    name_en = Varchar(length=60, null=False)
    warranty_months = Integer(null=False, default=0)
    is_cfl = Boolean(null=False, default=False)


class Product(Table):
    id: Serial

    model = Varchar(length=60, unique=True, null=False)
    spec = Varchar(length=120, null=False, default="")
    name_zh = Varchar(length=120, null=False)
    name_en = Varchar(length=120, null=False)
    category = ForeignKey(ProductCategory, null=False, on_delete=OnDelete.restrict)
    active = Boolean(null=False, default=True)


class SparePart(Table):
    id: Serial

    code = Varchar(length=40, unique=True, null=False)
    name_zh = Varchar(length=120, null=False)
    name_en = Varchar(length=120, null=False)
    unit_price_fen = BigInt(null=False)
    active = Boolean(null=False, default=True)


class PolicyValue(Table):
    """A business parameter HQ may change (fee rate, deposit ratio...). Rows are never edited:
    a change is a new row effective from a date, so the history is the table itself."""

    id: Serial

    key = Varchar(length=40, null=False)
    value = BigInt(null=False)
    effective_from = Date(null=False)
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class Payment(Table):
    """An attempt to take money through Stripe. The idempotency key is stored before Stripe is
    called, so a retry after a timeout never charges twice."""

    id: Serial

    purpose = Varchar(length=20, null=False)  # deposit | ...
    object_id = Varchar(length=40, null=False)
    amount_fen = BigInt(null=False)
    currency = Varchar(length=3, null=False, default="cny")
    idempotency_key = Varchar(length=80, null=False, unique=True)
    stripe_id = Varchar(length=80, null=True, default=None, unique=True)
    status = Varchar(length=30, null=False, default="created")
    created_at = Timestamptz(null=False)
    updated_at = Timestamptz(null=False)


class StripeEvent(Table):
    """Webhook events handled, by Stripe's event id: stored in the same transaction as their
    effect, so a duplicate delivery has none."""

    id: Serial

    event_id = Varchar(length=80, null=False, unique=True)
    type = Varchar(length=80, null=False)
    received_at = Timestamptz(null=False)


class Attachment(Table):
    """A photo or document on a record (a carton on arrival, a scrap certificate, audit
    evidence). The bytes live in the attachment storage (`portal/attachments.py`); the row says
    whose record it belongs to, so only those who may see the record see the file."""

    id: Serial

    subject = Varchar(length=40, null=False)  # the kind of record: "dealers.line", ...
    subject_id = Integer(null=False)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    storage_key = Varchar(length=80, unique=True, null=False)
    filename = Varchar(length=200, null=False)
    content_type = Varchar(length=40, null=False)
    size_bytes = Integer(null=False)
    sha256 = Varchar(length=64, null=False)
    uploaded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    uploaded_at = Timestamptz(null=False)
