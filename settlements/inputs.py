"""What each settlement action takes: one dataclass per action, read from JSON by its API twin
and from the posted form by the page, so both are checked alike. The page reads most of them
with portal.actions.form_input (field names are the form's; `amount_fen` is typed in yuan in
`amount`); the month pickers (2026-11), the volume upload and the rebate tiers' rows, which a
form writes differently from JSON, are read by the readers below into the same dataclasses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar.datastructures import UploadFile

from portal.errors import ValidationFailed
from portal.forms import text
from portal.money import parse_percent, parse_yuan

MONTH = "Choose a month, e.g. 2026-11."
TIER_ROWS = 5  # rows of the rebate policy form; a blank row is no tier


@dataclass
class CloseIn:
    period: date  # any day of the month to close (the page: a month picker)


@dataclass
class BulkIn:
    action: str      # approve | bank-payment | pay
    ids: list[int]   # statement ids, at most 200 distinct (bulk.MAX_SELECTION)
    reference: str = ""  # bank-payment: the transfer run's reference


@dataclass
class BankPaymentIn:
    reference: str  # R27: the bank's reference of the transfer


@dataclass
class CorrectionIn:
    """An adjustment or charge asked from a statement's page: for its dealer, correcting it.
    The service says what is missing (an amount other than zero, a reason)."""
    kind: str = "adjustment"  # adjustment | charge
    amount_fen: int | None = None  # signed: owed to the dealer (+) or by the dealer (-)
    reason: str = ""


@dataclass
class AdjustmentIn:
    dealer_id: int
    kind: str  # adjustment | charge
    amount_fen: int  # signed: owed to the dealer (+) or by the dealer (-)
    reason: str
    corrects_statement_id: int | None = None


@dataclass
class DecisionIn:
    approve: bool  # the form's two buttons send 1 (approve) or 0 (refuse)
    reason: str = ""


@dataclass
class VolumesIn:
    period: date  # any day of the month (the page: a month picker)
    file: UploadFile


@dataclass
class CreditPriceIn:
    product_id: int
    price_fen: int
    effective_from: date
    reason: str


@dataclass
class TierIn:
    from_fen: int  # purchases of the month from this amount...
    rate_bp: int   # ...earn this rate (basis points: 1250 = 12.5 %) on all of them


@dataclass
class RebatePolicyIn:
    effective_from: date  # the first of a future month (the page: a month picker)
    tiers: list[TierIn]
    reason: str


@dataclass
class PayoutAccountIn:
    dealer_id: int
    stripe_account: str = ""
    bank_name: str = ""
    bank_account: str = ""


def parse_month(raw: str | None) -> date | None:
    """'2026-11' or '2026-11-01' -> the first of that month; None when it is not a month."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:7] + "-01")
    except ValueError:
        return None


def _month(form: Any, name: str, errors: dict[str, str]) -> date:
    month = parse_month(text(form, name, 10))
    if month is None:
        errors[name] = MONTH
    return month or date.min


def _checked(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(errors)


def close_input(form: Any) -> CloseIn:
    errors: dict[str, str] = {}
    period = _month(form, "period", errors)
    _checked(errors)
    return CloseIn(period=period)


def volumes_input(form: Any) -> VolumesIn:
    errors: dict[str, str] = {}
    period = _month(form, "period", errors)
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        errors.setdefault("file", "Choose an XLSX or CSV file.")
    _checked(errors)
    return VolumesIn(period=period, file=upload)


def tier_rows(form: Any, errors: dict[str, str]) -> list[TierIn]:
    """The tier rows of the form (`from_0`/`rate_0`, ...): yuan to fen and percent to basis
    points, both parsed from the string (never a float); a bad field gets its message beside
    it. The rules on the tiers as a whole (R26: at least one, distinct starts, 0-50 %) are the
    service's."""
    tiers = []
    for i in range(TIER_ROWS):
        raw_from, raw_rate = text(form, f"from_{i}", 20), text(form, f"rate_{i}", 10)
        if not raw_from and not raw_rate:
            continue
        from_fen, rate_bp = parse_yuan(raw_from), parse_percent(raw_rate)
        if from_fen is None:
            errors[f"from_{i}"] = "Enter the purchases the tier starts at in yuan, e.g. 100000.00."
        if rate_bp is None:
            errors[f"rate_{i}"] = "Enter a percentage with at most two decimals."
        if from_fen is not None and rate_bp is not None:
            tiers.append(TierIn(from_fen=from_fen, rate_bp=rate_bp))
    return tiers


def policy_input(form: Any) -> RebatePolicyIn:
    errors: dict[str, str] = {}
    tiers = tier_rows(form, errors)
    effective_from = _month(form, "effective_from", errors)
    reason = text(form, "reason", 500)
    _checked(errors)
    return RebatePolicyIn(effective_from=effective_from, tiers=tiers, reason=reason)
