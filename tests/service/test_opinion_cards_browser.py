"""R33 in real Chromium at 390 px (a phone): the office records a call, the repair point records
the visit and shows the card's link and QR code, the customer opens the link on their own phone
(no account), taps the scores (tap targets of at least 44 px, nothing scrolls sideways) and
sends it; the link then says the card was already filled in; the point sees the scores."""
import re

from portal import clock
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.service.test_calls import NOW, call_world

PHONE = {"width": 390, "height": 844}


async def _fits(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width} px"


async def test_r33_a_call_visited_and_scored_on_a_phone():
    await call_world()
    with clock.frozen(NOW):
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size(PHONE)
            await sign_in(page, base, "clerk_a")
            await page.goto(base + "/service-calls/new")
            await _fits(page)
            await page.fill("#call-name", "张先生")
            await page.fill("#call-phone", "138 1234 5678")
            await page.fill("#call-area", "玄武区")
            await page.fill("#call-problem", "吸顶灯不亮")
            await page.click("#record-call")
            await page.wait_for_load_state("networkidle")
            assert re.search(r"/service-calls/\d+$", page.url)
            call_url = page.url
            await _fits(page)
            await sign_out(page)

            await sign_in(page, base, "staff_a1b")
            await page.goto(call_url)
            await page.check("#outcome-fixed")
            await page.check("#visit-first-fix")
            await page.click("#record-visit")
            await page.wait_for_load_state("networkidle")
            assert "报修单" in await page.text_content("#flash")
            await page.click("#card-link")
            await page.wait_for_load_state("networkidle")
            assert await page.is_visible("#card-qr svg")
            await _fits(page)
            card_url = (await page.text_content("#card-url")).strip()
            await sign_out(page)

            # the customer's own phone: a fresh browser context, no account
            phone = await page.context.browser.new_context(locale="zh-CN", viewport=PHONE)
            customer = await phone.new_page()
            errors = []
            customer.on("console", lambda m: m.type == "error" and errors.append(m.text))
            await customer.goto(card_url)
            await _fits(customer)
            for name, score in (("attitude", 5), ("skill", 4), ("punctuality", 5)):
                choice = customer.locator(f"#score-{name} .score-choice span").nth(score - 1)
                box = await choice.bounding_box()
                assert box and box["height"] >= 44 and box["width"] >= 44, (name, box)
                await choice.click()
            await customer.fill("#card-comments", "师傅很准时")
            await customer.click("#card-submit")
            await customer.wait_for_load_state("networkidle")
            assert await customer.is_visible("#card-thanks")
            await customer.goto(card_url)  # the same link again
            assert await customer.is_visible("#card-filled")
            assert errors == [] and page.console_errors == []
            await phone.close()

            await sign_in(page, base, "staff_a1b")
            await page.goto(call_url)
            assert (await page.text_content("#score-skill")).strip() == "4 / 5"
    card = (await raw_fetch("SELECT * FROM opinion_card"))[0]
    assert (card["attitude"], card["skill"], card["punctuality"], card["channel"]) == (
        5, 4, 5, "link")
