"""R20: append-only history of every change, written in the same transaction as the change."""
from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from portal import clock, i18n
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import NotFound
from portal.tables import AuditEntry, Organisation, ProductCategory, Region, User

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
    await describe(rows)
    return rows


# --- the history as people read it (issue 9 §6) ---------------------------------------------------
# Actions and fields are codes in the audit rows; the history page says them in words, shows the
# people and organisations behind ids, money in yuan, times in China time and ratios in %.

ACTION_LABELS = {  # the catalog collects *_LABELS: each name for people is translated
    "create": "created", "update": "changed", "change": "changed", "set": "set",
    "draft": "batch started", "add_lines": "lines added", "remove_line": "line removed",
    "spare_lines": "spare parts added", "arrived": "arrived at HQ",
    "count_differences": "count differs from the form", "set_warranty": "warranty changed",
    "set_price": "price changed", "assign_week": "return week assigned",
    "special_approval_used": "special approval used", "quality_dispute": "quality dispute raised",
    "quality_confirmed": "quality problem confirmed", "transit_claim": "carrier claim opened",
    "transit_claim_closed": "carrier claim closed", "rolled_over": "moved to next month",
    "rollover_blocked": "not moved: next month's batch already exists",
    "revoke": "revoked", "fees_reviewed": "fees reviewed", "imported": "imported",
}
FIELD_LABELS = {
    "status": "Status", "kind": "Kind", "month": "Month", "number": "Number", "lines": "Lines",
    "quantity": "Quantity", "submitted_at": "Submitted at", "submitted_by": "Submitted by",
    "signed_at": "Signed at", "signed_by": "Signed by", "approved_at": "Approved at",
    "approved_by": "Approved by", "received_at": "Received at", "received_by": "Received by",
    "decided_at": "Decided at", "decided_by": "Decided by", "arrived_at": "Arrived at",
    "disposition": "Disposition", "refused_reason": "Reason for refusal",
    "disposal_evidence": "Disposal evidence", "carrier": "Carrier", "waybill": "Waybill number",
    "packages": "Packages", "freight_fen": "Freight", "dispatched_on": "Dispatched on",
    "differences": "Differences", "name": "Name", "name_en": "English name", "region": "Region",
    "parent": "Parent organisation", "active": "Active", "username": "Username",
    "display_name": "Display name", "email": "Email", "roles": "Roles",
    "organisation": "Organisation", "warranty_months": "Warranty (months)",
    "unit_price_fen": "Unit price", "model": "Model", "category": "Category", "value": "Value",
    "from": "From", "week": "Return week", "effective_from": "From",
    "exchanged": "Exchanged", "credited": "Credited", "rejected": "Rejected",
}
CODE_VALUES = {"status", "kind", "disposition", "roles"}
WORD_LABELS = {"return": "return to HQ", "dispose": "dispose of locally",
               True: "Yes", False: "No"}
_USER_KEYS, _ORG_KEYS = ("_by", "actor", "user"), ("parent", "organisation")


async def describe(rows: list[dict[str, Any]]) -> None:
    """Add `changes` to each row: [(field name, before, after)] in the reader's language."""
    wanted: dict[str, set[int]] = {"user": set(), "org": set(), "region": set(), "category": set()}
    for row in rows:
        for state in (row["from_state"] or {}, row["to_state"] or {}):
            for key, value in state.items():
                if isinstance(value, int) and not isinstance(value, bool) and _ref(key):
                    wanted[_ref(key)].add(value)  # type: ignore[index]
    names = await _names(wanted)
    for row in rows:
        before, after = row["from_state"] or {}, row["to_state"] or {}
        row["action_label"] = i18n.gettext(ACTION_LABELS.get(row["action"], row["action"]))
        row["changes"] = [
            (i18n.gettext(FIELD_LABELS[k]) if k in FIELD_LABELS else k.replace("_", " "),
             _shown(k, before[k], names) if k in before else "",
             _shown(k, after[k], names) if k in after else "")
            for k in dict.fromkeys([*before, *after])]


def _ref(key: str) -> str | None:
    if key.endswith(_USER_KEYS):
        return "user"
    if key in _ORG_KEYS:
        return "org"
    return key if key in ("region", "category") else None


async def _names(wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    if wanted["user"]:
        for r in await User.select(User.id, User.display_name).where(User.id.is_in(list(wanted["user"]))):
            names["user", r["id"]] = r["display_name"]
    for kind, table, base in (("org", Organisation, "name"), ("region", Region, "name"),
                              ("category", ProductCategory, "name")):
        if wanted[kind]:
            for r in await table.select().where(table.id.is_in(list(wanted[kind]))):
                names[kind, r["id"]] = i18n.local_name(r, base)
    return names


def _shown(key: str, value: Any, names: dict[tuple[str, int], str]) -> str:
    ref = _ref(key)
    if ref and isinstance(value, int) and not isinstance(value, bool):
        return names.get((ref, value), "—")
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or value in ("return", "dispose"):
        return i18n.gettext(WORD_LABELS[value])
    if key.endswith("_fen") and isinstance(value, int):
        return i18n.money(value)
    if key.endswith("_bp") and isinstance(value, int):
        return f"{value / 100:.2f} %"
    if key.endswith("_at") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if key in CODE_VALUES:
        if isinstance(value, list):
            joiner = "、" if i18n.current_locale.get() == "zh_CN" else ", "
            return joiner.join(i18n.gettext(str(v)) for v in value)
        return i18n.gettext(str(value))
    if key == "differences" and isinstance(value, list):
        return "; ".join(i18n.gettext("line %(line)s: %(filed)s on the form, %(received)s received",
                                      line=d.get("line_no"), filed=d.get("filed"),
                                      received=d.get("received")) for d in value)
    if isinstance(value, dict):  # a group of figures (a decision's totals): each in words
        joiner = "，" if i18n.current_locale.get() == "zh_CN" else ", "
        return joiner.join(
            f"{i18n.gettext(FIELD_LABELS[k]) if k in FIELD_LABELS else k.replace('_', ' ')} "
            f"{_shown(k, v, names)}" for k, v in value.items())
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

