"""Customer archive, return-visit and survey reads (R34), scoped (R1), a fixed number of
queries per page whatever the number of rows."""
from __future__ import annotations

from portal.db import raw_fetch
from portal.network import scope_sql

ARCHIVE_PAGE = 50
_CUSTOMER_COLUMNS = (
    "c.id, c.organisation, c.name, c.phone, c.address, c.area, c.purchased_on, c.opened_at, "
    "c.last_activity_at, c.erased_at, o.path AS org_path, o.name AS org_name, "
    "o.name_en AS org_name_en")


async def list_customers(*, actor, name: str | None = None, phone: str | None = None,
                         organisation_id: int | None = None, after_id: int | None = None,
                         limit: int = ARCHIVE_PAGE) -> list[dict]:
    """R34 archive list, newest file first, keyset-paged by id; one query whatever the rows.
    `phone` is digits (a part of the number matches); `name` a LIKE pattern."""
    args: list = [name, phone, organisation_id, after_id, limit]
    scope = scope_sql(actor, "o.path", args)
    return await raw_fetch(
        f"SELECT {_CUSTOMER_COLUMNS}, "
        "(SELECT coalesce(sum(p.quantity), 0) FROM customer_product p WHERE p.customer = c.id) "
        "AS units FROM customer c JOIN organisation o ON o.id = c.organisation "
        f"WHERE {scope} AND ($1::text IS NULL OR c.name ILIKE $1 ESCAPE '\\') "
        "AND ($2::text IS NULL OR c.phone LIKE '%' || $2 || '%') "
        "AND ($3::int IS NULL OR c.organisation = $3) AND ($4::int IS NULL OR c.id < $4) "
        "ORDER BY c.id DESC LIMIT $5", *args)


async def customer_row(customer_id: int) -> dict | None:
    rows = await raw_fetch(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customer c JOIN organisation o "
        "ON o.id = c.organisation WHERE c.id = $1", customer_id)
    return rows[0] if rows else None


async def customer_products(customer_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT p.id, p.product, p.quantity, p.purchased_on, p.proof, p.recorded_at, "
        "pr.model, pr.name_zh AS product_name, pr.name_en AS product_name_en, "
        "s.name AS sold_by_name, s.name_en AS sold_by_name_en FROM customer_product p "
        "JOIN product pr ON pr.id = p.product LEFT JOIN organisation s ON s.id = p.sold_by "
        "WHERE p.customer = $1 ORDER BY p.purchased_on DESC, p.id DESC", customer_id)


async def customer_repairs(*, actor, phone: str) -> list[dict]:
    """R34: the repairs (R19) of the repair points this reader may see, recorded with the same
    phone digits (spares keeps the phone as typed)."""
    if not phone:
        return []
    args: list = [phone]
    scope = scope_sql(actor, "pt.path", args)
    return await raw_fetch(
        "SELECT r.id, r.repair_point, r.purchase_date, r.status, r.in_warranty, r.recorded_at, "
        "r.completed_at, r.parts_quantity, r.charge_fen, pr.model, pr.name_zh AS product_name, "
        "pr.name_en AS product_name_en, sp.name_zh AS part_name, sp.name_en AS part_name_en, "
        "pt.name AS point_name, pt.name_en AS point_name_en FROM repair r "
        "JOIN organisation pt ON pt.id = r.repair_point JOIN product pr ON pr.id = r.product "
        "LEFT JOIN spare_part sp ON sp.id = r.spare_part "
        f"WHERE regexp_replace(r.phone, '[^0-9]', '', 'g') = $1 AND {scope} "
        "ORDER BY r.recorded_at DESC LIMIT 200", *args)


async def customer_calls(customer_id: int) -> list[dict]:
    """Service calls (R33) attached to the file, with their opinion card's scores."""
    return await raw_fetch(
        "SELECT s.id, s.number, s.status, s.problem, s.called_at, s.visited_at, s.outcome, "
        "c.attitude, c.skill, c.punctuality, c.comments AS card_comments, c.submitted_at "
        "FROM service_call s LEFT JOIN opinion_card c ON c.service_call = s.id "
        "WHERE s.customer = $1 ORDER BY s.called_at DESC", customer_id)


async def customer_complaints(customer_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT id, reference, kind, status, description, recorded_at, closed_at FROM complaint "
        "WHERE customer = $1 ORDER BY recorded_at DESC", customer_id)


async def customer_visits(customer_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT v.id, v.plan, p.year, v.visited_at, v.satisfied, v.findings, "
        "u.display_name AS visited_by_name FROM return_visit v "
        "JOIN return_visit_plan p ON p.id = v.plan LEFT JOIN portal_user u ON u.id = v.visited_by "
        "WHERE v.customer = $1 ORDER BY p.year DESC", customer_id)


async def customer_survey_answers(customer_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT a.id, s.year, s.title, a.satisfied, a.problem, a.comments, a.recorded_at "
        "FROM survey_answer a JOIN survey s ON s.id = a.survey WHERE a.customer = $1 "
        "ORDER BY a.recorded_at DESC", customer_id)


# The year's customers of an organisation and the organisations below it (R34): a purchase
# in the year, or a file opened or active in it. $1 the organisation's path, $2/$3 the year's
# first instant and the next year's (China time), $4/$5 the year's first and last day.
YEAR_CUSTOMERS = (
    "SELECT c.id FROM customer c JOIN organisation o ON o.id = c.organisation "
    "WHERE o.path LIKE $1 || '%' AND c.erased_at IS NULL AND ("
    "(c.opened_at >= $2 AND c.opened_at < $3) OR (c.last_activity_at >= $2 AND "
    "c.last_activity_at < $3) OR EXISTS (SELECT 1 FROM customer_product p WHERE "
    "p.customer = c.id AND p.purchased_on BETWEEN $4 AND $5))")


async def list_plans(*, actor, year: int | None = None) -> list[dict]:
    """Return-visit plans in scope with their progress (one query)."""
    args: list = [year]
    scope = scope_sql(actor, "o.path", args)
    return await raw_fetch(
        "SELECT p.id, p.organisation, p.year, p.customers, p.planned, p.created_at, "
        "o.name AS org_name, o.name_en AS org_name_en, u.display_name AS led_by_name, "
        "(SELECT count(*) FROM return_visit v WHERE v.plan = p.id AND v.visited_at IS NOT NULL) "
        "AS done FROM return_visit_plan p JOIN organisation o ON o.id = p.organisation "
        "JOIN portal_user u ON u.id = p.led_by "
        f"WHERE {scope} AND ($1::int IS NULL OR p.year = $1) ORDER BY p.year DESC, p.id DESC "
        "LIMIT 200", *args)


async def plan_row(plan_id: int) -> dict | None:
    rows = await raw_fetch(
        "SELECT p.id, p.organisation, p.year, p.customers, p.planned, p.created_at, p.led_by, "
        "o.path AS org_path, o.name AS org_name, o.name_en AS org_name_en, "
        "u.display_name AS led_by_name FROM return_visit_plan p "
        "JOIN organisation o ON o.id = p.organisation JOIN portal_user u ON u.id = p.led_by "
        "WHERE p.id = $1", plan_id)
    return rows[0] if rows else None


async def plan_visits(plan_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT v.id, v.customer, v.visited_at, v.satisfied, v.findings, "
        "u.display_name AS visited_by_name, c.organisation, c.name, c.phone, c.address, "
        "c.erased_at, o.name AS org_name, o.name_en AS org_name_en FROM return_visit v "
        "JOIN customer c ON c.id = v.customer JOIN organisation o ON o.id = c.organisation "
        "LEFT JOIN portal_user u ON u.id = v.visited_by WHERE v.plan = $1 "
        "ORDER BY v.visited_at IS NOT NULL, v.id", plan_id)


WAITING = dict(  # the home queues' filters of the survey list (SQL: not collected as words)
    action="EXISTS (SELECT 1 FROM survey_problem sp WHERE sp.survey = s.id "
           "AND sp.action = '')",
    overdue="EXISTS (SELECT 1 FROM survey_problem sp WHERE sp.survey = s.id AND "
            "sp.action <> '' AND sp.done_at IS NULL AND sp.due_on < $1)",
)


async def list_surveys(*, actor, today, waiting: str | None = None) -> list[dict]:
    args: list = [today]
    scope = scope_sql(actor, "o.path", args)
    if waiting in WAITING:
        scope += " AND " + WAITING[waiting]
    return await raw_fetch(
        "SELECT s.id, s.organisation, s.year, s.title, s.created_at, s.analysed_at, "
        "o.name AS org_name, o.name_en AS org_name_en, "
        "(SELECT count(*) FROM survey_answer a WHERE a.survey = s.id) AS answers, "
        "(SELECT count(*) FROM survey_problem sp WHERE sp.survey = s.id AND sp.action = '') "
        "AS without_action, (SELECT count(*) FROM survey_problem sp WHERE sp.survey = s.id "
        "AND sp.action <> '' AND sp.done_at IS NULL AND sp.due_on < $1) AS overdue "
        "FROM survey s JOIN organisation o ON o.id = s.organisation "
        f"WHERE {scope} AND $1::date IS NOT NULL ORDER BY s.year DESC, s.id DESC LIMIT 200", *args)


async def survey_row(survey_id: int) -> dict | None:
    rows = await raw_fetch(
        "SELECT s.id, s.organisation, s.year, s.title, s.created_at, s.analysed_at, "
        "o.path AS org_path, o.name AS org_name, o.name_en AS org_name_en, "
        "(SELECT count(*) FROM survey_answer a WHERE a.survey = s.id) AS answers, "
        "(SELECT count(*) FILTER (WHERE a.satisfied) FROM survey_answer a "
        "WHERE a.survey = s.id) AS satisfied FROM survey s "
        "JOIN organisation o ON o.id = s.organisation WHERE s.id = $1", survey_id)
    return rows[0] if rows else None


# R34: the answers grouped by the problem they name (the same key as archive_rules.problem_key)
PROBLEM_GROUPS = (
    "SELECT lower(btrim(problem)) AS problem, count(*) AS answers FROM survey_answer "
    "WHERE survey = $1 AND btrim(problem) <> '' GROUP BY lower(btrim(problem))")


async def survey_groups(survey_id: int) -> list[dict]:
    return await raw_fetch(PROBLEM_GROUPS, survey_id)


async def survey_problems(survey_id: int) -> list[dict]:
    return await raw_fetch(
        "SELECT sp.id, sp.problem, sp.answers, sp.action_kind, sp.action, sp.owner, sp.due_on, "
        "sp.done_at, u.display_name AS owner_name FROM survey_problem sp "
        "JOIN portal_user u ON u.id = sp.owner WHERE sp.survey = $1 "
        "ORDER BY sp.answers DESC, sp.problem", survey_id)


async def survey_answers(survey_id: int, limit: int = 100) -> list[dict]:
    return await raw_fetch(
        "SELECT a.id, a.customer, a.satisfied, a.problem, a.comments, a.recorded_at, "
        "u.display_name AS recorded_by_name FROM survey_answer a "
        "JOIN portal_user u ON u.id = a.recorded_by WHERE a.survey = $1 "
        "ORDER BY a.id DESC LIMIT $2", survey_id, limit)


async def action_owners(organisation_id: int) -> list[dict]:
    """Who may own a survey's action: the office's managers and HQ customer service."""
    return await raw_fetch(
        "SELECT u.id, u.display_name FROM portal_user u JOIN organisation o "
        "ON o.id = u.organisation WHERE u.active AND ((u.organisation = $1 AND "
        "'manager' = ANY(u.roles)) OR "
        "(o.kind = 'hq' AND 'hq_cs' = ANY(u.roles))) ORDER BY u.organisation <> $1, u.id "
        "LIMIT 200", organisation_id)
