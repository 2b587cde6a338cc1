"""Customer-service rules shared by its parts (SPEC §8), pure: phone numbers and the masking of
personal data (R34). Each part has its own rules module: `complaint_rules` (R32), `call_rules`
(R33), `archive_rules` (R34); the services enforce them and the tests call them directly."""
from __future__ import annotations

import re

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


