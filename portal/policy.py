"""Business parameters HQ changes (rates, ratios): versioned rows, never edited (brief: rules as data).

Values are integers: rates in basis points (1000 = 10 %), money in fen.
"""
from __future__ import annotations

from datetime import date

from portal import audit, clock, i18n
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.money import parse_percent, parse_yuan
from portal.tables import PolicyValue

# key -> (default, max, description msgid). Defaults come from the manuals.
POLICIES: dict[str, tuple[int, int, str]] = {
    # R17: out of warranty the customer pays the parts plus 10 % of the parts replaced.
    "out_of_warranty_fee_bp": (1000, 10000, "Out-of-warranty repair fee, %% of parts (R17)"),
    # R22: deposit as a share of the first stock's value (HQ sets it; 100 % until changed).
    "deposit_ratio_bp": (10000, 10000, "Repair-point deposit, %% of first stock value (R22)"),
    # R26: a statement above this total (fen) needs a second finance approver.
    "second_approval_above_fen": (10_000_000, 10_000_000_000,
                                  "Statements above this amount need a second finance approver (R26)"),
    # R34: a customer file idle this many months loses its personal data (name, phone, address).
    "customer_retention_months": (36, 240, "Customer data kept, months without activity (R34)"),
    # R32: a complaint is judged within these hours of being recorded, and its customer told
    # the answer within these days (SLA clocks; breaches are shown and escalated).
    "complaint_acknowledge_hours": (24, 720, "Complaints: judged within (hours) (R32)"),
    "complaint_resolve_days": (7, 90, "Complaints: customer told the answer within (days) (R32)"),
    # R13 (goods): rejected goods an office asks to have sent back travel at its cost, this much
    # per batch (0: head office bears the freight).
    "rejected_return_freight_fen": (0, 100_000_00, "Rejected goods sent back: freight charged to "
                                    "the office per batch (R13)"),
    # R12 (issue 12 §3): blind counting at HQ's dock, the only receiving site: at 100 % the
    # count page does not pre-fill or show the declared quantities; 0 shows them.
    "dock_blind_count_bp": (10000, 10000,
                            "Dock: declared quantities hidden while counting, 100 %% = blind, 0 = shown (R12)"),
    # R35 (tower): a figure with fewer cases than this says "too few cases"; amber is a miss
    # within this share of the target. R7/R16 early warning: the test's family-wise error and
    # the fewest returned units a cell needs before it is tested.
    "kpi_min_cases_count": (20, 100_000, "Control tower: fewest cases for a percentage (R35)"),
    "kpi_amber_margin_bp": (500, 10000, "Control tower: amber within this share of the target (R35)"),
    "alert_alpha_bp": (10, 1000, "Early warning: chance of a false alarm per run, %% (R16)"),
    "alert_min_count": (10, 100_000, "Early warning: fewest returned units tested (R16)"),
    # R36 (tower): each measure's weight in an appraisal score, and the audit result's (R30)
    "appraisal_weight_on_site_count": (20, 100, "Appraisal: weight of on site within 24 hours (R36)"),
    "appraisal_weight_complaint_rate_count": (15, 100, "Appraisal: weight of the complaint rate (R36)"),
    "appraisal_weight_resolution_count": (15, 100, "Appraisal: weight of complaints resolved (R36)"),
    "appraisal_weight_satisfaction_count": (20, 100, "Appraisal: weight of satisfaction (R36)"),
    "appraisal_weight_first_time_fix_count": (15, 100, "Appraisal: weight of the first-visit fixes (R36)"),
    "appraisal_weight_return_rate_count": (15, 100, "Appraisal: weight of the return rate (R36)"),
    "appraisal_weight_audit_count": (30, 100, "Appraisal: weight of the audit result (R36)"),
}


# Each policy's unit, as the change form names it and as its error says it (msgids).
UNIT_LABELS = {"fen": "New value (¥)", "bp": "New value (%%)", "hours": "New value (hours)",
               "days": "New value (days)", "months": "New value (months)",
               "count": "New value (a whole number)"}
UNIT_ERROR_LABELS = {
    "fen": "Enter an amount in yuan with at most two decimals.",
    "bp": "Enter a percentage with at most two decimals.",
    "hours": "Enter a whole number of hours.", "days": "Enter a whole number of days.",
    "months": "Enter a whole number of months.", "count": "Enter a whole number."}


def unit(key: str) -> str:
    """fen | bp | hours | days | months: how the policy is typed and shown."""
    for suffix in ("fen", "hours", "days", "months", "count"):
        if key.endswith("_" + suffix):
            return suffix
    return "bp"


def is_money(key: str) -> bool:
    """Each policy in its own unit: money in yuan (stored in fen), ratios in % (stored in bp)."""
    return key.endswith("_fen")


def shown(key: str, value: int) -> str:
    """A policy's value as people read it: ¥100,000.00 or 10 % (12.5 %), or 24 hours."""
    if is_money(key):
        return i18n.money(value)
    if key.endswith(("_hours", "_days")):  # a whole number of hours or days (R32 clocks)
        return i18n.gettext("%(n)s hours" if key.endswith("_hours") else "%(n)s days", n=value)
    if key.endswith("_months"):  # a count of months, stored as it is
        return i18n.gettext("%(n)s months", n=value)
    if key.endswith("_count"):  # a plain count (tower thresholds)
        return str(value)
    return f"{value / 100:.2f}".rstrip("0").rstrip(".") + " %"


def parse(key: str, text: str) -> int | None:
    """What was typed in the policy's unit -> the stored integer (fen or bp); None if unreadable."""
    if key.endswith(("_hours", "_days")):  # whole hours or days (R32 clocks)
        return int(text.strip()) if text.strip().isdigit() and len(text.strip()) < 5 else None
    if key.endswith(("_months", "_count")):
        return int(text.strip()) if text.strip().isdigit() and len(text.strip()) < 7 else None
    return parse_yuan(text) if is_money(key) else parse_percent(text)


def in_force_sql(key: str, day: str) -> str:
    """The value of `key` in force on `day` as an SQL expression (`day` a parameter such as
    "$3"), NULL when HQ never set one (the default is then POLICIES[key][0]): for a statement
    that reads a policy along with other things. The one text of the look-up `value_on` runs."""
    if key not in POLICIES:
        raise NotFound("Not found.")
    return (f"(SELECT v.value FROM policy_value v WHERE v.key = '{key}' "
            f"AND v.effective_from <= {day} ORDER BY v.effective_from DESC, v.id DESC LIMIT 1)")


async def value_on(key: str, day: date) -> int:
    value = (await raw_fetch(f"SELECT {in_force_sql(key, '$1')} AS value", day))[0]["value"]
    return value if value is not None else POLICIES[key][0]


async def values_on(day: date) -> dict[str, int]:
    """Every policy's value on `day`, in one statement (the catalogue lists them all)."""
    rows = await raw_fetch(
        "SELECT DISTINCT ON (key) key, value FROM policy_value WHERE effective_from <= $1 "
        "ORDER BY key, effective_from DESC, id DESC", day)
    found = {r["key"]: r["value"] for r in rows}
    return {key: found.get(key, default) for key, (default, _, _) in POLICIES.items()}


async def history(key: str) -> list[dict]:
    return await PolicyValue.select(
        PolicyValue.value, PolicyValue.effective_from, PolicyValue.reason, PolicyValue.created_at,
        PolicyValue.created_by.display_name.as_alias("author"),
    ).where(PolicyValue.key == key).order_by(PolicyValue.effective_from, ascending=False)


async def revise(*, actor: Actor, key: str, value: str, effective_from: date,
                 reason: str) -> None:
    """A change as typed on the policy's page: `value` in the policy's unit (yuan, %, hours)."""
    if key not in POLICIES:
        raise NotFound("Not found.")
    parsed = parse(key, value)
    if parsed is None:
        raise ValidationFailed({"value": UNIT_ERROR_LABELS[unit(key)]})
    await change(actor=actor, key=key, value=parsed, effective_from=effective_from, reason=reason)


@transactional
async def change(*, actor: Actor, key: str, value: int, effective_from: date, reason: str) -> None:
    """A new value from a future date; today's value and the past stay as they were."""
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    if key not in POLICIES:
        raise NotFound("Not found.")
    errors: dict[str, str] = {}
    if not 0 <= value <= POLICIES[key][1]:
        errors["value"] = "Out of range."
    if effective_from <= clock.china_today():
        errors["effective_from"] = "A change takes effect from a future date."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if not errors and await PolicyValue.exists().where(
        (PolicyValue.key == key) & (PolicyValue.effective_from == effective_from)
    ):
        errors["effective_from"] = "A change from that date already exists."
    if errors:
        raise ValidationFailed(errors)
    before = await value_on(key, effective_from)
    await PolicyValue.insert(PolicyValue(key=key, value=value, effective_from=effective_from,
                                         reason=reason.strip(), created_by=actor.user_id,
                                         created_at=clock.now()))
    await audit.record(actor=actor, object_type="policy", object_id=key, action="change",
                       before={"value": before}, after={"value": value,
                                                        "from": effective_from.isoformat()},
                       reason=reason.strip())
