"""Return calendar (and, later, return batches)."""
from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.tables import Region, User


class CalendarAssignment(Table):
    """R2/R4: which week of the month a region returns in, from a month on. Never edited: an
    HQ change is a new row effective from the first of next month, so the rows are the history.
    `week` NULL means the region was explicitly left without a window."""

    region = ForeignKey(Region, null=False, on_delete=OnDelete.restrict)
    week = Integer(null=True, default=None)
    effective_from = Date(null=False)
    reason = Text(null=False, default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz(null=False)
