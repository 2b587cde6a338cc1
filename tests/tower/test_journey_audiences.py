"""R35 journeys in real Chromium on the demo for the two other audiences of the dashboard: the
regional manager (the offices covered) and a repair point (itself). Each dashboard draws every
chart under the CSP (no console error, an SVG in each chart's box) and a drill-down link
reaches the records behind a figure. Screenshots in /tmp/tower-shots/."""
from datetime import datetime

from portal import clock
from portal.cli import _load_demo
from tests.browser.live import browser_page, live_portal, sign_in
from tower import rules

WHEN = datetime(2026, 12, 10, 10, 0, tzinfo=clock.CHINA)
SHOTS = "/tmp/tower-shots"
CHARTS = ".tower-chart[data-rendered='1']"


async def _charts_drawn(page) -> None:
    await page.wait_for_selector(CHARTS)
    assert await page.locator(f"{CHARTS} svg").count() == len(rules.MEASURES)


async def _records_behind_on_site(page, base: str) -> None:
    """The headline's on-site figure opens the service calls it counts, and there are some."""
    await page.click("#card-on_site a")
    await page.wait_for_load_state("networkidle")
    assert page.url.startswith(base + "/service-calls?called_from=")
    assert await page.locator("table tbody tr").count() > 0


async def test_r35_regional_managers_dashboard_charts_and_drill_down():
    with clock.frozen(WHEN):
        await _load_demo()
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 1280, "height": 900})
            await sign_in(page, base, "rm.east", "demo-pass-2026")
            await page.click("#nav-tower")
            await _charts_drawn(page)
            await page.screenshot(path=f"{SHOTS}/regional-zh-1280.png", full_page=True)
            # only the offices covered are listed; one of them opens with its own charts
            offices = page.locator("#units a[href^='/tower/org/']")
            assert await offices.count() == 4  # Jiangsu, Shanghai, Zhejiang, Anhui
            await offices.first.click()
            await _charts_drawn(page)
            await page.go_back()
            await _charts_drawn(page)
            await _records_behind_on_site(page, base)
            assert page.console_errors == []  # type: ignore[attr-defined]


async def test_r35_repair_points_dashboard_charts_and_drill_down():
    with clock.frozen(WHEN):
        await _load_demo()
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 390, "height": 844})
            await sign_in(page, base, "js.repair", "demo-pass-2026")
            await page.goto(base + "/tower")  # on a phone the navigation sits in the menu
            await _charts_drawn(page)
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await page.screenshot(path=f"{SHOTS}/point-zh-390.png", full_page=True)
            await _records_behind_on_site(page, base)
            assert "point=" in page.url  # the point's own calls
            assert page.console_errors == []  # type: ignore[attr-defined]
