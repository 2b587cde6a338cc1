"""Browser journey in real Chromium (issue 3): a clerk drafts in the window, the manager signs,
CS approves, the form prints with its QR code, logistics receives with a short count, CS
decides, and the clerk reads the receipt with the reasons."""
from portal import clock
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.dealers.factory import IN_WINDOW, network


async def test_return_batch_from_draft_to_receipt():
    net = await network()
    with clock.frozen(IN_WINDOW):
        async with live_portal() as base, browser_page() as page:
            # the clerk drafts inside the window and adds two lines in place (htmx)
            await sign_in(page, base, "clerk")
            await page.goto(base + "/batches")
            await page.click("#new-batch")
            await page.wait_for_selector("#line-form")
            batch_url = page.url
            for quantity, lights in (("10", False), ("4", True)):
                await page.select_option("#line-product", str(net["products"]["cfl"]))
                await page.fill("#line-quantity", quantity)
                await page.fill("#line-date-code", "20260301")
                await page.fill("#line-cap", "90")
                if lights:
                    await page.check("#line-lights")
                    await page.wait_for_selector("#verdict .badge.alarm")  # expected: rejected
                await page.click("#add-line")
                await page.wait_for_selector(f"#line-{1 if quantity == '10' else 2}")
            assert page.url == batch_url  # added in place, no navigation
            await page.click("#submit-batch")
            await page.wait_for_selector("#batch-status")
            await sign_out(page)

            await sign_in(page, base, "manager")
            await page.goto(batch_url)
            await page.click("#sign-batch")
            await page.wait_for_load_state("networkidle")
            await sign_out(page)

            await sign_in(page, base, "cs")
            await page.goto(batch_url)
            await page.click("#approve-batch")
            await page.wait_for_load_state("networkidle")
            await page.click("#print-form")
            await page.wait_for_selector("#form-qr svg")
            number = (await page.text_content("#form-number")).strip()
            qr_url = await page.get_attribute("#form-qr", "data-url")
            assert qr_url.endswith(f"/receiving?number={number}")
            await page.screenshot(path="/tmp/portal-form.png", full_page=True)
            await sign_out(page)

            # logistics opens the QR link, records the arrival and counts one CFL short
            await sign_in(page, base, "logistics")
            await page.goto(qr_url)
            assert await page.input_value("#dock-number") == number
            await page.click("#record-arrival")
            await page.wait_for_selector("#count-form")
            # blind counting (R12, issue 12 §3): nothing pre-filled, every line counted
            assert await page.input_value("#received-1") == ""
            await page.fill("#received-1", "9")
            await page.fill("#received-2", "4")
            await page.click("#save-count")
            await page.wait_for_selector("tr.differs")
            await sign_out(page)

            # CS decides: the rules propose 9 exchanged and 4 rejected (it lights)
            await sign_in(page, base, "cs")
            await page.goto(batch_url + "/decide")
            assert await page.input_value("#decide-1 input[name^=exchanged]") == "9"
            assert await page.input_value("#decide-2 input[name^=rejected]") == "4"
            await page.select_option("#decide-2 select", label="能亮，不予换货")
            await page.click("#save-decision")
            await page.wait_for_load_state("networkidle")
            await sign_out(page)

            # the clerk reads the receipt
            await sign_in(page, base, "clerk")
            await page.goto(batch_url)
            status = (await page.text_content("#batch-status")).strip()
            assert status == "已处理"
            receipt = await page.text_content("#line-2 .receipt")
            assert "能亮，不予换货" in receipt
            assert (await page.text_content("#line-1")).count("9") >= 2
            assert page.console_errors == []
