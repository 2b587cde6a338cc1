"""Goods after the decision in real Chromium (issue 13 acceptance, R13, seed 004 §5.2.6): CS
decides the exchanges; HQ logistics ships the replacement from its home's queue; the office
confirms a short delivery; logistics resolves the shortfall by crediting it; the office has its
rejected goods scrapped and logistics records the scrap lot with the recycler's certificate.
Screenshots: Chinese at 1280 px, English at 390 px (no page scrolls sideways)."""
from __future__ import annotations

import os
from pathlib import Path

from portal import clock
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.dealers.factory import IN_WINDOW, network
from tests.goods.factory import received, stock

SHOTS = Path(os.environ.get("GOODS_SHOTS", "/tmp/goods-shots"))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def _no_sideways_scroll(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide"


async def test_goods_journey_replacement_shipped_short_resolved_and_scrapped(tmp_path):
    net = await network()
    await stock(net, on_hand=100)
    batch_id = await received(net, [10, 4])
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    with clock.frozen(IN_WINDOW):
        async with live_portal() as base, browser_page() as page:
            await page.set_viewport_size({"width": 1280, "height": 900})
            # CS decides: 10 exchanged, 4 rejected (they still light)
            await sign_in(page, base, "cs")
            await page.goto(f"{base}/batches/{batch_id}/decide")
            await page.fill("#decide-2 input[name^=exchanged]", "0")
            await page.fill("#decide-2 input[name^=rejected]", "4")
            await page.select_option("#decide-2 select", label="能亮，不予换货")
            await page.click("#save-decision")
            await page.wait_for_load_state("networkidle")
            await page.goto(f"{base}/batches/{batch_id}")
            await page.wait_for_selector("#goods-replacement")  # the panel, loaded by htmx
            await sign_out(page)

            # HQ logistics: the order waits on its home; it ships it
            await sign_in(page, base, "logistics")
            assert (await page.text_content("#count-goods_to_ship")).strip() == "1"
            await page.click("#link-goods_to_ship")
            await page.click("#replacement-list a")
            await page.fill("#ship-carrier", "顺丰速运")
            await page.fill("#ship-waybill", "SF2026120901")
            await page.fill("#ship-packages", "2")
            await page.click("#ship")
            await page.wait_for_selector("#shipments .shipment")
            assert "已发出" in (await page.text_content("[role=status]"))
            await _shot(page, "replacement-shipped-zh-1280")
            replacement_url = page.url
            await sign_out(page)

            # the office confirms: 9 of 10 arrived
            await sign_in(page, base, "clerk")
            assert (await page.text_content("#count-goods_to_confirm")).strip() == "1"
            await page.goto(replacement_url)
            await page.fill("input[name^=received_]", "9")
            await page.fill("#confirm-note", "一箱破损")
            await page.click("button[id$=-button]")
            await page.wait_for_selector("p.alert[id^=short-]")
            await sign_out(page)

            # logistics resolves the shortfall: credited, with the reason
            await sign_in(page, base, "logistics")
            assert (await page.text_content("#count-goods_shortfalls")).strip() == "1"
            await page.goto(replacement_url)
            await page.check("#resolution-credit")
            await page.fill("#resolve-note", "承运商丢失一件，改为冲帐")
            await page.click("button[id^=resolve-][id$=-button]")
            await page.wait_for_selector("p[id^=resolved-]")
            assert (await page.text_content("#sum-shipped")).strip() == "9"
            assert (await page.text_content("#sum-credited")).strip() == "1"
            await sign_out(page)

            # the office has its rejected goods scrapped
            await sign_in(page, base, "clerk")
            await page.goto(f"{base}/batches/{batch_id}")
            await page.click("#goods-rejected a")
            await page.check("#choice-scrap")
            await page.click("#choose")
            await page.wait_for_selector("#rejected-status")
            await sign_out(page)

            # logistics scraps them in a lot with the recycler's certificate
            await sign_in(page, base, "logistics")
            await page.goto(base + "/goods/scrap-lots")
            await page.fill("#lot-recycler", "苏州市绿色照明回收有限公司")
            await page.fill("#lot-certificate-no", "HW-32-2026-0118")
            await page.set_input_files("#lot-certificate", str(certificate))
            await page.click("#lot-save")
            await page.wait_for_selector("#scrap-lots a")
            await page.click("#scrap-lots a")
            await page.wait_for_selector("#lot-mercury")
            assert "certificate.pdf" in await page.content()
            await _shot(page, "scrap-lot-zh-1280")

            # English at 390 px: the pages stay within the screen
            await page.set_extra_http_headers({"Accept-Language": "en"})
            await page.set_viewport_size({"width": 390, "height": 844})
            await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE username = 'logistics'")
            for name, url in (("replacement-en-390", replacement_url),
                              ("scrap-lots-en-390", base + "/goods/scrap-lots"),
                              ("replacements-en-390", base + "/goods/replacements")):
                await page.goto(url)
                await _no_sideways_scroll(page)
                await _shot(page, name)
            assert page.console_errors == []  # nothing broke the CSP
    lines = await raw_fetch("SELECT exchanged_qty, shipped_qty, credited_qty, owed_qty "
                            "FROM goods_replacement_line")
    assert [tuple(l.values()) for l in lines] == [(10, 9, 1, 0)]
    assert (await raw_fetch("SELECT status FROM goods_rejected"))[0]["status"] == "scrapped"
