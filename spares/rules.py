"""Pure rules of repair points: deposit (R22), consumer repair charge (R17), repair promise
(R19), and what a person may do now (issue 11 §4). No database, no clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dealers.rules import Refusal, add_months
from portal.errors import RuleViolation
from portal.money import apply_rate
from spares.tables import ConsumerDispute, Exchange, Repair, RepairFee, RepairPointApplication

SCALES = ("small", "medium", "large")
PROMISE_DAYS = 3  # R19: repaired on the spot, or within 3 days
MAX_FEE_FEN = 100_000_000  # a monthly repair fee (R24); a deposit payment is at most ten of it


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


# --- What a person may do now (issue 11 §4) ------------------------------------------------------
# One home per rule: the repair point's page (and the office's exchange list) shows each action,
# disabled with the reason when a rule refuses it, and the services call the same functions to
# refuse it with the same words (`enforce`). Actions of other roles, or of a record in another
# status, are absent: the services refuse those as before (Forbidden, Conflict).

def enforce(actions: dict[str, Refusal | None], action: str) -> None:
    """Raise the refusal `actions` gives for `action`, if any (422, the page shows it)."""
    refusal = actions.get(action)
    if refusal is not None:
        raise RuleViolation(refusal.message, **refusal.kwargs)


def allowed_actions(*, roles: frozenset[str], own_point: bool, deposit_paid: bool | None,
                    stock_shipped: bool) -> dict[str, Refusal | None]:
    """The repair point page's actions for this person: pay the deposit and ship the first
    stock (R22, R28), request an exchange (R23), record a repair (R19), propose a fee (R24),
    record a dispute (R29). `deposit_paid` is None when the point has no deposit on record."""
    actions: dict[str, Refusal | None] = {}
    staff = own_point and "repair_staff" in roles
    if deposit_paid is False and staff:
        actions["pay"] = None
    if deposit_paid is False and "hq_finance" in roles:
        actions["bank_transfer"] = None
    if deposit_paid is not None and not stock_shipped and roles & {"hq_logistics", "hq_cs"}:
        actions["ship"] = None if deposit_paid else Refusal(  # R22
            "The first stock ships once the deposit is paid.")
    if staff:
        actions["exchange"] = None
        actions["repair"] = None
    if "manager" in roles:
        actions["fee"] = None
    if own_point or roles & {"manager", "dealer_clerk", "hq_cs"}:
        actions["dispute"] = None
    return actions


def repair_actions(*, status: str, overdue: bool, own_point: bool,
                   roles: frozenset[str]) -> dict[str, Refusal | None]:
    """R19: how a promised repair ends: repaired, or once the promise has passed an exchange
    or a refund (the customer chooses)."""
    if status != Repair.Status.promised or not (own_point and "repair_staff" in roles):
        return {}
    late = None if overdue else Refusal(
        "An exchange or refund is offered once the 3-day promise has passed.")
    return {Repair.Status.repaired.value: None, Repair.Status.exchanged.value: late,
            Repair.Status.refunded.value: late}


def exchange_actions(*, status: str, own_office: bool, roles: frozenset[str], quantity: int,
                     office_good: int, point_faulty: int, part: str) -> dict[str, Refusal | None]:
    """R23: the office hands over good parts for as many faulty ones; both sides must hold
    them. The refusal names the part, what is on hand and what is needed."""
    if status != Exchange.Status.requested or not (
            own_office and roles & {"dealer_clerk", "manager"}):
        return {}
    refusal = None
    if office_good < quantity:
        refusal = Refusal("Not enough good %(part)s at the office: %(have)s on hand, %(need)s "
                          "needed. Receive parts from head office first, or hand over what you "
                          "have after the repair point asks for fewer.",
                          (("part", part), ("have", str(office_good)), ("need", str(quantity))))
    elif point_faulty < quantity:
        refusal = Refusal("The repair point holds %(have)s faulty %(part)s, fewer than the "
                          "%(need)s to exchange: it must hand back one faulty part for each good "
                          "one.", (("part", part), ("have", str(point_faulty)),
                                   ("need", str(quantity))))
    return {"complete": refusal}


def fee_actions(*, status: str, roles: frozenset[str]) -> dict[str, Refusal | None]:
    """R24: CS decides a proposed fee."""
    return {"decide": None} if status == RepairFee.Status.proposed and "hq_cs" in roles else {}


def dispute_actions(*, status: str, roles: frozenset[str]) -> dict[str, Refusal | None]:
    """R29: the office or regional manager mediates an open dispute; CS rules an escalated one."""
    if status == ConsumerDispute.Status.open and "manager" in roles:
        return {"mediate": None}
    if status == ConsumerDispute.Status.escalated and "hq_cs" in roles:
        return {"rule": None}
    return {}


def application_actions(*, status: str, roles: frozenset[str]) -> dict[str, Refusal | None]:
    """R21: CS approves or refuses a proposed repair point."""
    return {"decide": None} if status == RepairPointApplication.Status.proposed \
        and "hq_cs" in roles else {}
