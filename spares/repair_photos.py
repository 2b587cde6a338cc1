"""Photos of a consumer repair (issue 12 §5; R19): the faulty part, the fixed lamp, the purchase
proof. Through portal/attachments.py: seen by exactly those who may see the repair point (its
office, the regional manager covering it, head office; another point or office answers 404),
added by the point's own repair staff."""
from __future__ import annotations

from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound

SUBJECT = "spares.repair"


async def repair_owner(actor: Actor, repair_id: int) -> int:
    """The repair's point, for an actor who may see it; NotFound otherwise (R1)."""
    rows = await raw_fetch("SELECT r.repair_point, o.path FROM repair r JOIN organisation o "
                           "ON o.id = r.repair_point WHERE r.id = $1", repair_id)
    if not rows or not actor.can_see_path(rows[0]["path"]):
        raise NotFound("Not found.")
    return int(rows[0]["repair_point"])


async def may_photograph(actor: Actor, repair_id: int) -> None:
    point_id = await repair_owner(actor, repair_id)
    if actor.organisation_id != point_id or not actor.has("repair_staff"):
        raise Forbidden("Only the repair point's own staff add photos of its repairs.")


SUBJECTS = [(SUBJECT, repair_owner, may_photograph)]
