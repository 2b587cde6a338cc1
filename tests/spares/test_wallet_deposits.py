"""R28: deposits by Alipay and WeChat Pay, where the account enables them, through the official
Stripe SDK against a real local fake server (tests/spares/fake_wallets.py: localstripe has no
wallet PaymentIntents). Credited only from the verified webhook or a fetched PaymentIntent."""
import asyncio
import re

import httpx
import pytest

from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation
from portal.settings import Settings
from portal.tables import Payment, StripeEvent, User
from spares import queries, wallets
from spares.tables import DepositMovement
from tests.browser.live import live_portal
from tests.helpers import api_token, client, login
from tests.spares.factory import WEBHOOK_SECRET, network, stripe_settings
from tests.spares.fake_wallets import FakeWallets

BOTH = ("alipay", "wechat_pay")


@pytest.fixture
def fake():
    with FakeWallets() as server:
        yield server


def _stripe(fake, wallets_=BOTH, **extra) -> dict:
    return {"stripe_secret_key": "sk_test_portal", "stripe_api_base": fake.base,
            "stripe_webhook_secret": WEBHOOK_SECRET, "stripe_wallets": wallets_, **extra}


def _control(fake, intent_id: str, action: str = "authorise", deliveries: int = 1) -> dict:
    r = httpx.post(f"{fake.base}/_test/payment_intents/{intent_id}/{action}",
                   json={"deliveries": deliveries}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


async def _network() -> dict:
    """The factory's network, its repair point's staff reading English."""
    net = await network()
    await User.update({User.locale: "en"}).where(User.username == "staff")
    return net


async def _balance(point_id: int) -> int:
    return (await queries.deposit_status(point_id))["balance_fen"]


async def test_r28_alipay_redirect_then_return_without_authorisation_credits_nothing(fake):
    net = await _network()
    point = net["point"]["id"]
    async with client(**_stripe(fake), base_url="https://portal.test") as c:
        token = await login(c, "staff")
        r = await c.post(f"/repair-points/{point}/wallet",
                         data={"_csrf": token, "method": "alipay"})
        assert r.status_code == 200
        [intent] = fake.intents.values()
        url = intent["next_action"]["alipay_handle_redirect"]["url"]
        # the page sends the browser to Alipay (a meta refresh: CSP form-action blocks a 303 there)
        assert f'http-equiv="refresh" content="0; url={url}"' in r.text
        assert f'id="alipay-continue" href="{url}"' in r.text
        assert intent["next_action"]["alipay_handle_redirect"]["return_url"] == (
            f"https://portal.test/repair-points/{point}/deposit/return")
        assert intent["amount"] == 24500 and intent["payment_method_types"] == ["alipay"]
        # the payer comes straight back, claiming success, without authorising in Alipay
        back = await c.get(f"/repair-points/{point}/deposit/return?payment_intent={intent['id']}"
                           "&redirect_status=succeeded")
        assert back.status_code == 303
    assert await DepositMovement.count() == 0 and await _balance(point) == 0
    assert (await Payment.select(Payment.status).first())["status"] == "requires_action"


async def test_r28_alipay_authorised_webhook_credits_once_despite_duplicate_delivery(fake):
    net = await _network()
    point = net["point"]["id"]
    async with live_portal(**_stripe(fake)) as base:
        httpx.post(f"{fake.base}/_config/webhook",
                   json={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET})
        view = await wallets.pay_deposit_by_wallet(stripe_settings(fake.base, stripe_wallets=BOTH),
                                                   actor=net["actors"]["staff"], point_id=point,
                                                   method="alipay")
        assert view["status"] == "requires_action" and view["redirect_url"].startswith(fake.base)
        assert await _balance(point) == 0  # started, not paid
        settled = _control(fake, view["stripe_id"], deliveries=2)
    assert [d["status"] for d in settled["deliveries"]] == [200, 200]
    assert [d["body"]["received"] for d in settled["deliveries"]] == ["processed", "duplicate"]
    assert await DepositMovement.count() == 1 and await StripeEvent.count() == 1
    assert await _balance(point) == 24500 and (await queries.deposit_status(point))["paid"]
    # the browser then comes back: fetching the intent again credits nothing more
    view = await wallets.deposit_payment(stripe_settings(fake.base, stripe_wallets=BOTH),
                                         actor=net["actors"]["staff"], point_id=point,
                                         payment_id=view["payment_id"])
    assert view["paid"] and await DepositMovement.count() == 1


async def test_r28_wechat_qr_shown_and_polling_shows_paid_only_once_stripe_says_succeeded(fake):
    net = await _network()
    point = net["point"]["id"]
    async with client(**_stripe(fake)) as c:
        token = await login(c, "staff")
        r = await c.post(f"/repair-points/{point}/wallet",
                         data={"_csrf": token, "method": "wechat_pay"})
        assert r.status_code == 303
        page_url = r.headers["location"]
        [intent] = fake.intents.values()
        assert intent["payment_method_options"]["wechat_pay"]["client"] == "web"
        qr = intent["next_action"]["wechat_pay_display_qr_code"]["image_data_url"]
        page = await c.get(page_url)
        assert page.status_code == 200 and f'<img src="{qr}"' in page.text
        assert 'hx-trigger="every 3s"' in page.text and "<script>" not in page.text  # CSP
        poll = await c.get(page_url, headers={"HX-Request": "true"})
        assert poll.status_code == 200 and poll.text.lstrip().startswith('<div id="wallet-status"')
        assert 'data-state="waiting"' in poll.text and "<html" not in poll.text
        assert await DepositMovement.count() == 0
        _control(fake, intent["id"], deliveries=0)  # paid in WeChat; no webhook yet
        poll = await c.get(page_url, headers={"HX-Request": "true"})
        assert 'data-state="paid"' in poll.text and "hx-trigger" not in poll.text  # polling stops
        await c.get(page_url, headers={"HX-Request": "true"})  # a late poll changes nothing
    assert await DepositMovement.count() == 1 and await _balance(point) == 24500


async def test_r28_wechat_declined_credits_nothing_and_the_point_can_retry(fake):
    net = await _network()
    point, staff = net["point"]["id"], net["actors"]["staff"]
    async with live_portal(**_stripe(fake)) as base:
        httpx.post(f"{fake.base}/_config/webhook",
                   json={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET})
        settings = stripe_settings(fake.base, stripe_wallets=BOTH)
        first = await wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point,
                                                    method="wechat_pay")
        assert first["qr_image"].startswith("data:image/png;base64,")
        declined = _control(fake, first["stripe_id"], action="decline")
        assert declined["deliveries"][0]["body"] == {"received": "processed"}
        row = await Payment.select(Payment.status).where(Payment.id == first["payment_id"]).first()
        assert row["status"] == "requires_payment_method"
        view = await wallets.deposit_payment(settings, actor=staff, point_id=point,
                                             payment_id=first["payment_id"])
        assert view["failed"] and not view["paid"]
        assert await DepositMovement.count() == 0
        second = await wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point,
                                                     method="wechat_pay")
        assert second["stripe_id"] != first["stripe_id"]
        _control(fake, second["stripe_id"])
    assert await DepositMovement.count() == 1 and await _balance(point) == 24500
    with pytest.raises(Conflict):  # and then it is paid: no third payment
        await wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point, method="alipay")


async def test_r28_declined_page_offers_a_retry(fake):
    net = await _network()
    point = net["point"]["id"]
    async with client(**_stripe(fake)) as c:
        token = await login(c, "staff")
        r = await c.post(f"/repair-points/{point}/wallet",
                         data={"_csrf": token, "method": "wechat_pay"})
        [intent] = fake.intents.values()
        _control(fake, intent["id"], action="decline", deliveries=0)
        poll = await c.get(r.headers["location"], headers={"HX-Request": "true"})
        assert 'data-state="failed"' in poll.text and "nothing was charged" in poll.text
        assert 'id="pay-again"' in poll.text
        assert "hx-trigger" not in poll.text
    assert await DepositMovement.count() == 0


async def test_r28_method_not_enabled_is_refused_with_a_clear_message(fake):
    net = await _network()
    point = net["point"]["id"]
    with pytest.raises(RuleViolation, match="not enabled"):
        await wallets.pay_deposit_by_wallet(stripe_settings(fake.base, stripe_wallets=("alipay",)),
                                            actor=net["actors"]["staff"], point_id=point,
                                            method="wechat_pay")
    async with client(**_stripe(fake, ("alipay",))) as c:
        token = await login(c, "staff")
        for method in ("wechat_pay", "bitcoin"):
            r = await c.post(f"/repair-points/{point}/wallet",
                             data={"_csrf": token, "method": method})
            assert r.status_code == 422
            assert re.search(r'id="action-error">This payment method is not enabled for this '
                             r"account; choose another way to pay.<", r.text)
    assert fake.creates == 0 and await Payment.count() == 0


@pytest.mark.parametrize("enabled", [(), ("alipay",), ("wechat_pay",), BOTH])
async def test_r28_pay_page_offers_only_the_enabled_methods(fake, enabled):
    net = await _network()
    point = net["point"]["id"]
    async with client(**_stripe(fake, enabled), stripe_publishable_key="pk_test_portal") as c:
        token = await login(c, "staff")
        page = await c.post(f"/repair-points/{point}/pay", data={"_csrf": token})
        assert page.status_code == 200 and 'id="payment-form"' in page.text  # card as before
        for method in BOTH:
            assert (f'id="pay-{method}"' in page.text) == (method in enabled)
        assert ('id="wallets"' in page.text) == bool(enabled)


async def test_r28_a_new_wallet_payment_cancels_the_open_one(fake):
    """A QR code left open must not be payable once the point starts another payment."""
    net = await _network()
    point, staff = net["point"]["id"], net["actors"]["staff"]
    settings = stripe_settings(fake.base, stripe_wallets=BOTH)
    first = await wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point,
                                                method="wechat_pay")
    second = await wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point,
                                                 method="alipay")
    assert fake.intents[first["stripe_id"]]["status"] == "canceled"
    assert fake.intents[second["stripe_id"]]["status"] == "requires_action"
    statuses = {r["stripe_id"]: r["status"] for r in await Payment.select()}
    assert statuses == {first["stripe_id"]: "canceled", second["stripe_id"]: "requires_action"}
    late = httpx.post(f"{fake.base}/_test/payment_intents/{first['stripe_id']}/authorise",
                      json={"deliveries": 0})
    assert late.status_code == 409


async def test_r28_a_lost_answer_is_retried_with_the_stored_key_and_pays_once(fake):
    net = await _network()
    fake.drop_next_answer = True  # Stripe creates the intent, its answer never arrives
    view = await wallets.pay_deposit_by_wallet(stripe_settings(fake.base, stripe_wallets=BOTH),
                                               actor=net["actors"]["staff"],
                                               point_id=net["point"]["id"], method="alipay")
    assert fake.creates == 1 and list(fake.intents) == [view["stripe_id"]]
    row = (await raw_fetch("SELECT * FROM payment"))[0]
    assert row["stripe_id"] == view["stripe_id"] and row["idempotency_key"] in fake.replies


async def test_r28_only_the_point_itself_pays_or_polls_its_deposit(fake):
    net = await _network()
    point = net["point"]["id"]
    settings = stripe_settings(fake.base, stripe_wallets=BOTH)
    view = await wallets.pay_deposit_by_wallet(settings, actor=net["actors"]["staff"],
                                               point_id=point, method="wechat_pay")
    for who in ("manager", "finance"):
        with pytest.raises(Forbidden, match="Only the repair point"):
            await wallets.pay_deposit_by_wallet(settings, actor=net["actors"][who],
                                                point_id=point, method="alipay")
        with pytest.raises(Forbidden, match="Only the repair point"):
            await wallets.deposit_payment(settings, actor=net["actors"][who], point_id=point,
                                          payment_id=view["payment_id"])
    with pytest.raises(NotFound):  # a payment of another object
        await wallets.deposit_payment(settings, actor=net["actors"]["staff"], point_id=point,
                                      payment_id=view["payment_id"] + 1)


async def test_r28_wallet_deposit_over_the_api(fake):
    net = await _network()
    point = net["point"]["id"]
    token = await api_token(net["users"]["staff"])
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    async with client(**_stripe(fake, ("alipay",))) as c:
        refused = await c.post(f"/api/v1/repair-points/{point}/deposit/wallet", headers=headers,
                               json={"method": "wechat_pay"})
        assert refused.status_code == 422 and "not enabled" in refused.text
        r = await c.post(f"/api/v1/repair-points/{point}/deposit/wallet", headers=headers,
                         json={"method": "alipay"})
        assert r.status_code == 200 and r.json()["redirect_url"].startswith(fake.base)
        status_url = f"/api/v1/repair-points/{point}/deposit/payments/{r.json()['payment_id']}"
        assert (await c.get(status_url, headers=headers)).json()["paid"] is False
        _control(fake, r.json()["stripe_id"], deliveries=0)
        assert (await c.get(status_url, headers=headers)).json()["paid"] is True
    assert await DepositMovement.count() == 1


def test_r28_wallet_setting_parsed_and_typos_refused(monkeypatch):
    monkeypatch.setenv("PORTAL_STRIPE_WALLETS", " alipay, WeChat_Pay ,alipay")
    assert Settings.from_env(db_pool=False).stripe_wallets == ("alipay", "wechat_pay")
    monkeypatch.setenv("PORTAL_STRIPE_WALLETS", "")
    assert Settings.from_env(db_pool=False).stripe_wallets == ()
    monkeypatch.setenv("PORTAL_STRIPE_WALLETS", "alipay,wechat")
    with pytest.raises(ValueError, match="wechat"):
        Settings.from_env(db_pool=False)


async def test_r28_payments_started_at_the_same_instant_leave_one_payable_intent(fake):
    """Three starts at once (a double click, two tabs): the others are refused plainly or
    cancelled, and only one QR code / Alipay page can be paid."""
    net = await _network()
    point, staff = net["point"]["id"], net["actors"]["staff"]
    settings = stripe_settings(fake.base, stripe_wallets=BOTH)
    results = await asyncio.gather(*[
        wallets.pay_deposit_by_wallet(settings, actor=staff, point_id=point, method=method)
        for method in ("wechat_pay", "alipay", "wechat_pay")], return_exceptions=True)
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, Conflict) for r in refused), refused
    payable = [i for i in fake.intents.values() if i["status"] == "requires_action"]
    assert len(payable) == 1 and len(refused) + len(fake.intents) == 3
    rows = await raw_fetch("SELECT stripe_id FROM payment WHERE status = 'requires_action'")
    assert [r["stripe_id"] for r in rows] == [payable[0]["id"]]
