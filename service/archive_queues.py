"""Home-page queues of return visits and surveys (R34), for the office's manager, HQ customer
service and the auditor: one aggregate query whatever the number of plans and answers."""
from __future__ import annotations

from datetime import datetime, time

from portal.actor import Actor
from portal.clock import CHINA
from portal.db import raw_fetch
from portal.network import scope_sql
from portal.workbench import Queue
from service import archive_rules

QUEUE_LABELS = {
    "visits_due": ("Return visits still to make this year",
                   "When this year's return-visit plan is drawn, the customers not yet visited "
                   "are counted here until each visit is recorded."),
    "survey_no_action": ("Survey problems without an action",
                         "When a satisfaction survey is analysed, each main problem waits here "
                         "until it has a corrective or preventive action and an owner."),
    "survey_overdue": ("Survey actions past their due date",
                       "An action not marked done by its due date appears here."),
}


def _section(actor: Actor) -> str | None:
    if not archive_rules.may_open_visits(actor):
        return None
    if actor.organisation_kind != "hq":
        return "manager"
    return "hq_cs" if actor.has("hq_cs") else "auditor"


async def queues(actor: Actor, now: datetime) -> list[Queue]:
    section = _section(actor)
    if section is None:
        return []
    today = now.astimezone(CHINA).date()
    args: list = [today.year, today]
    scope = scope_sql(actor, "o.path", args)
    row = (await raw_fetch(
        "WITH plans AS (SELECT p.year, p.created_at, p.planned - (SELECT count(*) FROM "
        "return_visit v WHERE v.plan = p.id AND v.visited_at IS NOT NULL) AS left_n "
        "FROM return_visit_plan p JOIN organisation o ON o.id = p.organisation "
        f"WHERE {scope} AND p.year = $1), "
        "problems AS (SELECT sp.action, sp.due_on, sp.done_at, s.analysed_at FROM survey_problem "
        f"sp JOIN survey s ON s.id = sp.survey JOIN organisation o ON o.id = s.organisation "
        f"WHERE {scope} AND sp.done_at IS NULL) "
        "SELECT (SELECT coalesce(sum(left_n), 0) FROM plans) AS visits_due_n, "
        "(SELECT min(created_at) FROM plans WHERE left_n > 0) AS visits_due_at, "
        "(SELECT count(*) FROM problems WHERE action = '') AS survey_no_action_n, "
        "(SELECT min(analysed_at) FROM problems WHERE action = '') AS survey_no_action_at, "
        "(SELECT count(*) FROM problems WHERE action <> '' AND due_on < $2) "
        "AS survey_overdue_n, "
        "(SELECT min(due_on) FROM problems WHERE action <> '' AND due_on < $2) "
        "AS survey_overdue_on", *args))[0]
    overdue_on = row["survey_overdue_on"]
    oldest = {"visits_due": row["visits_due_at"], "survey_no_action": row["survey_no_action_at"],
              "survey_overdue": datetime.combine(overdue_on, time(), CHINA) if overdue_on
              else None}
    links = {"visits_due": f"/return-visits?year={today.year}",
             "survey_no_action": "/surveys?waiting=action", "survey_overdue": "/surveys?waiting=overdue"}
    alarms = {"visits_due": archive_rules.visits_late(today.year, today), "survey_no_action": False,
              "survey_overdue": True}
    return [Queue(key, QUEUE_LABELS[key][0], int(row[f"{key}_n"]), oldest[key], links[key],
                  QUEUE_LABELS[key][1], section, alarm=alarms[key] and bool(row[f"{key}_n"]))
            for key in QUEUE_LABELS]
