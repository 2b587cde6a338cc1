"""Issue 9 acceptance, in real Chromium on the demo data: one journey per role. Each person
signs in through the login form, their home shows their own non-empty queue, its link leads to
the item, the action succeeds with a message, and the next person's home and inbox show it.

The demo is loaded once for the module, relative to today (any day of the month works: Jiangsu
holds a granted special approval), with the clock frozen at the moment it was loaded, as the
live portal (same process, `tests/browser/live.py`) reads it. One portal and one Chromium serve
the whole module; every person gets a fresh browser context. The journeys follow one another
(the batch js.clerk submits is the one js.manager signs and hq.cs approves), so they run in file
order and each names what it needs from the one before.

Languages: js.clerk, hq.cs, bj.clerk, tj.clerk, hq.finance, gd.clerk, js.store1, hq.admin and
the auditor read Chinese (the default); js.manager, hq.logistics, hq.tech, js.repair, hq.finance2
and rm.east press the language button and read English (kept per user, so their later notices
come in English too); js.clerk2, whom hq.admin adds, reads English from the first page because
the administrator chose it."""
from __future__ import annotations

import re
import shutil
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, async_playwright, expect

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.browser.live import CHROMIUM_ARGS, live_portal

PASSWORD = "demo-pass-2026"  # every demo user's (README "Trying it")
TIMEOUT_MS = 10_000
# The inspection's words (zh) → the reject reason a CS person picks for them.
REJECT_REASONS = (("15", "出厂超过15个月"), ("保修", "不在保修范围"), ("能亮", "能亮，不予换货"),
                  ("", "人为损坏"))
# What one journey hands to the next (numbers differ from run to run only by the date).
handed: dict[str, str] = {}


def need(key: str) -> str:
    if key not in handed:
        pytest.fail(f"an earlier journey did not hand over {key!r}")
    return handed[key]


@pytest.fixture
def clean_database():
    """Replaces the conftest's per-test truncation: the journeys share one demo."""
    yield


@pytest.fixture(scope="module")
async def portal():
    from tests.conftest import _reset  # already imported by pytest under this name

    await _reset()
    handed.clear()
    with clock.frozen(datetime.now(UTC)):
        assert await _load_demo() is True
        executable = shutil.which("chromium")
        assert executable, "Debian's chromium is required (./dev test installs it)"
        async with live_portal() as base, async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
            try:
                yield {"base": base, "browser": browser}
            finally:
                await browser.close()
    await _reset()


@asynccontextmanager
async def person(portal, username: str, english: bool = False):
    """A fresh browser context signed in through the login form; `english` presses the
    language button. No console or page error may happen while the person works."""
    context = await portal["browser"].new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(portal["base"] + "/login")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("#login-submit")
        await expect(page.locator("#logout")).to_be_visible()
        lang = "en" if english else "zh-CN"
        switch = await page.get_attribute("html", "lang") != lang
        if switch:
            await page.click("#lang-switch")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        if page.url.rstrip("/") != portal["base"]:
            await page.goto(portal["base"] + "/")
        page.portal_base = portal["base"]  # type: ignore[attr-defined]
        page.switched_language = switch  # type: ignore[attr-defined]
        yield page
        assert errors == [], errors
    finally:
        await context.close()


async def count(page: Page, queue: str) -> int:
    return int((await page.text_content(f"#count-{queue}")).strip())


async def open_queue(page: Page, queue: str, title: str, at_least: int = 1) -> None:
    """On the home page: the queue is there under its title, holds work, and its link opens."""
    item = page.locator(f"#queue-{queue}")
    await expect(item).to_contain_text(title)
    assert await count(page, queue) >= at_least, await item.inner_text()
    await page.click(f"#link-{queue}")
    await page.wait_for_load_state("domcontentloaded")


async def flash_says(page: Page, text: str) -> None:
    await expect(page.locator("#flash .flash-message")).to_have_text(text)


async def inbox_shows(page: Page, *texts: str) -> None:
    """From any page: the inbox link carries an unread count and the notice is in the inbox."""
    await expect(page.locator("#nav-unread")).to_be_visible()
    await page.click("#nav-inbox")
    notice = page.locator("#inbox li.unread").filter(has_text=texts[0])
    for text in texts[1:]:
        notice = notice.filter(has_text=text)
    await expect(notice.first).to_be_visible()


def row(page: Page, *texts: str, exclude: str | None = None):
    rows = page.locator("tr.result-row")
    for text in texts:
        rows = rows.filter(has_text=text)
    if exclude:
        rows = rows.filter(has_not_text=exclude)
    return rows


# --- return batches: clerk → manager → CS → logistics → CS → office -------------------------------

async def test_clerk_adds_a_line_to_the_draft_and_submits_it_with_the_special_approval(portal):
    """zh. Whatever the day: the draft uses this month's special approval and goes out."""
    async with person(portal, "js.clerk") as page:
        await expect(page.locator("h1")).to_have_text("欢迎，江苏办事处 业务员")
        await expect(page.locator("#window")).to_contain_text("第 2 周：每月 8 日至 14 日。")
        await expect(page.locator("#queue-decided")).to_contain_text("已处理的批次：请查看回执")
        assert await count(page, "decided") >= 1
        await expect(page.locator("#queue-drafts")).to_contain_text("批次草稿")
        # every open draft counts, this month's or one moved to next month after the 14th (R5)
        assert await count(page, "drafts") >= 1
        await page.click("#link-drafts")
        draft = row(page, "江苏办事处", "草稿", exclude="特批")
        await expect(draft).to_have_count(1)
        await draft.locator("a").first.click()
        await expect(page.locator("#batch-status")).to_have_text("草稿")
        number = (await page.locator("h1").inner_text()).split()[1]
        assert re.fullmatch(r"RB\d{12}", number), number
        lines = await page.locator("#line-table tbody tr[id^=line-]").count()
        assert lines >= 1  # the demo's draft has lines; they are kept below

        # add a line in place (htmx)
        option = page.locator("#line-product option", has_text="XD-2401")
        await page.select_option("#line-product", await option.get_attribute("value"))
        await page.fill("#line-quantity", "3")
        await page.fill("#line-form input[name=purchase_date]",
                        (clock.china_today() - timedelta(days=30)).isoformat())
        await page.click("#add-line")
        await flash_says(page, "明细已添加。")
        await expect(page.locator(f"#line-{lines + 1}")).to_contain_text("XD-2401")

        # the special approval head office granted: the draft keeps its lines and may go any day
        await expect(page.locator("#actions .use-special")).to_contain_text("总部已批准")
        await page.click("#use-special")
        await flash_says(page, f"批次 {number} 现已使用特批：准备好后任何一天都可提交。")
        await expect(page.locator("#line-table tbody tr[id^=line-]")).to_have_count(lines + 1)
        await expect(page.locator("#submit-batch")).to_be_enabled()
        await page.click("#submit-batch")
        await flash_says(page, f"批次 {number} 已提交；已通知办事处经理。")
        await expect(page.locator("#batch-status")).to_have_text("已提交")
        handed["batch"] = number

    async with person(portal, "js.manager") as page:
        await open_queue(page, "to_sign", "待签字的批次", at_least=2)
        await expect(row(page, number)).to_have_count(1)
        await inbox_shows(page, f"返厂单 {number} 待您签字", "江苏办事处")


async def test_manager_signs_the_batch(portal):
    """en (the language button). The batch the clerk submitted, signed; CS is told."""
    number = need("batch")
    async with person(portal, "js.manager", english=True) as page:
        await expect(page.locator("h1")).to_contain_text("Welcome")
        await open_queue(page, "to_sign", "Batches to sign", at_least=2)
        await row(page, number).locator("a").first.click()
        await expect(page.locator("#batch-status")).to_have_text("submitted")
        await page.fill("#actions input[name=reason]", "Goods appraised at the office")
        await page.click("#sign-batch")
        await flash_says(page, f"Batch {number} signed; head office customer service has been "
                               "told.")
        await expect(page.locator("#batch-status")).to_have_text("signed")
        handed["signed"] = number

    async with person(portal, "hq.cs") as page:
        await open_queue(page, "to_approve", "待批准的批次", at_least=2)
        await expect(row(page, number)).to_have_count(1)
        await inbox_shows(page, f"返厂单 {number} 待审批")


async def test_cs_approves_the_signed_batch(portal):
    """zh. Approved for return to the factory; the office's clerk is told."""
    number = need("signed")
    async with person(portal, "hq.cs") as page:
        await open_queue(page, "to_approve", "待批准的批次", at_least=2)
        await row(page, number).locator("a").first.click()
        await expect(page.locator("#batch-status")).to_have_text("已签字")
        await page.select_option("#actions select[name=disposition]", "return")
        await page.click("#approve-batch")
        await flash_says(page, f"批次 {number} 已批准；已通知办事处。")
        await expect(page.locator("#batch-status")).to_have_text("已批准")

    async with person(portal, "js.clerk") as page:
        await inbox_shows(page, f"返厂单 {number} 已批准：请发往总部")


async def test_logistics_counts_an_arrived_batch_one_short(portal):
    """en. Beijing's batch arrived within the hour: counted one short, the office and CS told."""
    async with person(portal, "hq.logistics", english=True) as page:
        await open_queue(page, "to_receive", "Arrived, to count and inspect")
        beijing = row(page, "Beijing Office")
        await expect(beijing).to_have_count(1)
        number = (await beijing.locator("a").first.inner_text()).strip()
        await beijing.locator("a").first.click()
        await page.get_by_role("link", name="Receive", exact=True).click()
        await expect(page.locator("#dock-number")).to_have_value(number)
        # its cartons are all in (arrival recorded at the dock): straight to the count
        await expect(page.locator("#summary-arrived")).to_be_visible()
        await page.click("#count-batch")
        await expect(page.locator("h1")).to_have_text(f"Count and inspect {number}")
        # blind counting (R12, issue 12 §3): nothing pre-filled; every line counted, one short
        assert await page.input_value("#received-1") == ""
        for line in await raw_fetch(
                "SELECT l.line_no, l.quantity FROM return_line l JOIN return_batch b ON "
                "b.id = l.batch WHERE b.number = $1", number):
            short = 1 if line["line_no"] == 1 else 0
            await page.fill(f"#received-{line['line_no']}", str(line["quantity"] - short))
        await page.click("#save-count")
        await flash_says(page, f"Count of batch {number} saved. It differs from the form: the "
                               "differences are marked below, and the office and customer "
                               "service have been told.")
        await expect(page.locator("#batch-status")).to_have_text("counted")
        await expect(page.locator("#line-1.differs")).to_be_visible()
        handed["counted"] = number

    async with person(portal, "bj.clerk") as page:
        await inbox_shows(page, f"返厂单 {number}：实收数量与登记表不符")
    async with person(portal, "hq.cs") as page:
        await open_queue(page, "to_decide", "已清点，待逐行处理", at_least=2)
        await expect(row(page, number)).to_have_count(1)


async def test_cs_decides_the_counted_batch(portal):
    """zh. The proposal from the inspection is saved as is; the office reads the receipt."""
    number = need("counted")
    async with person(portal, "hq.cs") as page:
        await open_queue(page, "to_decide", "已清点，待逐行处理", at_least=2)
        await row(page, number).locator("a").first.click()
        await page.click("#decide-link")
        await expect(page.locator("h1")).to_contain_text(number)
        # the quantities come proposed from the inspection; CS names the reason of each
        # rejection (the page does not pre-select it)
        rows = page.locator("#decide-form tbody tr")
        for i in range(await rows.count()):
            line = rows.nth(i)
            if int(await line.locator("input[name^=rejected]").input_value()):
                inspection = await line.locator("td").nth(3).inner_text()
                label = next(label for word, label in REJECT_REASONS if word in inspection)
                await line.locator("select").select_option(label=label)
        await page.click("#save-decision")
        await flash_says(page, f"批次 {number} 的处理结果已登记；办事处可查看回执。")
        await expect(page.locator("#batch-status")).to_have_text("已处理")

    async with person(portal, "bj.clerk") as page:
        await open_queue(page, "decided", "已处理的批次：请查看回执")
        await expect(row(page, number)).to_have_count(1)
        await inbox_shows(page, f"返厂单 {number} 已处理")


# --- batch quality dispute: HQ tech → office and CS --------------------------------------------

async def test_tech_verifies_the_quality_dispute_on_site(portal):
    """en. Tianjin's manager disputed the quality of last month's batch 20 hours ago (R16, the
    demo): hq.tech's home shows it due within 2 days, one click opens the batch, the technician
    records the findings as confirmed; Tianjin's clerk and customer service are told."""
    async with person(portal, "hq.tech", english=True) as page:
        await expect(page.locator("main")).to_contain_text("Quality verifications")
        before = await count(page, "to_verify")
        await open_queue(page, "to_verify", "Quality disputes to verify on site")
        tianjin = row(page, "Tianjin Logistics")
        await expect(tianjin).to_have_count(1)
        number = (await tianjin.locator("a").first.inner_text()).strip()
        await tianjin.locator("a").first.click()
        await expect(page.locator("h1")).to_contain_text(number)
        dispute = page.locator("#incidents .dispute").filter(has_text="CFL-13W")
        await expect(dispute).to_contain_text("verify by")
        await expect(dispute.locator(".badge.alarm")).to_have_count(0)  # within the 2 days
        await dispute.locator("input[name=findings]").fill(
            "On site: 31 of 40 CFL-13W from one date code do not light; a batch fault")
        await dispute.get_by_role("button", name="Confirmed", exact=True).click()
        await flash_says(page, f"Verification of batch {number} recorded; the office has been "
                               "told.")
        await expect(dispute).to_contain_text("Confirmed: whole batch taken back, freight by "
                                              "the company.")
        await page.click("#nav-home")
        await expect(page.locator("#count-to_verify")).to_have_text(str(before - 1))
        handed["verified"] = number

    async with person(portal, "tj.clerk") as page:
        await open_queue(page, "decided", "已处理的批次：请查看回执")
        await expect(row(page, number)).to_have_count(1)
        await inbox_shows(page, f"{number} 的质量问题已确认")
    async with person(portal, "hq.cs") as page:
        await inbox_shows(page, f"{number} 的质量问题已确认")


# --- repair point → office ---------------------------------------------------------------------

async def test_repair_point_asks_its_office_for_an_exchange(portal):
    """en. js.repair reaches its own point in one click and asks for 3 parts; the office (its
    manager, now reading English, and its clerk) sees the request on its home and inbox."""
    async with person(portal, "js.repair", english=True) as page:
        await expect(page.locator("#queue-my_exchanges")).to_contain_text(
            "Your exchange requests")
        before = await count(page, "my_exchanges")
        assert await count(page, "overdue") >= 1  # the demo's overdue promise
        await page.click("#open-my-point")
        await expect(page.locator("#stock")).to_be_visible()
        part = (await page.locator("#exchange-form select option").first.inner_text()).strip()
        await page.fill("#exchange-form input[name=quantity]", "3")
        await page.get_by_role("button", name="Request an old-for-new exchange").click()
        await flash_says(page, "Exchange requested; the office has been told.")
        await page.click("#nav-home")
        await expect(page.locator("#count-my_exchanges")).to_have_text(str(before + 1))

    async with person(portal, "js.manager", english=True) as page:
        await open_queue(page, "exchanges", "Old-for-new exchanges asked for", at_least=2)
        await expect(page.locator("#exchanges tbody tr").filter(has_text=part)
                     .filter(has_text="3")).not_to_have_count(0)
        await inbox_shows(page, "asks for an old-for-new exchange", "3 × ", part)
    async with person(portal, "js.clerk") as page:
        assert await count(page, "exchanges") >= 2
        await inbox_shows(page, "申请以旧换新", "3 × ", part)


# --- monthly statements: four eyes → dealer ----------------------------------------------------

async def test_finance_approves_a_statement_the_other_finance_user_prepared(portal):
    """hq.finance (zh) prepared last month's statements and may not approve them; hq.finance2
    (en) approves Guangdong's (fees reviewed by CS); Guangdong's clerk is told."""
    async with person(portal, "hq.finance") as page:
        await open_queue(page, "approval", "待审批的对账单")
        await row(page, "广东办事处").locator("a").first.click()
        await expect(page.locator("#statement-dealer")).to_have_text("广东办事处")
        await expect(page.locator("#approve-statement")).to_have_count(0)
        await expect(page.locator("#prepared-by-you")).to_be_visible()

    async with person(portal, "hq.finance2", english=True) as page:
        await open_queue(page, "approval", "Statements to approve")
        guangdong = row(page, "Guangdong Office")
        await expect(guangdong).to_have_count(1)
        await guangdong.locator("a").first.click()
        number = (await page.text_content("#statement-number")).strip()
        assert re.fullmatch(r"ST-\d{6}-\d{5}", number), number
        await page.click("#approve-statement")
        await flash_says(page, f"Statement {number} approved; the dealer has been told.")
        await expect(page.locator("#statement-status")).to_have_text(re.compile("^approved$", re.I))
        await expect(page.locator("#approved-by")).to_have_text("财务部 杨帆")
        month = number[3:7] + "-" + number[7:9]

    async with person(portal, "gd.clerk") as page:
        await open_queue(page, "approved", "已批准、待付款的对账单")
        await expect(row(page, number)).to_have_count(1)
        await inbox_shows(page, f"您的 {month} 对账单已审批")


# --- franchise store: its statement approved, read and downloaded --------------------------------

async def test_store_reads_and_downloads_its_approved_statement(portal):
    """A franchise store acts on nothing in the portal (SPEC §1: it reads its statements and
    may run a repair point; the demo's stores run none): hq.finance2 (en) approves the
    Nanjing Xinjiekou store's statement (no repair fees, so no review first); js.store1 (zh)
    finds it on its home and in its inbox, opens it in one click and downloads it."""
    async with person(portal, "hq.finance2", english=True) as page:
        await open_queue(page, "approval", "Statements to approve")
        store = row(page, "Nanjing Xinjiekou Store")
        await expect(store).to_have_count(1)
        await store.locator("a").first.click()
        await expect(page.locator("#statement-dealer")).to_have_text("Nanjing Xinjiekou Store")
        number = (await page.text_content("#statement-number")).strip()
        await page.click("#approve-statement")
        await flash_says(page, f"Statement {number} approved; the dealer has been told.")
        month = number[3:7] + "-" + number[7:9]

    async with person(portal, "js.store1") as page:
        await expect(page.locator("h1")).to_have_text("欢迎，南京新街口专卖店 店长")
        await expect(page.locator("main")).to_contain_text("您的对账单与维修点")
        await open_queue(page, "approved", "已批准、待付款的对账单")
        mine = row(page, number)
        await expect(mine).to_have_count(1)
        await mine.locator("a").first.click()
        await expect(page.locator("#statement-status")).to_have_text("已批准")
        await expect(page.locator("#approved-by")).to_have_text("财务部 杨帆")
        await expect(page.locator("#actions button")).to_have_count(0)  # a dealer only reads
        async with page.expect_download() as download:
            await page.click("#download-xlsx")
        assert (await download.value).suggested_filename == f"{number}.xlsx"
        await inbox_shows(page, f"您的 {month} 对账单已审批")


# --- read and sign for others: regional manager, auditor ---------------------------------------

async def test_regional_manager_reaches_a_batch_to_sign(portal):
    """en. rm.east covers Jiangsu: the quality-problem batch still waits for a signature."""
    async with person(portal, "rm.east", english=True) as page:
        await open_queue(page, "to_sign", "Batches to sign")
        await expect(row(page, "Jiangsu Office")).not_to_have_count(0)
        await row(page, "Jiangsu Office").first.locator("a").first.click()
        await expect(page.locator("#batch-status")).to_have_text("submitted")
        await expect(page.locator("#sign-batch")).to_be_enabled()


async def test_auditor_reaches_a_batch_and_can_change_nothing(portal):
    """zh. The auditor's overview links to the batches waiting; the batch page has no buttons."""
    async with person(portal, "auditor") as page:
        await expect(page.locator("main")).to_contain_text("概览（只读，不能修改）")
        await open_queue(page, "to_approve", "待批准的批次")
        await row(page).first.locator("a").first.click()
        await expect(page.locator("#batch-status")).to_have_text("已签字")
        await expect(page.locator("#actions")).to_contain_text("此返厂单目前无需您处理。")
        await expect(page.locator("main form[method=post]")).to_have_count(0)


# --- the administrator adds a person, who signs in and finds their office's work --------------

async def test_admin_adds_a_clerk_who_signs_in_to_the_office_queue(portal):
    """zh. hq.admin's home counts the active users; one click opens the users page, where the
    administrator adds a second Jiangsu clerk reading English. The new clerk signs in with the
    password given, reads English without pressing the language button, and finds the
    office's work on the home page (last month's receipt to read)."""
    async with person(portal, "hq.admin") as page:
        await expect(page.locator("main")).to_contain_text("系统管理")
        users = await count(page, "users")
        await open_queue(page, "users", "在用账号")
        await page.get_by_role("link", name="添加用户").click()
        form = page.locator("form[action='/admin/users/new']")
        await form.locator("input[name=username]").fill("js.clerk2")
        option = form.locator("select[name=organisation] option", has_text="江苏办事处")
        await form.locator("select[name=organisation]").select_option(
            await option.get_attribute("value"))
        await form.locator("input[name=password]").fill(PASSWORD)
        await form.locator("input[name=display_name]").fill("江苏办事处 业务员 吴婷")
        await form.locator("input[name=roles][value=dealer_clerk]").check()
        await form.locator("select[name=locale]").select_option("en")
        await form.locator("button.primary").click()
        await flash_says(page, "用户 js.clerk2 已创建。")
        await expect(page.locator("h1")).to_have_text("js.clerk2")
        await page.click("#nav-home")
        await expect(page.locator("#count-users")).to_have_text(str(users + 1))

    async with person(portal, "js.clerk2", english=True) as page:
        assert page.switched_language is False  # the administrator's choice of language
        await expect(page.locator("h1")).to_have_text("Welcome, 江苏办事处 业务员 吴婷")
        await open_queue(page, "decided", "Batches decided: read the receipt")
        await expect(row(page, "Jiangsu Office")).not_to_have_count(0)
