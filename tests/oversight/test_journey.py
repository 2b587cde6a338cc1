"""R30 and R38 in real Chromium: an audit plan drawn by customer service and approved by the
vice-president, the visit, the report, a rectification order instructed, issued by the line
department (the regional manager), answered by the office with its evidence and closed; and a
consumer on a phone (390 px) finding the nearest repair point by sharing their location. No
page breaks the CSP (console errors) and the phone page does not scroll sideways."""
from __future__ import annotations

import os

from oversight import queries
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in
from tests.oversight.audit_world import PDF, today, world
from tests.oversight.point_world import points_world

SHOTS = "/tmp/oversight-shots"
PHONE = {"width": 390, "height": 844}


async def _as(page, base: str, user: str, path: str) -> None:
    await page.context.clear_cookies()
    await sign_in(page, base, user)
    await page.goto(base + path)


async def _done(page) -> None:
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".flash-message").count() == 1, await page.content()


async def test_r30_plan_approved_visited_reported_and_rectified_in_the_browser():
    os.makedirs(SHOTS, exist_ok=True)
    w = await world()
    async with live_portal() as base, browser_page() as page:
        await page.set_viewport_size({"width": 1280, "height": 900})
        await _as(page, base, "cs", "/audits/new")
        await page.select_option("#plan-office", str(w.orgs["office"]["id"]))
        await page.fill("#plan-scope", "售后账册与配件库存")
        await page.fill("#plan-method", "现场盘点")
        await page.fill("#plan-deadline", today().isoformat())
        await page.fill("#plan-cost", "3600.00")
        await page.select_option("#plan-finance", str(w.users["finance"]["id"]))
        await page.click("#plan-submit")
        await _done(page)
        audit_id = (await queries.list_audits(w.actors["vp"]))[0]["id"]
        link = f"/audits/{audit_id}"

        await _as(page, base, "vp", link)
        await page.click("#approve-plan")
        await _done(page)

        await _as(page, base, "cs", link)
        await page.fill("#visit-notes", "经理配合")
        await page.click("#record-visit")
        await _done(page)
        await page.fill("#report-findings", "配件台账差 2 件")
        await page.fill("#report-text", "需整改配件台账。")
        await page.fill("#report-score", "76")
        await page.click("#file-report")
        await _done(page)

        await _as(page, base, "vp", link)
        await page.fill("#instruction", "责成整改配件台账")
        await page.click("#instruct-rectification")
        await _done(page)
        order_id = (await queries.orders_of(audit_id))[0]["id"]

        await _as(page, base, "rm", link)
        await page.fill(f"#issue-requirement-{order_id}", "一周内补齐配件台账")
        await page.fill(f"#issue-due-{order_id}", today().isoformat())
        await page.click(f"#issue-order-{order_id}")
        await _done(page)

        await _as(page, base, "manager", link)
        form = page.locator(f"#order-{order_id} form.attach-form")
        await form.locator("input[type=file]").set_input_files(
            files=[{"name": "台账.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        await form.locator("button[type=submit]").click()
        await page.wait_for_selector(f"#order-{order_id} a.document")
        await page.fill(f"#answer-{order_id}", "已补齐台账，附盘点表")
        await page.click(f"#answer-order-{order_id}")
        await _done(page)

        await _as(page, base, "rm", link)
        await page.click(f"#close-order-{order_id}")
        await _done(page)
        assert (await page.text_content(f"#order-{order_id}-status") or "").strip() == "已关闭"
        assert (await page.text_content("#audit-score") or "").startswith("76")
        await page.screenshot(path=f"{SHOTS}/audit-zh-1280.png", full_page=True)
        assert page.console_errors == []  # type: ignore[attr-defined]


async def test_r38_a_consumer_on_a_phone_finds_the_nearest_point():
    os.makedirs(SHOTS, exist_ok=True)
    await points_world()
    async with live_portal() as base, browser_page() as page:
        await page.set_viewport_size(PHONE)
        await page.context.grant_permissions(["geolocation"], origin=base)
        await page.context.set_geolocation({"latitude": 32.05, "longitude": 118.78})
        await page.goto(base + "/find-repair")
        await page.click("#near-me")
        await page.wait_for_url("**/find-repair?lat=*")
        await page.wait_for_load_state("networkidle")
        first = await page.text_content("#point-1 h2")
        assert first == "南京灯具城维修点"
        assert await page.locator("#point-1 a[href^='tel:']").count() == 1
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        await page.goto(base + "/find-repair?province=CN-JS&city=南京")
        await page.context.add_cookies([{"name": "portal_lang", "value": "en", "url": base}])
        await page.goto(base + "/find-repair?province=CN-JS&city=南京")
        await page.screenshot(path=f"{SHOTS}/locator-390.png", full_page=True)
        await page.goto(base + "/find-repair/poster?province=CN-JS")
        await page.screenshot(path=f"{SHOTS}/poster-390.png", full_page=True)
        assert page.console_errors == []  # type: ignore[attr-defined]


async def test_oversight_pages_fit_a_phone_in_english():
    """The audit list and page, a point's visits, file, scorecard and public entry at 390 px,
    in English: no sideways scroll, no console error."""
    from oversight import audits
    from oversight.inputs import AuditDecisionIn, AuditPlanIn, AuditVisitIn

    p = await points_world()
    audit_id = await audits.plan_audit(actor=p.actors["cs"], data=AuditPlanIn(
        office_id=p.id("office"), kind="periodic", scope="账册", method="现场",
        deadline=today(), announced=True))
    await audits.decide(actor=p.actors["vp"], audit_id=audit_id, approve=True,
                        data=AuditDecisionIn())
    await audits.record_visit(actor=p.actors["cs"], audit_id=audit_id, data=AuditVisitIn())
    await raw_fetch("UPDATE portal_user SET locale = 'en'")  # each reads in English
    async with live_portal() as base, browser_page() as page:
        await page.set_viewport_size(PHONE)
        await page.context.add_cookies([{"name": "portal_lang", "value": "en", "url": base}])
        pages = [("cs", "/audits"), ("manager", f"/audits/{audit_id}")]
        pages += [(user, f"/repair-points/{p.id('point')}/{tab}") for user, tab in (
            ("manager", "visits"), ("manager", "file"), ("manager", "scorecard"),
            ("staff", "public-entry"))]
        for user, path in pages:
            await _as(page, base, user, path)
            await page.wait_for_load_state("networkidle")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
            shot = path.strip("/").replace("/", "-")
            await page.screenshot(path=f"{SHOTS}/{shot}-en-390.png", full_page=True)
        assert page.console_errors == []  # type: ignore[attr-defined]
