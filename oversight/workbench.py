"""Home-page queues of the audits (R30): one aggregate statement per home, whatever the number
of audits. The vice-president: plans to approve; the audit group's members (any head-office
role): audits to visit and reports due (late ones in red); the line department (a regional
manager covering the office): orders to issue and answers to check; the audited office's
manager: orders to answer. An unannounced audit never reaches the office's home before its
visit: the office only counts orders, which exist only after the report."""
from __future__ import annotations

from datetime import datetime

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.workbench import Queue, sections_of

QUEUE_LABELS = {
    "audits_to_approve": ("Audit plans to approve",
                          "Plans the audit groups submit appear here until you approve or "
                          "return them."),
    "audits_to_work": ("Your audits to visit and report",
                       "Approved audits of your group wait here until the report is filed; "
                       "one past its deadline is red."),
    "rectifications_to_issue": ("Rectification orders to issue or close",
                                "Orders the vice-president instructs for your offices, and "
                                "answers to check, appear here."),
    "rectifications_to_answer": ("Rectification orders to answer",
                                 "Orders head office issues after an audit appear here until "
                                 "you answer them with your evidence."),
}

_SQL = """
SELECT
  count(*) FILTER (WHERE a.status = 'submitted' AND $2) AS approve_n,
  min(a.created_at) FILTER (WHERE a.status = 'submitted' AND $2) AS approve_at,
  count(*) FILTER (WHERE a.status IN ('approved', 'visited') AND m."user" IS NOT NULL) AS work_n,
  min(a.created_at) FILTER (WHERE a.status IN ('approved', 'visited')
                            AND m."user" IS NOT NULL) AS work_at,
  count(*) FILTER (WHERE a.status IN ('approved', 'visited') AND m."user" IS NOT NULL
                   AND a.deadline < $3) AS late_n
FROM office_audit a
LEFT JOIN audit_member m ON m.audit = a.id AND m."user" = $1
WHERE a.status <> 'reported'
"""
_ORDERS = """
SELECT
  count(*) FILTER (WHERE r.status IN ('instructed', 'answered')
                   AND o.path LIKE ANY($1::text[])
                   AND NOT EXISTS (SELECT 1 FROM audit_member m WHERE m.audit = r.audit
                                   AND m."user" = $3)) AS line_n,
  min(r.instructed_at) FILTER (WHERE r.status IN ('instructed', 'answered')
                               AND o.path LIKE ANY($1::text[])) AS line_at,
  count(*) FILTER (WHERE r.status = 'issued' AND r.office = $2) AS office_n,
  min(r.issued_at) FILTER (WHERE r.status = 'issued' AND r.office = $2) AS office_at
FROM rectification_order r JOIN organisation o ON o.id = r.office
WHERE r.status <> 'closed'
"""


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    sections = sections_of(actor)
    result: list[Queue] = []
    hq = actor.organisation_kind == "hq"
    if hq and (sections & {"hq_cs", "hq_finance", "vice_president"}):
        vp = "vice_president" in sections
        row = (await raw_fetch(_SQL, actor.user_id, vp, clock.china_today(now)))[0]
        if vp:
            title, empty = QUEUE_LABELS["audits_to_approve"]
            result.append(Queue("audits_to_approve", title, row["approve_n"], row["approve_at"],
                                "/audits?status=submitted", empty, "vice_president"))
        if row["work_n"] or "hq_cs" in sections:
            title, empty = QUEUE_LABELS["audits_to_work"]
            section = "hq_cs" if "hq_cs" in sections else sorted(sections)[0]
            result.append(Queue("audits_to_work", title, row["work_n"], row["work_at"],
                                "/audits?status=approved", empty, section,
                                alarm=bool(row["late_n"])))
    line = hq and actor.has("manager") and bool(actor.covered_paths)
    office = actor.organisation_kind in ("office", "agent") and actor.has("manager")
    if line or office:
        row = (await raw_fetch(_ORDERS, [p + "%" for p in actor.covered_paths] or ["-"],
                               actor.organisation_id if office else -1, actor.user_id))[0]
        key = "rectifications_to_issue" if line else "rectifications_to_answer"
        title, empty = QUEUE_LABELS[key]
        n, at = (row["line_n"], row["line_at"]) if line else (row["office_n"], row["office_at"])
        result.append(Queue(key, title, n, at, "/audits", empty, "manager"))
    return result
