"""R35 journey in real Chromium on the demo: HQ opens the service dashboard, every chart renders
under the CSP (no console error), the drill-down goes from an office to its repair point and on
to the service calls behind a figure; an office manager's dashboard at 390 px (no sideways
scroll). Screenshots in /tmp/tower-shots/."""
from datetime import datetime

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in
from tower import rules

WHEN = datetime(2026, 12, 10, 10, 0, tzinfo=clock.CHINA)
SHOTS = "/tmp/tower-shots"


async def test_r35_hq_dashboard_charts_render_under_the_csp_and_drill_down_to_records():
    with clock.frozen(WHEN):
        await _load_demo()
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 1280, "height": 900})
            await sign_in(page, base, "hq.cs", "demo-pass-2026")
            await page.click("#nav-tower")
            await page.wait_for_selector(".tower-chart[data-rendered='1']")
            rendered = await page.locator(".tower-chart[data-rendered='1'] svg").count()
            assert rendered == len(rules.MEASURES)
            await page.screenshot(path=f"{SHOTS}/hq-zh-1280.png", full_page=True)
            # drill down: an office, then its repair point, then the calls behind a figure
            office = (await raw_fetch("SELECT o.id FROM organisation o JOIN portal_user u ON "
                                      "u.organisation = o.id WHERE u.username = 'sc.manager'"))[0]
            await page.click(f"#units a[href='/tower/org/{office['id']}']")
            await page.wait_for_selector(".tower-chart[data-rendered='1']")
            await page.click("#units a[href^='/tower/org/']")
            await page.wait_for_selector(".tower-chart[data-rendered='1']")
            await page.screenshot(path=f"{SHOTS}/point-zh-1280.png", full_page=True)
            await page.click("#card-on_site a")
            await page.wait_for_load_state("networkidle")
            assert page.url.startswith(base + "/service-calls?called_from=")
            assert await page.locator("table tbody tr").count() > 0
            await page.goto(base + "/tower/alerts")
            await page.click("#alert-list a")
            await page.screenshot(path=f"{SHOTS}/alert-zh-1280.png", full_page=True)
            await page.goto(base + "/tower/defects")
            await page.screenshot(path=f"{SHOTS}/defects-zh-1280.png", full_page=True)
            assert page.console_errors == []  # type: ignore[attr-defined]
            # an office manager, in English, on a phone
            await page.context.clear_cookies()
            await page.set_viewport_size({"width": 390, "height": 844})
            await sign_in(page, base, "sc.manager", "demo-pass-2026")
            await page.click("#lang-switch")
            await page.goto(base + "/tower")
            await page.wait_for_selector(".tower-chart[data-rendered='1']")
            width = await page.evaluate("document.documentElement.scrollWidth")
            await page.screenshot(path=f"{SHOTS}/office-en-390.png", full_page=True)
            assert width <= 390
            assert page.console_errors == []  # type: ignore[attr-defined]
