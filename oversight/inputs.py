"""What each oversight action takes: one dataclass per action, read from the posted form by the
page (portal.actions.form_input) and from JSON by its API twin."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class AuditPlanIn:
    """R30: the group's plan for one office. The lead is the CS user drawing it; the others are
    named for the occasion (head-office users)."""
    office_id: int
    kind: str  # periodic | ad_hoc
    scope: str
    method: str
    deadline: date
    cost_fen: int = 0
    announced: bool = False
    sales_planning_id: int | None = None
    finance_id: int | None = None
    members: list[int] = field(default_factory=list)


@dataclass
class AuditDecisionIn:
    """R30: the vice-president's note on approving or returning a plan."""
    note: str = ""


@dataclass
class AuditVisitIn:
    notes: str = ""


@dataclass
class AuditReportIn:
    """R30, R36: findings, the written report and the score it gives the office."""
    findings: str
    report: str
    score: int | None = None


@dataclass
class InstructIn:
    """R30: the vice-president instructs the line department to order rectification."""
    instruction: str


@dataclass
class IssueOrderIn:
    """R30: the line department's order to the office: what to put right and by when."""
    requirement: str
    due: date


@dataclass
class AnswerOrderIn:
    """R30: the office's answer (its evidence attached on the order's page)."""
    answer: str


@dataclass
class CloseOrderIn:
    note: str = ""


@dataclass
class PointVisitIn:
    """R37: an office's visit to one of its repair points (seed 003 §3 art. 3C)."""
    visited_on: date
    feedback: str
    parts_management: str = ""
    technique_guidance: str = ""
    returns_appraisal: str = ""
    service_improvement: str = ""
    training_who: str = ""
    training_what: str = ""
    training_on: date | None = None


@dataclass
class PublishPointIn:
    """R38: what the public locator shows of a point."""
    city: str
    address: str
    hours: str
    phone: str
    city_en: str = ""
    address_en: str = ""
    latitude: str = ""
    longitude: str = ""
