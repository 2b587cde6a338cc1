"""Reads of the audits (R30): set-based SQL, scoped through portal.network.scope_sql plus the
one rule that hides an unannounced audit from the office before its visit."""
from __future__ import annotations

from datetime import date

from oversight.rules import VISIBLE_TO_OFFICE
from portal.actor import Actor
from portal.db import raw_fetch
from portal.network import scope_sql

AUDIT_PAGE_SIZE = 50
_SEEN_BY_OFFICE = ", ".join(f"'{s.value}'" for s in VISIBLE_TO_OFFICE)

_AUDIT = """
SELECT a.id, a.office AS office_id, o.path AS office_path, o.name AS office_name,
       o.name_en AS office_name_en, a.kind, a.announced, a.scope, a.method, a.deadline,
       a.cost_fen, a.status, a.created_by, cu.display_name AS created_by_name, a.created_at,
       a.decided_by, du.display_name AS decided_by_name, a.decided_at, a.decision_note,
       a.visited_at, a.visit_notes, a.findings, a.report, a.score, a.reported_at,
       (a.reported_at AT TIME ZONE 'Asia/Shanghai')::date AS reported_on,
       b.name AS bearer_name, b.name_en AS bearer_name_en,
       COALESCE((SELECT array_agg(m."user" ORDER BY m.id) FROM audit_member m
                 WHERE m.audit = a.id), '{}') AS member_ids,
       (SELECT m."user" FROM audit_member m WHERE m.audit = a.id AND m.duty = 'lead') AS lead_id
FROM office_audit a
JOIN organisation o ON o.id = a.office
JOIN organisation b ON b.id = a.cost_bearer
JOIN portal_user cu ON cu.id = a.created_by
LEFT JOIN portal_user du ON du.id = a.decided_by
"""


def visible_sql(actor: Actor, args: list) -> str:
    """R1 + R30: head office sees every audit; the group's members see theirs; anyone else
    whose scope holds the office (the office itself, its regional manager) sees an announced
    audit once approved and an unannounced one only once its visit is recorded."""
    if actor.sees_everything:
        return "TRUE"
    scope = scope_sql(actor, "o.path", args)
    args.append(actor.user_id)
    member = (f'EXISTS (SELECT 1 FROM audit_member m WHERE m.audit = a.id '
              f'AND m."user" = ${len(args)})')
    office = (f"({scope} AND (a.visited_at IS NOT NULL OR "
              f"(a.announced AND a.status IN ({_SEEN_BY_OFFICE}))))")
    return f"({member} OR {office})"


async def audit_row(actor: Actor, audit_id: int) -> dict | None:
    args: list = [audit_id]
    seen = visible_sql(actor, args)
    rows = await raw_fetch(f"{_AUDIT} WHERE a.id = $1 AND {seen}", *args)
    return rows[0] if rows else None


async def list_audits(actor: Actor, *, status: str | None = None, office_id: int | None = None,
                      after_id: int | None = None, limit: int = AUDIT_PAGE_SIZE) -> list[dict]:
    args: list = []
    where = [visible_sql(actor, args)]
    if status:
        args.append(status)
        where.append(f"a.status = ${len(args)}")
    if office_id:
        args.append(office_id)
        where.append(f"a.office = ${len(args)}")
    if after_id:
        args.append(after_id)
        where.append(f"a.id < ${len(args)}")
    args.append(limit)
    return await raw_fetch(
        f"{_AUDIT} WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT ${len(args)}", *args)


async def members(audit_id: int) -> list[dict]:
    return await raw_fetch(
        'SELECT m."user" AS user_id, m.duty, u.display_name FROM audit_member m '
        'JOIN portal_user u ON u.id = m."user" WHERE m.audit = $1 ORDER BY m.id', audit_id)


_ORDER = """
SELECT r.id, r.audit AS audit_id, r.office AS office_id, r.status, r.instruction,
       r.instructed_by, iu.display_name AS instructed_by_name, r.instructed_at, r.requirement,
       r.due, r.issued_by, su.display_name AS issued_by_name, r.issued_at, r.answer,
       r.answered_by, r.answered_at, r.closing_note, r.closed_by, r.closed_at
FROM rectification_order r
JOIN portal_user iu ON iu.id = r.instructed_by
LEFT JOIN portal_user su ON su.id = r.issued_by
"""


async def orders_of(audit_id: int) -> list[dict]:
    return await raw_fetch(f"{_ORDER} WHERE r.audit = $1 ORDER BY r.id", audit_id)


async def order_row(order_id: int) -> dict | None:
    rows = await raw_fetch(f"{_ORDER} WHERE r.id = $1", order_id)
    return rows[0] if rows else None


async def auditable_offices(actor: Actor) -> list[dict]:
    """The offices and logistics agents a plan may name (active ones)."""
    return await raw_fetch(
        "SELECT id, name, name_en FROM organisation WHERE kind IN ('office', 'agent') "
        "AND active ORDER BY name")


async def hq_people() -> list[dict]:
    """Head-office users who may be named to an audit group."""
    return await raw_fetch(
        "SELECT u.id, u.display_name, u.roles FROM portal_user u "
        "JOIN organisation o ON o.id = u.organisation WHERE o.kind = 'hq' AND u.active "
        "AND o.active ORDER BY u.display_name")


async def hq_user_ids(user_ids: list[int]) -> set[int]:
    rows = await raw_fetch(
        "SELECT u.id FROM portal_user u JOIN organisation o ON o.id = u.organisation "
        "WHERE u.id = ANY($1::int[]) AND o.kind = 'hq' AND u.active", user_ids)
    return {r["id"] for r in rows}


async def office_row(office_id: int) -> dict | None:
    rows = await raw_fetch(
        "SELECT id, path, name, name_en, kind, active FROM organisation WHERE id = $1",
        office_id)
    return rows[0] if rows else None


async def hq_id() -> int:
    rows = await raw_fetch("SELECT id FROM organisation WHERE kind = 'hq' ORDER BY id LIMIT 1")
    return rows[0]["id"]


async def evidence_count(order_id: int) -> int:
    rows = await raw_fetch("SELECT count(*) AS n FROM attachment WHERE subject = $1 "
                           "AND subject_id = $2", "oversight.rectification", order_id)
    return int(rows[0]["n"])


def breached(row: dict, today: date) -> bool:
    from oversight.rules import report_due_breached

    return report_due_breached(row["deadline"], row["reported_on"], today)
