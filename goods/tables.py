"""Goods after the decision (R13, R16, R18, R20): replacement shipments for what CS exchanged,
rejected goods sent back or scrapped and recycled, repeat claims caught, suppliers charged back.

Every row is keyed by the dealers' own ids (return_batch, return_line): the dealers' tables are
not changed. Scope (R1) follows the batch's organisation. Steps keep who and when here and why
in the audit trail (R20); corrections are new rows or moves between the quantity columns, never
deletions."""
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

from dealers.tables import QualityDispute, ReasonCode, ReturnBatch, ReturnLine
from portal.tables import Organisation, Product, ProductCategory, User


class HqStock(Table, tablename="goods_hq_stock"):
    """What HQ has on hand of each model to ship as replacements (R13): a model with none is
    credited instead."""

    id: Serial

    product = ForeignKey(Product, null=False, unique=True, on_delete=OnDelete.restrict)
    on_hand = Integer(null=False, default=0)
    updated_at = Timestamptz(null=False)


class Replacement(Table, tablename="goods_replacement"):
    """R13 换货: one replacement order per decided batch with exchanged goods, to its office."""

    id: Serial

    batch = ForeignKey(ReturnBatch, null=False, unique=True, on_delete=OnDelete.restrict)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class ReplacementLine(Table, tablename="goods_replacement_line"):
    """One decided line's exchanged quantity: exchanged = shipped + credited instead + owed,
    always (a CHECK in the database as well as the code)."""

    id: Serial

    replacement = ForeignKey(Replacement, null=False, on_delete=OnDelete.restrict)
    return_line = ForeignKey(ReturnLine, null=False, unique=True, on_delete=OnDelete.restrict)
    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict)
    exchanged_qty = Integer(null=False)
    shipped_qty = Integer(null=False, default=0)
    credited_qty = Integer(null=False, default=0)
    owed_qty = Integer(null=False)
    credit_reason = Varchar(length=200, null=False, default="")


class Shipment(Table, tablename="goods_shipment"):
    """HQ logistics ships what is owed; the office confirms what arrived; a short delivery is
    resolved by shipping the shortfall again or crediting it."""

    id: Serial

    class Status(str, Enum):
        shipped = "shipped"
        received = "received"
        short = "short"
        resolved = "resolved"

    replacement = ForeignKey(Replacement, null=False, on_delete=OnDelete.restrict)
    status = Varchar(length=10, null=False, default="shipped", choices=Status)
    carrier = Varchar(length=80, null=False)
    waybill = Varchar(length=60, null=False)
    packages = Integer(null=False)
    shipped_on = Date(null=False)
    shipped_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    shipped_at = Timestamptz(null=False)
    received_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    received_at = Timestamptz(null=True, default=None)
    short_qty = Integer(null=False, default=0)
    receipt_note = Varchar(length=200, null=False, default="")
    resolution = Varchar(length=10, null=True, default=None)  # reship | credit
    resolved_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    resolved_at = Timestamptz(null=True, default=None)
    resolution_note = Varchar(length=200, null=False, default="")


class ShipmentLine(Table, tablename="goods_shipment_line"):
    id: Serial

    shipment = ForeignKey(Shipment, null=False, on_delete=OnDelete.restrict)
    replacement_line = ForeignKey(ReplacementLine, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    received_qty = Integer(null=True, default=None)


class CategoryFlag(Table, tablename="goods_category_flag"):
    """Per product category: lamps containing mercury (CFLs, tubes) go to a licensed recycler
    with a certificate (seed 004 §5.2.6)."""

    id: Serial

    category = ForeignKey(ProductCategory, null=False, unique=True, on_delete=OnDelete.restrict)
    contains_mercury = Boolean(null=False, default=False)


class ScrapLot(Table, tablename="goods_scrap_lot"):
    """Rejected goods of one category scrapped together: the recycler and its certificate."""

    id: Serial

    number = Varchar(length=24, null=False, unique=True)
    category = ForeignKey(ProductCategory, null=False, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    contains_mercury = Boolean(null=False, default=False)
    recycler = Varchar(length=120, null=False)
    certificate_no = Varchar(length=60, null=False)
    scrapped_on = Date(null=False)
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)


class RejectedGoods(Table, tablename="goods_rejected"):
    """The office's choice for a decided batch's rejected goods: sent back (freight as HQ's
    policy says) or scrapped."""

    id: Serial

    class Status(str, Enum):
        to_return = "to_return"
        returned = "returned"
        to_scrap = "to_scrap"
        scrapped = "scrapped"

    batch = ForeignKey(ReturnBatch, null=False, unique=True, on_delete=OnDelete.restrict)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    status = Varchar(length=10, null=False, choices=Status)
    quantity = Integer(null=False)
    freight_fen = BigInt(null=False, default=0)  # charged to the office when sent back
    chosen_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    chosen_at = Timestamptz(null=False)
    carrier = Varchar(length=80, null=False, default="")
    waybill = Varchar(length=60, null=False, default="")
    sent_on = Date(null=True, default=None)
    sent_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)


class ScrapItem(Table, tablename="goods_scrap_item"):
    """A rejected line's goods in a scrap lot (each line once)."""

    id: Serial

    lot = ForeignKey(ScrapLot, null=False, on_delete=OnDelete.restrict)
    return_line = ForeignKey(ReturnLine, null=False, unique=True, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)


class RepeatFlag(Table, tablename="goods_repeat_flag"):
    """A line claimed again: same product, date code and purchase proof as an earlier line of
    another batch (any office). Shown to CS at inspection and decision."""

    id: Serial

    return_line = ForeignKey(ReturnLine, null=False, unique=True, on_delete=OnDelete.restrict)
    earlier_line = ForeignKey(ReturnLine, null=False, on_delete=OnDelete.restrict)
    flagged_at = Timestamptz(null=False)


class Supplier(Table, tablename="goods_supplier"):
    id: Serial

    code = Varchar(length=20, null=False, unique=True)
    name_zh = Varchar(length=120, null=False)
    name_en = Varchar(length=120, null=False)


class ProductSupplier(Table, tablename="goods_product_supplier"):
    """Which component maker answers for a product's defects (its ballast, tube...)."""

    id: Serial

    product = ForeignKey(Product, null=False, unique=True, on_delete=OnDelete.restrict)
    supplier = ForeignKey(Supplier, null=False, on_delete=OnDelete.restrict)
    component = Varchar(length=60, null=False, default="")


class ReasonAttribution(Table, tablename="goods_reason_attribution"):
    """Defect reasons a component supplier answers for."""

    id: Serial

    reason = ForeignKey(ReasonCode, null=False, unique=True, on_delete=OnDelete.restrict)
    supplier_attributable = Boolean(null=False, default=True)


class SupplierClaim(Table, tablename="goods_supplier_claim"):
    """One claim per supplier and month: confirmed defects with quantities and amounts (fen)."""

    id: Serial

    class Status(str, Enum):
        draft = "draft"
        sent = "sent"
        answered = "answered"
        settled = "settled"

    supplier = ForeignKey(Supplier, null=False, on_delete=OnDelete.restrict)
    month = Date(null=False)
    status = Varchar(length=10, null=False, default="draft", choices=Status)
    quantity = Integer(null=False, default=0)
    amount_fen = BigInt(null=False, default=0)
    accepted_fen = BigInt(null=True, default=None)
    settled_fen = BigInt(null=True, default=None)
    answer = Text(null=False, default="")
    created_at = Timestamptz(null=False)
    sent_at = Timestamptz(null=True, default=None)
    answered_at = Timestamptz(null=True, default=None)
    settled_at = Timestamptz(null=True, default=None)


class SupplierClaimLine(Table, tablename="goods_supplier_claim_line"):
    """A confirmed defect in a claim: a decided exchange or credit with a supplier reason, or a
    line of a batch whose quality dispute was confirmed (R16). Each line is claimed once."""

    id: Serial

    claim = ForeignKey(SupplierClaim, null=False, on_delete=OnDelete.restrict)
    return_line = ForeignKey(ReturnLine, null=False, unique=True, on_delete=OnDelete.restrict)
    dispute = ForeignKey(QualityDispute, null=True, on_delete=OnDelete.restrict)
    quantity = Integer(null=False)
    amount_fen = BigInt(null=False)
