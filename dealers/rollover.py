"""R5: a regular draft not submitted when its window closes is not accepted that month: it moves
to the next month's window and the office is told. A periodic job, set-based (issue 17 §4):
one statement finds the drafts due, one moves them and one writes their audit rows, whatever
their number; the offices are told one statement per draft moved. A draft that cannot move (the
next month already has the office's regular batch) is told once and recorded; from then on the
finding statement passes it over, so a run with nothing new to do costs one query."""
from __future__ import annotations

from datetime import date, datetime

from dealers import rules
from portal import audit, clock
from portal.db import raw_executemany, raw_fetch, transactional
from portal.handoffs import tell

# Regular drafts of this month or earlier, with their region's week for their own month (R3)
# and the month they would move to; those already found unable to move there are left out.
_DUE = """
SELECT b.id, b.number, b.organisation, b.month, t.target,
       (SELECT c.week FROM calendar_assignment c WHERE c.region = o.region
         AND c.effective_from <= b.month ORDER BY c.effective_from DESC, c.id DESC LIMIT 1) AS week
FROM return_batch b JOIN organisation o ON o.id = b.organisation
CROSS JOIN LATERAL (SELECT greatest((b.month + interval '1 month')::date, $1::date) AS target) t
WHERE b.status = 'draft' AND b.kind = 'regular' AND b.month <= $1
  AND NOT EXISTS (SELECT 1 FROM audit_entry a WHERE a.object_type = 'return_batch'
                  AND a.object_id = b.id::text AND a.action = 'rollover_blocked'
                  AND a.to_state ->> 'month' = t.target::text)
ORDER BY b.organisation, b.month, b.id
"""

# Each due draft, still a draft (locked), and whether its target month is taken by another
# regular batch of the office (R6: one a month).
_TAKEN = """
SELECT b.id, EXISTS (SELECT 1 FROM return_batch x WHERE x.organisation = b.organisation
         AND x.month = d.target AND x.kind = 'regular' AND x.status <> 'withdrawn'
         AND x.id <> b.id) AS taken
FROM unnest($1::int[], $2::date[]) AS d(id, target)
JOIN return_batch b ON b.id = d.id AND b.status = 'draft'
ORDER BY b.id FOR UPDATE OF b
"""


async def roll_over_unsubmitted(at: datetime) -> int:
    """Move every regular draft whose window has closed; returns how many moved. Safe to run
    repeatedly."""
    this_month = clock.china_today(at).replace(day=1)
    due = [d for d in await raw_fetch(_DUE, this_month)
           if rules.window_closed(d["month"], d["week"], at)]
    return await _roll(due, at) if due else 0


@transactional
async def _roll(due: list[dict], at: datetime) -> int:
    taken = {r["id"]: r["taken"] for r in await raw_fetch(
        _TAKEN, [d["id"] for d in due], [d["target"] for d in due])}
    moving: list[dict] = []
    blocked: list[dict] = []
    claimed: set[tuple[int, date]] = set()  # two drafts of one office never take one month
    for draft in due:
        if draft["id"] not in taken:  # submitted or withdrawn meanwhile
            continue
        key = (draft["organisation"], draft["target"])
        (blocked if taken[draft["id"]] or key in claimed else moving).append(draft)
        claimed.add(key)
    if not moving and not blocked:
        return 0
    if moving:
        await raw_fetch("UPDATE return_batch b SET month = d.target FROM unnest($1::int[], "
                        "$2::date[]) AS d(id, target) WHERE b.id = d.id",
                        [d["id"] for d in moving], [d["target"] for d in moving])
    await raw_executemany(
        f"INSERT INTO audit_entry ({audit.COLUMNS}) VALUES ({audit.PLACEHOLDERS})",
        [audit.entry(actor=None, object_type="return_batch", object_id=d["id"], action=action,
                     organisation_id=d["organisation"], before={"month": d["month"].isoformat()},
                     after={"month": d["target"].isoformat()},
                     reason="not submitted in its window (R5)")
         for action, drafts in (("rolled_over", moving), ("rollover_blocked", blocked))
         for d in drafts])
    for event, drafts in (("rolled_over", moving), ("rollover_blocked", blocked)):
        for d in drafts:
            await tell(event, actor=None, org_id=d["organisation"],
                       dedupe_key=d["number"] if event == "rollover_blocked"
                       else f"{d['number']}-{d['target']:%Y%m}",
                       params={"number": d["number"], "batch_id": d["id"],
                               "month": d["target"].strftime("%Y-%m")})
    return len(moving)
