"""One dataclass per action in the control tower, shared by the HTML form and its /api/v1 twin
(portal/actions.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass
class TargetIn:
    """R35: a measure's new target from a coming quarter's first day. `value` is a percentage
    as typed ("97", "0.8")."""
    measure: str
    value: str
    effective_from: date
    reason: str = ""


@dataclass
class ReasonCodeIn:
    """Defect analytics: HQ adds a reason code (kind: defect | reject)."""
    kind: str
    code: str
    name_zh: str
    name_en: str


@dataclass
class ReasonCodeEditIn:
    """Defect analytics: HQ renames a reason code or (de)activates it."""
    name_zh: str
    name_en: str
    active: bool = False


@dataclass
class AlertDismissIn:
    """R16: CS dismisses an early-warning alert, saying why."""
    reason: str = ""


@dataclass
class AlertVerifyIn:
    """R16: CS turns an alert into an on-site quality verification by HQ tech."""
    note: str = ""


@dataclass
class AppraisalComputeIn:
    """R36: score every office and repair point for a quarter that has ended (its first day)."""
    period_start: date


@dataclass
class CorrectiveActionIn:
    """R36: a failing score's corrective or preventive action."""
    kind: str
    action: str


@dataclass
class SelfAssessmentIn:
    """Issue 15 §7: open head office's GB/T 27922 self-assessment for a year."""
    year: int


@dataclass
class EvidenceScoreIn:
    """Issue 15 §7: HQ's score of an evidence indicator (0 to its points) and why."""
    points: int
    note: str = ""
