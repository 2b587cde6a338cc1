"""Payments in (deposits: card, Alipay, WeChat Pay) and the webhook. With portal/connect.py
(payouts) the only modules that import `stripe`. Calls out with idempotency keys stored before the
call; verifies, de-duplicates and records webhook events, then hands each to the handler a
domain registered for its type at the composition root (portal/app.py).

Money is credited only from a verified webhook or a PaymentIntent fetched from Stripe, never
from a browser redirect (R28)."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams, SetupIntentCreateParams

from portal import clock
from portal.db import raw_fetch, transactional
from portal.errors import Conflict, NotFound, PortalError, RuleViolation
from portal.settings import Settings

# event type -> handler, registered by domains at start-up: payment_intent.* handlers get
# (payment row, intent); any other type (transfer.*) gets (stripe object, whole event)
Handler = Callable[[dict, dict], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
FINAL = {"succeeded", "canceled"}
IN_FLIGHT = timedelta(minutes=2)  # a payment row older than this with no answer is not blocking


class PaymentUnavailable(PortalError):
    status_code = 503


class SignatureRejected(PortalError):
    status_code = 400


def on_event(event_type: str, handler: Handler) -> None:
    HANDLERS[event_type] = handler


def client(settings: Settings) -> stripe.StripeClient:
    if not settings.stripe_secret_key:
        raise PaymentUnavailable("Card payment is not configured; record a bank transfer instead.")
    options: dict[str, Any] = {"max_network_retries": 2}
    if settings.stripe_api_base:
        options["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(settings.stripe_secret_key, **options)


async def charge(settings: Settings, *, purpose: str, object_id: int | str, amount_fen: int,
                 payment_method: str) -> dict:
    """Create and confirm a PaymentIntent with the payment method the browser's Stripe.js
    created (card details never reach us). The payment row and its idempotency key are
    committed before Stripe is called: the SDK's retries reuse the key, so a timeout never
    charges twice. The result is recorded, but money is credited only through `_apply`."""
    if amount_fen <= 0:
        raise RuleViolation("Nothing to pay.")
    if not payment_method.startswith("pm_") or len(payment_method) > 80:
        raise RuleViolation("The card form did not complete; please try again.")
    payment = await _new_payment(purpose, str(object_id), amount_fen)
    params: PaymentIntentCreateParams = {
        "amount": amount_fen, "currency": "cny", "payment_method": payment_method, "confirm": True,
        "metadata": {"purpose": purpose, "object_id": str(object_id),
                     "payment_id": str(payment["id"])}}
    # stripe 16's typed params lack payment_method_types; the API takes it
    params["payment_method_types"] = ["card"]  # type: ignore[typeddict-unknown-key]
    try:
        intent = await asyncio.to_thread(
            client(settings).v1.payment_intents.create, params=params,
            options={"idempotency_key": payment["idempotency_key"]})
    except stripe.CardError as exc:
        await raw_fetch("UPDATE payment SET status = 'declined', updated_at = $2 WHERE id = $1",
                        payment["id"], clock.now())
        raise RuleViolation("The card was declined; nothing was charged.") from exc
    except stripe.StripeError as exc:
        # Unknown outcome: the row stays "created" and refresh_payment / the webhook settle it.
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc
    await raw_fetch("UPDATE payment SET stripe_id = $2, updated_at = $3 WHERE id = $1",
                    payment["id"], intent.id, clock.now())
    if intent.status == "requires_payment_method":
        await raw_fetch("UPDATE payment SET status = 'declined' WHERE id = $1", payment["id"])
        raise RuleViolation("The card was declined; nothing was charged.")
    await _apply_answer(intent.to_dict())
    return {"payment_id": payment["id"], "stripe_id": intent.id, "status": intent.status}


@transactional
async def _new_payment(purpose: str, object_id: str, amount_fen: int) -> dict:
    """Commit the payment row and its idempotency key before Stripe is called. Two starts for
    the same object at once would open two payable intents (two QR codes, two card charges):
    an advisory lock per object serialises the check, and a payment still being started
    (`created` in the last two minutes) or open (`requires_action`, which the wallet flow has
    just cancelled unless a concurrent start made it) refuses the second one."""
    await raw_fetch("SELECT pg_advisory_xact_lock(hashtext($1))", f"{purpose}:{object_id}")
    states = {r["status"] for r in await raw_fetch(
        "SELECT status FROM payment WHERE purpose = $1 AND object_id = $2 AND (status IN "
        "('succeeded', 'requires_action') OR (status = 'created' AND created_at > $3))",
        purpose, object_id, clock.now() - IN_FLIGHT)}
    if "succeeded" in states:
        raise Conflict("This has already been paid.")
    if states:
        raise Conflict("Another payment of this is being made; wait a moment and reload "
                       "the page.")
    now = clock.now()
    return (await raw_fetch(
        "INSERT INTO payment (purpose, object_id, amount_fen, currency, idempotency_key, "
        "status, created_at, updated_at) VALUES ($1, $2, $3, 'cny', $4, 'created', $5, $5) "
        "RETURNING *", purpose, object_id, amount_fen,
        f"{purpose}-{object_id}-{uuid.uuid4().hex}", now))[0]


async def _apply(payment: dict, intent: dict) -> None:
    """Record the intent's status on the payment (never downgrading a final one) and run the
    domain's handler for it. Caller holds a transaction."""
    status = intent["status"]
    if payment["status"] in FINAL and status != payment["status"]:
        return  # an older event arriving late: the final state stands
    await raw_fetch("UPDATE payment SET status = $2, updated_at = $3 WHERE id = $1",
                    payment["id"], status, clock.now())
    handler = HANDLERS.get(f"payment_intent.{status}")
    if handler is not None:
        await handler({**payment, "status": status}, intent)


@transactional
async def _apply_answer(intent: dict) -> None:
    """What Stripe answered, applied under the payment's row lock (after the call, never
    around it: a retried transaction must not call Stripe again)."""
    payment = await _payment_for(intent)
    if payment is not None:
        await _apply(payment, intent)


async def _payment_for(intent: dict, lock: bool = True) -> dict | None:
    rows = await raw_fetch(f"SELECT * FROM payment WHERE stripe_id = $1{' FOR UPDATE' if lock else ''}",
                           intent["id"])
    return rows[0] if rows else None


async def refresh_payment(settings: Settings, *, payment_id: int) -> str:
    """Fetch the PaymentIntent from Stripe and apply what Stripe says (the safe way to confirm a
    payment after the browser comes back)."""
    rows = await raw_fetch("SELECT * FROM payment WHERE id = $1", payment_id)
    if not rows or not rows[0]["stripe_id"]:
        raise NotFound("Not found.")
    try:
        intent = await asyncio.to_thread(client(settings).v1.payment_intents.retrieve,
                                          rows[0]["stripe_id"])
    except stripe.StripeError as exc:
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc
    await _apply_answer(intent.to_dict())
    return intent.status


@transactional
async def handle_webhook(settings: Settings, *, payload: bytes, signature: str | None) -> str:
    """Verify the signature (300 s tolerance), then apply the event once: its id is stored in
    the same transaction as its effect, so a second delivery changes nothing."""
    if not settings.stripe_webhook_secret:
        raise PaymentUnavailable("Webhooks are not configured.")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "",
                                               settings.stripe_webhook_secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise SignatureRejected("Invalid signature.") from exc
    data = json.loads(payload)
    fresh = await raw_fetch(
        "INSERT INTO stripe_event (event_id, type, received_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING id", event.id, event.type, clock.now())
    if not fresh:
        return "duplicate"
    obj = data["data"]["object"]
    if event.type.startswith("payment_intent."):
        payment = await _payment_for(obj)
        if payment is not None:
            await _apply(payment, obj)
    elif (handler := HANDLERS.get(event.type)) is not None:
        await handler(obj, data)  # other types (transfer.*): the object and its event
    return "processed"


async def refund(settings: Settings, *, stripe_id: str, amount_fen: int, key: str) -> str:
    """Refund part or all of a payment; the key makes a retried refund the same refund. Our own
    ledger checks the amount (localstripe does not refuse over-refunds)."""
    try:
        result = await asyncio.to_thread(
            client(settings).v1.refunds.create,
            params={"payment_intent": stripe_id, "amount": amount_fen},
            options={"idempotency_key": key})
    except stripe.StripeError as exc:
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc
    return result.id


async def setup_card(settings: Settings) -> str:
    """A SetupIntent for the browser: Stripe.js collects the card into it and hands back a
    payment method id, which `charge` then uses. No money moves here."""
    params: SetupIntentCreateParams = {}
    # stripe 16's typed params lack payment_method_types; the API takes it
    params["payment_method_types"] = ["card"]  # type: ignore[typeddict-unknown-key]
    try:
        intent = await asyncio.to_thread(client(settings).v1.setup_intents.create, params=params)
    except stripe.StripeError as exc:
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc
    if intent.client_secret is None:  # Stripe always returns one for a new SetupIntent
        raise PaymentUnavailable("The payment service did not answer; please try again.")
    return intent.client_secret


# --- R28 wallets: Alipay (the browser is redirected) and WeChat Pay (a QR code is scanned) ------

async def start_wallet_payment(settings: Settings, *, purpose: str, object_id: int | str,
                               amount_fen: int, method: str, return_url: str) -> dict:
    """Create and confirm an Alipay or WeChat Pay PaymentIntent and return what the browser needs
    (the Alipay page to go to, or the WeChat QR code). As in `charge`, the payment row and its
    idempotency key are committed before Stripe is called. Nothing is credited here: the payer
    authorises later, in Alipay or WeChat, and only the verified webhook or a fetched
    PaymentIntent (`refresh_wallet_payment`) credits, never the return redirect (R28)."""
    if method not in settings.stripe_wallets:
        raise RuleViolation("This payment method is not enabled for this account; "
                            "choose another way to pay.")
    if amount_fen <= 0:
        raise RuleViolation("Nothing to pay.")
    # An earlier QR code or Alipay page still open could be paid as well: cancel it first.
    await _cancel_open(settings, purpose, str(object_id))
    payment = await _new_payment(purpose, str(object_id), amount_fen)
    params: PaymentIntentCreateParams = {
        "amount": amount_fen, "currency": "cny", "payment_method_data": {"type": method},
        "confirm": True,
        "metadata": {"purpose": purpose, "object_id": str(object_id),
                     "payment_id": str(payment["id"])}}
    # stripe 16's typed params lack payment_method_types; the API takes it
    params["payment_method_types"] = [method]  # type: ignore[typeddict-unknown-key]
    if method == "alipay":
        params["return_url"] = return_url
    else:  # WeChat Pay in a desktop browser: Stripe answers with a QR code to scan
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    try:
        intent = await asyncio.to_thread(
            client(settings).v1.payment_intents.create, params=params,
            options={"idempotency_key": payment["idempotency_key"]})
    except stripe.InvalidRequestError as exc:  # refused outright: no PaymentIntent exists
        await raw_fetch("UPDATE payment SET status = 'refused', updated_at = $2 WHERE id = $1",
                        payment["id"], clock.now())
        raise RuleViolation("The payment service refused this payment method; "
                            "choose another way to pay.") from exc
    except stripe.StripeError as exc:
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc
    await raw_fetch("UPDATE payment SET stripe_id = $2, updated_at = $3 WHERE id = $1",
                    payment["id"], intent.id, clock.now())
    view = await _apply_fetched(payment["id"], intent.to_dict())
    if view["status"] == "requires_payment_method":
        raise RuleViolation("The payment was declined; nothing was charged.")
    return view


async def refresh_wallet_payment(settings: Settings, *, payment_id: int) -> dict:
    """Fetch the PaymentIntent, apply what Stripe says (this is what credits a payment when the
    webhook has not arrived) and return the browser's view of it."""
    rows = await raw_fetch("SELECT * FROM payment WHERE id = $1", payment_id)
    if not rows or not rows[0]["stripe_id"]:
        raise NotFound("Not found.")
    intent = await _call(client(settings).v1.payment_intents.retrieve, rows[0]["stripe_id"])
    return await _apply_fetched(payment_id, intent.to_dict())


async def _cancel_open(settings: Settings, purpose: str, object_id: str) -> None:
    rows = await raw_fetch("SELECT id, stripe_id FROM payment WHERE purpose = $1 AND "
                           "object_id = $2 AND status = 'requires_action'", purpose, object_id)
    api = client(settings).v1.payment_intents
    for row in rows:
        try:
            intent = await asyncio.to_thread(api.cancel, row["stripe_id"],
                                             params={"cancellation_reason": "abandoned"})
        except stripe.InvalidRequestError:  # it moved on meanwhile (paid, failed): learn how
            intent = await _call(api.retrieve, row["stripe_id"])
        except stripe.StripeError as exc:
            raise PaymentUnavailable("The payment service did not answer; "
                                     "please try again.") from exc
        await _apply_fetched(row["id"], intent.to_dict())


async def _call(method: Callable[..., Any], *args: Any) -> Any:
    try:
        return await asyncio.to_thread(method, *args)
    except stripe.StripeError as exc:
        raise PaymentUnavailable("The payment service did not answer; please try again.") from exc


async def _apply_fetched(payment_id: int, intent: dict) -> dict:
    await _apply_answer(intent)
    action = intent.get("next_action") or {}
    view: dict[str, Any] = {"payment_id": payment_id, "stripe_id": intent["id"],
                            "status": intent["status"],
                            "method": (intent.get("payment_method_types") or [""])[0]}
    if action.get("type") == "alipay_handle_redirect":
        view["redirect_url"] = action["alipay_handle_redirect"]["url"]
    elif action.get("type") == "wechat_pay_display_qr_code":
        qr = action["wechat_pay_display_qr_code"]
        view["qr_data"] = qr["data"]
        if str(qr.get("image_data_url", "")).startswith("data:image/"):
            view["qr_image"] = qr["image_data_url"]
    return view
