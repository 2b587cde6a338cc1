"""JSON twins of the replacement actions under /api/v1/goods (R13): the same services, input
dataclasses (goods/inputs.py), rules and messages as the pages."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from goods import deliveries, queries, replacements
from goods.inputs import CreditInsteadIn, ReceiptIn, ResolveIn, ShipIn, StockIn
from portal.api import api_token_required
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor

_HEAD = ("replacement_id", "batch", "batch_number", "organisation", "exchanged", "shipped",
         "credited", "owed", "in_transit", "short")
_LINE = ("id", "line_no", "product", "model", "exchanged_qty", "shipped_qty", "credited_qty",
         "owed_qty", "credit_reason")
_SHIPMENT = ("id", "status", "carrier", "waybill", "packages", "shipped_on", "shipped_at",
             "received_at", "short_qty", "resolution", "resolution_note")


def replacement_out(row: dict) -> dict:
    return {k: row[k] for k in _HEAD}


async def _replacement(actor, replacement_id: int) -> dict:
    row = await replacements.get_replacement(actor=actor, replacement_id=replacement_id)
    shipments = await queries.shipments_of(replacement_id)
    return {**replacement_out(row), "lines": [{k: l[k] for k in _LINE} for l in row["lines"]],
            "shipments": [{**{k: s[k] for k in _SHIPMENT}, "lines": [
                {"id": l["id"], "replacement_line": l["replacement_line"],
                 "quantity": l["quantity"], "received_qty": l["received_qty"]}
                for l in s["lines"]]} for s in shipments]}


class ReplacementApi(Controller):
    path = "/api/v1/goods"
    guards = [api_token_required]
    tags = ["goods"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/replacements")
    async def list_replacements(self, request: Request, status: FromQuery[str | None] = None,
                                before: FromQuery[int | None] = None) -> list[dict]:
        """Replacement orders in scope, newest first; `status` owed|in_transit|short, `before`
        the last id of the previous page."""
        await replacements.open_replacements()
        rows = await queries.list_replacements(
            actor=current_actor(request), before_id=before,
            status=status if status in queries.REPLACEMENT_FILTERS else None)
        return [replacement_out(r) for r in rows]

    @get("/replacements/{replacement_id:int}")
    async def replacement(self, request: Request, replacement_id: FromPath[int]) -> dict:
        return await _replacement(current_actor(request), replacement_id)

    @post("/replacements/{replacement_id:int}/ship", status_code=200)
    async def ship(self, request: Request, replacement_id: FromPath[int],
                   data: JSONBody[ShipIn]) -> dict:
        """HQ logistics ships everything still owed, once (a second request answers 409)."""
        actor = current_actor(request)
        await replacements.ship(actor=actor, replacement_id=replacement_id, data=data)
        return await _replacement(actor, replacement_id)

    @post("/replacements/{replacement_id:int}/credit", status_code=200)
    async def credit(self, request: Request, replacement_id: FromPath[int],
                     data: JSONBody[CreditInsteadIn]) -> dict:
        actor = current_actor(request)
        await replacements.credit_instead(actor=actor, replacement_id=replacement_id, data=data)
        return await _replacement(actor, replacement_id)

    @post("/shipments/{shipment_id:int}/confirm", status_code=200)
    async def confirm(self, request: Request, shipment_id: FromPath[int],
                      data: JSONBody[ReceiptIn]) -> dict:
        """The office confirms each shipped line's received quantity; a shortfall is recorded."""
        actor = current_actor(request)
        await deliveries.confirm_receipt(actor=actor, shipment_id=shipment_id, data=data)
        shipment = await replacements.get_shipment(actor=actor, shipment_id=shipment_id)
        return await _replacement(actor, shipment["replacement_id"])

    @post("/shipments/{shipment_id:int}/resolve", status_code=200)
    async def resolve(self, request: Request, shipment_id: FromPath[int],
                      data: JSONBody[ResolveIn]) -> dict:
        """A short delivery resolved: `resolution` reship|credit (a credit needs its note)."""
        actor = current_actor(request)
        await deliveries.resolve_shortfall(actor=actor, shipment_id=shipment_id, data=data)
        shipment = await replacements.get_shipment(actor=actor, shipment_id=shipment_id)
        return await _replacement(actor, shipment["replacement_id"])

    @post("/stock", status_code=200)
    async def set_stock(self, request: Request, data: JSONBody[StockIn]) -> dict:
        await replacements.set_stock(actor=current_actor(request), data=data)
        return {"product_id": data.product_id, "on_hand": data.on_hand}
