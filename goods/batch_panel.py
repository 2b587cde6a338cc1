"""What became of a batch's goods after the decision, shown on the dealers' batch page through
one include hook (templates/goods/_batch_hook.html loads this fragment with htmx): the
replacement order and its shipments (R13), and for head office the repeat claims (R18)."""
from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from dealers.batches import get_batch
from goods import queries, rejected, repeats, replacements
from goods.replacement_routes import LABELS
from portal.web import current_actor, login_required, render

SEES_REPEATS = ("hq_cs", "hq_logistics", "hq_tech", "auditor")


class BatchGoodsController(Controller):
    path = "/goods/batches"
    guards = [login_required]

    @get("/{batch_id:int}/panel")
    async def panel(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        batch = await get_batch(actor=actor, batch_id=batch_id)  # R1: 404 outside scope
        if batch["status"] in ("dispositioned", "closed"):
            await replacements.open_replacements()
        replacement_id = await queries.replacement_for_batch(batch_id)
        replacement = await queries.replacement(replacement_id) if replacement_id else None
        shipments = await queries.shipments_of(replacement_id) if replacement_id else []
        flags = []
        if replacements.is_hq(actor, *SEES_REPEATS):
            if batch["status"] in ("dispatched", "received"):
                await repeats.flag_batches([batch_id])
            flags = await repeats.flags_of(batch_id)
        refused = await rejected.batch_rejected(actor=actor, batch_id=batch_id)
        return render(request, "goods/_batch_panel.html", batch=batch, r=replacement,
                      shipments=shipments, flags=flags, rejected=refused,
                      rejected_labels=rejected.REJECTED_STATUS_LABELS, **LABELS)
