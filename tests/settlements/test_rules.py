"""R26 statements in integer fen: one rounding rule, and the rounded lines add up to the rounded
total for 1..500 lines (property test); tiered rebates at their edges."""
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.money import apply_rate
from settlements.rules import Tier, check_tiers, rebate_exact, round_half_up, share_rounded

exact_amounts = st.lists(
    st.fractions(min_value=Fraction(-10**9), max_value=Fraction(10**9), max_denominator=10_000),
    min_size=1, max_size=500)


@settings(max_examples=300, deadline=None)
@given(exact_amounts)
def test_r26_rounded_lines_add_up_to_the_rounded_total(amounts):
    rounded = share_rounded(amounts)
    assert len(rounded) == len(amounts)
    assert sum(rounded) == round_half_up(sum(amounts, Fraction(0)))
    assert all(abs(r - a) < 1 for r, a in zip(rounded, amounts, strict=True))


@pytest.mark.parametrize("value, expected", [
    (Fraction(1, 2), 1), (Fraction(-1, 2), -1), (Fraction(149, 100), 1), (Fraction(5, 2), 3),
    (Fraction(0), 0), (Fraction(-249, 100), -2)])
def test_one_rounding_rule_half_up(value, expected):
    assert round_half_up(value) == expected


@pytest.mark.parametrize("amount, rate", [(1, 1000), (5, 1000), (15, 1000), (12345, 250), (999, 3333)])
def test_the_same_rule_as_portal_money(amount, rate):
    assert apply_rate(amount, rate) == round_half_up(Fraction(amount * rate, 10_000))


TIERS = [Tier(0, 0), Tier(10_000_000, 100), Tier(50_000_000, 200)]  # 0 %, 1 % from ¥100k, 2 % from ¥500k


@pytest.mark.parametrize("volume, rebate", [
    (9_999_999, Fraction(0)), (10_000_000, Fraction(100_000)),
    (49_999_999, Fraction(49_999_999, 100)), (50_000_000, Fraction(1_000_000))])
def test_r26_tiered_rebate_edges(volume, rebate):
    assert rebate_exact(volume, TIERS) == rebate


def test_tiers_are_checked():
    assert check_tiers([]) and check_tiers([Tier(0, 100), Tier(0, 200)])
    assert check_tiers([Tier(0, 6000)]) and not check_tiers(TIERS)
