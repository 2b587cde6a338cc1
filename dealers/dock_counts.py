"""Counting line by line from a phone that may lose its connection (R12, issue 12 §7).

The phone keeps each count it is given with a key of its own and sends it when it can. A count
is applied once whatever the retries: its key is unique, and a key already applied answers with
what it did then. Each line's counts are numbered (`version`); the phone says which version it
counted on, and if someone else counted the line meanwhile, the count is not applied: the
phone is told who counted what, and its user decides (send it again on the new version, or
keep the other count). The batch's counts are serialised by the batch's row lock."""
from __future__ import annotations

import re
from dataclasses import dataclass

from dealers import rules
from dealers.batches import get_batch, require_status
from dealers.inputs import LineCountIn
from dealers.receiving import RECEIVABLE, _require_logistics
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, NotFound, RuleViolation, ValidationFailed

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class LineCount:
    """One count of one line as the phone sends it."""

    key: str
    line_id: int
    base_version: int  # the line's count version the phone counted on (0: none yet)
    received_qty: int
    condition: rules.Condition


def line_count(data: LineCountIn) -> LineCount:
    """The phone's JSON (page or API, the same dataclass) as a count."""
    return LineCount(key=data.key, line_id=data.line_id, base_version=data.base_version,
                     received_qty=data.received_qty,
                     condition=rules.Condition(data.lights, data.cap_percent, data.tube_greyed,
                                               data.bridge_blackened, data.broken))


async def line_versions(batch_id: int) -> dict[int, dict]:
    """Each counted line's latest count: version, quantity and who counted it (one query)."""
    rows = await raw_fetch(
        "SELECT DISTINCT ON (c.line) c.line, c.version, c.received_qty, c.counted_at, "
        "u.display_name AS counted_by FROM dock_count c JOIN portal_user u ON u.id = c.counted_by "
        "WHERE c.batch = $1 ORDER BY c.line, c.version DESC", batch_id)
    return {r["line"]: r for r in rows}


@transactional
async def record_count(*, actor: Actor, batch_id: int, count: LineCount) -> dict:
    """Apply one line's count once. Returns {"state": "applied"|"conflict", "version",
    "received_qty", "counted_by", "replayed"}; a conflict changes nothing."""
    batch = await get_batch(actor=actor, batch_id=batch_id, lock=True)  # 404 out of scope (R1)
    _require_logistics(actor)
    if not KEY.match(count.key):
        raise ValidationFailed({"key": "A count needs its key from the phone."})
    if not 0 <= count.received_qty <= rules.MAX_LINE_QUANTITY:
        raise ValidationFailed({f"received_{count.line_id}":
                                "Enter the received quantity (0 to 100,000)."})
    done = await raw_fetch(
        "SELECT c.batch, c.line, c.version, c.received_qty, u.display_name AS counted_by "
        "FROM dock_count c JOIN portal_user u ON u.id = c.counted_by WHERE c.key = $1", count.key)
    if done:  # a retry, from this tab or another: applied already, answer as then
        if (done[0]["batch"], done[0]["line"]) != (batch_id, count.line_id):
            raise Conflict("This count's key was used for another line.")
        return {"state": "applied", "replayed": True, "version": done[0]["version"],
                "received_qty": done[0]["received_qty"], "counted_by": done[0]["counted_by"]}
    require_status(batch, *RECEIVABLE)
    if batch["arrived_at"] is None:
        raise RuleViolation("Record the arrival first (scan the form's QR code).")
    if not await raw_fetch("SELECT 1 FROM return_line WHERE id = $1 AND batch = $2",
                           count.line_id, batch_id):
        raise NotFound("Not found.")
    latest = (await line_versions(batch_id)).get(count.line_id)
    current = latest["version"] if latest else 0
    if count.base_version != current and latest is not None:
        return {"state": "conflict", "replayed": False, "version": current,
                "received_qty": latest["received_qty"], "counted_by": latest["counted_by"]}
    c = count.condition
    await raw_fetch(
        "INSERT INTO dock_count (key, batch, line, version, received_qty, lights, cap_percent, "
        "tube_greyed, bridge_blackened, broken, counted_by, counted_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        count.key, batch_id, count.line_id, current + 1, count.received_qty, c.lights,
        c.cap_percent, c.tube_greyed, c.bridge_blackened, c.broken, actor.user_id, clock.now())
    await raw_fetch(
        "UPDATE return_line SET received_qty = $2, i_lights = $3, i_cap_percent = $4, "
        "i_tube_greyed = $5, i_bridge_blackened = $6, i_broken = $7 WHERE id = $1",
        count.line_id, count.received_qty, c.lights, c.cap_percent, c.tube_greyed,
        c.bridge_blackened, c.broken)
    await audit.record(actor=actor, object_type="return_batch", object_id=batch_id,
                       action="line_counted", organisation_id=batch["organisation"],
                       after={"line": count.line_id, "received": count.received_qty,
                              "version": current + 1})
    return {"state": "applied", "replayed": False, "version": current + 1,
            "received_qty": count.received_qty, "counted_by": actor.display_name}
