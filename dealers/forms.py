"""Parsing batch forms into service inputs; parse errors use the same messages as the rules."""
from __future__ import annotations

from typing import Any

from dealers import rules
from dealers.batch_lines import LineInput
from dealers.receiving import Count, Decision, ExtraGoods
from portal.errors import ValidationFailed
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


def parse_counts(form: Any, lines: list[dict]) -> tuple[list[Count], list[ExtraGoods]]:
    """R12: the count form, a row per line (`received_<id>`, condition `c<id>_…`) and at most
    one extra product; every unreadable field is reported at once."""
    errors: dict[str, str] = {}
    counts = [Count(line_id=line["id"],
                    received_qty=integer(form, f"received_{line['id']}", errors, high=100_000),
                    condition=parse_condition(form, f"c{line['id']}_", errors))
              for line in lines]
    extras = []
    extra_product = integer(form, "extra_product", errors, required=False)
    if extra_product:
        qty = integer(form, "extra_qty", errors, low=1, high=100_000)
        extras.append(ExtraGoods(extra_product, qty or 0, parse_condition(form, "extra_", errors)))
    if errors:
        raise ValidationFailed(errors)
    return counts, extras


def parse_decisions(form: Any, lines: list[dict]) -> list[Decision]:
    """R13: the decision form, a row per line; every unreadable field is reported at once."""
    errors: dict[str, str] = {}
    decisions = [Decision(
        line_id=line["id"], exchanged=integer(form, f"exchanged_{line['id']}", errors) or 0,
        credited=integer(form, f"credited_{line['id']}", errors) or 0,
        rejected=integer(form, f"rejected_{line['id']}", errors) or 0,
        reject_reason_id=integer(form, f"reject_reason_{line['id']}", errors, required=False),
        note=text(form, f"note_{line['id']}", 200)) for line in lines]
    if errors:
        raise ValidationFailed(errors)
    return decisions


def parse_condition(form: Any, prefix: str, errors: dict[str, str]) -> rules.Condition:
    cap = integer(form, prefix + "cap_percent", errors, required=False, high=100)
    return rules.Condition(_flag(form, prefix + "lights"), cap, _flag(form, prefix + "tube_greyed"),
                           _flag(form, prefix + "bridge_blackened"), _flag(form, prefix + "broken"))
