"""Replacement shipments (R13): the pages (API twins in goods/replacement_api.py). Handlers
parse, call goods/replacements.py, render; the rules live there and in goods/rules.py. Opening a
goods page first opens the orders of newly decided batches (one statement, nothing when none)."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from goods import deliveries, queries, replacements, rules
from goods.inputs import CreditInsteadIn, ReceiptIn, ReceivedLineIn, ResolveIn, ShipIn, StockIn
from portal import audit, clock
from portal.actions import act
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import gettext
from portal.validation import parse_int
from portal.web import current_actor, login_required, render

DONE_LABELS = {
    "ship": "Replacement for %(number)s shipped; the office has been told.",
    "credit": "Credited instead; the office has been told.",
    "confirm": "Receipt confirmed.",
    "resolve": "Shortfall resolved; the office has been told.",
    "stock": "HQ stock recorded.",
}
FILTER_LABELS = {"owed": "Owed", "in_transit": "In transit", "short": "Short deliveries"}
LABELS: dict[str, Any] = dict(
    shipment_labels=replacements.SHIPMENT_STATUS_LABELS,
    resolution_labels=replacements.RESOLUTION_LABELS,
    credit_reason_labels=replacements.CREDIT_REASON_LABELS, filter_labels=FILTER_LABELS,
    action_labels=replacements.GOODS_ACTION_LABELS)


def _reasons(actions: dict) -> dict[str, str | None]:
    return {name: gettext(r.message, **r.kwargs) if r else None for name, r in actions.items()}


def read_receipt(form: Any) -> ReceiptIn:
    """The confirmation form: one `received_<shipment line id>` field per line."""
    lines, errors = [], {}
    for key in form:
        if not key.startswith("received_"):
            continue
        line_id, _ = parse_int(key.removeprefix("received_"), key)
        value, problem = parse_int(str(form.get(key) or "").strip(), key)
        if line_id is None:
            continue
        if problem or value is None:
            errors[key] = "Enter a whole number."
            continue
        lines.append(ReceivedLineIn(line_id=line_id, received=value))
    if errors:
        raise ValidationFailed(errors)
    return ReceiptIn(lines=lines, note=str(form.get("note") or "")[:200])


async def replacement_page(request: Request, replacement_id: int, *, status_code: int = 200,
                           errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    row = await replacements.get_replacement(actor=actor, replacement_id=replacement_id)
    shipments = await queries.shipments_of(replacement_id)
    for shipment in shipments:
        shipment["actions"] = _reasons(replacements.shipment_actions(
            actor, {**shipment, "organisation": row["organisation"]}))
    history = await audit.history(actor=actor, object_type="goods_replacement",
                                  object_id=replacement_id, organisation_path=row["org_path"])
    return render(request, "goods/replacement.html", status_code=status_code, r=row,
                  shipments=shipments, actions=_reasons(replacements.replacement_actions(actor, row)),
                  errors=errors or {}, form=form or {"shipped_on": clock.china_today().isoformat()},
                  history=history, resolutions=rules.RESOLUTIONS, **LABELS)


async def _act(request: Request, replacement_id: int, key: str, model: Any,
               run: Callable[[Any], Awaitable[Any]]) -> Response:
    row = await replacements.get_replacement(actor=current_actor(request),
                                             replacement_id=replacement_id)  # 404 first
    return await act(request, model, run,
                     page=functools.partial(replacement_page, request, replacement_id),
                     success=DONE_LABELS[key], location=f"/goods/replacements/{replacement_id}",
                     number=row["batch_number"])


async def _replacement_of(request: Request, shipment_id: int) -> int:
    shipment = await replacements.get_shipment(actor=current_actor(request),
                                               shipment_id=shipment_id)
    return shipment["replacement_id"]


async def stock_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                     form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not replacements.is_hq(actor, "hq_logistics", "hq_cs", "auditor"):
        raise Forbidden("Only head office reads HQ's stock.")
    return render(request, "goods/stock.html", status_code=status_code, rows=await queries.stock(),
                  may_edit=replacements.is_hq(actor, "hq_logistics"), errors=errors or {},
                  form=form or {})


class ReplacementController(Controller):
    path = "/goods"
    guards = [login_required]

    @get("/replacements")
    async def replacement_list(self, request: Request, status: FromQuery[str | None] = None,
                               before: FromQuery[int | None] = None) -> Response:
        """R13: replacement orders in the reader's scope (R1): what is owed, in transit, short."""
        await replacements.open_replacements()
        actor = current_actor(request)
        shown = status if status in queries.REPLACEMENT_FILTERS else None
        rows = await queries.list_replacements(actor=actor, status=shown, before_id=before)
        more = f"/goods/replacements?before={rows[-1]['replacement_id']}" + (
            f"&status={shown}" if shown else "") if len(rows) == queries.PAGE_SIZE else None
        return render(request, "goods/replacements.html", rows=rows, status=shown,
                      more_url=more, **LABELS)

    @get("/replacements/{replacement_id:int}")
    async def replacement_detail(self, request: Request,
                                 replacement_id: FromPath[int]) -> Response:
        return await replacement_page(request, replacement_id)

    @post("/replacements/{replacement_id:int}/ship")
    async def ship(self, request: Request, replacement_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await _act(request, replacement_id, "ship", ShipIn,
                          lambda data: replacements.ship(actor=actor, replacement_id=replacement_id,
                                                         data=data))

    @post("/replacements/{replacement_id:int}/credit")
    async def credit(self, request: Request, replacement_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await _act(request, replacement_id, "credit", CreditInsteadIn,
                          lambda data: replacements.credit_instead(
                              actor=actor, replacement_id=replacement_id, data=data))

    @post("/shipments/{shipment_id:int}/confirm")
    async def confirm(self, request: Request, shipment_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await _act(request, await _replacement_of(request, shipment_id), "confirm",
                          read_receipt, lambda data: deliveries.confirm_receipt(
                              actor=actor, shipment_id=shipment_id, data=data))

    @post("/shipments/{shipment_id:int}/resolve")
    async def resolve(self, request: Request, shipment_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        return await _act(request, await _replacement_of(request, shipment_id), "resolve",
                          ResolveIn, lambda data: deliveries.resolve_shortfall(
                              actor=actor, shipment_id=shipment_id, data=data))

    @get("/stock")
    async def stock(self, request: Request) -> Response:
        return await stock_page(request)

    @post("/stock")
    async def set_stock(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, StockIn, lambda data: replacements.set_stock(actor=actor,
                                                                               data=data),
                         page=functools.partial(stock_page, request),
                         success=DONE_LABELS["stock"], location="/goods/stock")
