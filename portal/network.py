"""The organisation tree (R1) and the one place that decides what a user may see.

Each organisation stores `path`, the chain of ids from head office ("1.4.17."), so "this
organisation and everything below it" is one indexed prefix match, portable to CockroachDB.
"""
from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Or, Where

from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import Organisation, Region

Kind = Organisation.Kind
# Which kind may hang under which (R1, SPEC §1).
ALLOWED_PARENTS: dict[str, set[str]] = {
    "office": {"hq"},
    "agent": {"hq"},
    "store": {"office", "agent"},
    "subdistributor": {"store"},
    "repair_point": {"office", "agent"},
}
DEALER_KINDS = {"office", "agent"}
PAGE_SIZE = 50


def scope_condition(actor: Actor, path_column: Column) -> Where | Or | None:
    """A WHERE clause limiting rows to what `actor` may see; None means no limit (HQ roles).

    Every ORM list, detail, export and fragment filters through here (R1); raw SQL through
    `scope_sql` below, which draws the same line."""
    if actor.sees_everything:
        return None
    roots = actor.scope_roots
    if not roots:
        return path_column == "-"  # sees nothing
    condition: Any = path_column.like(roots[0] + "%")
    for root in roots[1:]:
        condition = condition | path_column.like(root + "%")
    return condition


def scope_sql(actor: Actor, column: str, args: list) -> str:
    """The raw-SQL twin of `scope_condition`: the condition "`column` (an organisation path)
    is this actor's organisation or below it, or an office they cover" (R1).

    "TRUE" for actors who see everything, and then `args` is left alone. Otherwise appends
    one parameter (the LIKE patterns, a text[]) to `args` and returns the condition naming it
    by its position, so call it where that parameter belongs in the query. An actor with no
    roots gets the pattern "-", which no path matches: they see nothing."""
    if actor.sees_everything:
        return "TRUE"
    args.append([root + "%" for root in actor.scope_roots] or ["-"])
    return f"{column} LIKE ANY(${len(args)}::text[])"


def _org_columns():
    return (
        Organisation.id, Organisation.name, Organisation.name_en, Organisation.kind,
        Organisation.path, Organisation.active, Organisation.parent,
        Organisation.parent.name.as_alias("parent_name"),
        Organisation.parent.name_en.as_alias("parent_name_en"),
        Organisation.region.id.as_alias("region_id"),
        Organisation.region.code.as_alias("region_code"),
        Organisation.region.name_zh.as_alias("region_zh"),
        Organisation.region.name_en.as_alias("region_en"),
    )


# _org_columns as constant text: every dealer's home and many pages read one organisation,
# and building the ORM query cost more than running it.
_ONE_ORG = (
    "SELECT o.id, o.name, o.name_en, o.kind, o.path, o.active, o.parent, "
    "p.name AS parent_name, p.name_en AS parent_name_en, r.id AS region_id, "
    "r.code AS region_code, r.name_zh AS region_zh, r.name_en AS region_en "
    "FROM organisation o LEFT JOIN organisation p ON p.id = o.parent "
    "LEFT JOIN region r ON r.id = o.region WHERE o.id = $1")


async def get_organisation(*, actor: Actor, org_id: int) -> dict:
    """An organisation the actor may see; NotFound otherwise (existence is not revealed)."""
    rows = await raw_fetch(_ONE_ORG, org_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    return rows[0]


async def list_organisations(*, actor: Actor, kind: str | None = None, q: str | None = None,
                             after_id: int | None = None, limit: int = PAGE_SIZE) -> list[dict]:
    """Keyset-paginated by id; one query whatever the page size."""
    query = Organisation.select(*_org_columns())
    condition = scope_condition(actor, Organisation.path)
    if condition is not None:
        query = query.where(condition)
    if kind:
        query = query.where(Organisation.kind == kind)
    if q:
        query = query.where(Organisation.name.ilike(f"%{q}%") | Organisation.name_en.ilike(f"%{q}%"))
    if after_id:
        query = query.where(Organisation.id > after_id)
    return await query.order_by(Organisation.id).limit(limit)


async def list_regions() -> list[dict]:
    return await Region.select().order_by(Region.code)


def _validate_fields(name: str, name_en: str, kind: str, region_id: int | None,
                    region_ok: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 120:
        errors["name"] = "Enter a name (up to 120 characters)."
    if len(name_en) > 120:
        errors["name_en"] = "Up to 120 characters."
    if kind in DEALER_KINDS and region_id is None:
        errors["region_id"] = "Offices and logistics agents need a region (it sets their return week)."
    if region_id is not None and not region_ok:
        errors["region_id"] = "Unknown region."
    return errors


def _validate_parent(kind: str, parent: dict | None) -> dict[str, str]:
    if kind not in ALLOWED_PARENTS:
        return {"kind": "Choose a kind of organisation."}
    if parent is None:
        return {"parent_id": "Choose the organisation it belongs to."}
    if parent["kind"] not in ALLOWED_PARENTS[kind]:
        return {"parent_id": "This kind of organisation cannot belong to that parent."}
    return {}


@transactional
async def create_organisation(*, actor: Actor, name: str, name_en: str, kind: str,
                              parent_id: int | None, region_id: int | None) -> int:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    parent = await Organisation.select(
        Organisation.id, Organisation.kind, Organisation.path, Organisation.region
    ).where(Organisation.id == (parent_id or 0)).first()
    region_ok = region_id is None or await Region.exists().where(Region.id == region_id)
    errors = _validate_fields(name, name_en, kind, region_id, region_ok)
    errors.update(_validate_parent(kind, parent))
    if errors:
        raise ValidationFailed(errors)
    assert parent is not None
    if region_id is None:
        region_id = parent["region"]  # stores and repair points sit in their office's region
    org = Organisation(name=name.strip(), name_en=name_en.strip(), kind=kind,
                       parent=parent["id"], region=region_id, created_at=clock.now())
    await Organisation.insert(org)
    path = f"{parent['path']}{org.id}."
    await Organisation.update({Organisation.path: path}).where(Organisation.id == org.id)
    await audit.record(actor=actor, object_type="organisation", object_id=org.id,
                       action="create", organisation_id=org.id,
                       after={"name": name.strip(), "kind": kind, "parent": parent["id"],
                              "region": region_id})
    return org.id


@transactional
async def update_organisation(*, actor: Actor, org_id: int, name: str, name_en: str,
                              region_id: int | None, active: bool, reason: str = "") -> None:
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    row = await Organisation.select(
        Organisation.id, Organisation.name, Organisation.name_en, Organisation.kind,
        Organisation.region, Organisation.active,
    ).where(Organisation.id == org_id).first()
    if row is None:
        raise NotFound("Not found.")
    region_ok = region_id is None or await Region.exists().where(Region.id == region_id)
    errors = _validate_fields(name, name_en, row["kind"], region_id, region_ok)
    if errors:
        raise ValidationFailed(errors)
    after = {"name": name.strip(), "name_en": name_en.strip(), "region": region_id,
             "active": active}
    before = {k: row[k] for k in after}
    await Organisation.update({
        Organisation.name: after["name"], Organisation.name_en: after["name_en"],
        Organisation.region: region_id, Organisation.active: active,
    }).where(Organisation.id == org_id)
    old, new = audit.changes(before, after)
    await audit.record(actor=actor, object_type="organisation", object_id=org_id,
                       action="update", organisation_id=org_id, before=old, after=new,
                       reason=reason)


async def children(*, actor: Actor, org_id: int) -> list[dict]:
    await get_organisation(actor=actor, org_id=org_id)
    return await Organisation.select(*_org_columns()).where(
        Organisation.parent == org_id
    ).order_by(Organisation.id)
