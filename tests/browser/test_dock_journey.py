"""Issue 12 acceptance in real Chromium on a phone (390 x 844, touch): the dock's journey from
the expected arrivals to a counted batch with a photo (R10, R12, R13), and offline counting
(§7): counts typed without a connection survive a reload, are applied exactly once when the
connection returns (retries and a second tab included), and a line someone else counted
meanwhile is shown as a conflict, not overwritten."""
from __future__ import annotations

import io
import shutil
from contextlib import asynccontextmanager
from datetime import date

from PIL import Image
from playwright.async_api import async_playwright

from dealers import batch_lines, batches, dock_counts, receiving, rules
from dealers.tables import DockCount, ReturnBatch, ReturnLine
from portal import clock
from portal.db import raw_fetch
from tests.browser.live import CHROMIUM_ARGS, live_portal, sign_in
from tests.dealers.factory import IN_WINDOW, cfl_line, network

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True,
         "device_scale_factor": 2}
SHOTS = "/tmp/dock-shots"


@asynccontextmanager
async def phone(locale: str = "en-US"):
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (./dev test installs it)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, headless=True,
                                          args=CHROMIUM_ARGS)
        context = await browser.new_context(locale=locale, **PHONE)
        context.console_errors = []  # type: ignore[attr-defined]
        context.on("console", lambda m: m.type == "error" and "net::ERR_INTERNET_DISCONNECTED"
                   not in m.text and "Failed to fetch" not in m.text
                   and context.console_errors.append(m.text))  # type: ignore[attr-defined]
        try:
            yield context
        finally:
            await browser.close()


async def _dispatched(net) -> tuple[int, str]:
    a = net["actors"]
    batch_id = await batches.create_draft(actor=a["clerk"])
    await batch_lines.add_lines(actor=a["clerk"], batch_id=batch_id,
                                lines=[cfl_line(net, 10), cfl_line(net, 4, lights=True)])
    await batches.submit_batch(actor=a["clerk"], batch_id=batch_id)
    await batches.sign_batch(actor=a["manager"], batch_id=batch_id, note="")
    await batches.approve_batch(actor=a["cs"], batch_id=batch_id, disposition="return")
    await batches.dispatch_batch(actor=a["clerk"], batch_id=batch_id, carrier="德邦物流",
                                 waybill="DB7788123", packages=2, freight_fen=35000,
                                 dispatched_on=date(2026, 12, 8))
    number = (await ReturnBatch.select(ReturnBatch.number).first())["number"]
    return batch_id, number


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (150, 150, 150)).save(out, "JPEG")
    return out.getvalue()


async def _fits(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, (page.url, width)


async def test_dock_journey_on_a_phone_from_expected_arrivals_to_a_counted_batch_with_a_photo():
    net = await network()
    await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE username = 'logistics'")
    with clock.frozen(IN_WINDOW):
        batch_id, number = await _dispatched(net)
        async with live_portal() as base, phone() as context:
            page = await context.new_page()
            await sign_in(page, base, "logistics")
            # the expected arrivals, searched by the waybill's start
            await page.goto(base + "/receiving")
            assert await page.is_visible(f"#expected-{number}")
            await _fits(page)
            await page.fill("#expected-q", "db7788")
            await page.tap("#search-expected")
            await page.tap(f"#expected-{number} a")
            # the batch's summary before anything is recorded (R10)
            await page.wait_for_selector("#dock-summary")
            assert "DB7788123" in await page.text_content("#dock-summary")
            assert (await ReturnBatch.select(ReturnBatch.arrived_at).first())["arrived_at"] is None
            await page.screenshot(path=f"{SHOTS}/en-390-summary.png", full_page=True)
            await page.tap("#record-arrival")
            await page.wait_for_selector("#count-form")
            await _fits(page)
            # blind: nothing pre-filled, nothing declared shown (R12)
            assert await page.input_value("#received-1") == ""
            assert await page.query_selector(".declared") is None
            await page.fill("#received-1", "9")
            for _ in range(4):  # one thumb: the + stepper
                await page.tap("#count-2 button.step[data-step='1']")
            assert await page.input_value("#received-2") == "4"
            await page.check("#count-2 input[name$=_lights]")
            await page.wait_for_function(
                "() => document.getElementById('dock-status').dataset.waiting === '0' && "
                "document.querySelectorAll('.count-card[data-version=\"1\"]').length === 2")
            # a photo of line 1 with the phone's camera (kept as the line's evidence)
            await page.set_input_files("#photo-input-1", files=[
                {"name": "tube.jpg", "mimeType": "image/jpeg", "buffer": _photo()}])
            await page.wait_for_selector("#count-1 .line-photos img")
            assert await page.input_value("#received-1") == "9"  # the count stayed saved
            await page.screenshot(path=f"{SHOTS}/en-390-count.png", full_page=True)
            await page.tap("#save-count")
            await page.wait_for_selector("tr.differs")
            assert "saved" in (await page.text_content("#flash")).lower()
            await _fits(page)
            assert context.console_errors == []  # type: ignore[attr-defined]
    batch = await ReturnBatch.select(ReturnBatch.status).first()
    assert batch["status"] == "received"
    lines = await ReturnLine.select(ReturnLine.received_qty, ReturnLine.i_lights).order_by(
        ReturnLine.line_no)
    assert [(l["received_qty"], l["i_lights"]) for l in lines] == [(9, False), (4, True)]
    assert await DockCount.count() == 2
    photos = await raw_fetch("SELECT subject, content_type FROM attachment")
    assert [(p["subject"], p["content_type"]) for p in photos] == [("dealers.line", "image/jpeg")]


async def test_offline_counts_survive_a_reload_are_applied_once_and_conflicts_are_shown():
    net = await network()
    a = net["actors"]
    await raw_fetch("UPDATE portal_user SET locale = 'en' WHERE username = 'logistics'")
    with clock.frozen(IN_WINDOW):
        batch_id, number = await _dispatched(net)
        await receiving.arrive(actor=a["logistics"], number=number)
        line_ids = [l["id"] for l in await ReturnLine.select(ReturnLine.id).order_by(
            ReturnLine.line_no)]
        url = f"/batches/{batch_id}/receive"
        async with live_portal() as base, phone() as context:
            page = await context.new_page()
            await sign_in(page, base, "logistics")
            await page.goto(base + url)
            # the service worker takes the page over, so it opens without a connection
            await page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            await page.reload()
            await page.wait_for_selector("#count-form")

            await context.set_offline(True)
            await page.fill("#received-1", "9")
            await page.fill("#received-2", "4")
            await page.wait_for_function("() => document.getElementById('dock-status').dataset.waiting === '2'")
            assert "waiting" in (await page.text_content("#dock-status")).lower()
            # the page opens again offline, and the counts are still there
            await page.reload()
            await page.wait_for_selector("#count-form")
            assert await page.input_value("#received-1") == "9"
            assert await page.input_value("#received-2") == "4"
            await page.wait_for_function("() => document.getElementById('dock-status').dataset.waiting === '2'")
            await page.screenshot(path=f"{SHOTS}/en-390-offline.png", full_page=True)
            # a second tab of the same phone, also offline, holds the same waiting counts
            second = await context.new_page()
            await second.goto(base + url)
            await second.wait_for_function("() => document.getElementById('dock-status').dataset.waiting === '2'")
            # meanwhile a colleague counts line 2 on another phone
            await dock_counts.record_count(actor=a["logistics2"], batch_id=batch_id,
                                           count=dock_counts.LineCount(
                                               "colleague-0001", line_ids[1], 0, 5,
                                               rules.Condition()))

            await context.set_offline(False)  # both tabs send the same counts
            for tab in (page, second):
                await tab.wait_for_function(
                    "() => document.getElementById('dock-status').dataset.waiting === '0' && "
                    "document.getElementById('dock-status').dataset.conflicts === '1'")
            conflict = await page.text_content("#conflict-2")
            assert "logistics2" in conflict and "5" in conflict and "4" in conflict
            await page.screenshot(path=f"{SHOTS}/en-390-conflict.png", full_page=True)
            # and once more: a reload retries nothing twice
            await page.reload()
            await page.wait_for_selector("#count-form")
            await page.wait_for_function("() => document.getElementById('dock-status').dataset.waiting === '0'")
            assert await page.is_visible("#conflict-2")
            # by line, not by insertion: once in a full run (2026-12-02) the offline tab's line 1
            # reached the server before the colleague's line 2 was recorded, which changes the
            # rows' order, not what this checks
            counts = await raw_fetch("SELECT line, version, received_qty, counted_by "
                                     "FROM dock_count ORDER BY line, id")
            assert [(c["line"], c["version"], c["received_qty"]) for c in counts] == sorted([
                (line_ids[1], 1, 5), (line_ids[0], 1, 9)])  # once each; theirs not overwritten
            assert (await ReturnLine.select(ReturnLine.received_qty).where(
                ReturnLine.id == line_ids[1]).first())["received_qty"] == 5

            # the clerk keeps their own count: counted again on the version now standing
            await page.tap("#conflict-2 button.use-mine")
            await page.wait_for_function(
                "() => document.getElementById('dock-status').dataset.conflicts === '0' && "
                "document.getElementById('dock-status').dataset.waiting === '0'")
            assert context.console_errors == []  # type: ignore[attr-defined]
    latest = await raw_fetch("SELECT version, received_qty FROM dock_count WHERE line = $1 "
                             "ORDER BY version", line_ids[1])
    assert [(r["version"], r["received_qty"]) for r in latest] == [(1, 5), (2, 4)]
    assert (await ReturnLine.select(ReturnLine.received_qty).where(
        ReturnLine.id == line_ids[1]).first())["received_qty"] == 4
