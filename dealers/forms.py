"""Parsing batch forms into service inputs; parse errors use the same messages as the rules."""
from __future__ import annotations

from typing import Any

from dealers import rules
from dealers.batch_lines import LineInput
from portal.forms import integer, text


def _flag(form: Any, name: str) -> bool:
    return (form.get(name) or "") in ("on", "1", "true", "yes")


def parse_line(form: Any, prefix: str = "") -> tuple[LineInput, dict[str, str]]:
    errors: dict[str, str] = {}
    product = integer(form, prefix + "product", errors)
    quantity = integer(form, prefix + "quantity", errors, low=1, high=rules.MAX_LINE_QUANTITY)
    if prefix + "quantity" in errors:
        errors[prefix + "quantity"] = "Quantity must be a whole number from 1 to 100,000."
    if prefix + "product" in errors:
        errors[prefix + "product"] = "Unknown product: choose a model from the catalogue."
    reason = integer(form, prefix + "reason", errors, required=False)
    cap = integer(form, prefix + "cap_percent", errors, required=False, high=100)
    if prefix + "cap_percent" in errors:
        errors[prefix + "cap_percent"] = "Between 0 and 100."
    date_code = purchase = None
    raw_code = text(form, prefix + "date_code", 20)
    if raw_code:
        try:
            date_code = rules.parse_date_code(raw_code)
        except ValueError:
            errors[prefix + "date_code"] = "Date codes look like 20250315 (year, month, day)."
    raw_purchase = text(form, prefix + "purchase_date", 20)
    if raw_purchase:
        try:
            purchase = rules.parse_date_code(raw_purchase)
        except ValueError:
            errors[prefix + "purchase_date"] = "Enter a date as YYYY-MM-DD."
    line = LineInput(product_id=product, quantity=quantity, reason_id=reason,
                     reason_text=text(form, prefix + "reason_text", 200), date_code=date_code,
                     purchase_date=purchase, lights=_flag(form, prefix + "lights"),
                     cap_percent=cap, tube_greyed=_flag(form, prefix + "tube_greyed"),
                     bridge_blackened=_flag(form, prefix + "bridge_blackened"),
                     broken=_flag(form, prefix + "broken"))
    return line, {k.removeprefix(prefix): v for k, v in errors.items()}


def parse_condition(form: Any, prefix: str, errors: dict[str, str]) -> rules.Condition:
    cap = integer(form, prefix + "cap_percent", errors, required=False, high=100)
    return rules.Condition(_flag(form, prefix + "lights"), cap, _flag(form, prefix + "tube_greyed"),
                           _flag(form, prefix + "bridge_blackened"), _flag(form, prefix + "broken"))
