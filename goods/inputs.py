"""What each goods action takes: one dataclass per action, read from the posted form by the page
(portal.actions.form_input) and from JSON by its API twin."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class ShipIn:
    """HQ logistics ships what a replacement still owes."""
    carrier: str
    waybill: str
    packages: int
    shipped_on: date


@dataclass
class CreditInsteadIn:
    """Credit a replacement line's owed goods instead of shipping them, with the reason."""
    line_id: int
    reason: str


@dataclass
class ReceivedLineIn:
    line_id: int  # the shipment line
    received: int


@dataclass
class ReceiptIn:
    """The office confirms what arrived, line by line."""
    lines: list[ReceivedLineIn] = field(default_factory=list)
    note: str = ""


@dataclass
class ResolveIn:
    """A short delivery resolved: ship the shortfall again (reship) or credit it (credit)."""
    resolution: str
    note: str = ""


@dataclass
class StockIn:
    """HQ logistics records what it has on hand of a model."""
    product_id: int
    on_hand: int


@dataclass
class RejectedChoiceIn:
    """The office chooses what happens to a batch's rejected goods: return | scrap."""
    choice: str


@dataclass
class RejectedSentIn:
    """HQ logistics sends rejected goods back to the office."""
    carrier: str
    waybill: str
    sent_on: date


@dataclass
class ScrapLotIn:
    """Rejected goods of one category waiting to be scrapped, recycled as one lot."""
    category_id: int
    recycler: str
    certificate_no: str
    scrapped_on: date


@dataclass
class CategoryFlagIn:
    category_id: int
    contains_mercury: bool = False


@dataclass
class SupplierIn:
    code: str
    name_zh: str
    name_en: str = ""


@dataclass
class ProductSupplierIn:
    product_id: int
    supplier_id: int
    component: str = ""


@dataclass
class ReasonAttributionIn:
    reason_id: int
    supplier_attributable: bool = False


@dataclass
class ClaimMonthIn:
    """Roll confirmed defects of a month up into supplier claims."""
    month: date


@dataclass
class ClaimAnswerIn:
    accepted_fen: int
    answer: str


@dataclass
class ClaimSettleIn:
    settled_fen: int
