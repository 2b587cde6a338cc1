"""Supplier recovery (R13, R16): the page and the claim page with their API twins. Head office
only; the rules live in goods/suppliers.py."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from goods import suppliers
from goods.inputs import (
    ClaimAnswerIn,
    ClaimMonthIn,
    ClaimSettleIn,
    ProductSupplierIn,
    ReasonAttributionIn,
    SupplierIn,
)
from portal import audit, clock
from portal.actions import act
from portal.api import api_token_required
from portal.errors import Forbidden
from portal.i18n import gettext
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render

DONE_LABELS = {
    "supplier": "Supplier saved.", "map": "Product's supplier saved.",
    "reason": "Defect reason saved.", "rollup": "Confirmed defects rolled up into claims.",
    "sent": "Claim sent.", "answered": "Supplier's answer recorded.", "settled": "Claim settled.",
}
LABELS: dict[str, Any] = dict(claim_labels=suppliers.CLAIM_STATUS_LABELS,
                              action_labels=suppliers.CLAIM_ACTION_LABELS)


async def suppliers_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                         form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not suppliers.may_read(actor):
        raise Forbidden("Only head office reads supplier claims.")
    today = clock.china_today()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return render(request, "goods/suppliers.html", status_code=status_code,
                  may_manage=suppliers.may_manage(actor), errors=errors or {},
                  form=form or {"month": last_month.isoformat()}, **await suppliers.overview(),
                  **LABELS)


async def claim_page(request: Request, claim_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    claim = await suppliers.get_claim(actor=actor, claim_id=claim_id)
    actions = {k: gettext(r.message, **r.kwargs) if r else None
               for k, r in suppliers.claim_actions(actor, claim).items()}
    history = await audit.history(actor=actor, object_type="goods_supplier_claim",
                                  object_id=claim_id, organisation_path="")
    return render(request, "goods/supplier_claim.html", status_code=status_code, claim=claim,
                  lines=await suppliers.claim_lines(claim_id), actions=actions,
                  errors=errors or {}, form=form or {}, history=history, **LABELS)


def _on_page(request: Request, key: str, model: Any, run: Callable[[Any], Awaitable[Any]]):
    return act(request, model, run, page=functools.partial(suppliers_page, request),
               success=DONE_LABELS[key], location="/goods/suppliers")


def _on_claim(request: Request, claim_id: int, key: str, model: Any,
              run: Callable[[Any], Awaitable[Any]]):
    return act(request, model, run, page=functools.partial(claim_page, request, claim_id),
               success=DONE_LABELS[key], location=f"/goods/supplier-claims/{claim_id}")


class SupplierController(Controller):
    path = "/goods"
    guards = [login_required]

    @get("/suppliers")
    async def suppliers_list(self, request: Request) -> Response:
        return await suppliers_page(request)

    @post("/suppliers")
    async def save_supplier(self, request: Request) -> Response:
        actor = current_actor(request)
        return await _on_page(request, "supplier", SupplierIn,
                              lambda d: suppliers.save_supplier(actor=actor, data=d))

    @post("/suppliers/products")
    async def map_product(self, request: Request) -> Response:
        actor = current_actor(request)
        return await _on_page(request, "map", ProductSupplierIn,
                              lambda d: suppliers.map_product(actor=actor, data=d))

    @post("/suppliers/reasons")
    async def attribute_reason(self, request: Request) -> Response:
        actor = current_actor(request)
        return await _on_page(request, "reason", ReasonAttributionIn,
                              lambda d: suppliers.attribute_reason(actor=actor, data=d))

    @post("/suppliers/roll-up")
    async def roll_up(self, request: Request) -> Response:
        actor = current_actor(request)
        return await _on_page(request, "rollup", ClaimMonthIn,
                              lambda d: suppliers.roll_up(actor=actor, data=d))

    @get("/supplier-claims/{claim_id:int}")
    async def claim(self, request: Request, claim_id: FromPath[int]) -> Response:
        return await claim_page(request, claim_id)

    @post("/supplier-claims/{claim_id:int}/send")
    async def send(self, request: Request, claim_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await suppliers.get_claim(actor=actor, claim_id=claim_id)
        return await _on_claim(request, claim_id, "sent", None,
                               lambda _: suppliers.send_claim(actor=actor, claim_id=claim_id))

    @post("/supplier-claims/{claim_id:int}/answer")
    async def answer(self, request: Request, claim_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await suppliers.get_claim(actor=actor, claim_id=claim_id)
        return await _on_claim(request, claim_id, "answered", ClaimAnswerIn,
                               lambda d: suppliers.answer_claim(actor=actor, claim_id=claim_id,
                                                                data=d))

    @post("/supplier-claims/{claim_id:int}/settle")
    async def settle(self, request: Request, claim_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await suppliers.get_claim(actor=actor, claim_id=claim_id)
        return await _on_claim(request, claim_id, "settled", ClaimSettleIn,
                               lambda d: suppliers.settle_claim(actor=actor, claim_id=claim_id,
                                                                data=d))


_CLAIM = ("id", "supplier", "code", "month", "status", "quantity", "amount_fen", "accepted_fen",
          "settled_fen", "answer", "sent_at", "answered_at", "settled_at")


async def _claim_out(actor, claim_id: int) -> dict:
    claim = await suppliers.get_claim(actor=actor, claim_id=claim_id)
    return {**{k: claim[k] for k in _CLAIM}, "lines": await suppliers.claim_lines(claim_id)}


class SupplierApi(Controller):
    path = "/api/v1/goods"
    guards = [api_token_required]
    tags = ["goods"]
    request_max_body_size = JSON_MAX_BYTES

    @post("/suppliers", status_code=200)
    async def save_supplier(self, request: Request, data: JSONBody[SupplierIn]) -> dict:
        return {"id": await suppliers.save_supplier(actor=current_actor(request), data=data)}

    @post("/suppliers/products", status_code=200)
    async def map_product(self, request: Request, data: JSONBody[ProductSupplierIn]) -> dict:
        await suppliers.map_product(actor=current_actor(request), data=data)
        return {"product_id": data.product_id, "supplier_id": data.supplier_id}

    @post("/suppliers/reasons", status_code=200)
    async def attribute_reason(self, request: Request,
                               data: JSONBody[ReasonAttributionIn]) -> dict:
        await suppliers.attribute_reason(actor=current_actor(request), data=data)
        return {"reason_id": data.reason_id,
                "supplier_attributable": data.supplier_attributable}

    @post("/suppliers/roll-up", status_code=200)
    async def roll_up(self, request: Request, data: JSONBody[ClaimMonthIn]) -> dict:
        """A month that has ended: its confirmed defects into each supplier's draft claim."""
        return {"lines_added": await suppliers.roll_up(actor=current_actor(request), data=data)}

    @get("/supplier-claims/{claim_id:int}")
    async def claim(self, request: Request, claim_id: FromPath[int]) -> dict:
        return await _claim_out(current_actor(request), claim_id)

    @post("/supplier-claims/{claim_id:int}/send", status_code=200)
    async def send(self, request: Request, claim_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        await suppliers.send_claim(actor=actor, claim_id=claim_id)
        return await _claim_out(actor, claim_id)

    @post("/supplier-claims/{claim_id:int}/answer", status_code=200)
    async def answer(self, request: Request, claim_id: FromPath[int],
                     data: JSONBody[ClaimAnswerIn]) -> dict:
        actor = current_actor(request)
        await suppliers.answer_claim(actor=actor, claim_id=claim_id, data=data)
        return await _claim_out(actor, claim_id)

    @post("/supplier-claims/{claim_id:int}/settle", status_code=200)
    async def settle(self, request: Request, claim_id: FromPath[int],
                     data: JSONBody[ClaimSettleIn]) -> dict:
        actor = current_actor(request)
        await suppliers.settle_claim(actor=actor, claim_id=claim_id, data=data)
        return await _claim_out(actor, claim_id)
