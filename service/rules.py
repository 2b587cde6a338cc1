"""Customer-service rules (SPEC §8), pure: no database, no clock of their own. One home per
rule; the services enforce them and the tests call them directly.

Time limits run in real hours from the recorded instant (24 h is 24 h across midnight and month
ends); what people read is China time (R3)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

VISIT_WITHIN = timedelta(hours=24)  # R33: on site within 24 hours of the call
RETURN_VISIT_SHARE_PERCENT = 5  # R34: at least 5 % of the year's customers


def visit_due(called_at: datetime) -> datetime:
    """R33: the latest instant the visit may start."""
    return called_at + VISIT_WITHIN


def visit_breached(called_at: datetime, visited_at: datetime | None, now: datetime) -> bool:
    """R33: visited later than 24 h after the call, or not yet visited and already late."""
    return (visited_at or now) > visit_due(called_at)


def visits_needed(customers: int) -> int:
    """R34: the fewest return visits a year's plan may hold: 5 % of the customers, rounded up."""
    return -(-customers * RETURN_VISIT_SHARE_PERCENT // 100)


_NOT_DIGITS = re.compile(r"[\s\-()+]")


def normalise_phone(text: str) -> str | None:
    """A phone number as digits only (spaces, dashes, brackets and a leading + dropped); None
    when it is not 5 to 20 digits."""
    digits = _NOT_DIGITS.sub("", text or "")
    return digits if digits.isdigit() and 5 <= len(digits) <= 20 else None


def mask_phone(digits: str) -> str:
    """R34: personal data shown masked to those who do not need it: 138****5678."""
    if len(digits) <= 7:
        return digits[:2] + "*" * (len(digits) - 2)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*; Li Lei -> L*****."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


# --- complaints (R32) --------------------------------------------------------------------------

# --- service calls and opinion cards (R33) ------------------------------------------------------

# --- return visits, surveys, the customer archive (R34) ----------------------------------------
