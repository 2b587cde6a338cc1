"""JSON twins of the repair-point actions under /api/v1 (same services, rules and messages)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from litestar import Controller, Request, get, post

from portal import listing
from portal.api import api_token_required
from portal.db import raw_fetch
from portal.errors import NotFound, ValidationFailed
from portal.openapi import PAYMENT_RESPONSES
from portal.tables import Organisation
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from spares import oversight, queries, service, wallets
from spares.routes import point_filters


@dataclass
class ProposalIn:
    office_id: int
    name: str
    coverage_area: str
    sales_scale: str
    address: str
    proposed_fee_fen: int


@dataclass
class DecisionIn:
    approve: bool
    reason: str = ""


@dataclass
class CardIn:
    payment_method: str


@dataclass
class WalletIn:
    method: str  # alipay | wechat_pay, where PORTAL_STRIPE_WALLETS enables it


@dataclass
class BankIn:
    amount_fen: int
    reference: str


@dataclass
class ExchangeIn:
    spare_part_id: int
    quantity: int


@dataclass
class RepairIn:
    customer: str
    product_id: int
    purchase_date: date
    proof: str
    phone: str = ""
    spare_part_id: int | None = None
    parts_quantity: int = 0
    on_the_spot: bool = True


@dataclass
class FeeIn:
    amount_fen: int
    reason: str = ""


@dataclass
class DisputeIn:
    customer: str
    description: str


@dataclass
class MediationIn:
    settled: bool
    notes: str


@dataclass
class RulingIn:
    ruling: str


@dataclass
class ReturnedPart:
    spare_part_id: int
    condition: str
    quantity: int


@dataclass
class ClosureIn:
    method: str
    reference: str = ""
    returned: list[ReturnedPart] = field(default_factory=list)


class SparesApi(Controller):
    path = "/api/v1/repair-points"
    guards = [api_token_required]
    tags = ["repair points"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_points(self, request: Request, q: str | None = None,
                          status: str | None = None, office_name: str | None = None,
                          proposed_from: str | None = None, proposed_to: str | None = None,
                          decided_from: str | None = None, decided_to: str | None = None,
                          waiting: str | None = None, after: int | None = None) -> list[dict]:
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
    async def propose(self, request: Request, data: ProposalIn) -> dict:
        return {"application_id": await service.propose_repair_point(
            actor=current_actor(request), office_id=data.office_id, name=data.name,
            coverage_area=data.coverage_area, sales_scale=data.sales_scale, address=data.address,
            proposed_fee_fen=data.proposed_fee_fen)}

    @post("/applications/{application_id:int}/decide", status_code=200)
    async def decide(self, request: Request, application_id: int, data: DecisionIn) -> dict:
        return {"repair_point_id": await service.decide_repair_point(
            actor=current_actor(request), application_id=application_id, approve=data.approve,
            reason=data.reason)}

    @get("/{point_id:int}")
    async def file(self, request: Request, point_id: int) -> dict:
        actor = current_actor(request)
        point = await oversight.get_point(actor, point_id)
        try:
            deposit = await service.deposit_status(point_id)
        except NotFound:  # a point that predates the portal has no deposit on record
            deposit = None
        return {"id": point["id"], "name": point["name"], "office_id": point["parent"],
                "deposit": {k: deposit[k] for k in ("required_fen", "balance_fen", "paid")}
                if deposit else None,
                "stock": [{k: s[k] for k in ("code", "good", "faulty")}
                          for s in await service.stock_of(point_id)],
                "repairs": [{k: r[k] for k in ("id", "customer", "model", "in_warranty",
                                               "charge_fen", "status", "promised_by", "overdue")}
                            for r in await service.list_repairs(actor=actor, point_id=point_id)]}

    @post("/{point_id:int}/deposit/card", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay(self, request: Request, point_id: int, data: CardIn) -> dict:
        return await service.pay_deposit_by_card(request.app.state.settings,
                                                 actor=current_actor(request), point_id=point_id,
                                                 payment_method=data.payment_method)

    @post("/{point_id:int}/deposit/wallet", status_code=200, responses=PAYMENT_RESPONSES)
    async def pay_wallet(self, request: Request, point_id: int, data: WalletIn) -> dict:
        """R28: start an Alipay (follow `redirect_url`) or WeChat Pay (show `qr_image`)
        payment; the deposit is credited only once Stripe confirms it."""
        return await wallets.pay_deposit_by_wallet(request.app.state.settings,
                                                   actor=current_actor(request),
                                                   point_id=point_id, method=data.method)

    @get("/{point_id:int}/deposit/payments/{payment_id:int}", responses=PAYMENT_RESPONSES)
    async def deposit_payment(self, request: Request, point_id: int, payment_id: int) -> dict:
        """R28: where a deposit payment stands, fetched from Stripe (credits it if paid)."""
        return await wallets.deposit_payment(request.app.state.settings,
                                             actor=current_actor(request), point_id=point_id,
                                             payment_id=payment_id)

    @post("/{point_id:int}/deposit/bank-transfer", status_code=201)
    async def bank(self, request: Request, point_id: int, data: BankIn) -> dict:
        await service.record_bank_transfer(actor=current_actor(request), point_id=point_id,
                                           amount_fen=data.amount_fen, reference=data.reference)
        return {"balance_fen": (await service.deposit_status(point_id))["balance_fen"]}

    @post("/{point_id:int}/first-stock", status_code=200)
    async def ship(self, request: Request, point_id: int) -> dict:
        hq = await Organisation.select(Organisation.id).where(Organisation.kind == "hq").first()
        await service.ship_first_stock(actor=current_actor(request), point_id=point_id,
                                       hq_id=hq["id"])
        return {"shipped": True}

    @post("/exchanges", status_code=201)
    async def request_exchange(self, request: Request, data: ExchangeIn) -> dict:
        return {"exchange_id": await service.request_exchange(
            actor=current_actor(request), spare_part_id=data.spare_part_id, quantity=data.quantity)}

    @post("/exchanges/{exchange_id:int}/complete", status_code=200)
    async def complete_exchange(self, request: Request, exchange_id: int) -> dict:
        await service.complete_exchange(actor=current_actor(request), exchange_id=exchange_id)
        return {"exchange_id": exchange_id, "status": "completed"}

    @post("/repairs", status_code=201)
    async def repair(self, request: Request, data: RepairIn) -> dict:
        repair_id = await service.record_repair(
            actor=current_actor(request), customer=data.customer, phone=data.phone,
            product_id=data.product_id, purchase_date=data.purchase_date, proof=data.proof,
            spare_part_id=data.spare_part_id, parts_quantity=data.parts_quantity,
            on_the_spot=data.on_the_spot)
        row = (await raw_fetch("SELECT in_warranty, charge_fen, status, promised_by FROM repair "
                               "WHERE id = $1", repair_id))[0]
        return {"repair_id": repair_id, **row}

    @post("/{point_id:int}/fees", status_code=201)
    async def propose_fee(self, request: Request, point_id: int, data: FeeIn) -> dict:
        return {"fee_id": await oversight.propose_fee(actor=current_actor(request),
                                                      point_id=point_id, amount_fen=data.amount_fen,
                                                      reason=data.reason)}

    @post("/fees/{fee_id:int}/decide", status_code=200)
    async def decide_fee(self, request: Request, fee_id: int, data: DecisionIn) -> dict:
        await oversight.decide_fee(actor=current_actor(request), fee_id=fee_id,
                                   approve=data.approve, reason=data.reason)
        return {"fee_id": fee_id, "status": "approved" if data.approve else "refused"}

    @post("/{point_id:int}/disputes", status_code=201)
    async def dispute(self, request: Request, point_id: int, data: DisputeIn) -> dict:
        return {"dispute_id": await oversight.record_dispute(
            actor=current_actor(request), point_id=point_id, customer=data.customer,
            description=data.description)}

    @post("/disputes/{dispute_id:int}/mediate", status_code=200)
    async def mediate(self, request: Request, dispute_id: int, data: MediationIn) -> dict:
        await oversight.mediate_dispute(actor=current_actor(request), dispute_id=dispute_id,
                                        settled=data.settled, notes=data.notes)
        return {"dispute_id": dispute_id, "status": "settled" if data.settled else "escalated"}

    @post("/disputes/{dispute_id:int}/rule", status_code=200)
    async def rule(self, request: Request, dispute_id: int, data: RulingIn) -> dict:
        await oversight.rule_dispute(actor=current_actor(request), dispute_id=dispute_id,
                                     ruling=data.ruling)
        return {"dispute_id": dispute_id, "status": "ruled"}

    @post("/{point_id:int}/closure", status_code=200, responses=PAYMENT_RESPONSES)
    async def close(self, request: Request, point_id: int, data: ClosureIn) -> dict:
        return await oversight.close_point(
            request.app.state.settings, actor=current_actor(request), point_id=point_id,
            returned={(r.spare_part_id, r.condition): r.quantity for r in data.returned},
            method=data.method, reference=data.reference)
