"""Money in integer fen from what people type, and month arithmetic across the year's end."""
from datetime import date

import pytest

from portal import clock
from portal.money import parse_signed_yuan, parse_yuan


@pytest.mark.parametrize("typed, fen", [
    ("120.00", 12000), ("-120.00", -12000), ("-0.05", -5), (" -1,234.5 ", -123450), ("7", 700)])
def test_signed_amounts_parse_exactly_to_fen(typed, fen):
    assert parse_signed_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "-", "--1", "1.234", "abc", "+-3", "1e3"])
def test_not_an_amount_is_refused(typed):
    assert parse_signed_yuan(typed) is None


def test_unsigned_parser_still_refuses_negatives():
    assert parse_yuan("-1.00") is None


@pytest.mark.parametrize("day, previous, following", [
    (date(2026, 1, 15), date(2025, 12, 1), date(2026, 2, 1)),
    (date(2026, 12, 31), date(2026, 11, 1), date(2027, 1, 1)),
    (date(2026, 3, 1), date(2026, 2, 1), date(2026, 4, 1))])
def test_previous_and_next_month(day, previous, following):
    assert clock.previous_month(day) == previous and clock.next_month(day) == following
