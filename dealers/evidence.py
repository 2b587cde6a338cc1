"""Photos at the dock and around it, through portal/attachments.py (issue 12 §5): a line's
photo (a greyed tube for a rejection, R13, R18), the cartons on arrival and a carrier claim's
damage (R15), and the evidence of a local disposal (R9). Each file is seen by exactly those who
may see its batch (R1: another office answers 404); who may add one is said here."""
from __future__ import annotations

from dealers.batches import get_batch, is_staff_of
from portal.actor import Actor
from portal.db import raw_fetch
from portal.errors import Forbidden, NotFound, RuleViolation

LINE = "dealers.line"
ARRIVAL = "dealers.arrival"
CLAIM = "dealers.claim"
DISPOSAL = "dealers.disposal"


async def _batch_of(table: str, record_id: int) -> int:
    rows = await raw_fetch(f"SELECT batch FROM {table} WHERE id = $1", record_id)
    if not rows:
        raise NotFound("Not found.")
    return int(rows[0]["batch"])


async def line_owner(actor: Actor, line_id: int) -> int:
    batch = await get_batch(actor=actor, batch_id=await _batch_of("return_line", line_id))
    return int(batch["organisation"])


async def may_photograph_line(actor: Actor, line_id: int) -> None:
    """HQ logistics and CS at the dock and the decision; the office while it fills the form."""
    batch = await get_batch(actor=actor, batch_id=await _batch_of("return_line", line_id))
    if actor.has("hq_logistics", "hq_cs"):
        return
    if is_staff_of(actor, batch) and batch["status"] in ("draft", "submitted"):
        return
    raise Forbidden("Your role may not do this.")


async def batch_owner(actor: Actor, batch_id: int) -> int:
    return int((await get_batch(actor=actor, batch_id=batch_id))["organisation"])


async def may_photograph_arrival(actor: Actor, batch_id: int) -> None:
    """The cartons as they arrive (R15 evidence): HQ logistics, once the arrival is recorded."""
    batch = await get_batch(actor=actor, batch_id=batch_id)
    if not actor.has("hq_logistics"):
        raise Forbidden("Only HQ logistics receives goods.")
    if batch["arrived_at"] is None:
        raise RuleViolation("Record the arrival first (scan the form's QR code).")


async def claim_owner(actor: Actor, claim_id: int) -> int:
    return await batch_owner(actor, await _batch_of("transit_claim", claim_id))


async def may_photograph_claim(actor: Actor, claim_id: int) -> None:
    await claim_owner(actor, claim_id)
    if not actor.has("hq_logistics", "hq_cs"):
        raise Forbidden("Your role may not do this.")


async def may_add_disposal_evidence(actor: Actor, batch_id: int) -> None:
    """R9: the office that disposes of its goods locally shows it, once CS decided so."""
    batch = await get_batch(actor=actor, batch_id=batch_id)
    if not (is_staff_of(actor, batch) or actor.has("hq_cs")):
        raise Forbidden("Your role may not do this.")
    if batch["disposition"] != "dispose":
        raise RuleViolation("Only a batch disposed of locally takes disposal evidence.")


SUBJECTS = [(LINE, line_owner, may_photograph_line),
            (ARRIVAL, batch_owner, may_photograph_arrival),
            (CLAIM, claim_owner, may_photograph_claim),
            (DISPOSAL, batch_owner, may_add_disposal_evidence)]
