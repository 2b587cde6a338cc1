"""Browser journey in real Chromium (issue 2): sign in, see the return window, switch
language, sign out; the Jilin office is told it has no window; htmx works under the CSP."""
from datetime import datetime
from zoneinfo import ZoneInfo

from portal import clock, notify
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.helpers import make_org, make_user

CHINA = ZoneInfo("Asia/Shanghai")


async def test_clerk_sees_window_switches_language_and_signs_out():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    await make_user(office, ["dealer_clerk"], username="js.clerk")
    with clock.frozen(datetime(2026, 12, 9, 10, tzinfo=CHINA)):
        async with live_portal() as base, browser_page() as page:
            await page.goto(base + "/")
            assert page.url.startswith(base + "/login")
            await sign_in(page, base, "js.clerk")
            assert await page.get_attribute("html", "lang") == "zh-CN"
            state = await page.text_content("#window-state")
            assert "2026-12-14" in state
            await page.screenshot(path="/tmp/portal-home-zh.png")
            await page.click("#lang-switch")
            await page.wait_for_load_state("networkidle")
            assert await page.get_attribute("html", "lang") == "en"
            assert "Open now, until the end of 2026-12-14." == (
                await page.text_content("#window-state")).strip()
            await sign_out(page)
            assert page.url.startswith(base + "/login")
            await page.goto(base + "/")
            assert page.url.startswith(base + "/login")
            assert page.console_errors == []


async def test_jilin_office_is_told_it_has_no_window():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JL", name="吉林办事处")
    await make_user(office, ["dealer_clerk"], username="jl.clerk")
    with clock.frozen(datetime(2026, 12, 9, 10, tzinfo=CHINA)):
        async with live_portal() as base, browser_page() as page:
            await sign_in(page, base, "jl.clerk")
            assert await page.locator(".window-unassigned").count() == 1


async def test_htmx_marks_notification_read_in_place_under_the_csp():
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region="CN-JS")
    user = await make_user(office, ["dealer_clerk"], username="clerk")
    await notify.notify(user_ids=[user["id"]], kind="test", dedupe_key="k", subject="Hello",
                        body="Body")
    async with live_portal() as base, browser_page() as page:
        await sign_in(page, base, "clerk")
        await page.goto(base + "/inbox")
        assert await page.locator("li.unread").count() == 1
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        await page.click("#inbox li.unread button")
        await page.wait_for_selector("li.read")
        assert navigations == []  # swapped in place by htmx, no page load
        assert page.url == base + "/inbox"
        assert page.console_errors == []
