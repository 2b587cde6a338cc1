"""What each batch action takes: one dataclass per action, read from the posted form by the page
(portal.actions.form_input) and from JSON by its API twin, so both are checked alike."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass
class DraftIn:
    special_approval: int | None = None  # R7: a special batch of the approval's month


@dataclass
class UseApprovalIn:
    special_approval: int


@dataclass
class ReasonIn:
    """sign (a note), return, refuse, withdraw (why)."""
    reason: str = ""


@dataclass
class ApproveIn:
    disposition: str = ""  # R9: "return" (ship to head office) or "dispose" (locally)
    reason: str = ""


@dataclass
class DisposeIn:
    evidence: str = ""  # R9: how the goods were disposed of, and the proof


@dataclass
class DispatchIn:
    """R11: typed in yuan on the form (`freight`), fen in JSON."""
    carrier: str
    waybill: str
    packages: int
    freight_fen: int
    dispatched_on: date


@dataclass
class ArriveIn:
    number: str
    note: str = ""
    cartons: int = 0  # issue 12 §6: how many of its cartons arrive now; 0 = all still to come


@dataclass
class SpecialRequestIn:
    """R7: an exception to the calendar, asked by the office's manager."""
    organisation_id: int
    reason: str
    quality_problem: bool = False


@dataclass
class SpecialDecisionIn:
    approve: bool  # the form's two buttons send 1 (grant) or 0 (refuse)
    reason: str = ""


@dataclass
class DisputeIn:
    description: str  # R16: what is wrong with the batch's quality


@dataclass
class VerifyIn:
    confirmed: bool  # R16: head office's technician on site
    findings: str


@dataclass
class ClaimIn:
    """R15: goods lost or damaged by the carrier."""
    carrier: str
    lost_qty: int = 0
    damaged_qty: int = 0
    claimed_fen: int = 0
    note: str = ""


@dataclass
class CloseClaimIn:
    recovered_fen: int
    note: str = ""


@dataclass
class LineCountIn:
    """One line's count from the dock's phone (R12, issue 12 §7): `key` is the phone's
    idempotency key, `base_version` the line's count version it counted on (0: none)."""
    key: str
    line_id: int
    received_qty: int
    base_version: int = 0
    lights: bool = False
    cap_percent: int | None = None
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False
