"""Browser journey in real Chromium (issue 5): finance closes November and watches the progress
bar (htmx polling, no inline script), CS reviews the repair fees, a finance user who did not
prepare the statement approves, a second one approves above the threshold (R26), finance
records the bank transfer (R27), and the dealer downloads its statement and reads it back."""
import csv
import io

from openpyxl import load_workbook

from portal import clock
from portal.db import raw_fetch
from tests.browser.live import browser_page, live_portal, sign_in, sign_out
from tests.settlements.statement_factory import DECEMBER, closed_month

VOLUME_FEN = 2_000_000_000  # ¥20,000,000 of purchases: a 1 % rebate above ¥100,000
TOTAL_FEN = 20_000_000 + 30_000 + 4_500  # rebate, repair fee, freight


async def test_month_close_to_the_dealers_download():
    net = await closed_month(volume_fen=VOLUME_FEN, close_it=False)
    with clock.frozen(DECEMBER):
        async with live_portal() as base, browser_page() as page:
            await sign_in(page, base, "finance")
            await page.click("#nav-statements")
            assert await page.input_value("#close-period") == "2026-11"
            await page.click("#close-submit")  # htmx: the bar replaces itself until done
            await page.wait_for_selector("#close-run progress")
            await page.wait_for_selector("#close-done", timeout=20_000)
            assert "/statements" in page.url  # no navigation: the fragment was swapped in
            await page.click("#close-statements")
            statement = (await raw_fetch("SELECT id FROM statement WHERE dealer = $1",
                                         net["office"]["id"]))[0]["id"]
            await page.click(f"#statement-{statement} a")
            await page.wait_for_selector("#lines")
            assert await page.query_selector("#review-fees") is None  # finance does not review
            await sign_out(page)

            await sign_in(page, base, "cs")
            await page.goto(f"{base}/statements/{statement}")
            await page.click("#review-fees")
            await page.wait_for_selector("#reviewed-by")
            await sign_out(page)

            await sign_in(page, base, "finance2")
            await page.goto(f"{base}/statements/{statement}")
            await page.click("#approve-statement")
            await page.wait_for_selector("#approved-by")
            assert (await raw_fetch("SELECT status FROM statement WHERE id = $1",
                                    statement))[0]["status"] == "second_approval"
            assert await page.query_selector("#second-approve") is None  # not twice by one
            await sign_out(page)

            await sign_in(page, base, "finance3")
            await page.goto(f"{base}/statements/{statement}")
            await page.click("#second-approve")
            await page.wait_for_selector("#second-by")
            await page.fill("#bank-reference", "ICBC-20261215-001")
            await page.click("#record-bank")
            await page.wait_for_selector("#payouts")
            assert "ICBC-20261215-001" in await page.text_content("#payouts")
            await sign_out(page)

            # the dealer reads its statement and downloads it
            await sign_in(page, base, "clerk")
            await page.click("#nav-statements")
            await page.click(f"#statement-{statement} a")
            async with page.expect_download() as xlsx_info:
                await page.click("#download-xlsx")
            download = await xlsx_info.value
            assert download.suggested_filename == f"ST-202611-{net['office']['id']:05d}.xlsx"
            with open(await download.path(), "rb") as handle:  # gone once the browser closes
                xlsx = handle.read()
            async with page.expect_download() as csv_info:
                await page.click("#download-csv")
            with open(await (await csv_info.value).path(), "rb") as handle:
                csv_bytes = handle.read()
            await page.click("#print-statement")
            await page.wait_for_selector("#statement-sheet")
            assert page.console_errors == []

    rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True))
    assert ("状态", "已付", None) in rows  # paid, in the dealer's language
    assert round(rows[-1][2] * 100) == TOTAL_FEN
    header = next(i for i, row in enumerate(rows) if row[0] == "类型")
    lines = rows[header + 1:-1]
    assert len(lines) == 3
    assert sum(round(line[2] * 100) for line in lines) == TOTAL_FEN
    table = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert table[-1][2] == "200345.00" and table[5][0] == "类型"
    statuses = await raw_fetch("SELECT s.status, p.method, p.bank_reference FROM statement s "
                               "JOIN payout p ON p.statement = s.id")
    assert statuses == [{"status": "paid", "method": "bank",
                         "bank_reference": "ICBC-20261215-001"}]
