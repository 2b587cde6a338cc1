"""What became of a batch's goods after the decision, shown on the dealers' batch page through
one include hook (templates/goods/_batch_hook.html loads this fragment with htmx): the
replacement order and its shipments (R13), and for head office the repeat claims (R18).

On the count page (templates/dealers/receive.html, through templates/goods/_count_hook.html)
the same URL with `?marks=1` answers only the repeat claims: the batch's list, and a marker on
each flagged line's count card swapped in out of band (`repeat-mark-<line id>`, a placeholder
the card carries), so logistics counts and inspects with the earlier claim in view. The flags
come from one query for all the lines (repeats.flags_of), never one per line."""
from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery

from dealers.batches import get_batch
from goods import queries, rejected, repeats, replacements
from goods.replacement_routes import LABELS
from portal.actor import Actor
from portal.errors import Forbidden
from portal.web import current_actor, login_required, render

SEES_REPEATS = ("hq_cs", "hq_logistics", "hq_tech", "auditor")


async def repeat_flags(actor: Actor, batch: dict) -> list[dict]:
    """R18: head office's view of the batch's repeat claims, flagging them first while the batch
    waits at head office (one statement), then reading them (one query)."""
    if not replacements.is_hq(actor, *SEES_REPEATS):
        return []
    if batch["status"] in ("dispatched", "received"):
        await repeats.flag_batches([batch["id"]])
    return await repeats.flags_of(batch["id"])


async def goods_after(actor: Actor, batch: dict) -> dict:
    """The replacement order, its shipments and the rejected goods' state."""
    if batch["status"] in ("dispositioned", "closed"):
        await replacements.open_replacements()
    replacement_id = await queries.replacement_for_batch(batch["id"])
    return dict(
        r=await queries.replacement(replacement_id) if replacement_id else None,
        shipments=await queries.shipments_of(replacement_id) if replacement_id else [],
        rejected=await rejected.batch_rejected(actor=actor, batch_id=batch["id"]),
        rejected_labels=rejected.REJECTED_STATUS_LABELS, **LABELS)


class BatchGoodsController(Controller):
    path = "/goods/batches"
    guards = [login_required]

    @get("/{batch_id:int}/panel")
    async def panel(self, request: Request, batch_id: FromPath[int],
                    marks: FromQuery[int] = 0) -> Response:
        actor = current_actor(request)
        batch = await get_batch(actor=actor, batch_id=batch_id)  # R1: 404 outside scope
        flags = await repeat_flags(actor, batch)
        if marks:
            return render(request, "goods/_count_marks.html", batch=batch, flags=flags,
                          marks=True)
        return render(request, "goods/_batch_panel.html", batch=batch, flags=flags,
                      **await goods_after(actor, batch))


class RepeatClaimsController(Controller):
    """R18: the batches waiting at head office with repeat claims, the list behind customer
    service's queue (goods/workbench.py)."""

    path = "/goods/repeat-claims"
    guards = [login_required]

    @get("/")
    async def repeat_claims(self, request: Request) -> Response:
        if not replacements.is_hq(current_actor(request), *SEES_REPEATS):
            raise Forbidden("Only head office reads repeat claims.")
        return render(request, "goods/repeat_claims.html",
                      rows=await repeats.open_flagged_batches())
