"""Complaint reads (R32), scoped (R1): a complaint is seen by its holding organisation (the unit
that recorded it; HQ for the public form) and those above it, and by the unit it is assigned
to and those above that one; never by a sibling. Lists: one statement a page."""
from __future__ import annotations

import re as _re
from datetime import datetime as _datetime

from portal.actor import Actor as _Actor
from portal.db import raw_fetch
from portal.network import scope_sql
from service import complaint_rules, rules

COMPLAINT_PAGE_SIZE = 50


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
        mine = [to for to, role in complaint_rules.ASSIGNEE_ROLE.items() if actor.has(role)]
        if mine:
            parts.append("c.assigned_to IN (" + ", ".join(f"'{to}'" for to in mine) + ")")
    elif actor.organisation_kind in complaint_rules.UNIT_KINDS and complaint_rules.works_for(
            actor, actor.organisation_id, actor.organisation_kind):
        parts.append(f"(c.assigned_to = 'unit' AND c.assigned_org = {int(actor.organisation_id)})")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def held_by_sql(actor: _Actor) -> str:
    """Complaints the actor's organisation holds and the actor works on (tells, closes)."""
    if complaint_rules.works_for(actor, actor.organisation_id, actor.organisation_kind):
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
        where.append(f"c.reference LIKE {arg(complaint_rules.normalise_reference(reference) + '%')}")
    if who:
        digits = rules.normalise_phone(who) if _DIGITS_ONLY.fullmatch(who) else None
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
    row["name_shown"] = row["name"] if own else rules.mask_name(row["name"])
    row["phone_shown"] = row["phone"] if own else rules.mask_phone(row["phone"])
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
