"""The deposit on a repair point's page (R22, R28): the card form and the wallets, a bank
transfer recorded by finance, the first stock shipped once paid; the Stripe webhook."""
from __future__ import annotations

import functools

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import payments
from portal.actor import Actor
from portal.web import current_actor, is_htmx, public, render, see_other
from spares import deposits, oversight, queries, wallets
from spares.inputs import BankTransferIn, CardIn, WalletIn, kwargs
from spares.point_page import act_on_point, answer, point_page

# The card form is Stripe's own script and frames: only this page lets them in.
PAY_CSP = ("default-src 'self'; script-src 'self' {origin}; frame-src {origin}; "
           "connect-src 'self' {origin}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class DepositPages:
    """The deposit's routes under /repair-points (part of RepairPointController)."""

    @post("/{point_id:int}/bank-transfer")
    async def bank_transfer(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, BankTransferIn, lambda actor, data: deposits.record_bank_transfer(
                actor=actor, point_id=point_id, **kwargs(data)),
            success="Bank transfer recorded against the deposit.")

    @post("/{point_id:int}/pay")
    async def pay(self, request: Request, point_id: FromPath[int]) -> Response:
        """The card form, and the wallets Stripe enables, for what is still due."""
        return await _on_point(request, point_id, None,
                               lambda actor, _: _pay_page(request, actor, point_id))

    @post("/{point_id:int}/card")
    async def card(self, request: Request, point_id: FromPath[int]) -> Response:
        return await act_on_point(
            request, point_id, CardIn, lambda actor, data: deposits.pay_deposit_by_card(
                request.app.state.settings, actor=actor, point_id=point_id,
                payment_method=data.payment_method),
            success="Card payment sent; the deposit shows it as soon as Stripe confirms it.")

    @post("/{point_id:int}/wallet")
    async def wallet(self, request: Request, point_id: FromPath[int]) -> Response:
        return await _on_point(request, point_id, WalletIn,
                               lambda actor, data: _start_wallet(request, actor, point_id,
                                                                 data.method))

    @post("/{point_id:int}/ship")
    async def ship(self, request: Request, point_id: FromPath[int]) -> Response:
        hq = await queries.hq_id()
        return await act_on_point(
            request, point_id, None, lambda actor, _: deposits.ship_first_stock(
                actor=actor, point_id=point_id, hq_id=hq),
            success="First stock shipped to the repair point.")

    @get("/{point_id:int}/deposit/return")
    async def payment_return(self, request: Request, point_id: FromPath[int]) -> Response:
        """The browser comes back from the card form. Its word is not trusted: the
        PaymentIntent is fetched from Stripe and only what Stripe says is applied (R28)."""
        await oversight.get_point(current_actor(request), point_id)
        payment_id = await queries.last_deposit_payment(point_id)
        if payment_id is not None:
            try:
                await payments.refresh_payment(request.app.state.settings, payment_id=payment_id)
            except payments.PaymentUnavailable:
                pass  # the webhook will still settle it
        return see_other(f"/repair-points/{point_id}")

    @get("/{point_id:int}/deposit/payments/{payment_id:int}")
    async def wallet_payment(self, request: Request, point_id: FromPath[int],
                             payment_id: FromPath[int]) -> Response:
        """A wallet payment: the WeChat QR code, and a status fragment (same URL) the page polls
        every 3 s; each poll fetches the PaymentIntent, so "paid" shows when Stripe says so."""
        actor = current_actor(request)
        await oversight.get_point(actor, point_id)
        try:
            view = await wallets.deposit_payment(request.app.state.settings, actor=actor,
                                                 point_id=point_id, payment_id=payment_id)
        except payments.PaymentUnavailable:  # keep waiting; the next poll or the webhook settles it
            view = {"payment_id": payment_id, "unavailable": True}
        return render(request, "spares/wallet.html", point_id=point_id, payment=view,
                      block="status" if is_htmx(request) else None)


async def _on_point(request: Request, point_id: int, model: type | None, run) -> Response:
    """A payment start, whose answer is a page of its own; a refusal shows the point's page."""
    actor = current_actor(request)
    await oversight.get_point(actor, point_id)  # 404 before anything
    return await answer(request, model, lambda data: run(actor, data),
                        page=functools.partial(point_page, request, point_id))


async def _pay_page(request: Request, actor: Actor, point_id: int) -> Response:
    settings = request.app.state.settings
    due = await deposits.amount_due(actor=actor, point_id=point_id)
    origin = "/".join(settings.stripe_js_url.split("/")[:3])
    return render(request, "spares/pay.html", point_id=point_id, amount_fen=due,
                  setup_secret=await payments.setup_card(settings),
                  stripe_js_url=settings.stripe_js_url,
                  publishable_key=settings.stripe_publishable_key,
                  wallets=wallets.enabled_wallets(settings),
                  headers={"content-security-policy": PAY_CSP.format(origin=origin)})


async def _start_wallet(request: Request, actor: Actor, point_id: int, method: str) -> Response:
    view = await wallets.pay_deposit_by_wallet(request.app.state.settings, actor=actor,
                                               point_id=point_id, method=method)
    if view.get("redirect_url"):  # Alipay: this page sends the browser on (a 303 to another
        # site would be blocked by the CSP's form-action 'self')
        return render(request, "spares/wallet.html", point_id=point_id, payment=view, go=True)
    return see_other(f"/repair-points/{point_id}/deposit/payments/{view['payment_id']}")


class StripeWebhookController(Controller):
    guards = [public]

    @post("/webhooks/stripe", status_code=200)
    async def webhook(self, request: Request) -> Response:
        result = await payments.handle_webhook(request.app.state.settings,
                                               payload=await request.body(),
                                               signature=request.headers.get("stripe-signature"))
        return Response(content={"received": result}, status_code=200)
