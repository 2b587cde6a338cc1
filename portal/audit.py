"""R20: append-only history of every change, written in the same transaction as the change."""
from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from portal import clock
from portal.actor import Actor
from portal.errors import NotFound
from portal.tables import AuditEntry

request_id: ContextVar[str] = ContextVar("request_id", default="")


def _jsonable(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    return json.dumps(state, default=str, ensure_ascii=False, sort_keys=True)


async def record(
    *,
    actor: Actor | None,
    object_type: str,
    object_id: int | str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    organisation_id: int | None = None,
) -> None:
    """Write one audit row. Call inside the transaction that makes the change."""
    await AuditEntry.insert(
        AuditEntry(
            at=clock.now(),
            actor=actor.user_id if actor else None,
            organisation=organisation_id if organisation_id is not None else (
                actor.organisation_id if actor else None
            ),
            object_type=object_type,
            object_id=str(object_id),
            action=action,
            from_state=_jsonable(before),
            to_state=_jsonable(after),
            reason=reason,
            request_id=request_id.get(),
        )
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (from, to)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


async def history(*, actor: Actor, object_type: str, object_id: int | str,
                  organisation_path: str) -> list[dict[str, Any]]:
    """A record's history, for those who may see the organisation it belongs to."""
    if not actor.can_see_path(organisation_path):
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

