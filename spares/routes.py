"""Repair point pages: applications (R21), the point's management file with its deposit (R22,
R28), stock (R23), exchanges (R23) and repairs (R19); the Stripe webhook."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from dealers.batch_routes import act_on_batch
from portal import listing, payments
from portal.db import raw_fetch
from portal.errors import PortalError, ValidationFailed
from portal.forms import integer, iso_date, read_form, text
from portal.i18n import gettext, local_name
from portal.money import parse_yuan
from portal.network import get_organisation
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


def point_filters(query) -> tuple[dict, dict, dict]:
    """The list's filters from the query string (issue 9 §5): (arguments for
    queries.list_applications, the raw values to show in the form and carry in links, errors
    by field). `waiting` is what home pages link with; people type the others."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "waiting", "q", "status", "office_name", "proposed_from", "proposed_to", "decided_from",
        "decided_to")}
    raw["waiting"] = raw["waiting"] if raw["waiting"] in queries.WAITING else ""
    ranges = {}
    for name in ("proposed", "decided"):
        start = listing.date_param(query, f"{name}_from", errors)
        end = listing.date_param(query, f"{name}_to", errors)
        listing.check_order(errors, start, end, f"{name}_to")
        ranges[f"{name}_from"], ranges[f"{name}_to"] = listing.china_day_range(start, end)
    filters = dict(
        waiting=raw["waiting"] or None,
        text=listing.text_param(query, "q", errors, limit=120) or None,
        status=listing.choice_param(query, "status", queries.STATUSES, errors),
        office_name=listing.text_param(query, "office_name", errors, limit=120) or None,
        **ranges)
    return filters, raw, errors


# The export's columns: what the list shows, one row per application (headers are msgids).
COLUMN_LABELS = {
    "name": "Name", "address": "Address", "office": "Office", "scale": "Sales scale",
    "fee": "Proposed fee (¥)", "status": "Status", "proposed": "Proposed on",
    "decided": "Decided on", "reason": "Reason",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_H["name"], lambda a: local_name(a)),
    listing.Column(_H["address"], lambda a: a["address"]),
    listing.Column(_H["office"], lambda a: local_name(a, "office_name")),
    listing.Column(_H["scale"], lambda a: gettext(a["sales_scale"])),
    listing.Column(_H["fee"], lambda a: a["proposed_fee_fen"], "money"),
    listing.Column(_H["status"], lambda a: gettext(a["state"])),
    listing.Column(_H["proposed"], lambda a: listing.china_date(a["proposed_at"]), "date"),
    listing.Column(_H["decided"], lambda a: listing.china_date(a["decided_at"]), "date"),
    listing.Column(_H["reason"], lambda a: a["decision_reason"]),
]


async def _list_page(request: Request, status_code: int = 200, errors=None, form=None) -> Response:
    """The list with its search (name, office, status, proposal and decision days),
    keyset-paginated; a bad filter answers 422 with the message beside its field."""
    actor = current_actor(request)
    q = request.query_params
    filters, raw, filter_errors = point_filters(q)
    after = listing.int_param(q, "after", filter_errors)
    rows = [] if filter_errors else await queries.list_applications(actor, after_id=after,
                                                                     **filters)
    more = None
    if len(rows) == queries.PAGE_SIZE:
        more = "/repair-points?" + listing.query_string(raw, after=rows[-1]["id"])
    errors = {**filter_errors, **(errors or {})}
    context = dict(rows=rows, filters=raw, more_url=more, errors=errors)
    if is_htmx(request) and not errors and q.get("after"):
        return render(request, "spares/repair_points.html", block="rows", **context)
    return render(request, "spares/repair_points.html",
                  status_code=422 if filter_errors else status_code,
                  offices=await queries.offices_in_scope(actor), form=form or {},
                  statuses=queries.STATUSES, export_query=listing.query_string(raw),
                  export_limit=listing.EXPORT_LIMIT, **context)


class RepairPointController(Controller):
    path = "/repair-points"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        return await _list_page(request)

    @get("/export")
    async def export(self, request: Request) -> Response:
        """Every application the list's filter shows (not only the page), as CSV or XLSX in
        the reader's language; at most EXPORT_LIMIT rows, else the list says to narrow it."""
        filters, _, errors = point_filters(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await queries.list_applications(
            current_actor(request), limit=listing.EXPORT_LIMIT + 1, **filters)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return await _list_page(request, 422, errors)
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows,
                                             "repair-points")

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
        return await act_on_batch(
            request, batch_id, "The office's faulty spare parts were added to batch %(number)s.",
            None, lambda actor, _: service.send_faulty_to_batch(actor=actor, batch_id=batch_id))

    @post("/batches/{batch_id:int}/replenish", guards=[roles_required("hq_logistics", "hq_cs")])
    async def replenish(self, request: Request, batch_id: int) -> Response:
        hq = await Organisation.select(Organisation.id).where(Organisation.kind == "hq").first()
        return await act_on_batch(
            request, batch_id, "Replacement spare parts for batch %(number)s shipped to the "
                               "office.", None,
            lambda actor, _: service.ship_replacements(actor=actor, batch_id=batch_id,
                                                       hq_id=hq["id"]))


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
