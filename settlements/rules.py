"""Pure settlement rules: rebate tiers and the one rounding rule for statements (R26).

Amounts are integer fen. A statement's lines are computed exactly (fractions of a fen), the
total is rounded once, half up, and the lines share that rounded total by largest remainder, so
the rounded lines always add up to the rounded total."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

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
    """Tiered rebate: the highest tier the period's purchases reach applies to all of them."""
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
