"""R32 in real Chromium on a phone (390 px wide): a consumer complains on the public form and
keeps the reference; CS judges it and assigns it to the repair point concerned; the point
investigates and proposes a resolution; another CS colleague approves it; CS tells the consumer
and closes it; the consumer follows it with the reference and the phone number and reads the
answer. The repair point's free repair visit is a service call (R33): its staff record the call
and the visit and show the opinion card's link, which the consumer opens on their own phone and
scores. No page scrolls sideways and none breaks the CSP."""
from __future__ import annotations

from datetime import datetime

from portal import clock
from portal.clock import CHINA
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in
from tests.service.complaint_factory import world

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=CHINA)
PHONE_WIDTH = {"width": 390, "height": 844}


async def _no_sideways_scroll(page, what: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH["width"], f"{what}: {width} px wide"


async def _step(page, base: str, user: str, link: str, fill: dict[str, str], button: str,
                confirm: bool = False) -> None:
    await page.context.clear_cookies()
    await sign_in(page, base, user)
    await page.goto(base + link)
    await _no_sideways_scroll(page, f"{user} {link}")
    for selector, value in fill.items():
        if selector.startswith("select"):
            await page.select_option(selector.split(" ", 1)[1], value)
        else:
            await page.fill(selector, value)
    await page.click(button)
    if confirm:  # the page asks first (static/confirm.js)
        await page.click("#confirm-yes")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".flash-message").count() == 1, (user, button)


async def test_r32_a_consumer_complains_on_a_phone_and_follows_it_to_the_answer():
    with clock.frozen(NOW):
        w = await world()
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size(PHONE_WIDTH)
            await page.goto(base + "/complain")
            await _no_sideways_scroll(page, "/complain")
            await page.fill("#name", "李先生")
            await page.fill("#phone", "139 0000 1111")
            await page.select_option("#about", "repair_point")
            await page.select_option("#about-org", str(w.orgs["point"]["id"]))
            await page.fill("#description", "维修员上门迟到两小时。")
            await page.fill("#asks", "道歉。")
            await page.click("#send-complaint")
            await page.wait_for_load_state("networkidle")
            reference = (await page.text_content("#reference") or "").strip()
            assert reference.startswith("TS") and len(reference) == 10
            await _no_sideways_scroll(page, "the reference")

            await page.context.clear_cookies()
            await sign_in(page, base, "cs")
            await page.click("#link-complaints_to_judge")
            await page.wait_for_load_state("networkidle")
            await _no_sideways_scroll(page, "the list")
            await page.click(f"text={reference}")
            await page.wait_for_load_state("networkidle")
            link = page.url.removeprefix(base)
            await page.select_option("#judge-kind", "service")
            await page.fill("#judge-reason", "属实。")
            await page.click("#judge-stands")
            await page.wait_for_load_state("networkidle")
            # the repair point concerned is pre-selected for a service complaint about it
            assert await page.input_value("#assign-to") == "unit"
            assert await page.input_value("#assign-org") == str(w.orgs["point"]["id"])
            await page.click("#assign")
            await page.wait_for_load_state("networkidle")

            await _step(page, base, "staff", link, {"#investigate-cause": "路上堵车，未提前告知。",
                                                    "#investigate-responsible": "维修员"},
                        "#investigate")
            await _step(page, base, "staff", link, {"#propose-resolution": "上门致歉，免费维修。"},
                        "#propose")
            await _step(page, base, "cs2", link, {}, "#approve")
            await _visit_and_score(page, base)
            await _step(page, base, "cs", link, {"#tell-how": "12月10日电话告知。"}, "#tell")
            await _step(page, base, "cs", link, {"#close-accountability": "维修员通报批评。",
                                                 "#close-improvement": "预约改为短信提醒。"},
                        "#close", confirm=True)
            assert "history-closed" in await page.content()

            await page.context.clear_cookies()
            await page.goto(base + "/complain/status")
            await page.fill("#reference", reference.lower())
            await page.fill("#phone", "13900001111")
            await page.click("#check-status")
            await page.wait_for_load_state("networkidle")
            assert "上门致歉，免费维修。" in (await page.text_content("#answer") or "")
            await _no_sideways_scroll(page, "/complain/status")
            assert page.console_errors == []  # type: ignore[attr-defined]


async def _visit_and_score(page, base: str) -> None:
    """R33: the point records the visit its resolution promised, then the consumer scores it
    once, on their own phone, from the card's link (no account)."""
    await page.context.clear_cookies()
    await sign_in(page, base, "staff")
    await page.goto(base + "/service-calls/new")
    await _no_sideways_scroll(page, "/service-calls/new")
    await page.fill("#call-name", "李先生")
    await page.fill("#call-phone", "139 0000 1111")
    await page.fill("#call-area", "玄武区")
    await page.fill("#call-problem", "投诉处理：上门致歉，免费维修。")
    await page.click("#record-call")
    await page.wait_for_load_state("networkidle")
    await page.check("#outcome-fixed")
    await page.check("#visit-first-fix")
    await page.click("#record-visit")
    await page.wait_for_load_state("networkidle")
    await page.click("#card-link")
    await page.wait_for_load_state("networkidle")
    card_url = (await page.text_content("#card-url") or "").strip()
    assert "/card/" in card_url

    phone = await page.context.browser.new_context(locale="zh-CN", viewport=PHONE_WIDTH)
    customer = await phone.new_page()
    await customer.goto(card_url)
    await _no_sideways_scroll(customer, "the opinion card")
    for name, score in (("attitude", 5), ("skill", 5), ("punctuality", 4)):
        await customer.locator(f"#score-{name} .score-choice span").nth(score - 1).click()
    await customer.click("#card-submit")
    await customer.wait_for_load_state("networkidle")
    assert await customer.is_visible("#card-thanks")
    await phone.close()
    cards = await raw_fetch("SELECT attitude, skill, punctuality, channel FROM opinion_card "
                            "WHERE submitted_at IS NOT NULL")
    assert [tuple(c.values()) for c in cards] == [(5, 5, 4, "link")]
