"""Browser journey in real Chromium (issue 4): an office proposes a repair point, CS approves,
the point pays its deposit by card (Stripe.js served by localstripe, charged through the
official SDK), records a repair using a part and requests an exchange; the office completes it."""
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spares import stock
from spares.tables import DepositMovement, StockTemplate
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.helpers import make_user
from tests.spares.factory import network


@pytest.fixture
def localstripe_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("localstripe") or str(Path(sys.executable).parent / "localstripe")
    proc = subprocess.Popen([exe, "--port", str(port), "--from-scratch"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


async def test_repair_point_from_proposal_to_exchange(localstripe_server):
    net = await network()
    parts = net["parts"]
    await stock.move_stock([(net["hq"]["id"], parts["ELB-28"], "good", 50),
                              (net["hq"]["id"], parts["RT-32"], "good", 50),
                              (net["office"]["id"], parts["ELB-28"], "good", 5)],
                             kind="receipt", reference="factory", actor=None)
    assert await StockTemplate.count() == 2
    settings = dict(stripe_secret_key="sk_test_portal", stripe_api_base=localstripe_server,
                    stripe_publishable_key="pk_test_portal",
                    stripe_js_url=f"{localstripe_server}/js.stripe.com/v3/")
    async with live_portal(**settings) as base, browser_page() as page:
        await sign_in(page, base, "manager")
        await page.goto(base + "/repair-points")
        await page.fill("#propose-form input[name=name]", "新街口维修点")
        await page.fill("#propose-form input[name=coverage_area]", "鼓楼区")
        await page.fill("#propose-form input[name=address]", "新街口灯具市场")
        await page.fill("#propose-form input[name=proposed_fee]", "200.00")
        await page.click("#propose-submit")
        await page.wait_for_load_state("networkidle")
        await sign_out(page)

        await sign_in(page, base, "cs")
        await page.goto(base + "/repair-points")
        await page.click("#applications tr:first-child button[name=approve][value=\"1\"]")
        await page.wait_for_selector("#deposit")
        point_url = page.url
        point_id = int(point_url.rstrip("/").rsplit("/", 1)[1])
        await sign_out(page)

        await make_user({"id": point_id}, ["repair_staff"], username="point.staff")
        await sign_in(page, base, "point.staff")
        await page.goto(point_url)
        await page.click("#pay-deposit")
        await page.wait_for_selector("#card-element input")
        await page.fill("#card-element input[placeholder=number]", "4242424242424242")
        await page.fill("#card-element input[placeholder=exp_month]", "12")
        await page.fill("#card-element input[placeholder=exp_year]", "30")
        await page.fill("#card-element input[placeholder=cvc]", "123")
        await page.fill("#card-element input[placeholder=postal_code]", "21000")
        await page.click("#pay-submit")
        await page.wait_for_selector("#deposit .badge.ok")
        assert await DepositMovement.count() == 1
        await sign_out(page)

        await sign_in(page, base, "logistics")
        await page.goto(point_url)
        await page.click("#ship-stock")
        await page.wait_for_selector("#deposit .badge.ok >> nth=1")
        await sign_out(page)

        await sign_in(page, base, "point.staff")
        await page.goto(point_url)
        await page.fill("#repair-form input[name=customer]", "赵先生")
        await page.fill("#repair-form input[name=purchase_date]", "2026-01-05")
        await page.fill("#repair-form input[name=proof]", "发票 001")
        await page.select_option("#repair-form select[name=spare_part_id]", str(parts["ELB-28"]))
        await page.fill("#repair-form input[name=parts_quantity]", "1")
        await page.click("#repair-form button")
        await page.wait_for_selector("#repairs tbody tr")
        assert (await page.text_content("#stock-ELB-28 .faulty")).strip() == "1"
        await page.select_option("#exchange-form select[name=spare_part_id]", str(parts["ELB-28"]))
        await page.fill("#exchange-form input[name=quantity]", "1")
        await page.click("#exchange-form button")
        await page.wait_for_load_state("networkidle")
        await sign_out(page)

        await sign_in(page, base, "clerk")
        await page.goto(base + "/repair-points/exchanges")
        await page.click("#exchanges tbody tr:first-child button")
        await page.wait_for_load_state("networkidle")
        assert "已完成" in await page.text_content("#exchanges")
        await page.goto(point_url)
        assert (await page.text_content("#stock-ELB-28 .good")).strip() == "10"
        assert (await page.text_content("#stock-ELB-28 .faulty")).strip() == "0"
        assert page.console_errors == []
