"""Money is integer fen end to end. Parsing and the one rounding rule live here."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

_AMOUNT = re.compile(r"^\s*¥?\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$")


def parse_yuan(text: str) -> int | None:
    """'12.3' -> 1230 fen; None when it is not a plain non-negative amount with at most 2 decimals."""
    match = _AMOUNT.match(text.replace(",", ""))
    if not match:
        return None
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)


def parse_signed_yuan(text: str) -> int | None:
    """'-12.50' -> -1250 fen (an adjustment or a charge); None when it is not an amount."""
    text = text.strip()
    negative = text.startswith("-")
    fen = parse_yuan(text[1:] if negative else text)
    return None if fen is None else (-fen if negative else fen)


def apply_rate(amount_fen: int, rate_bp: int) -> int:
    """The one rounding rule: half up, to the fen, on an exact decimal product."""
    exact = Decimal(amount_fen) * Decimal(rate_bp) / Decimal(10000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(amount_fen: int, locale: str = "zh_CN") -> str:
    return format_currency(Decimal(amount_fen) / 100, "CNY", locale=locale)


_PERCENT = re.compile(r"^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%?\s*$")


def parse_percent(text: str) -> int | None:
    """'10' or '12.5%' -> basis points (1000, 1250); None if not a plain percentage."""
    match = _PERCENT.match(text)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
