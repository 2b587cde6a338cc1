"""R28 in real Chromium: a repair point pays its deposit by WeChat Pay (the QR code shows, the
status polls through htmx under the portal's CSP and turns to "paid" once Stripe says so) or
starts Alipay (the page takes the browser to Alipay; coming back without authorising credits
nothing). Stripe is the local fake of tests/spares/fake_wallets.py."""
import httpx
import pytest

from spares.tables import DepositMovement
from tests.browser.live import browser_page, live_portal, sign_in
from tests.spares.factory import WEBHOOK_SECRET, network
from tests.spares.fake_wallets import FakeWallets


@pytest.fixture
def fake():
    with FakeWallets() as server:
        yield server


def _settings(fake) -> dict:
    return dict(stripe_secret_key="sk_test_portal", stripe_api_base=fake.base,
                stripe_publishable_key="pk_test_portal", stripe_webhook_secret=WEBHOOK_SECRET,
                stripe_js_url=f"{fake.base}/_test/stripe.js",
                stripe_wallets=("alipay", "wechat_pay"))


async def _to_pay_page(page, base: str, point: int) -> None:
    await sign_in(page, base, "staff")
    await page.goto(f"{base}/repair-points/{point}")
    await page.click("#pay-deposit")
    await page.wait_for_load_state("networkidle")


async def test_r28_wechat_pay_qr_polls_until_stripe_confirms(fake):
    net = await network()
    point = net["point"]["id"]
    async with live_portal(**_settings(fake)) as base, browser_page() as page:
        httpx.post(f"{fake.base}/_config/webhook",
                   json={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET})
        await _to_pay_page(page, base, point)
        await page.click("#pay-wechat_pay")
        await page.wait_for_selector('#wallet-status[data-state="waiting"]')
        # the data: QR image is allowed by the CSP and really drawn
        assert await page.eval_on_selector("#wechat-qr img", "i => i.naturalWidth") > 0
        [intent] = fake.intents.values()
        await page.wait_for_timeout(3500)  # a poll or more while nothing is paid
        assert await page.get_attribute("#wallet-status", "data-state") == "waiting"
        assert await DepositMovement.count() == 0
        r = httpx.post(f"{fake.base}/_test/payment_intents/{intent['id']}/authorise",
                       json={"deliveries": 1}, timeout=60)
        assert r.json()["deliveries"][0]["status"] == 200
        await page.wait_for_selector('#wallet-status[data-state="paid"]', timeout=10_000)
        assert page.console_errors == []  # no CSP violation, no failed request
    assert await DepositMovement.count() == 1


async def test_r28_alipay_takes_the_browser_there_and_back_without_crediting(fake):
    net = await network()
    point = net["point"]["id"]
    async with live_portal(**_settings(fake)) as base, browser_page() as page:
        await _to_pay_page(page, base, point)
        await page.click("#pay-alipay")
        await page.wait_for_url(f"{fake.base}/_test/alipay/*")
        assert "Alipay (test)" in await page.content()
        await page.click("#return")  # back to the portal, nothing authorised
        await page.wait_for_url(f"{base}/repair-points/{point}")
        assert await page.get_attribute("#deposit .badge", "class") == "badge alarm"  # still due
    assert await DepositMovement.count() == 0
