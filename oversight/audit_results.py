"""Audit results as the appraisal reads them (R30 → R36): each audited office's score from its
latest audit whose written report was filed in the period. The control tower's appraisal calls
this; one statement whatever the number of offices."""
from __future__ import annotations

from datetime import date

from portal.db import raw_fetch

# R36: the report's China date decides the period it counts in; the latest report wins
_SCORES = """
SELECT DISTINCT ON (office) office, score
FROM office_audit
WHERE reported_at IS NOT NULL AND score IS NOT NULL
  AND (reported_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2
ORDER BY office, reported_at DESC, id DESC
"""


async def audit_scores(period_start: date, period_end: date) -> dict[int, int]:
    """Audited office id → score (0–100) of its latest audit reported between `period_start`
    and `period_end` (China dates, both included). Offices without such a report are absent."""
    rows = await raw_fetch(_SCORES, period_start, period_end)
    return {row["office"]: row["score"] for row in rows}
