"""Return visits (R34): every year an office's sales-service manager (or HQ customer service)
draws a plan over the organisation's customers of that year — at least 5 % of them, drawn at
random by the database in one statement — and records each visit with its findings. One plan
per organisation and year (a unique index: the second is a 409)."""
from __future__ import annotations

from datetime import date, datetime, time

import asyncpg

from portal import audit, clock
from portal.actor import Actor
from portal.clock import CHINA
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from portal.handoffs import names, tell
from portal.network import get_organisation
from service import archive_queries, archive_rules
from service.inputs import PlanIn, VisitIn

LEAD_ONLY = "Only the office's manager or head office customer service may do this."


def check_visits(actor: Actor) -> None:
    if not archive_rules.may_open_visits(actor):
        raise Forbidden("Your role does not use return visits and surveys.")


def year_bounds(year: int) -> tuple[datetime, datetime, date, date]:
    """The year's first instant and the next year's (China time), its first and last day."""
    return (datetime.combine(date(year, 1, 1), time(), CHINA),
            datetime.combine(date(year + 1, 1, 1), time(), CHINA),
            date(year, 1, 1), date(year, 12, 31))


def check_year(year: int) -> None:
    """Plans and surveys are for this year or, late, for last year (China time)."""
    this_year = clock.china_today().year
    if year not in (this_year, this_year - 1):
        raise ValidationFailed({"year": "Choose this year or last year."})


async def lead_organisation(actor: Actor, organisation_id: int | None) -> dict:
    """The office whose plan or survey this is: the manager's own, or the one HQ CS names."""
    check_visits(actor)
    org_id = organisation_id or actor.organisation_id
    if actor.organisation_kind == "hq" and not organisation_id:
        raise ValidationFailed({"organisation_id": "Choose the office."})
    if actor.read_only or not archive_rules.may_lead_visits(actor, org_id):
        raise Forbidden(LEAD_ONLY)
    org = await get_organisation(actor=actor, org_id=org_id)
    if org["kind"] not in ("office", "agent"):
        raise ValidationFailed({"organisation_id": "Choose an office or logistics agent."})
    return org


async def count_year_customers(org_path: str, year: int) -> int:
    rows = await raw_fetch(f"SELECT count(*) AS n FROM ({archive_queries.YEAR_CUSTOMERS}) y",
                           org_path, *year_bounds(year))
    return rows[0]["n"]


@transactional
async def draw_plan(*, actor: Actor, data: PlanIn) -> int:
    """R34: a plan over the year's customers of the office and below, at least 5 % of them
    (rounded up), drawn at random in one statement; led by the person drawing it."""
    org = await lead_organisation(actor, data.organisation_id)
    check_year(data.year)
    if await raw_fetch("SELECT 1 FROM return_visit_plan WHERE organisation = $1 AND year = $2",
                       org["id"], data.year):
        raise Conflict("This organisation already has a return-visit plan for %(year)s.",
                       year=data.year)
    customers = await count_year_customers(org["path"], data.year)
    refusal = archive_rules.plan_refusal(customers, data.planned)
    if refusal:
        raise RuleViolation(refusal[0], field="planned", **refusal[1])
    try:
        plan_id = (await raw_fetch(
            "WITH plan AS (INSERT INTO return_visit_plan (organisation, year, customers, "
            "planned, led_by, created_at) VALUES ($6, $7, $8, $9, $10, $11) RETURNING id), "
            f"drawn AS ({archive_queries.YEAR_CUSTOMERS} ORDER BY random() LIMIT $9) "
            "INSERT INTO return_visit (plan, customer) SELECT plan.id, drawn.id FROM plan, drawn "
            "RETURNING plan", org["path"], *year_bounds(data.year), org["id"], data.year,
            customers, data.planned, actor.user_id, clock.now()))[0]["plan"]
    except asyncpg.exceptions.UniqueViolationError:  # a plan drawn at the same moment won
        raise Conflict("This organisation already has a return-visit plan for %(year)s.",
                       year=data.year) from None
    await audit.record(actor=actor, object_type="return_visit_plan", object_id=plan_id,
                       action="draw", organisation_id=org["id"],
                       after={"year": data.year, "customers": customers,
                              "planned": data.planned})
    await tell("return_visit_plan_drawn", actor=actor, org_id=org["id"], dedupe_key=str(plan_id),
               params={"plan_id": plan_id, "year": data.year, "planned": data.planned,
                       "customers": customers, "office": names(org)})
    return plan_id


async def get_plan(*, actor: Actor, plan_id: int) -> dict:
    check_visits(actor)
    plan = await archive_queries.plan_row(plan_id)
    if plan is None or not actor.can_see_path(plan["org_path"]):
        raise NotFound("Not found.")
    return plan


async def plan_page(*, actor: Actor, plan_id: int) -> dict:
    """The plan, its visits (contacts masked per reader, R34) and progress."""
    plan = await get_plan(actor=actor, plan_id=plan_id)
    visits = []
    for row in await archive_queries.plan_visits(plan_id):
        full = archive_rules.sees_personal_data(actor, row["organisation"])
        visits.append({**row, **archive_rules.contact(row, full)})
    done = sum(1 for v in visits if v["visited_at"])
    late = archive_rules.visits_late(plan["year"], clock.china_today())
    return {"plan": plan, "visits": visits, "done": done, "late": late,
            "may_record": may_record(actor, plan["organisation"])}


def may_record(actor: Actor, org_id: int) -> bool:
    """Visits are recorded by those who lead the plan: the office's managers, HQ CS (R34)."""
    return not actor.read_only and archive_rules.may_lead_visits(actor, org_id)


@transactional
async def record_visit(*, actor: Actor, plan_id: int, visit_id: int, data: VisitIn) -> None:
    """R34: the visit made: when, by whom (the recorder), satisfied or not, the findings."""
    plan = await get_plan(actor=actor, plan_id=plan_id)
    if not may_record(actor, plan["organisation"]):
        raise Forbidden(LEAD_ONLY)
    errors: dict[str, str] = {}
    today = clock.china_today()
    if data.visited_on > today:
        errors["visited_on"] = "The visit cannot be in the future."
    elif data.visited_on.year != plan["year"]:
        errors["visited_on"] = "The visit falls in the plan's year."
    if len(data.findings) > 2000:
        errors["findings"] = "At most 2,000 characters."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    at = now if data.visited_on == today else \
        datetime.combine(data.visited_on, time(12), CHINA)
    rows = await raw_fetch(
        "UPDATE return_visit SET visited_at = $3, visited_by = $4, satisfied = $5, "
        "findings = $6 WHERE id = $1 AND plan = $2 AND visited_at IS NULL RETURNING customer",
        visit_id, plan_id, at, actor.user_id, data.satisfied, data.findings.strip())
    if not rows:
        if await raw_fetch("SELECT 1 FROM return_visit WHERE id = $1 AND plan = $2",
                           visit_id, plan_id):
            raise Conflict("This visit is already recorded.")
        raise NotFound("Not found.")
    await raw_fetch("UPDATE customer SET last_activity_at = greatest(last_activity_at, $2) "
                    "WHERE id = $1", rows[0]["customer"], now)
    await audit.record(actor=actor, object_type="return_visit_plan", object_id=plan_id,
                       action="visit", organisation_id=plan["organisation"],
                       after={"customer": rows[0]["customer"], "satisfied": data.satisfied,
                              "visited_on": data.visited_on})


def overdue_since(year: int) -> datetime:
    """From when the year's unvisited customers are flagged (R34), as an instant."""
    month, day = archive_rules.VISITS_LATE_FROM
    return datetime.combine(date(year, month, day), time(), CHINA)
