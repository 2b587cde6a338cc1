"""R21/R22/R28: a point is approved, its deposit sized from the stock template, paid by card
through the official Stripe SDK against localstripe (or by bank transfer), credited once, and
only then does the first stock ship."""
import asyncio
import json
import time

import pytest
import stripe

from portal import payments
from portal.errors import Conflict, Forbidden, RuleViolation
from portal.tables import Payment, StripeEvent
from spares import deposits, queries, stock
from spares.tables import DepositMovement, StockMovement
from tests.helpers import client, login
from tests.spares.factory import WEBHOOK_SECRET, card, network, stripe_settings


async def test_r22_deposit_sized_from_template_and_ratio():
    net = await network()
    status = await queries.deposit_status(net["point"]["id"])
    assert status["stock_value_fen"] == 10 * 1850 + 5 * 1200
    assert status["ratio_bp"] == 10000 and status["required_fen"] == 24500
    assert not status["paid"]
    assert net["point"]["path"] == f"{net['office']['path']}{net['point']['id']}."


async def test_r28_pay_by_card_credits_once_and_first_stock_ships(localstripe):
    net = await network()
    settings = stripe_settings(localstripe)
    point = net["point"]["id"]
    with pytest.raises(RuleViolation):  # not before the deposit is paid (R22)
        await deposits.ship_first_stock(actor=net["actors"]["logistics"], point_id=point,
                                       hq_id=net["hq"]["id"])
    result = await deposits.pay_deposit_by_card(settings, actor=net["actors"]["staff"],
                                               point_id=point, payment_method=card(localstripe))
    assert result["status"] == "succeeded"
    assert (await queries.deposit_status(point))["paid"]
    # fetching it again (as after the browser's redirect) credits nothing more
    await payments.refresh_payment(settings, payment_id=result["payment_id"])
    assert await DepositMovement.count() == 1
    with pytest.raises(Conflict):
        await deposits.pay_deposit_by_card(settings, actor=net["actors"]["staff"], point_id=point,
                                          payment_method=card(localstripe))
    # HQ needs the parts before it can ship them: stock arrives at HQ first
    await stock.move_stock([(net["hq"]["id"], net["parts"]["ELB-28"], "good", 100),
                              (net["hq"]["id"], net["parts"]["RT-32"], "good", 100)],
                             kind="receipt", reference="factory", actor=None)
    await deposits.ship_first_stock(actor=net["actors"]["logistics"], point_id=point,
                                   hq_id=net["hq"]["id"])
    shipped = {s["code"]: s["good"] for s in await queries.stock_of(point)}
    assert shipped == {"ELB-28": 10, "RT-32": 5}


async def test_r28_declined_card_credits_nothing(localstripe):
    net = await network()
    settings = stripe_settings(localstripe)
    with pytest.raises(RuleViolation, match="declined"):
        await deposits.pay_deposit_by_card(settings, actor=net["actors"]["staff"],
                                          point_id=net["point"]["id"],
                                          payment_method=card(localstripe, "4000000000000341"))
    assert await DepositMovement.count() == 0
    assert (await Payment.select(Payment.status).first())["status"] == "declined"


def _signed(event: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = at or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload.decode()}", secret)
    return payload, f"t={timestamp},v1={signature}"


async def _pending_payment(net, localstripe) -> dict:
    """A payment whose outcome we have not learnt (as after a timeout)."""
    from portal.db import raw_fetch

    settings = stripe_settings(localstripe)
    client_ = payments.client(settings)
    intent = client_.v1.payment_intents.create(params={
        "amount": 24500, "currency": "cny", "payment_method": card(localstripe),
        "payment_method_types": ["card"], "confirm": True})
    row = (await raw_fetch(
        "INSERT INTO payment (purpose, object_id, amount_fen, currency, idempotency_key, stripe_id, "
        "status, created_at, updated_at) VALUES ('deposit', $1, 24500, 'cny', 'k-1', $2, 'created', "
        "now(), now()) RETURNING *", str(net["point"]["id"]), intent.id))[0]
    return {"row": row, "intent": intent.to_dict()}


async def test_r28_webhook_verified_and_duplicate_delivery_credits_once(localstripe):
    net = await network()
    pending = await _pending_payment(net, localstripe)
    event = {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": pending["intent"]}}
    payload, signature = _signed(event)
    settings = stripe_settings(localstripe)
    assert await payments.handle_webhook(settings, payload=payload, signature=signature) == "processed"
    assert await payments.handle_webhook(settings, payload=payload, signature=signature) == "duplicate"
    assert await DepositMovement.count() == 1
    assert (await queries.deposit_status(net["point"]["id"]))["balance_fen"] == 24500


@pytest.mark.parametrize("forgery", ["wrong-secret", "stale", "tampered"])
async def test_r28_forged_or_stale_signature_refused_nothing_changes(localstripe, forgery):
    net = await network()
    pending = await _pending_payment(net, localstripe)
    event = {"id": "evt_2", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": pending["intent"]}}
    if forgery == "wrong-secret":
        payload, signature = _signed(event, secret="whsec_attacker")
    elif forgery == "stale":
        payload, signature = _signed(event, at=int(time.time()) - 3600)
    else:
        payload, signature = _signed(event)
        payload = payload.replace(b"24500", b"99999")
    with pytest.raises(payments.SignatureRejected):
        await payments.handle_webhook(stripe_settings(localstripe), payload=payload,
                                      signature=signature)
    assert await DepositMovement.count() == 0 and await StripeEvent.count() == 0


async def test_r28_redirect_claiming_success_credits_nothing(localstripe):
    """The browser's word is not trusted: the return page fetches the PaymentIntent, which here
    was never paid."""
    net = await network()
    async with client(stripe_secret_key="sk_test_portal", stripe_api_base=localstripe) as c:
        await login(c, "staff")
        r = await c.get(f"/repair-points/{net['point']['id']}/deposit/return"
                        "?payment_intent=pi_fake&redirect_status=succeeded")
        assert r.status_code == 303
    assert await DepositMovement.count() == 0


async def test_r28_webhook_endpoint_over_http(localstripe):
    net = await network()
    pending = await _pending_payment(net, localstripe)
    payload, signature = _signed({"id": "evt_3", "object": "event",
                                  "type": "payment_intent.succeeded",
                                  "data": {"object": pending["intent"]}})
    async with client(stripe_secret_key="sk_test_portal", stripe_api_base=localstripe,
                      stripe_webhook_secret=WEBHOOK_SECRET) as c:
        bad = await c.post("/webhooks/stripe", content=payload,
                           headers={"stripe-signature": "t=1,v1=deadbeef"})
        assert bad.status_code == 400
        ok = await c.post("/webhooks/stripe", content=payload, headers={"stripe-signature": signature})
        assert ok.status_code == 200 and ok.json() == {"received": "processed"}
    assert await DepositMovement.count() == 1


async def test_r28_bank_transfer_recorded_once_by_finance():
    net = await network()
    point = net["point"]["id"]
    with pytest.raises(Forbidden):
        await deposits.record_bank_transfer(actor=net["actors"]["staff"], point_id=point,
                                           amount_fen=24500, reference="ICBC-001")
    await deposits.record_bank_transfer(actor=net["actors"]["finance"], point_id=point,
                                       amount_fen=24500, reference="ICBC-001")
    with pytest.raises(Conflict):
        await deposits.record_bank_transfer(actor=net["actors"]["finance"], point_id=point,
                                           amount_fen=24500, reference="ICBC-001")
    assert (await queries.deposit_status(point))["paid"]
    assert await StockMovement.count() == 0


async def test_r28_webhook_delivered_by_localstripe_to_the_live_portal(localstripe):
    """localstripe itself POSTs the signed event to the running portal: verified, credited once
    (the direct answer to the charge and the webhook both arrive; one credit)."""
    import httpx

    from tests.browser.live import live_portal

    net = await network()
    settings = stripe_settings(localstripe)
    async with live_portal(stripe_secret_key="sk_test_portal", stripe_api_base=localstripe,
                           stripe_webhook_secret=WEBHOOK_SECRET) as base:
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{localstripe}/_config/webhooks/portal",
                                json={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET,
                                      "events": ["payment_intent.succeeded"]})
            assert r.status_code == 200
        await deposits.pay_deposit_by_card(settings, actor=net["actors"]["staff"],
                                          point_id=net["point"]["id"],
                                          payment_method=card(localstripe))
        for _ in range(400):  # delivery is asynchronous (up to 20 s on a busy machine)
            if await StripeEvent.count():
                break
            await asyncio.sleep(0.05)
    assert await StripeEvent.count() >= 1
    assert await DepositMovement.count() == 1


async def test_r28_out_of_order_event_does_not_undo_a_success(localstripe):
    net = await network()
    pending = await _pending_payment(net, localstripe)
    settings = stripe_settings(localstripe)
    succeeded = {"id": "evt_ok", "object": "event", "type": "payment_intent.succeeded",
                 "data": {"object": pending["intent"]}}
    stale = dict(pending["intent"], status="requires_payment_method")
    failed = {"id": "evt_old", "object": "event", "type": "payment_intent.payment_failed",
              "data": {"object": stale}}
    for event in (succeeded, failed):
        payload, signature = _signed(event)
        await payments.handle_webhook(settings, payload=payload, signature=signature)
    assert (await Payment.select(Payment.status).first())["status"] == "succeeded"
    assert await DepositMovement.count() == 1 and await StripeEvent.count() == 2
