"""Home-page queues of complaints (R32): one aggregate query for all of an actor's queues,
scoped like the list (R1), whatever the number of complaints. Each links to the list filtered
to exactly its items (/complaints?queue=...), and is red when one of its items is late."""
from __future__ import annotations

from datetime import datetime

from portal.actor import Actor
from portal.db import raw_fetch
from portal.workbench import SECTIONS, Queue, sections_of
from service.complaint_queries import COMPLAINT_BREACHING, complaint_queue_sql, complaint_scope

# key: (title, what appears here and why, when it is empty)
QUEUE_LABELS = {
    "to_judge": ("Complaints to judge",
                 "New complaints, also from the public form, wait here until you judge whether "
                 "they stand; red when one is past its acknowledgement deadline."),
    "to_assign": ("Complaints to assign to the responsible unit",
                  "Complaints that stand wait here until you assign them by type: quality to HQ "
                  "tech, transport to HQ logistics, contract disputes to management, service "
                  "to the office or repair point."),
    "to_investigate": ("Complaints assigned to you: investigate and propose",
                       "Complaints assigned to your unit wait here until you record the cause "
                       "and propose a resolution."),
    "to_approve": ("Complaint resolutions to approve",
                   "Proposed resolutions wait here for customer service's approval."),
    "major_to_approve": ("Major complaints: resolutions to approve",
                         "Resolutions of major complaints wait here for your approval."),
    "to_tell": ("Complaints resolved: tell the customer",
                "Complaints your organisation recorded appear here once their resolution is "
                "approved, until you record how the customer was told."),
    "to_close": ("Complaints answered: close them",
                 "Once the customer is told, the complaint waits here to be closed with "
                 "accountability and an improvement action."),
    "breaching": ("Complaints past a deadline",
                  "Complaints not judged in time, or whose customer was not told in time, "
                  "appear here. None is late."),
    "major_open": ("Major complaints under way",
                   "Major complaints appear here from the day they are judged major until they "
                   "are closed with a preventive action."),
}
# Which complaint queues each section of a home shows, in order.
SECTION_QUEUES = {
    "hq_cs": ("to_judge", "to_assign", "to_approve", "to_investigate", "to_tell", "to_close",
              "breaching"),
    "vice_president": ("major_to_approve", "major_open", "to_investigate"),
    "hq_tech": ("to_investigate",),
    "hq_logistics": ("to_investigate",),
    "dealer_clerk": ("to_investigate", "to_tell", "to_close"),
    "manager": ("to_investigate", "to_tell", "to_close"),
    "store": ("to_tell", "to_close"),
    "repair_staff": ("to_investigate", "to_tell", "to_close"),
    "auditor": ("breaching", "major_open"),
}
# When each queue's oldest item started waiting.
_SINCE = dict(  # SQL, not words: a dict() call keeps scripts/catalog.py from collecting it
    to_judge="c.recorded_at", to_assign="c.judged_at", to_investigate="c.assigned_at",
    to_approve="c.proposed_at", major_to_approve="c.proposed_at", to_tell="c.approved_at",
    to_close="c.told_at", breaching="c.recorded_at", major_open="c.recorded_at")


def _wanted(actor: Actor) -> list[tuple[str, str]]:
    mine = sections_of(actor)
    if actor.organisation_kind == "hq":
        mine.discard("manager")  # a regional manager (HQ) works on batches, not complaints
    if actor.organisation_kind == "subdistributor":
        mine.discard("store")  # sub-distributors do not record complaints
    return [(section, key) for section in SECTIONS if section in mine
            for key in SECTION_QUEUES.get(section, ())]


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    wanted = _wanted(actor)
    if not wanted:
        return []
    keys = list(dict.fromkeys(key for _, key in wanted))
    args: list = [now]
    scope = complaint_scope(actor, args)
    parts = []
    for key in keys:
        where = complaint_queue_sql(actor, key)
        parts += [f"count(*) FILTER (WHERE {where}) AS {key}_n",
                  f"min({_SINCE[key]}) FILTER (WHERE {where}) AS {key}_at",
                  f"count(*) FILTER (WHERE ({where}) AND {COMPLAINT_BREACHING}) AS {key}_late"]
    row = (await raw_fetch(
        f"SELECT {', '.join(parts)} FROM complaint c JOIN organisation o ON o.id = c.organisation "
        "LEFT JOIN organisation ao ON ao.id = c.assigned_org "
        f"WHERE c.status NOT IN ('closed', 'not_standing') AND {scope}", *args))[0]
    return [Queue(f"complaints_{key}", QUEUE_LABELS[key][0], row[f"{key}_n"], row[f"{key}_at"],
                  f"/complaints?queue={key}", QUEUE_LABELS[key][1], section,
                  alarm=row[f"{key}_late"] > 0) for section, key in wanted]
