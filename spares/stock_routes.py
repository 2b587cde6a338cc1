"""The point's work and its spare stock: consumer repairs (R19), old-for-new exchanges with
the office (R23), the office's faulty parts in its monthly batch and HQ's replacements (R23),
the first-stock templates (R22)."""
from __future__ import annotations

import functools

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers.batch_routes import act_on_batch
from portal.actions import act
from portal.web import current_actor, login_required, render, roles_required
from spares import exchanges, queries, repairs, stock
from spares.inputs import ExchangeIn, RepairIn, RepairOutcomeIn, TemplateIn, kwargs
from spares.point_page import act_on_point, shown


class StockPages:
    """Repairs and exchange requests under /repair-points (part of RepairPointController)."""

    @post("/{point_id:int}/exchange")
    async def request_exchange(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, ExchangeIn, lambda actor, data: exchanges.request_exchange(
                actor=actor, **kwargs(data)),
            success="Exchange requested; the office has been told.")

    @post("/{point_id:int}/repair")
    async def record_repair(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, RepairIn, lambda actor, data: repairs.record_repair(
                actor=actor, **kwargs(data)),
            success="Repair recorded.")

    @post("/{point_id:int}/repair-outcome")
    async def repair_outcome(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, RepairOutcomeIn, lambda actor, data: repairs.complete_repair(
                actor=actor, repair_id=data.repair_id, outcome=data.outcome),
            success="Repair outcome recorded.")


async def exchanges_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                         form: dict | None = None) -> Response:
    """The exchanges of the actor's office or point, each with the button this person has,
    disabled with the reason when a side lacks the parts (R23)."""
    actor = current_actor(request)
    rows = await queries.list_exchanges(actor, status=request.query_params.get("status"))
    for row in rows:
        row["actions"] = shown(exchanges.actions_for(actor, row))
    return render(request, "spares/exchanges.html", status_code=status_code, rows=rows,
                  stock=await queries.stock_of(actor.organisation_id), errors=errors or {},
                  form=form or {})


class ExchangeController(Controller):
    guards = [login_required]

    @post("/exchanges/{exchange_id:int}/complete")
    async def complete(self, request: Request, exchange_id: FromPath[int]) -> Response:
        return await act(
            request, None, lambda _: exchanges.complete_exchange(actor=current_actor(request),
                                                                  exchange_id=exchange_id),
            page=functools.partial(exchanges_page, request), location="/repair-points/exchanges",
            success="Exchange completed; the repair point's stock is updated and it has been "
                    "told.")

    @get("/repair-points/exchanges")
    async def office_exchanges(self, request: Request) -> Response:
        return await exchanges_page(request)


class BatchSparesController(Controller):
    """R23 actions on a return batch: add the office's faulty spares; ship replacements."""

    guards = [login_required]

    @post("/batches/{batch_id:int}/spare-lines")
    async def spare_lines(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(
            request, batch_id, "The office's faulty spare parts were added to batch %(number)s.",
            None, lambda actor, _: stock.send_faulty_to_batch(actor=actor, batch_id=batch_id))

    @post("/batches/{batch_id:int}/replenish", guards=[roles_required("hq_logistics", "hq_cs")])
    async def replenish(self, request: Request, batch_id: FromPath[int]) -> Response:
        hq = await queries.hq_id()
        return await act_on_batch(
            request, batch_id, "Replacement spare parts for batch %(number)s shipped to the "
                               "office.", None,
            lambda actor, _: stock.ship_replacements(actor=actor, batch_id=batch_id, hq_id=hq))


async def templates_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                         form: dict | None = None) -> Response:
    return render(request, "spares/templates.html", status_code=status_code,
                  rows=await queries.list_templates(), parts=await queries.active_parts(),
                  errors=errors or {}, form=form or {})


class StockTemplateController(Controller):
    """R22: the first-stock templates per sales scale, edited by the HQ admin."""

    path = "/admin/stock-templates"
    guards = [roles_required("hq_admin")]

    @get("/")
    async def page(self, request: Request) -> Response:
        return await templates_page(request)

    @post("/")
    async def save(self, request: Request) -> Response:
        return await act(request, TemplateIn, lambda data: stock.set_template(
            actor=current_actor(request), **kwargs(data)),
            page=functools.partial(templates_page, request), location="/admin/stock-templates",
            success="Stock template saved.")
