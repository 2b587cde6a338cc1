"""Customer-service reads: lists and details, scoped (R1) with portal.network.scope_sql, a fixed
number of queries per page whatever the number of rows."""
from __future__ import annotations

from portal.db import raw_fetch  # noqa: F401
from portal.network import scope_sql  # noqa: F401

# --- complaints (R32) --------------------------------------------------------------------------
# A complaint is seen by its holding organisation (the unit that recorded it; HQ for the public
# form) and those above it, and by the unit it is assigned to and those above that one; never
# by a sibling (R1). Lists: one statement a page, whatever the number of complaints.

COMPLAINT_PAGE_SIZE = 50

import re as _re  # noqa: E402
from datetime import datetime as _datetime  # noqa: E402

from portal.actor import Actor as _Actor  # noqa: E402
from service import rules as _rules  # noqa: E402

# Open and late on a step not yet done ($1 is now): the red rows, the escalation job.
COMPLAINT_BREACHING = (
    "(c.status NOT IN ('closed', 'not_standing') AND ((c.judged_at IS NULL AND "
    "c.acknowledge_by < $1) OR (c.told_at IS NULL AND c.resolve_by < $1)))")
COMPLAINT_QUEUES = ("to_judge", "to_assign", "to_investigate", "to_approve", "major_to_approve",
                    "to_tell", "to_close", "breaching", "major_open")
_COMPLAINT_FROM = (
    "FROM complaint c JOIN organisation o ON o.id = c.organisation "
    "LEFT JOIN organisation ao ON ao.id = c.assigned_org ")


def complaint_scope(actor: _Actor, args: list) -> str:
    """R1: the holding organisation, or the assigned unit, is the actor's or below it."""
    held = scope_sql(actor, "o.path", args)
    if held == "TRUE":
        return held
    return f"({held} OR {held.replace('o.path', 'ao.path', 1)})"


def assigned_to_sql(actor: _Actor) -> str:
    """Complaints assigned to the actor's unit (ids inlined as integers, never text)."""
    parts = []
    if actor.organisation_kind == "hq":
        mine = [to for to, role in _rules.ASSIGNEE_ROLE.items() if actor.has(role)]
        if mine:
            parts.append("c.assigned_to IN (" + ", ".join(f"'{to}'" for to in mine) + ")")
    elif actor.organisation_kind in _rules.UNIT_KINDS and _rules.works_for(
            actor, actor.organisation_id, actor.organisation_kind):
        parts.append(f"(c.assigned_to = 'unit' AND c.assigned_org = {int(actor.organisation_id)})")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def held_by_sql(actor: _Actor) -> str:
    """Complaints the actor's organisation holds and the actor works on (tells, closes)."""
    if _rules.works_for(actor, actor.organisation_id, actor.organisation_kind):
        return f"c.organisation = {int(actor.organisation_id)}"
    return "FALSE"


def complaint_queue_sql(actor: _Actor, key: str) -> str:
    """A home page's queue as a WHERE fragment over complaint c ($1 is now)."""
    return dict(  # SQL, not words: a dict() call, which scripts/catalog.py does not collect
        to_judge="c.status = 'recorded'",
        to_assign="c.status = 'judged'",
        to_investigate=f"c.status IN ('assigned', 'investigated') AND {assigned_to_sql(actor)}",
        to_approve="c.status = 'proposed' AND NOT c.major",
        major_to_approve="c.status = 'proposed' AND c.major",
        to_tell=f"c.status = 'approved' AND {held_by_sql(actor)}",
        to_close=f"c.status = 'told' AND {held_by_sql(actor)}",
        breaching=COMPLAINT_BREACHING,
        major_open="c.major AND c.status NOT IN ('closed', 'not_standing')",
    )[key]


_COMPLAINT_COLUMNS = (
    "c.*, o.kind AS org_kind, o.path AS org_path, o.name AS org_name, o.name_en AS org_name_en, "
    "ao.kind AS assigned_kind, ao.path AS assigned_path, ao.name AS assigned_name, "
    "ao.name_en AS assigned_name_en")


async def get_complaint_row(*, actor: _Actor, complaint_id: int, lock: bool = False) -> dict:
    """One complaint the actor may see, with what it is about and who did what (one query);
    NotFound otherwise, so its existence is not revealed (R1)."""
    from portal.errors import NotFound

    rows = await raw_fetch(
        f"SELECT {_COMPLAINT_COLUMNS}, "
        "bo.name AS about_name, bo.name_en AS about_name_en, bo.kind AS about_kind, "
        "p.model AS product_model, p.name_zh AS product_zh, p.name_en AS product_en, "
        "ru.display_name AS recorded_by_name, pu.display_name AS proposed_by_name, "
        "au.display_name AS approved_by_name "
        f"{_COMPLAINT_FROM}"
        "LEFT JOIN organisation bo ON bo.id = c.about_org "
        "LEFT JOIN product p ON p.id = c.about_product "
        "LEFT JOIN portal_user ru ON ru.id = c.recorded_by "
        "LEFT JOIN portal_user pu ON pu.id = c.proposed_by "
        "LEFT JOIN portal_user au ON au.id = c.approved_by "
        f"WHERE c.id = $1{' FOR UPDATE OF c' if lock else ''}", complaint_id)
    row = rows[0] if rows else None
    if row is None or not (actor.can_see_path(row["org_path"]) or (
            row["assigned_path"] and actor.can_see_path(row["assigned_path"]))):
        raise NotFound("Not found.")
    return row


_DIGITS_ONLY = _re.compile(r"[\d\s\-+()]+")


async def list_complaints(*, actor: _Actor, now: _datetime, queue: str | None = None,
                          reference: str | None = None, who: str | None = None,
                          status: str | None = None, kind: str | None = None,
                          major: bool | None = None, recorded_from: _datetime | None = None,
                          recorded_to: _datetime | None = None, breaching: bool = False,
                          after_id: int | None = None,
                          limit: int = COMPLAINT_PAGE_SIZE) -> list[dict]:
    """Newest first, keyset-paginated by id, one query. `reference` is a reference or its
    start; `who` part of the consumer's name, or digits of their phone; recorded_from/_to are
    instants (China days turned into [start, end))."""
    args: list = [now]
    where = [complaint_scope(actor, args)]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if queue in COMPLAINT_QUEUES:
        where.append(complaint_queue_sql(actor, queue))
    if reference:
        where.append(f"c.reference LIKE {arg(_rules.normalise_reference(reference) + '%')}")
    if who:
        digits = _rules.normalise_phone(who) if _DIGITS_ONLY.fullmatch(who) else None
        if digits:
            where.append(f"c.phone LIKE {arg('%' + digits + '%')}")
        else:
            pattern = arg("%" + _re.sub(r"([\\%_])", r"\\\1", who) + "%")
            where.append(f"c.name ILIKE {pattern} ESCAPE '\\'")
    for column, value in (("status", status), ("kind", kind)):
        if value:
            where.append(f"c.{column} = {arg(value)}")
    if major is not None:
        where.append(f"c.major = {arg(major)}")
    if recorded_from:
        where.append(f"c.recorded_at >= {arg(recorded_from)}")
    if recorded_to:
        where.append(f"c.recorded_at < {arg(recorded_to)}")
    if breaching:
        where.append(COMPLAINT_BREACHING)
    if after_id:
        where.append(f"c.id < {arg(after_id)}")
    rows = await raw_fetch(
        f"SELECT {_COMPLAINT_COLUMNS}, {COMPLAINT_BREACHING} AS breaching {_COMPLAINT_FROM}"
        f"WHERE {' AND '.join(where)} ORDER BY c.id DESC LIMIT {int(limit)}", *args)
    for row in rows:
        shown_to(actor, row)
    return rows


def shown_to(actor: _Actor, row: dict) -> dict:
    """The consumer's name and phone as this reader may see them: in full inside the holding
    organisation, masked outside it (R34)."""
    own = row["organisation"] == actor.organisation_id
    row["name_shown"] = row["name"] if own else _rules.mask_name(row["name"])
    row["phone_shown"] = row["phone"] if own else _rules.mask_phone(row["phone"])
    return row


async def complaint_choices() -> dict[str, list[dict]]:
    """What a complaint may be about: the catalogue's products, the active repair points and
    offices (the published network, R38); one query."""
    rows = await raw_fetch(
        "SELECT 'product' AS what, id, model AS name, name_zh, name_en FROM product WHERE active "
        "UNION ALL SELECT CASE WHEN kind = 'repair_point' THEN 'repair_point' ELSE 'office' END, "
        "id, name, name AS name_zh, name_en FROM organisation WHERE active AND kind IN "
        "('repair_point', 'office', 'agent') ORDER BY 1, 3")
    found: dict[str, list[dict]] = {"product": [], "repair_point": [], "office": []}
    for row in rows:
        found[row["what"]].append(row)
    return found

# --- service calls and opinion cards (R33) ------------------------------------------------------
# One statement per list page, detail or choice list, whatever the number of calls; scoped on
# the serving point's path (R1: a point sees its own calls, an office its points', HQ all).

from portal.listing import like_pattern  # noqa: E402

CALL_PAGE_SIZE = 50
CALL_STATUSES = ("open", "visited", "closed", "cancelled")
# a call breaches when visited (or still not visited) later than its visit_by (R33)
CALL_BREACHING = "(c.status <> 'cancelled' AND coalesce(c.visited_at, $1) > c.visit_by)"
_CALL_SELECT = (
    "SELECT c.id, c.number, c.status, c.called_at, c.visit_by, c.visited_at, c.outcome, "
    "c.first_time_fix, c.problem, c.address, c.notes, c.repair AS repair_id, c.recorded_at, "
    "c.recorded_by, "
    "c.organisation AS point_id, o.name AS point_name, o.name_en AS point_name_en, "
    "o.path AS point_path, o.parent AS office_id, c.customer AS customer_id, "
    "cu.name AS customer_name, cu.phone AS customer_phone, cu.area AS customer_area, "
    "c.product AS product_id, p.model AS product_model, p.name_zh AS product_zh, "
    "p.name_en AS product_en, " + CALL_BREACHING + " AS breaching, "
    "oc.id AS card_id, oc.issued_at AS card_issued_at, oc.submitted_at AS card_submitted_at, "
    "oc.attitude, oc.skill, oc.punctuality, oc.comments AS card_comments, "
    "oc.channel AS card_channel {extra} "
    "FROM service_call c JOIN organisation o ON o.id = c.organisation "
    "JOIN customer cu ON cu.id = c.customer LEFT JOIN product p ON p.id = c.product "
    "LEFT JOIN opinion_card oc ON oc.service_call = c.id {joins}")


async def list_calls(*, actor, now, number: str | None = None, phone: str | None = None,
                     status: str | None = None, breaching: bool = False,
                     called_from=None, called_to=None, point_id: int | None = None,
                     after_id: int | None = None, limit: int = CALL_PAGE_SIZE) -> list[dict]:
    """The calls `actor` may see (R1), newest first, keyset-paged on id: `number` a call number
    or part of it, `phone` the customer's full number (digits), `status`, only `breaching` ones,
    called between the instants [called_from, called_to), at one point."""
    args: list = [now]
    where = [scope_sql(actor, "o.path", args)]
    for value, condition in (
            (number, "c.number ILIKE {} ESCAPE '\\'"), (phone, "cu.phone = {}"),
            (status, "c.status = {}"), (called_from, "c.called_at >= {}"),
            (called_to, "c.called_at < {}"), (point_id, "c.organisation = {}"),
            (after_id, "c.id < {}")):
        if value is not None and value != "":
            args.append(like_pattern(str(value)) if condition.startswith("c.number") else value)
            where.append(condition.format(f"${len(args)}"))
    if breaching:
        where.append(CALL_BREACHING)
    args.append(limit)
    return await raw_fetch(
        _CALL_SELECT.format(extra="", joins="") + " WHERE " + " AND ".join(where)
        + f" ORDER BY c.id DESC LIMIT ${len(args)}", *args)


async def call_row(call_id: int, now) -> dict | None:
    """One call with its point, customer, product, card and people (the caller checks scope)."""
    rows = await raw_fetch(
        _CALL_SELECT.format(
            extra=", rb.display_name AS recorded_by_name, vb.display_name AS visited_by_name, "
                  "rp.model AS repair_model, r.recorded_at AS repair_at",
            joins="JOIN portal_user rb ON rb.id = c.recorded_by "
                  "LEFT JOIN portal_user vb ON vb.id = c.visited_by "
                  "LEFT JOIN repair r ON r.id = c.repair LEFT JOIN product rp ON rp.id = r.product")
        + " WHERE c.id = $2", now, call_id)
    return rows[0] if rows else None


async def call_points(actor) -> list[dict]:
    """R33: the approved, active repair points `actor` may route a call to (their scope), each
    with its coverage area and its open calls (one statement)."""
    args: list = []
    scope = scope_sql(actor, "o.path", args)
    return await raw_fetch(
        "SELECT o.id, o.name, o.name_en, a.coverage_area, (SELECT count(*) FROM service_call c "
        "WHERE c.organisation = o.id AND c.status = 'open') AS open_calls "
        "FROM organisation o JOIN LATERAL (SELECT coverage_area FROM repair_point_application "
        "WHERE repair_point = o.id AND status = 'approved' ORDER BY id DESC LIMIT 1) a ON TRUE "
        f"WHERE o.kind = 'repair_point' AND o.active AND {scope} ORDER BY o.id", *args)


async def point_repairs(point_id: int, limit: int = 50) -> list[dict]:
    """R19: the point's latest repair records, to link one to a visit."""
    return await raw_fetch(
        "SELECT r.id, r.customer, r.recorded_at, p.model FROM repair r "
        "JOIN product p ON p.id = r.product WHERE r.repair_point = $1 "
        "ORDER BY r.id DESC LIMIT $2", point_id, limit)


async def card_by_hash(token_hash: str) -> dict | None:
    """R33: the opinion card a link opens, with what its page may show of the service: the
    point, the visit's day, the product — nothing about the customer."""
    rows = await raw_fetch(
        "SELECT oc.id, oc.service_call, oc.submitted_at, oc.channel, c.visited_at, "
        "o.name AS point_name, o.name_en AS point_name_en, p.model AS product_model, "
        "p.name_zh AS product_zh, p.name_en AS product_en FROM opinion_card oc "
        "JOIN service_call c ON c.id = oc.service_call "
        "JOIN organisation o ON o.id = c.organisation LEFT JOIN product p ON p.id = c.product "
        "WHERE oc.token_hash = $1", token_hash)
    return rows[0] if rows else None


async def call_products() -> list[dict]:
    return await raw_fetch("SELECT id, model, name_zh, name_en FROM product WHERE active "
                           "ORDER BY model")

# --- return visits, surveys, the customer archive (R34) ----------------------------------------

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


# R34: the answers grouped by the problem they name (the same key as rules.problem_key)
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
