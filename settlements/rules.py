"""Pure settlement rules: rebate tiers and the one rounding rule for statements (R26).

Amounts are integer fen. A statement's lines are computed exactly (fractions of a fen), the
total is rounded once, half up, and the lines share that rounded total by largest remainder, so
the rounded lines always add up to the rounded total."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from dealers.rules import Refusal  # the one shape of a refusal, shared by every domain

# R26: the dealer customers that receive statements (not HQ, not repair points: a point's fee
# is paid to the store or office that runs it).
DEALER_KINDS = frozenset({"office", "agent", "store", "subdistributor"})


def round_half_up(amount: Fraction) -> int:
    """The one rounding rule, to the fen (also portal.money.apply_rate's rule)."""
    if amount >= 0:
        return int(amount + Fraction(1, 2))
    return -int(-amount + Fraction(1, 2))


def share_rounded(exact: list[Fraction]) -> list[int]:
    """Round each line so that the lines add up to the rounded total (largest remainder; ties go
    to the earlier line). No line moves by a fen or more from its exact value."""
    if not exact:
        return []
    floors = [int(x // 1) for x in exact]
    remainder = round_half_up(sum(exact, Fraction(0))) - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    result = floors[:]
    for i in order[:remainder]:
        result[i] += 1
    return result


@dataclass(frozen=True)
class Tier:
    from_fen: int  # purchases from this amount in the period...
    rate_bp: int   # ...earn this rate on the whole amount


def rebate_exact(volume_fen: int, tiers: list[Tier]) -> Fraction:
    """Tiered rebate: the highest tier the period's purchases reach applies to all of them.

    The spec of the period close's SQL (close_sql.REBATE_SOURCE, which is what pays dealers):
    tests/settlements/test_rebate_sql.py asserts the two agree, rounded by round_half_up."""
    rate = 0
    for tier in sorted(tiers, key=lambda t: t.from_fen):
        if volume_fen >= tier.from_fen:
            rate = tier.rate_bp
    return Fraction(volume_fen * rate, 10_000)


def check_tiers(tiers: list[Tier]) -> dict[str, str]:
    if not tiers:
        return {"tiers": "Give at least one tier."}
    if len({t.from_fen for t in tiers}) != len(tiers):
        return {"tiers": "Each tier starts at a different amount."}
    if any(t.from_fen < 0 or not 0 <= t.rate_bp <= 5_000 for t in tiers):
        return {"tiers": "Tiers start at 0 or more and pay between 0 % and 50 %."}
    return {}


# --- statement numbers ---------------------------------------------------------------------------
# R26 allows one statement per dealer per period (unique constraint statement_once), so the period
# and the dealer's organisation number make a number that is unique by construction: no column,
# no sequence. ST-202611-00042 is dealer 42's statement of November 2026.

def statement_number(period: date, dealer_id: int) -> str:
    return f"ST-{period:%Y%m}-{dealer_id:05d}"


_SEARCH = re.compile(r"(?:ST)?-?(\d{4})(\d{0,2})(?:-?(\d{1,12}))?")


@dataclass(frozen=True)
class NumberSearch:
    """What a typed statement number (whole or its start) matches: periods from `first` to
    `last` (firsts of months), and the dealer: exactly `dealer_id`, or a dealer whose five-digit
    number starts with `dealer_prefix`."""
    first: date
    last: date
    dealer_id: int | None = None
    dealer_prefix: str | None = None


def parse_statement_search(text: str) -> NumberSearch | None:
    """'ST-202611-00042', 'st202611', '2026-1', 'ST-202611-0004' -> what they match; None when
    the text is not (the start of) a statement number."""
    compact = re.sub(r"\s+", "", text).upper()
    compact = re.sub(r"^((?:ST-?)?\d{4})-(\d{2})$", r"\1\2", compact)  # '2026-11' as a month
    match = _SEARCH.fullmatch(compact)
    if not match:
        return None
    year, month_digits, dealer = int(match.group(1)), match.group(2), match.group(3)
    months = [m for m in range(1, 13) if f"{m:02d}".startswith(month_digits)]
    if not months or not 2000 <= year <= 9999 or (dealer and len(month_digits) != 2):
        return None
    first, last = date(year, months[0], 1), date(year, months[-1], 1)
    if dealer is None:
        return NumberSearch(first, last)
    if len(dealer) >= 5:  # a whole number: exactly this dealer, if the text is its number
        dealer_id = int(dealer)
        exact = statement_number(first, dealer_id) == f"ST-{first:%Y%m}-{dealer}"
        return NumberSearch(first, last, dealer_id=dealer_id if exact else -1)
    return NumberSearch(first, last, dealer_prefix=dealer)


# --- What a person may do with a statement now (issue 9 §4) ---------------------------------------
# The statement page shows each action, disabled with its reason when a rule would refuse it; the
# services (settlements/statements.py) call the same function, so the words are the same. (The
# messages cite their rule ids; readers never see them: portal.i18n.plain drops them.)

def statement_actions(*, status: str, has_fees: bool, fees_reviewed: bool, is_preparer: bool,
                      is_first_approver: bool, is_cs: bool,
                      is_finance: bool) -> dict[str, Refusal | None]:
    """action -> None (possible) or the Refusal (R24, R26); other roles' actions are absent."""

    actions: dict[str, Refusal | None] = {}
    if status == "draft" and is_cs and has_fees and not fees_reviewed:
        actions["review"] = None
    if status == "draft" and is_finance:
        if is_preparer:  # R26: never the person who prepared it
            actions["approve"] = Refusal("Nobody approves what they prepared (R26).")
        elif has_fees and not fees_reviewed:  # R24/R26: CS reviews the repair fees first
            actions["approve"] = Refusal("Customer service must review the repair fees first (R26).")
        else:
            actions["approve"] = None
    if status == "second_approval" and is_finance:
        actions["second-approval"] = Refusal(
            "The second approver is neither the preparer nor the first approver (R26).") \
            if is_preparer or is_first_approver else None
    return actions
