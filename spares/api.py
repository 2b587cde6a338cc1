"""JSON twins of the repair-point actions under /api/v1: the same input models as the pages
(spares.inputs), the same services, rules and messages."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal import listing
from portal.api import api_token_required
from portal.db import raw_fetch
from portal.errors import NotFound, ValidationFailed
from portal.openapi import PAYMENT_RESPONSES
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from spares import (
    applications,
    deposits,
    exchanges,
    oversight,
    queries,
    repairs,
    stock,
    wallets,
)
from spares.inputs import (
    BankTransferIn,
    CardIn,
    ClosureIn,
    DecisionIn,
    DisputeIn,
    ExchangeIn,
    FeeIn,
    MediationIn,
    OutcomeIn,
    ProposalIn,
    RepairIn,
    RulingIn,
    TemplateIn,
    WalletIn,
    kwargs,
)
from spares.routes import point_filters
from spares.tables import ConsumerDispute, RepairFee


class SparesApi(Controller):
    path = "/api/v1/repair-points"
    guards = [api_token_required]
    tags = ["repair points"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_points(self, request: Request, q: FromQuery[str | None] = None,
                          status: FromQuery[str | None] = None,
                          office_name: FromQuery[str | None] = None,
                          proposed_from: FromQuery[str | None] = None,
                          proposed_to: FromQuery[str | None] = None,
                          decided_from: FromQuery[str | None] = None,
                          decided_to: FromQuery[str | None] = None,
                          waiting: FromQuery[str | None] = None,
                          after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search, read by the same parser (spares.routes.point_filters): `q`
        part of the point's name (zh or en), of its office's name, or the point's number;
        `office_name` part of the office's name; `status` proposed, approved, refused or
        closed; `proposed_from`/`proposed_to` and `decided_from`/`decided_to` China dates
        (YYYY-MM-DD, inclusive); `after` the last id of the previous page. Newest first; one
        row per application, with its point once approved."""
        filters, _, errors = point_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        rows = await queries.list_applications(current_actor(request), after_id=after_id,
                                               **filters)
        return [{"id": r["id"], "repair_point_id": r["repair_point"], "name": r["name"],
                 "name_en": r["name_en"], "office_id": r["office"],
                 "office_name": r["office_name"], "office_name_en": r["office_name_en"],
                 "address": r["address"], "sales_scale": r["sales_scale"],
                 "proposed_fee_fen": r["proposed_fee_fen"], "status": r["state"],
                 "proposed_at": r["proposed_at"], "decided_at": r["decided_at"]}
                for r in rows]

    @post("/", status_code=201)
    async def propose(self, request: Request, data: JSONBody[ProposalIn]) -> dict:
        return {"application_id": await applications.propose_repair_point(
            actor=current_actor(request), **kwargs(data))}

    @post("/applications/{application_id:int}/decide", status_code=200)
    async def decide(self, request: Request, application_id: FromPath[int],
                     data: JSONBody[DecisionIn]) -> dict:
        return {"repair_point_id": await applications.decide_repair_point(
            actor=current_actor(request), application_id=application_id, **kwargs(data))}

    @get("/{point_id:int}")
    async def file(self, request: Request, point_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        point = await oversight.get_point(actor, point_id)
        try:
            deposit = await queries.deposit_status(point_id)
        except NotFound:  # a point that predates the portal has no deposit on record
            deposit = None
        return {"id": point["id"], "name": point["name"], "office_id": point["parent"],
                "deposit": {k: deposit[k] for k in ("required_fen", "balance_fen", "paid")}
                if deposit else None,
                "stock": [{k: s[k] for k in ("code", "good", "faulty")}
                          for s in await queries.stock_of(point_id)],
                "repairs": [{k: r[k] for k in ("id", "customer", "model", "in_warranty",
                                               "charge_fen", "status", "promised_by", "overdue")}
                            for r in await queries.list_repairs(actor=actor, point_id=point_id)]}

    @post("/{point_id:int}/deposit/card", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay(self, request: Request, point_id: FromPath[int], data: JSONBody[CardIn]) -> dict:
        return await deposits.pay_deposit_by_card(request.app.state.settings,
                                                  actor=current_actor(request), point_id=point_id,
                                                  payment_method=data.payment_method)

    @post("/{point_id:int}/deposit/wallet", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay_wallet(self, request: Request, point_id: FromPath[int],
                         data: JSONBody[WalletIn]) -> dict:
        """R28: start an Alipay (follow `redirect_url`) or WeChat Pay (show `qr_image`)
        payment; the deposit is credited only once Stripe confirms it."""
        return await wallets.pay_deposit_by_wallet(request.app.state.settings,
                                                   actor=current_actor(request),
                                                   point_id=point_id, method=data.method)

    @get("/{point_id:int}/deposit/payments/{payment_id:int}", responses=PAYMENT_RESPONSES)
    async def deposit_payment(self, request: Request, point_id: FromPath[int],
                              payment_id: FromPath[int]) -> dict:
        """R28: where a deposit payment stands, fetched from Stripe (credits it if paid)."""
        return await wallets.deposit_payment(request.app.state.settings,
                                             actor=current_actor(request), point_id=point_id,
                                             payment_id=payment_id)

    @post("/{point_id:int}/deposit/bank-transfer", status_code=201)
    async def bank(self, request: Request, point_id: FromPath[int],
                   data: JSONBody[BankTransferIn]) -> dict:
        await deposits.record_bank_transfer(actor=current_actor(request), point_id=point_id,
                                            **kwargs(data))
        return {"balance_fen": (await queries.deposit_status(point_id))["balance_fen"]}

    @post("/{point_id:int}/first-stock", status_code=200)
    async def ship(self, request: Request, point_id: FromPath[int]) -> dict:
        await deposits.ship_first_stock(actor=current_actor(request), point_id=point_id,
                                        hq_id=await queries.hq_id())
        return {"shipped": True}

    @post("/exchanges", status_code=201)
    async def request_exchange(self, request: Request, data: JSONBody[ExchangeIn]) -> dict:
        return {"exchange_id": await exchanges.request_exchange(actor=current_actor(request),
                                                                **kwargs(data))}

    @post("/exchanges/{exchange_id:int}/complete", status_code=200)
    async def complete_exchange(self, request: Request, exchange_id: FromPath[int]) -> dict:
        await exchanges.complete_exchange(actor=current_actor(request), exchange_id=exchange_id)
        return {"exchange_id": exchange_id, "status": "completed"}

    @post("/repairs", status_code=201)
    async def repair(self, request: Request, data: JSONBody[RepairIn]) -> dict:
        repair_id = await repairs.record_repair(actor=current_actor(request), **kwargs(data))
        row = (await raw_fetch("SELECT in_warranty, charge_fen, status, promised_by FROM repair "
                               "WHERE id = $1", repair_id))[0]
        return {"repair_id": repair_id, **row}

    @post("/repairs/{repair_id:int}/outcome", status_code=200)
    async def repair_outcome(self, request: Request, repair_id: FromPath[int],
                             data: JSONBody[OutcomeIn]) -> dict:
        """R19: a promised repair ends repaired, or past its promise exchanged or refunded."""
        await repairs.complete_repair(actor=current_actor(request), repair_id=repair_id,
                                      outcome=data.outcome)
        return {"repair_id": repair_id, "status": data.outcome}

    @post("/{point_id:int}/fees", status_code=201)
    async def propose_fee(self, request: Request, point_id: FromPath[int],
                          data: JSONBody[FeeIn]) -> dict:
        return {"fee_id": await oversight.propose_fee(actor=current_actor(request),
                                                      point_id=point_id, **kwargs(data))}

    @post("/fees/{fee_id:int}/decide", status_code=200)
    async def decide_fee(self, request: Request, fee_id: FromPath[int],
                         data: JSONBody[DecisionIn]) -> dict:
        await oversight.decide_fee(actor=current_actor(request), fee_id=fee_id, **kwargs(data))
        status = RepairFee.Status.approved if data.approve else RepairFee.Status.refused
        return {"fee_id": fee_id, "status": status.value}

    @post("/{point_id:int}/disputes", status_code=201)
    async def dispute(self, request: Request, point_id: FromPath[int],
                      data: JSONBody[DisputeIn]) -> dict:
        return {"dispute_id": await oversight.record_dispute(
            actor=current_actor(request), point_id=point_id, **kwargs(data))}

    @post("/disputes/{dispute_id:int}/mediate", status_code=200)
    async def mediate(self, request: Request, dispute_id: FromPath[int],
                      data: JSONBody[MediationIn]) -> dict:
        await oversight.mediate_dispute(actor=current_actor(request), dispute_id=dispute_id,
                                        **kwargs(data))
        status = ConsumerDispute.Status.settled if data.settled \
            else ConsumerDispute.Status.escalated
        return {"dispute_id": dispute_id, "status": status.value}

    @post("/disputes/{dispute_id:int}/rule", status_code=200)
    async def rule(self, request: Request, dispute_id: FromPath[int],
                   data: JSONBody[RulingIn]) -> dict:
        await oversight.rule_dispute(actor=current_actor(request), dispute_id=dispute_id,
                                     ruling=data.ruling)
        return {"dispute_id": dispute_id, "status": ConsumerDispute.Status.ruled.value}

    @post("/{point_id:int}/closure", status_code=200, responses=PAYMENT_RESPONSES)
    async def close(self, request: Request, point_id: FromPath[int],
                    data: JSONBody[ClosureIn]) -> dict:
        return await oversight.close_point(
            request.app.state.settings, actor=current_actor(request), point_id=point_id,
            returned={(r.spare_part_id, r.condition): r.quantity for r in data.returned},
            method=data.method, reference=data.reference)

    @post("/stock-templates", status_code=200)
    async def set_template(self, request: Request, data: JSONBody[TemplateIn]) -> dict:
        """R22: one part's quantity in a sales scale's first stock (0 removes it); HQ admin."""
        await stock.set_template(actor=current_actor(request), **kwargs(data))
        return {"sales_scale": data.sales_scale, "spare_part_id": data.spare_part_id,
                "quantity": data.quantity}
