"""R20: append-only history of every change, written in the same transaction as the change."""
from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from portal import clock
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import NotFound
from portal.tables import AuditEntry

request_id: ContextVar[str] = ContextVar("request_id", default="")


def _jsonable(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return json.dumps(state, default=str, ensure_ascii=False, sort_keys=True)


COLUMNS = ("at, actor, organisation, object_type, object_id, action, from_state, to_state, "
           "reason, request_id")
def placeholders_from(first: int) -> str:
    """Bind placeholders for one audit row starting at $first (the states are JSON)."""
    return ", ".join(f"${first + i}{'::jsonb' if i in (6, 7) else ''}" for i in range(10))


PLACEHOLDERS = placeholders_from(1)


def entry(*, actor: Actor | None, object_type: str, object_id: int | str, action: str,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
          reason: str = "", organisation_id: int | None = None) -> tuple:
    """The values of one audit row, in COLUMNS order (for `record` or a bulk statement)."""
    if organisation_id is None and actor is not None:
        organisation_id = actor.organisation_id
    return (clock.now(), actor.user_id if actor else None, organisation_id, object_type,
            str(object_id), action, _jsonable(before), _jsonable(after), reason,
            request_id.get())


async def record(**fields: Any) -> None:
    """Write one audit row. Call inside the transaction that makes the change."""
    await raw_fetch(f"INSERT INTO audit_entry ({COLUMNS}) VALUES ({PLACEHOLDERS})", *entry(**fields))


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (from, to)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def history(*, actor: Actor, object_type: str, object_id: int | str,
                  organisation_path: str) -> list[dict[str, Any]]:
    """A record's history, for those who may see the organisation it belongs to (an empty
    path: a record shared by the whole network, such as the catalogue)."""
    if organisation_path and not actor.can_see_path(organisation_path):
        raise NotFound("Not found.")
    rows = await AuditEntry.select(
        AuditEntry.at, AuditEntry.action, AuditEntry.from_state, AuditEntry.to_state,
        AuditEntry.reason, AuditEntry.request_id,
        AuditEntry.actor.display_name.as_alias("actor_name"),
        AuditEntry.organisation.name.as_alias("organisation_name"),
    ).where(
        (AuditEntry.object_type == object_type) & (AuditEntry.object_id == str(object_id))
    ).order_by(AuditEntry.at).order_by(AuditEntry.id)
    for row in rows:
        for key in ("from_state", "to_state"):
            row[key] = json.loads(row[key]) if row[key] else None
    return rows

