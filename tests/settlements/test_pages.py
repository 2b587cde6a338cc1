"""Statement pages (issue 5 §6): lists scoped to the reader (R1), lines traced to their sources,
the actions of each role (R26, R27) with 422 and nothing changed on bad input, the month close
with its progress bar, the print view and downloads that parse back to the statement."""
import asyncio
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from portal import clock
from portal.db import count_queries, engine, raw_fetch
from settlements import journal, queries, statements
from tests.helpers import client, login
from tests.settlements.statement_factory import DECEMBER, closed_month

OFFICE_TOTAL = 123_457 + 30_000 + 4_500  # 1 % rebate of ¥123,456.78 (half up), fee, freight


@pytest.fixture(autouse=True)
def december():
    """Every test reads in December 2026 (China time), November closed."""
    with clock.frozen(DECEMBER):
        yield


async def _status(statement_id: int) -> str:
    return (await raw_fetch("SELECT status FROM statement WHERE id = $1", statement_id))[0][
        "status"]


async def _post(c, url: str, csrf: str, **data):
    return await c.post(url, data={"_csrf": csrf, **data})


async def test_r1_a_dealer_lists_its_own_statements_and_finance_sees_all_with_totals():
    net = await closed_month()
    async with client() as c:
        await login(c, "clerk")
        page = await c.get("/statements")
        assert page.status_code == 200
        assert f'id="statement-{net["office_statement"]}"' in page.text
        assert f'id="statement-{net["sibling_statement"]}"' not in page.text
        assert "广东办事处" not in page.text and 'id="close-form"' not in page.text
        assert 'id="period-totals"' not in page.text
    async with client() as c:
        await login(c, "finance")
        with clock.frozen(DECEMBER):
            page = await c.get("/statements")
        assert f'id="statement-{net["sibling_statement"]}"' in page.text
        assert 'id="close-form"' in page.text and 'value="2026-11"' in page.text
        totals = re.search(r'id="total-all">(.*?)</tr>', page.text, re.S).group(1)
        assert ">2<" in totals and "1,579.57" not in totals
        assert "3,579.57" in totals  # ¥1,579.57 + ¥2,000.00
        kinds = re.search(r'id="total-kind-freight">(.*?)</tr>', page.text, re.S).group(1)
        assert "45.00" in kinds


async def test_statement_lines_drill_down_to_their_sources():
    net = await closed_month()
    async with client() as c:
        await login(c, "clerk")
        page = await c.get(f"/statements/{net['office_statement']}")
        assert page.status_code == 200
        assert f'href="/batches/{net["batch"]}"' in page.text  # freight -> its return batch
        assert f'href="/repair-points/{net["point"]["id"]}"' in page.text  # fee -> the point
        assert "123,456.78" in page.text  # the rebate shows the purchase volume it comes from
        assert "1,579.57" in re.search(r'id="lines-total">(.*?)</tr>', page.text, re.S).group(1)
        assert 'id="approve-statement"' not in page.text  # a dealer does not approve
        assert (await c.get(f"/statements/{net['sibling_statement']}")).status_code == 404


async def test_r26_review_then_approval_by_someone_else_through_the_page():
    net = await closed_month()
    sid = net["office_statement"]
    async with client() as c:
        csrf = await login(c, "finance2")
        # fees not yet reviewed: refused beside the action, nothing changed
        r = await _post(c, f"/statements/{sid}/approve", csrf)
        assert r.status_code == 422 and 'id="action-error"' in r.text
        assert await _status(sid) == "draft"
    async with client() as c:
        csrf = await login(c, "cs")
        assert 'id="review-fees"' in (await c.get(f"/statements/{sid}")).text
        r = await _post(c, f"/statements/{sid}/review", csrf)
        assert r.status_code == 303 and r.headers["location"] == f"/statements/{sid}"
    async with client() as c:
        csrf = await login(c, "finance")  # prepared it: may not approve it
        assert 'id="prepared-by-you"' in (await c.get(f"/statements/{sid}")).text
        r = await _post(c, f"/statements/{sid}/approve", csrf)
        assert r.status_code == 422 and "任何人不得审批自己编制的结算单" in r.text  # R26, in zh
        assert await _status(sid) == "draft"
    async with client() as c:
        csrf = await login(c, "finance2")
        assert (await _post(c, f"/statements/{sid}/approve", csrf)).status_code == 303
        page = await c.get(f"/statements/{sid}")
        assert 'id="approved-by"' in page.text and 'id="record-bank"' in page.text
    assert await _status(sid) == "approved"


async def test_r26_above_the_threshold_a_second_finance_user_approves():
    net = await closed_month(volume_fen=2_000_000_000)  # rebate ¥200,000 > ¥100,000
    sid = net["office_statement"]
    await raw_fetch("UPDATE statement SET fees_reviewed_by = $2 WHERE id = $1", sid,
                    net["users"]["cs"]["id"])
    async with client() as c:
        csrf = await login(c, "finance2")
        assert (await _post(c, f"/statements/{sid}/approve", csrf)).status_code == 303
        assert await _status(sid) == "second_approval"
        page = await c.get(f"/statements/{sid}")
        assert 'id="needs-second"' in page.text and 'id="second-approve"' not in page.text
        r = await _post(c, f"/statements/{sid}/second-approval", csrf)  # the service refuses too
        assert r.status_code == 422 and await _status(sid) == "second_approval"
    async with client() as c:
        csrf = await login(c, "finance3")
        assert 'id="second-approve"' in (await c.get(f"/statements/{sid}")).text
        assert (await _post(c, f"/statements/{sid}/second-approval", csrf)).status_code == 303
    assert await _status(sid) == "approved"


async def _approved(net) -> int:
    sid = net["office_statement"]
    await raw_fetch("UPDATE statement SET fees_reviewed_by = $2 WHERE id = $1", sid,
                    net["users"]["cs"]["id"])

    await statements.approve_statement(actor=net["actors"]["finance2"], statement_id=sid)
    return sid


async def test_r27_bank_transfer_needs_a_reference_and_pays_once():
    net = await closed_month()
    sid = await _approved(net)
    async with client() as c:
        csrf = await login(c, "finance")
        r = await _post(c, f"/statements/{sid}/bank-payment", csrf, reference="  ")
        assert r.status_code == 422 and 'id="error-reference"' in r.text
        assert await raw_fetch("SELECT id FROM payout") == []
        r = await _post(c, f"/statements/{sid}/bank-payment", csrf, reference="ICBC-2026-001")
        assert r.status_code == 303
        page = await c.get(f"/statements/{sid}")
        assert 'id="record-bank"' not in page.text and "ICBC-2026-001" in page.text
        again = await _post(c, f"/statements/{sid}/bank-payment", csrf, reference="ICBC-2")
        assert again.status_code == 409
    assert await _status(sid) == "paid"
    assert len(await raw_fetch("SELECT id FROM payout")) == 1


async def test_adjustment_from_the_statement_page_is_validated_then_requested():
    net = await closed_month()
    sid = await _approved(net)
    async with client() as c:
        csrf = await login(c, "finance")
        r = await _post(c, f"/statements/{sid}/adjustment", csrf, kind="charge", amount="abc",
                        reason="")
        assert r.status_code == 422 and 'id="error-amount"' in r.text
        assert await raw_fetch("SELECT id FROM adjustment") == []
        r = await _post(c, f"/statements/{sid}/adjustment", csrf, kind="adjustment",
                        amount="-12.50", reason="Freight counted twice")
        assert r.status_code == 303
    rows = await raw_fetch("SELECT amount_fen, corrects, dealer FROM adjustment")
    assert rows == [{"amount_fen": -1250, "corrects": sid, "dealer": net["office"]["id"]}]


async def test_close_month_shows_a_polled_progress_bar_until_done():
    await closed_month(close_it=False)
    with clock.frozen(DECEMBER):
        async with client() as c:
            csrf = await login(c, "finance")
            bad = await _post(c, "/statements/close", csrf, period="November")
            assert bad.status_code == 422 and 'id="error-period"' in bad.text
            htmx = await c.post("/statements/close", data={"_csrf": csrf, "period": "2026-12"},
                                headers={"HX-Request": "true"})
            assert htmx.status_code == 422 and 'id="error-period"' in htmx.text
            assert "<html" not in htmx.text  # only the reason, swapped into the progress box
            assert await raw_fetch("SELECT id FROM period_close") == []
            r = await _post(c, "/statements/close", csrf, period="2026-11")
            assert r.status_code == 303
            run = int(r.headers["location"].split("run=")[1])
            page = await c.get(r.headers["location"])
            assert "<progress" in page.text and 'id="close-run"' in page.text
            for _ in range(100):
                fragment = await c.get(f"/statements/close/{run}", headers={"HX-Request": "true"})
                if 'data-status="running"' not in fragment.text:
                    break
                assert 'hx-trigger="every 1s"' in fragment.text
                await asyncio.sleep(0.1)
            assert 'data-status="done"' in fragment.text and "hx-trigger" not in fragment.text
            assert "<html" not in fragment.text  # a fragment, not a page
            assert "style=" not in page.text and "<script>" not in page.text  # CSP: same origin
            assert (await c.get(f"/statements/close/{run + 1}")).status_code == 404
    assert len(await raw_fetch("SELECT id FROM statement")) == 2
    async with client() as c:
        await login(c, "clerk")
        assert (await c.get(f"/statements/close/{run}")).status_code == 403


async def test_print_view_is_a4_in_either_language():
    net = await closed_month()
    async with client() as c:
        await login(c, "clerk")
        en = await c.get(f"/statements/{net['office_statement']}/print?lang=en")
        assert en.status_code == 200 and "Monthly settlement statement" in en.text
        assert "/static/print.css" in en.text and 'id="print-button"' in en.text
        assert "1,579.57" in re.search(r'id="sheet-total">(.*?)</tr>', en.text, re.S).group(1)
        zh = await c.get(f"/statements/{net['office_statement']}/print")
        assert "打印" in zh.text and "金额" in zh.text


async def test_xlsx_download_parses_back_to_the_statement():
    net = await closed_month()
    async with client() as c:
        await login(c, "clerk")
        r = await c.get(f"/statements/{net['office_statement']}/download?format=xlsx&lang=en")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = [row for row in sheet.iter_rows(values_only=True)]
    header = rows.index(("Kind", "Source", "Amount (¥)"))
    lines, total = rows[header + 1:-1], rows[-1]
    assert total[0] == "Total" and round(total[2] * 100) == OFFICE_TOTAL
    assert sum(round(line[2] * 100) for line in lines) == OFFICE_TOTAL
    assert all(isinstance(line[2], (int, float)) for line in lines)  # numbers, not text
    assert {line[0] for line in lines} == {"Rebate", "Repair fee", "Freight"}


async def test_csv_download_in_zh_and_en_with_yuan_to_two_decimals():
    net = await closed_month()
    async with client() as c:
        await login(c, "clerk")
        url = f"/statements/{net['office_statement']}/download?format=csv"
        zh, en = await c.get(url), await c.get(url + "&lang=en")
    assert zh.content.startswith("\ufeff".encode())
    zh_rows = list(csv.reader(io.StringIO(zh.content.decode("utf-8-sig"))))
    en_rows = list(csv.reader(io.StringIO(en.content.decode("utf-8-sig"))))
    assert ["Kind", "Source", "Amount (¥)"] in en_rows
    assert zh_rows[4] == [] and zh_rows[5][0] == "类型"  # the zh reader's headers
    assert ["状态", "草稿"] in zh_rows
    amounts = [row[2] for row in en_rows[6:-1]]
    assert all(re.fullmatch(r"-?\d+\.\d\d", a) for a in amounts)
    assert sum(int(a.replace(".", "")) for a in amounts) == OFFICE_TOTAL
    assert en_rows[-1] == ["Total", "", "1579.57"]


async def test_r24_repair_point_staff_see_their_fee_lines_and_a_sibling_does_not():
    net = await closed_month()
    point = net["point"]["id"]
    async with client() as c:
        await login(c, "staff")
        home = await c.get("/")
        assert f'href="/settlements/repair-points/{point}/fees"' in home.text
        page = await c.get(f"/settlements/repair-points/{point}/fees")
        assert page.status_code == 200 and "300.00" in page.text
        # the staff may not open the office's statement itself
        assert f'href="/statements/{net["office_statement"]}"' not in page.text
        assert (await c.get(f"/statements/{net['office_statement']}")).status_code == 404
    async with client() as c:
        await login(c, "gd.manager")
        assert (await c.get(f"/settlements/repair-points/{point}/fees")).status_code == 404


async def _page_queries(c, url: str) -> int:
    await c.get(url)  # warm-up
    with count_queries() as counter:
        assert (await c.get(url)).status_code == 200
    return counter.count


async def test_pages_issue_the_same_queries_for_3_and_30_statements():
    counts = []
    for extra in (1, 28):  # office + sibling + extra = 3, then 30
        from tests.conftest import _reset

        await _reset()
        net = await closed_month(extra_dealers=extra)
        assert len(net["statements"]) == extra + 2
        with count_queries() as reads:
            await queries.list_statements(net["actors"]["finance"])
            await queries.period_totals(net["office_statement"] and clock.china_today().replace(
                year=2026, month=11, day=1))
            await queries.statement_with_lines(net["actors"]["finance"], net["office_statement"])
        async with client() as c:
            await login(c, "finance")
            with clock.frozen(DECEMBER):
                counts.append((reads.count, await _page_queries(c, "/statements"),
                               await _page_queries(c, f"/statements/{net['office_statement']}")))
    assert counts[0] == counts[1], counts
    assert counts[0][0] == 4  # list 1, totals 1, statement 1 + its lines 1


async def test_credit_prices_are_hq_admin_data_with_history():
    net = await closed_month(close_it=False)
    async with client() as c:
        csrf = await login(c, "finance")
        assert (await c.get("/settlements/credit-prices")).status_code == 200
        denied = await _post(c, "/settlements/credit-prices", csrf, product_id=str(net["product"]),
                             price="12.50", effective_from="2026-12-20", reason="x")
        assert denied.status_code == 403
    async with client() as c:
        csrf = await login(c, "admin")
        with clock.frozen(DECEMBER):
            bad = await _post(c, "/settlements/credit-prices", csrf, product_id=str(net["product"]),
                              price="twelve", effective_from="2026-12-20", reason="")
            assert bad.status_code == 422 and 'id="error-price"' in bad.text
            assert await raw_fetch("SELECT id FROM credit_price") == []
            for price, day in (("12.50", "2026-12-20"), ("13.00", "2027-01-01")):
                r = await _post(c, "/settlements/credit-prices", csrf, product_id=str(net["product"]),
                                price=price, effective_from=day, reason="price list 2027")
                assert r.status_code == 303, r.text
            page = await c.get("/settlements/credit-prices")
        assert "12.50" in page.text and "13.00" in page.text


async def test_payout_accounts_page_keeps_history():
    net = await closed_month(close_it=False)
    async with client() as c:
        csrf = await login(c, "finance")
        bad = await _post(c, "/settlements/payout-accounts", csrf, dealer_id="x")
        assert bad.status_code == 422 and 'id="error-dealer_id"' in bad.text
        for account in ("6222-0001", "6222-0002"):
            r = await _post(c, "/settlements/payout-accounts", csrf,
                            dealer_id=str(net["office"]["id"]), bank_name="ICBC",
                            bank_account=account)
            assert r.status_code == 303, r.text
        page = await c.get("/settlements/payout-accounts")
        assert page.text.count('class="badge ok"') == 1 and "6222-0001" in page.text
    async with client() as c:
        await login(c, "clerk")
        assert (await c.get("/settlements/payout-accounts")).status_code == 403


async def test_adjustments_page_asks_and_a_second_person_decides():
    net = await closed_month(close_it=False)
    office = str(net["office"]["id"])
    async with client() as c:
        csrf = await login(c, "finance")
        bad = await _post(c, "/settlements/adjustments", csrf, dealer_id=office, kind="charge",
                          amount="", reason="")
        assert bad.status_code == 422 and 'id="error-amount"' in bad.text
        assert await raw_fetch("SELECT id FROM adjustment") == []
        assert (await _post(c, "/settlements/adjustments", csrf, dealer_id=office, kind="charge",
                            amount="-80.00", reason="Late form")).status_code == 303
        adjustment = (await raw_fetch("SELECT id FROM adjustment"))[0]["id"]
        own = await _post(c, f"/settlements/adjustments/{adjustment}/decide", csrf,
                          approve="1")
        assert own.status_code == 422  # not its requester (R26)
    async with client() as c:
        csrf = await login(c, "finance2")
        assert f'id="approve-adjustment-{adjustment}"' in (
            await c.get("/settlements/adjustments")).text
        assert (await _post(c, f"/settlements/adjustments/{adjustment}/decide", csrf,
                            approve="1")).status_code == 303
    assert (await raw_fetch("SELECT status FROM adjustment"))[0]["status"] == "approved"
    async with client() as c:  # the other button (approve=0) refuses, with the reason
        csrf = await login(c, "finance")
        assert (await _post(c, "/settlements/adjustments", csrf, dealer_id=office,
                            kind="adjustment", amount="12.00", corrects_statement_id="",
                            reason="Double count")).status_code == 303
        second = (await raw_fetch("SELECT max(id) AS id FROM adjustment"))[0]["id"]
    async with client() as c:
        csrf = await login(c, "finance2")
        url = f"/settlements/adjustments/{second}/decide"
        no_reason = await _post(c, url, csrf, approve="0", reason="")
        assert no_reason.status_code == 422 and 'id="error-reason"' in no_reason.text
        refused = await _post(c, url, csrf, approve="0", reason="Not double")
        assert refused.status_code == 303
        assert "调整已驳回。" in (await c.get(refused.headers["location"])).text
    assert (await raw_fetch("SELECT status FROM adjustment WHERE id = $1", second))[0][
        "status"] == "refused"


async def test_nav_links_to_statements_for_those_who_may_see_them():
    await closed_month(close_it=False)
    async with client() as c:
        await login(c, "clerk")
        assert 'id="nav-statements"' in (await c.get("/")).text
    async with client() as c:
        await login(c, "auditor")
        assert 'id="nav-statements"' in (await c.get("/")).text
        page = await c.get("/statements")
        assert 'id="period-totals"' in page.text and 'id="close-form"' not in page.text


def _csv(*rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def test_volume_upload_reports_every_bad_row_and_imports_nothing_until_clean():
    net = await closed_month(close_it=False)
    before = await raw_fetch("SELECT count(*) AS n FROM purchase_volume")
    store = net["office"]["id"]
    bad = _csv(["经销商", "金额"], [str(store), "abc"], ["no such dealer", "10.00"],
               [str(net["point"]["id"]), "5.00"])
    async with client() as c:
        csrf = await login(c, "finance")
        r = await c.post("/settlements/volumes", data={"_csrf": csrf, "period": "2026-10"},
                         files={"file": ("volumes.csv", bad, "text/csv")})
        assert r.status_code == 422
        errors = re.search(r'id="import-errors">(.*?)</ul>', r.text, re.S).group(1)
        assert all(f"第 {n} 行" in errors or f"Row {n}" in errors for n in (2, 3, 4)), errors
        assert await raw_fetch("SELECT count(*) AS n FROM purchase_volume") == before
        good = _csv(["dealer", "amount"], [str(store), "1,234.50"],
                    [str(net["sibling"]["id"]), "99"])
        r = await c.post("/settlements/volumes", data={"_csrf": csrf, "period": "2026-10"},
                         files={"file": ("volumes.csv", good, "text/csv")})
        assert r.status_code == 303 and "imported=2" in r.headers["location"]
        page = await c.get(r.headers["location"])
        assert 'id="imported"' in page.text and "1,234.50" in page.text
    rows = await raw_fetch("SELECT amount_fen FROM purchase_volume WHERE period = '2026-10-01' "
                           "ORDER BY amount_fen")
    assert [r["amount_fen"] for r in rows] == [9900, 123450]


async def test_r27_pay_by_stripe_from_the_page_when_stripe_is_configured():
    from settlements import payouts
    from tests.settlements.fake_connect import FakeConnect

    fake = FakeConnect(timeout_sleep=0.8).start()
    try:
        fake.add_account("acct_1Office")
        net = await closed_month()
        sid = await _approved(net)
        await payouts.set_payout_account(actor=net["actors"]["finance"],
                                         dealer_id=net["office"]["id"],
                                         stripe_account="acct_1Office")
        async with client() as c:  # without Stripe keys: bank transfer only
            await login(c, "finance")
            assert 'id="pay-stripe"' not in (await c.get(f"/statements/{sid}")).text
        async with client(stripe_secret_key="sk_test_portal", stripe_api_base=fake.url) as c:
            csrf = await login(c, "finance")
            assert 'id="pay-stripe"' in (await c.get(f"/statements/{sid}")).text
            assert (await _post(c, f"/statements/{sid}/pay", csrf)).status_code == 303
            again = await _post(c, f"/statements/{sid}/pay", csrf)
            assert again.status_code == 409 and 'id="action-error"' in again.text
        assert [t["amount"] for t in fake.transfers.values()] == [OFFICE_TOTAL]
        assert await _status(sid) == "paid"
    finally:
        fake.stop()


async def test_r1_keyset_pages_and_filters_of_the_list_stay_in_scope():
    net = await closed_month(extra_dealers=3)
    finance, clerk = net["actors"]["finance"], net["actors"]["clerk"]
    first = await queries.list_statements(finance, limit=2)
    rest = await queries.list_statements(finance, after_id=first[-1]["id"], limit=50)
    ids = [r["id"] for r in first + rest]
    assert ids == sorted(net["statements"].values(), reverse=True)  # newest first, no gaps
    assert await queries.list_statements(finance, status="approved") == []
    assert len(await queries.list_statements(finance, status="draft")) == 5
    assert [r["id"] for r in await queries.list_statements(clerk)] == [net["office_statement"]]
    assert await queries.list_statements(clerk, after_id=net["office_statement"]) == []
    async with client() as c:
        await login(c, "finance")
        more = await c.get(f"/statements?after={ids[1]}", headers={"HX-Request": "true"})
        assert "<html" not in more.text and f'id="statement-{ids[2]}"' in more.text
        assert f'id="statement-{ids[0]}"' not in more.text


async def test_r26_finance_sees_whether_the_journal_agrees_with_the_months_statements():
    net = await closed_month()
    statement = net["office_statement"]
    await statements.review_fees(actor=net["actors"]["cs"], statement_id=statement)
    await statements.approve_statement(actor=net["actors"]["finance2"], statement_id=statement)

    async def unreconciled() -> str:
        async with client() as c:
            await login(c, "finance")
            page = (await c.get("/statements?period=2026-11")).text
        return re.search(r'id="journal-check" data-unreconciled="(\d+)"', page).group(1)

    assert await unreconciled() == "0"
    entry = (await raw_fetch("SELECT id FROM journal_entry WHERE source_type = 'statement' "
                             "AND source_id = $1", str(statement)))[0]["id"]
    async with engine().transaction():  # a reversal with no new entry: the books disagree
        await journal.reverse(entry_id=entry, memo="test", actor=None)
    assert await unreconciled() == "1"
