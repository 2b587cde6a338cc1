"""Pure rules of repair points: deposit (R22), consumer repair charge (R17), repair promise
(R19). No database, no clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dealers.rules import add_months
from portal.money import apply_rate

SCALES = ("small", "medium", "large")
PROMISE_DAYS = 3  # R19: repaired on the spot, or within 3 days


def stock_value(template: list[tuple[int, int]]) -> int:
    """Value in fen of a first stock: (quantity, unit price in fen) per part."""
    return sum(quantity * price for quantity, price in template)


def deposit_due(stock_value_fen: int, ratio_bp: int) -> int:
    """R22: the deposit is a set proportion of the first stock's value (one rounding rule)."""
    return apply_rate(stock_value_fen, ratio_bp)


def in_warranty(purchase: date, warranty_months: int, on: date) -> bool:
    """R17: warranty from the date of purchase; 0 months (plastic parts) = never."""
    return warranty_months > 0 and on < add_months(purchase, warranty_months)


@dataclass(frozen=True)
class Charge:
    parts_fen: int
    fee_fen: int

    @property
    def total_fen(self) -> int:
        return self.parts_fen + self.fee_fen


def repair_charge(*, warranty: bool, parts_fen: int, fee_rate_bp: int) -> Charge:
    """R17: free in warranty; out of warranty the parts plus a fee of 10 % of the parts."""
    if warranty:
        return Charge(0, 0)
    return Charge(parts_fen, apply_rate(parts_fen, fee_rate_bp))


def promise_date(recorded_on: date) -> date:
    return recorded_on + timedelta(days=PROMISE_DAYS)


def overdue(promised_by: date | None, completed: bool, today: date) -> bool:
    """R19: past the promise, the customer is offered an exchange or a refund."""
    return promised_by is not None and not completed and today > promised_by
