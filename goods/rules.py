"""Goods after the decision, pure: no database, no clock of their own (R13, R16, R18, R20).
The services enforce these; the pages show them (disabled with the reason); tests call them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

MAX_QTY = 100_000
SHIP_BACKDATE = timedelta(days=30)  # a shipping date further back is a typing slip
NO_STOCK_REASON = "HQ has no stock of this model"  # stored in the data; shown translated


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused now: a msgid (plain words) and its parameters."""

    message: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def kwargs(self) -> dict[str, str]:
        return dict(self.params)


def reserve(lines: Iterable[tuple[int, int]], on_hand: dict[int, int]) -> list[tuple[int, int]]:
    """R13: each (product, exchanged) line in order takes what HQ still has of its model;
    the rest is credited instead. Returns (owed, credited) per line; the set-based statement
    in goods/replacements.py does the same in SQL (a test compares them)."""
    left = dict(on_hand)
    result = []
    for product, exchanged in lines:
        owed = max(0, min(exchanged, left.get(product, 0)))
        left[product] = left.get(product, 0) - owed
        result.append((owed, exchanged - owed))
    return result


def adds_up(exchanged: int, shipped: int, credited: int, owed: int) -> bool:
    """R13: exchanged = shipped + credited instead + still owed (the database CHECKs it too)."""
    return min(shipped, credited, owed) >= 0 and exchanged == shipped + credited + owed


def check_shipping(*, carrier: str, waybill: str, packages: int, shipped_on: date,
                   today: date) -> dict[str, str]:
    errors = {}
    if not carrier.strip() or len(carrier) > 80:
        errors["carrier"] = "Enter the carrier (at most 80 characters)."
    if not waybill.strip() or len(waybill) > 60:
        errors["waybill"] = "Enter the waybill number (at most 60 characters)."
    if not 1 <= packages <= 10_000:
        errors["packages"] = "Enter the number of packages (1 to 10,000)."
    if shipped_on > today or shipped_on < today - SHIP_BACKDATE:
        errors["shipped_on"] = "The shipping date is today or within the last 30 days."
    return errors


def shortfall(shipped: dict[int, int], received: dict[int, int]) -> tuple[int, dict[str, str]]:
    """What the office confirms per shipped line: 0 to the quantity shipped. Returns the
    shortfall (shipped minus received) and errors by field."""
    errors = {}
    if set(received) != set(shipped):
        return 0, {"lines": "Confirm every line of the shipment, once."}
    for line, quantity in shipped.items():
        if not 0 <= received[line] <= quantity:
            errors[f"received_{line}"] = "Between 0 and the quantity shipped."
    return sum(shipped[k] - received[k] for k in shipped) if not errors else 0, errors


RESOLUTIONS = ("reship", "credit")


def replacement_actions(*, owed: int, is_logistics: bool, is_cs: bool) -> dict[str, Refusal | None]:
    """What HQ may do with a replacement order now: ship what is owed, or credit it instead."""
    actions: dict[str, Refusal | None] = {}
    if is_logistics:
        actions["ship"] = None if owed > 0 else Refusal("Nothing is owed on this replacement.")
    if is_logistics or is_cs:
        actions["credit"] = None if owed > 0 else Refusal("Nothing is owed on this replacement.")
    return actions


def shipment_actions(*, status: str, is_office: bool, is_hq: bool) -> dict[str, Refusal | None]:
    """R13: the office confirms what arrived; HQ (logistics or CS) resolves a short delivery."""
    actions: dict[str, Refusal | None] = {}
    if is_office:
        actions["confirm"] = None if status == "shipped" else Refusal(
            "This shipment's receipt is already confirmed.")
    if is_hq:
        actions["resolve"] = None if status == "short" else Refusal(
            "Only a short delivery is resolved.")
    return actions


# --- rejected goods (R13 receipt column; seed 004 §5.2.6) --------------------------------------

CHOICES = ("return", "scrap")


def rejected_status(choice: str) -> str:
    return "to_return" if choice == "return" else "to_scrap"


def return_freight(choice: str, policy_fen: int) -> int:
    """Rejected goods sent back travel at the office's cost as HQ's policy sets it; scrapped
    goods cost the office nothing."""
    return policy_fen if choice == "return" else 0


def lot_number(category_code: str, day: date, sequence: int) -> str:
    """SC-CFL-20261209-3: readable, unique with the day's sequence."""
    return f"SC-{category_code.upper()[:8]}-{day:%Y%m%d}-{sequence}"[:24]


# --- supplier recovery (R13, R16) ---------------------------------------------------------------

CLAIM_FLOW = {"draft": "sent", "sent": "answered", "answered": "settled"}


def claim_refusal(status: str, target: str) -> Refusal | None:
    """Claims go draft -> sent -> answered -> settled, one step at a time."""
    if CLAIM_FLOW.get(status) != target:
        return Refusal("This claim is %(status)s; the action is not possible now.",
                       (("status", status),))
    return None


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)
