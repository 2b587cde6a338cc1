"""What each repair-point action takes: one dataclass per action, read from the posted form by
the page (portal.actions.form_input) and from JSON by its API twin, so both are checked alike.

An amount in fen (`amount_fen`) is typed in yuan on the form (`amount`). Where the service
accepts None and says what is missing (`int | None`), an empty form field reaches it as None,
so every field's message shows at once. The page's forms on a fee, a dispute or a repair carry
that record's id in a hidden field; their API twins take it in the URL and the base model as body.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any


@dataclass
class ProposalIn:
    """R21: a repair point proposed for an office, with its monthly repair fee (R24)."""
    office_id: int
    name: str
    coverage_area: str
    sales_scale: str  # small | medium | large
    address: str
    proposed_fee_fen: int | None


@dataclass
class DecisionIn:
    """CS decides a proposed point (R21) or fee (R24); the form's two buttons send approve=1
    (approve) or approve=0 (refuse, with the reason)."""
    approve: bool
    reason: str = ""


@dataclass(kw_only=True)
class FeeDecisionIn(DecisionIn):
    fee_id: int


@dataclass
class BankTransferIn:
    """R28: finance records a bank transfer against the deposit."""
    amount_fen: int | None
    reference: str


@dataclass
class CardIn:
    """R28: the card the point pays with, as Stripe.js turned it into a payment method."""
    payment_method: str


@dataclass
class WalletIn:
    method: str  # alipay | wechat_pay, where PORTAL_STRIPE_WALLETS enables it


@dataclass
class ExchangeIn:
    """R23: the point asks its office for good parts in exchange for as many faulty ones."""
    spare_part_id: int
    quantity: int | None


@dataclass
class RepairIn:
    """R19: a consumer repair with its purchase proof; R17 decides the charge."""
    customer: str
    product_id: int | None
    purchase_date: date | None
    proof: str
    phone: str = ""
    spare_part_id: int | None = None
    parts_quantity: int = 0
    on_the_spot: bool = True  # the form's checkbox: unticked (absent) is a 3-day promise


@dataclass
class OutcomeIn:
    outcome: str  # R19: repaired, or past the promise exchanged or refunded


@dataclass
class RepairOutcomeIn(OutcomeIn):
    repair_id: int


@dataclass
class FeeIn:
    """R24: a new monthly repair fee, from next month."""
    amount_fen: int | None
    reason: str = ""


@dataclass
class DisputeIn:
    """R29: a consumer dispute at the point."""
    customer: str
    description: str


@dataclass
class MediationIn:
    settled: bool  # the form's two buttons: settled=1, or settled=0 (escalate to CS)
    notes: str


@dataclass
class DisputeMediationIn(MediationIn):
    dispute_id: int


@dataclass
class RulingIn:
    ruling: str


@dataclass
class DisputeRulingIn(RulingIn):
    dispute_id: int


@dataclass
class TemplateIn:
    """R22: one part's quantity in a sales scale's first stock; 0 removes it."""
    sales_scale: str
    spare_part_id: int
    quantity: int | None
    reason: str


@dataclass
class ReturnedPart:
    spare_part_id: int
    condition: str  # good | faulty
    quantity: int


@dataclass
class ClosureIn:
    """R25: what came back from the point, and how the rest of the deposit is refunded."""
    method: str  # stripe | bank_transfer
    reference: str = ""
    returned: list[ReturnedPart] = field(default_factory=list)


def kwargs(data: Any) -> dict[str, Any]:
    """An input's fields as the service's keyword arguments. Not `vars()`: a model decoded from
    JSON holds only the fields the client sent, the rest are its defaults."""
    return {f.name: getattr(data, f.name) for f in fields(data)}
