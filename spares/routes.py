"""Repair point pages: applications (R21), the point's management file with its deposit (R22,
R28), stock (R23), exchanges (R23) and repairs (R19); the Stripe webhook."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from dealers.batch_routes import on_batch_action
from portal import payments
from portal.db import raw_fetch
from portal.errors import PortalError, ValidationFailed
from portal.forms import integer, iso_date, read_form, text
from portal.i18n import gettext
from portal.money import parse_yuan
from portal.network import get_organisation, scope_condition
from portal.tables import Organisation
from portal.web import (
    current_actor,
    done,
    is_htmx,
    login_required,
    public,
    render,
    roles_required,
    see_other,
)
from spares import oversight, queries, service, wallets

# What a repair point's page says once an action worked (issue 9 §4).
DONE = {
    "bank-transfer": "Bank transfer recorded against the deposit.",
    "card": "Card payment sent; the deposit shows it as soon as Stripe confirms it.",
    "ship": "First stock shipped to the repair point.",
    "exchange": "Exchange requested; the office has been told.",
    "repair": "Repair recorded.",
    "repair-outcome": "Repair outcome recorded.",
    "fee": "Repair fee proposed; head office customer service has been told.",
    "fee-decision": "Repair fee decided; the repair point and the proposer have been told.",
    "dispute": "Dispute recorded; the office manager has been asked to mediate.",
    "mediation": "Mediation recorded; the people concerned have been told.",
    "ruling": "Final ruling recorded; the repair point and the office have been told.",
}


# The card form is Stripe's own script and frames: only this page lets them in.
PAY_CSP = ("default-src 'self'; script-src 'self' {origin}; frame-src {origin}; "
           "connect-src 'self' {origin}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


async def _list_page(request: Request, status_code: int = 200, errors=None, form=None) -> Response:
    actor = current_actor(request)
    query = Organisation.select(Organisation.id, Organisation.name, Organisation.name_en).where(
        Organisation.kind.is_in(["office", "agent"]))
    condition = scope_condition(actor, Organisation.path)
    if condition is not None:
        query = query.where(condition)
    offices = await query.order_by(Organisation.id)
    return render(request, "spares/repair_points.html", status_code=status_code,
                  rows=await queries.list_applications(
                      actor, waiting=request.query_params.get("waiting")),
                  offices=offices, errors=errors or {},
                  form=form or {})


class RepairPointController(Controller):
    path = "/repair-points"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        return await _list_page(request)

    @post("/")
    async def propose(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        office = integer(form, "office", errors)
        try:
            if errors:
                raise ValidationFailed(errors)
            await service.propose_repair_point(
                actor=current_actor(request), office_id=office or 0, name=text(form, "name", 120),
                coverage_area=text(form, "coverage_area", 500),
                sales_scale=text(form, "sales_scale", 10), address=text(form, "address", 200),
                proposed_fee_fen=parse_yuan(text(form, "proposed_fee", 20)))
        except ValidationFailed as exc:
            return await _list_page(request, 422, exc.errors, dict(form))
        return done(request, "Repair point proposed; head office customer service has been told.",
                    "/repair-points")

    @post("/applications/{application_id:int}/decide", guards=[roles_required("hq_cs")])
    async def decide(self, request: Request, application_id: int) -> Response:
        form = await read_form(request)
        try:
            point = await service.decide_repair_point(
                actor=current_actor(request), application_id=application_id,
                approve=text(form, "decision", 10) == "approve", reason=text(form, "reason", 500))
        except ValidationFailed as exc:
            return await _list_page(request, 422, exc.errors, dict(form))
        if point:
            return done(request, "Repair point approved; the proposer has been told and its "
                                 "deposit is set.", f"/repair-points/{point}")
        return done(request, "Repair point refused; the proposer has been told why.",
                    "/repair-points")

    @get("/{point_id:int}")
    async def file(self, request: Request, point_id: int) -> Response:
        return await point_page(request, point_id)

    @post("/{point_id:int}/{action:str}")
    async def act(self, request: Request, point_id: int, action: str) -> Response:
        actor = current_actor(request)
        form = await read_form(request)
        settings = request.app.state.settings
        errors: dict[str, str] = {}
        try:
            await get_organisation(actor=actor, org_id=point_id)
            if action == "bank-transfer":
                await service.record_bank_transfer(actor=actor, point_id=point_id,
                                                   amount_fen=parse_yuan(text(form, "amount", 20)),
                                                   reference=text(form, "reference", 80))
            elif action == "pay":
                status = await service.deposit_status(point_id)
                origin = "/".join(settings.stripe_js_url.split("/")[:3])
                return render(request, "spares/pay.html", point_id=point_id,
                              setup_secret=await payments.setup_card(settings),
                              amount_fen=status["required_fen"] - status["balance_fen"],
                              stripe_js_url=settings.stripe_js_url,
                              publishable_key=settings.stripe_publishable_key,
                              wallets=wallets.enabled_wallets(settings),
                              headers={"content-security-policy": PAY_CSP.format(origin=origin)})
            elif action == "card":
                await service.pay_deposit_by_card(settings, actor=actor, point_id=point_id,
                                                   payment_method=text(form, "payment_method", 80))
            elif action == "wallet":
                return await _start_wallet(request, point_id, text(form, "method", 20))
            elif action == "ship":
                hq = await Organisation.select(Organisation.id).where(Organisation.kind == "hq").first()
                await service.ship_first_stock(actor=actor, point_id=point_id, hq_id=hq["id"])
            elif action == "exchange":
                await service.request_exchange(actor=actor, spare_part_id=integer(
                    form, "spare_part", errors) or 0, quantity=integer(form, "quantity", errors))
            elif action == "repair":
                await service.record_repair(
                    actor=actor, customer=text(form, "customer", 80), phone=text(form, "phone", 30),
                    product_id=integer(form, "product", errors),
                    purchase_date=iso_date(form, "purchase_date", errors),
                    proof=text(form, "proof", 120),
                    spare_part_id=integer(form, "spare_part", errors, required=False),
                    parts_quantity=integer(form, "parts_quantity", errors, required=False) or 0,
                    on_the_spot=form.get("on_the_spot") == "on")
            elif action == "repair-outcome":
                await service.complete_repair(actor=actor,
                                              repair_id=integer(form, "repair", errors) or 0,
                                              outcome=text(form, "outcome", 10))
            elif action == "fee":
                await oversight.propose_fee(actor=actor, point_id=point_id,
                                            amount_fen=parse_yuan(text(form, "amount", 20)),
                                            reason=text(form, "reason", 500))
            elif action == "fee-decision":
                await oversight.decide_fee(actor=actor, fee_id=integer(form, "fee", errors) or 0,
                                           approve=text(form, "decision", 10) == "approve",
                                           reason=text(form, "reason", 500))
            elif action == "dispute":
                await oversight.record_dispute(actor=actor, point_id=point_id,
                                               customer=text(form, "customer", 80),
                                               description=text(form, "description", 2000))
            elif action == "mediation":
                await oversight.mediate_dispute(actor=actor,
                                                dispute_id=integer(form, "dispute", errors) or 0,
                                                settled=text(form, "outcome", 10) == "settled",
                                                notes=text(form, "notes", 2000))
            elif action == "ruling":
                await oversight.rule_dispute(actor=actor,
                                             dispute_id=integer(form, "dispute", errors) or 0,
                                             ruling=text(form, "ruling", 2000))
            else:
                return Response(content="", status_code=404)
        except ValidationFailed as exc:
            return await point_page(request, point_id, 422, exc.errors, dict(form))
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return await point_page(request, point_id, exc.status_code,
                                    {"action": gettext(exc.message, **exc.params)}, dict(form))
        return done(request, DONE[action], f"/repair-points/{point_id}")

    @get("/{point_id:int}/deposit/return")
    async def payment_return(self, request: Request, point_id: int) -> Response:
        """The browser comes back from the card form. Its word is not trusted: the
        PaymentIntent is fetched from Stripe and only what Stripe says is applied (R28)."""
        actor = current_actor(request)
        await get_organisation(actor=actor, org_id=point_id)
        rows = await raw_fetch("SELECT id FROM payment WHERE purpose = 'deposit' AND object_id = $1 "
                               "ORDER BY id DESC LIMIT 1", str(point_id))
        if rows:
            try:
                await payments.refresh_payment(request.app.state.settings, payment_id=rows[0]["id"])
            except payments.PaymentUnavailable:
                pass  # the webhook will still settle it
        return see_other(f"/repair-points/{point_id}")

    @get("/{point_id:int}/deposit/payments/{payment_id:int}")
    async def wallet_payment(self, request: Request, point_id: int, payment_id: int) -> Response:
        """A wallet payment: the WeChat QR code, and a status fragment (same URL) the page polls
        every 3 s; each poll fetches the PaymentIntent, so "paid" shows when Stripe says so."""
        actor = current_actor(request)
        await get_organisation(actor=actor, org_id=point_id)
        try:
            view = await wallets.deposit_payment(request.app.state.settings, actor=actor,
                                                 point_id=point_id, payment_id=payment_id)
        except payments.PaymentUnavailable:  # keep waiting; the next poll or the webhook settles it
            view = {"payment_id": payment_id, "unavailable": True}
        return render(request, "spares/wallet.html", point_id=point_id, payment=view,
                      block="status" if is_htmx(request) else None)


async def _start_wallet(request: Request, point_id: int, method: str) -> Response:
    view = await wallets.pay_deposit_by_wallet(request.app.state.settings,
                                               actor=current_actor(request), point_id=point_id,
                                               method=method)
    if view.get("redirect_url"):  # Alipay: this page sends the browser on (a 303 to another
        # site would be blocked by the CSP's form-action 'self')
        return render(request, "spares/wallet.html", point_id=point_id, payment=view, go=True)
    return see_other(f"/repair-points/{point_id}/deposit/payments/{view['payment_id']}")


class ExchangeController(Controller):
    guards = [login_required]

    @post("/exchanges/{exchange_id:int}/complete")
    async def complete(self, request: Request, exchange_id: int) -> Response:
        actor = current_actor(request)
        try:
            await service.complete_exchange(actor=actor, exchange_id=exchange_id)
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return render(request, "errors/error.html", status_code=exc.status_code,
                          status=exc.status_code, message=gettext(exc.message, **exc.params),
                          field_errors={}, debug_text="")
        return done(request, "Exchange completed; the repair point's stock is updated and it "
                             "has been told.", "/repair-points/exchanges")

    @get("/repair-points/exchanges")
    async def office_exchanges(self, request: Request) -> Response:
        actor = current_actor(request)
        rows = await queries.list_exchanges(actor, status=request.query_params.get("status"))
        return render(request, "spares/exchanges.html", rows=rows,
                      stock=await service.stock_of(actor.organisation_id))


class BatchSparesController(Controller):
    """R23 actions on a return batch: add the office's faulty spares; ship replacements."""

    guards = [login_required]

    @post("/batches/{batch_id:int}/spare-lines")
    async def spare_lines(self, request: Request, batch_id: int) -> Response:
        return await on_batch_action(request, batch_id, action=service.send_faulty_to_batch(
            actor=current_actor(request), batch_id=batch_id),
            success="The office's faulty spare parts were added to batch %(number)s.")

    @post("/batches/{batch_id:int}/replenish", guards=[roles_required("hq_logistics", "hq_cs")])
    async def replenish(self, request: Request, batch_id: int) -> Response:
        hq = await Organisation.select(Organisation.id).where(Organisation.kind == "hq").first()
        return await on_batch_action(request, batch_id, action=service.ship_replacements(
            actor=current_actor(request), batch_id=batch_id, hq_id=hq["id"]),
            success="Replacement spare parts for batch %(number)s shipped to the office.")


class StockTemplateController(Controller):
    """R22: the first-stock templates per sales scale, edited by the HQ admin."""

    path = "/admin/stock-templates"
    guards = [roles_required("hq_admin")]

    @get("/")
    async def page(self, request: Request) -> Response:
        return await _templates_page(request)

    @post("/")
    async def save(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        try:
            part = integer(form, "spare_part", errors)
            quantity = integer(form, "quantity", errors, high=10_000)
            if errors:
                raise ValidationFailed(errors)
            await service.set_template(actor=current_actor(request),
                                       sales_scale=text(form, "sales_scale", 10),
                                       spare_part_id=part or 0, quantity=quantity,
                                       reason=text(form, "reason", 500))
        except ValidationFailed as exc:
            return await _templates_page(request, 422, exc.errors, dict(form))
        return done(request, "Stock template saved.", "/admin/stock-templates")


async def _templates_page(request: Request, status_code: int = 200, errors=None, form=None):
    parts = await raw_fetch("SELECT id, code FROM spare_part WHERE active ORDER BY code")
    return render(request, "spares/templates.html", status_code=status_code,
                  rows=await service.list_templates(), parts=parts, errors=errors or {},
                  form=form or {})


class StripeWebhookController(Controller):
    guards = [public]

    @post("/webhooks/stripe", status_code=200)
    async def webhook(self, request: Request) -> Response:
        result = await payments.handle_webhook(request.app.state.settings,
                                               payload=await request.body(),
                                               signature=request.headers.get("stripe-signature"))
        return Response(content={"received": result}, status_code=200)


async def point_page(request: Request, point_id: int, status_code: int = 200, errors=None,
                     form=None) -> Response:
    actor = current_actor(request)
    point = await oversight.get_point(actor, point_id)
    try:
        deposit = await service.deposit_status(point_id)
    except PortalError:
        deposit = None
    parts = await raw_fetch("SELECT id, code, name_zh, name_en, unit_price_fen FROM spare_part "
                            "WHERE active ORDER BY code")
    products = await raw_fetch("SELECT id, model FROM product WHERE active ORDER BY model")
    return render(request, "spares/repair_point.html", status_code=status_code, point=point,
                  deposit=deposit, stock=await service.stock_of(point_id), parts=parts,
                  products=products,
                  repairs=await service.list_repairs(actor=actor, point_id=point_id),
                  fees=await oversight.fee_history(point_id),
                  disputes=await oversight.disputes_of(point_id),
                  card_enabled=bool(request.app.state.settings.stripe_secret_key),
                  wallets=wallets.enabled_wallets(request.app.state.settings),
                  errors=errors or {}, form=form or {})
