"""R34 pages on a phone: the customer list and file, a return-visit plan and a survey at 390 px
wide in real Chromium, on the demo: no horizontal scrolling, no console error (CSP)."""
from datetime import datetime

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in

WHEN = datetime(2026, 12, 10, 10, 0, tzinfo=clock.CHINA)


async def test_r34_pages_fit_a_phone():
    with clock.frozen(WHEN):
        await _load_demo()
        customer = (await raw_fetch("SELECT id FROM customer WHERE phone = '13812340001'"))[0]
        plan = (await raw_fetch("SELECT id FROM return_visit_plan ORDER BY year DESC"))[0]
        survey = (await raw_fetch("SELECT id FROM survey"))[0]
        pages = {"js.store1": ["/customers", f"/customers/{customer['id']}"],
                 "js.manager": [f"/return-visits/{plan['id']}", f"/surveys/{survey['id']}",
                                "/customers"]}
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 390, "height": 844})
            for username, urls in pages.items():
                await page.context.clear_cookies()
                await sign_in(page, base, username, "demo-pass-2026")
                for url in urls:
                    await page.goto(base + url)
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    name = url.strip("/").replace("/", "-")
                    await page.screenshot(path=f"/tmp/r34-{username}-{name}.png", full_page=True)
                    assert width <= 390, (username, url, width)
            assert page.console_errors == []  # type: ignore[attr-defined]
