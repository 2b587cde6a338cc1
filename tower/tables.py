"""The control tower (R31, R35, R36): HQ's service targets with their history, the batch-quality
alerts of the early warning (R7, R16) and the appraisal scores with their inputs.

Nothing here is edited in place where history matters: a target is revised by a new row from a
quarter's first day (like `policy_value`); an alert is raised once per evidence (a unique key,
migration) and only its decision is filled in later."""
from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    JSONB,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Organisation, Product, Region, User


class ServiceTarget(Table):
    """R35: one measure's target from a quarter's first day (China date), in basis points
    (9700 = 97 %). Append-only: the row with the latest `effective_from` on or before a day
    applies; the table is the history."""

    id: Serial

    measure = Varchar(length=24, null=False)  # tower.rules.MEASURES
    value_bp = Integer(null=False)
    effective_from = Date(null=False)  # a quarter's first day
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)


class QualityAlert(Table):
    """R7/R16 early warning: returns of one product with one date-code month from one region
    in one window, significantly above what the region's own baseline and the rest of the
    network lead to expect. Raised once per evidence (unique key in the migration)."""

    class Status(str, Enum):
        open = "open"
        verifying = "verifying"  # turned into an R16 quality verification
        dismissed = "dismissed"

    id: Serial

    product = ForeignKey(Product, null=False, on_delete=OnDelete.restrict)
    date_code_month = Date(null=False)
    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict)
    window_start = Date(null=False)
    window_end = Date(null=False)  # exclusive
    observed = Integer(null=False)  # units returned in the window
    expected_milli = BigInt(null=False)  # expected units x 1000
    evidence = JSONB(null=False, default="{}")  # rates, baseline, p-value, threshold
    status = Varchar(length=10, null=False, default="open", choices=Status)
    raised_at = Timestamptz(null=False)
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    decided_at = Timestamptz(null=True, default=None)
    reason = Text(null=False, default="")  # why it was dismissed
    dispute = Integer(null=True, default=None)  # quality_dispute.id it became (R16)


class AppraisalScore(Table):
    """R36: an office's or repair point's score for a quarter, with its inputs (each measure's
    figure, target, weight and points) so anyone can see why."""

    id: Serial

    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict)
    period_start = Date(null=False)
    score = Integer(null=False)  # 0-100
    inputs = JSONB(null=False, default="{}")
    computed_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    computed_at = Timestamptz(null=False)


class CorrectiveAction(Table):
    """R36: below 70 fails, and the failing unit needs corrective and preventive actions."""

    id: Serial

    appraisal = ForeignKey(AppraisalScore, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=10, null=False)  # corrective | preventive
    action = Text(null=False)
    recorded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    recorded_at = Timestamptz(null=False)


class SelfAssessment(Table):
    """Issue 15 §7: head office's GB/T 27922 self-assessment for a year (seed 004 §9: once a
    year). One per year (unique key in the migration)."""

    id: Serial

    year = Integer(null=False)
    opened_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    opened_at = Timestamptz(null=False)


class SelfAssessmentItem(Table):
    """One indicator of a year's self-assessment with the points and source it had when the
    year was opened (tower/gbt27922.py), so a later change of points leaves past years alone.
    Evidence files hang on it (portal/attachments.py, subject `tower.gbt_item`)."""

    id: Serial

    assessment = ForeignKey(SelfAssessment, null=False, on_delete=OnDelete.restrict)
    code = Varchar(length=16, null=False)
    max_points = Integer(null=False)
    source = Varchar(length=8, null=False)  # live | evidence


class SelfAssessmentScore(Table):
    """HQ's score of an evidence indicator, with a note. Append-only: a new score is a new row
    and the latest counts, so the history says who scored what when."""

    id: Serial

    item = ForeignKey(SelfAssessmentItem, null=False, on_delete=OnDelete.restrict)
    points = Integer(null=False)
    note = Text(null=False, default="")
    scored_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    scored_at = Timestamptz(null=False)
