"""The statement list people can work with (issue 9 §5): numbers people read (ST-202611-00042)
on the list, page, print and downloads, searched whole or by their start; search by dealer name
and month range; exports equal to the filtered list (never a sibling's); finance approves and
pays a selection, each statement under every rule of its own page, with a result each; flat
query counts at 10 and 1,000 statements."""
import csv
import html
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal import clock
from portal.db import count_queries, raw_fetch
from settlements import rules
from tests.helpers import client, login
from tests.settlements.statement_factory import DECEMBER, closed_month


@pytest.fixture(autouse=True)
def december():
    with clock.frozen(DECEMBER):
        yield


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="statement-(\d+)"', page)]


def _number(net: dict, dealer: dict, period: str = "202611") -> str:
    return f"ST-{period}-{dealer['id']:05d}"


async def _all_pages(c, url: str) -> list[int]:
    ids, page = [], (await c.get(url)).text
    while True:
        ids += _ids(page)
        more = re.search(r'hx-get="(/statements\?[^"]*after=[^"]*)"', page)
        if not more:
            return ids
        page = (await c.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})).text


def test_statement_numbers_are_period_and_dealer():
    from datetime import date
    assert rules.statement_number(date(2026, 11, 1), 42) == "ST-202611-00042"
    assert rules.statement_number(date(2026, 11, 1), 123456) == "ST-202611-123456"
    found = rules.parse_statement_search(" st-2026-11 ")
    assert (found.first, found.last, found.dealer_id) == (date(2026, 11, 1), date(2026, 11, 1), None)
    found = rules.parse_statement_search("ST-20261")
    assert (found.first, found.last) == (date(2026, 10, 1), date(2026, 12, 1))
    assert rules.parse_statement_search("ST-202611-00042").dealer_id == 42
    assert rules.parse_statement_search("ST-202611-0004").dealer_prefix == "0004"
    assert rules.parse_statement_search("ST-202611-000042").dealer_id == -1  # not a number
    for bad in ("", "ST", "hello", "ST-202613", "ST-2026-1-5", "RB202611000001"):
        assert rules.parse_statement_search(bad) is None, bad


async def test_numbers_are_shown_everywhere_and_searched_whole_or_by_start():
    net = await closed_month(extra_dealers=2)
    office, sibling = net["office_statement"], net["sibling_statement"]
    number = _number(net, net["office"])
    every = sorted(net["statements"].values(), reverse=True)
    starting = [sid for sid in every if _number(net, {"id": next(
        d for d, i in net["statements"].items() if i == sid)}).startswith(number[:-1])]
    assert net["office_statement"] in starting
    async with client() as c:
        await login(c, "finance")
        page = await c.get("/statements")
        assert f'>{number}</a>' in page.text
        detail = await c.get(f"/statements/{office}")
        assert f'id="statement-number">{number}<' in detail.text
        assert f'id="sheet-number">{number}<' in (await c.get(f"/statements/{office}/print")).text
        for query, expected in ((number, [office]), (number.lower(), [office]),
                                (number[:-1], starting), ("ST-202611", every), ("2026-11", every),
                                ("ST-202610", []), ("ST-202611-99999", [])):
            r = await c.get("/statements", params={"number": query})
            assert r.status_code == 200 and _ids(r.text) == expected, query
        r = await c.get("/statements", params={"number": "hello"})
        assert r.status_code == 422 and 'id="error-number"' in r.text and not _ids(r.text)
        # the dealer's name, zh or en, any case; month ranges; the numeric link of other pages
        await raw_fetch("UPDATE organisation SET name_en = 'Guangdong Office' WHERE id = $1",
                        net["sibling"]["id"])
        for params, expected in (({"org_name": "广东"}, [sibling]),
                                 ({"org_name": "guangDONG"}, [sibling]),
                                 ({"org_name": "%"}, []),
                                 ({"period_from": "2026-12"}, []),
                                 ({"period_from": "2026-11", "period_to": "2026-11",
                                   "org_name": "江苏"}, [office]),
                                 ({"org": str(net["sibling"]["id"])}, [sibling])):
            r = await c.get("/statements", params=params)
            assert r.status_code == 200 and _ids(r.text) == expected, params
        for query, field in (("period_from=2026-13", "period_from"),
                             ("period_from=2026-12&period_to=2026-11", "period_to"),
                             ("org=99999999999", "org"), ("after=x", "after"),
                             ("status=lost", "status"), ("period=11-2026", "period_from")):
            r = await c.get(f"/statements?{query}")
            assert r.status_code == 422 and f'id="error-{field}"' in r.text, query
    async with client() as c:  # R1: the office's clerk finds its own, never the sibling's
        await login(c, "clerk")
        assert _ids((await c.get("/statements", params={"org_name": "广东"})).text) == []
        r = await c.get("/statements", params={"number": _number(net, net["sibling"])})
        assert _ids(r.text) == []


async def test_exports_equal_the_filtered_list_and_never_show_a_sibling():
    net = await closed_month(extra_dealers=60)
    await raw_fetch("UPDATE organisation SET name = '=cmd|calc' WHERE id = $1",
                    net["office"]["id"])  # a formula-like name stays text
    for user, query in (("finance", ""), ("finance", "org_name=%E6%B5%99%E6%B1%9F"),
                        ("finance", "number=ST-202611&status=draft"), ("clerk", "")):
        async with client() as c:
            await login(c, user)
            listed = await _all_pages(c, f"/statements?{query}")
            assert listed
            rows = await raw_fetch("SELECT id, dealer, period, total_fen FROM statement "
                                   "WHERE id = ANY($1::int[])", listed)
            by_id = {r["id"]: r for r in rows}
            numbers = [rules.statement_number(by_id[i]["period"], by_id[i]["dealer"])
                       for i in listed]
            r = await c.get(f"/statements/export?{query}&format=csv")
            assert r.status_code == 200, r.text
            text = r.content.decode("utf-8-sig")
            table = list(csv.reader(io.StringIO(text)))
            assert [row[0] for row in table[1:]] == numbers, (user, query)
            assert [row[5] for row in table[1:]] == [
                f"{Decimal(by_id[i]['total_fen']).scaleb(-2)}" for i in listed]  # 1579.57
            r = await c.get(f"/statements/export?{query}&format=xlsx")
            sheet = load_workbook(io.BytesIO(r.content)).active
            cells = list(sheet.iter_rows(values_only=True))
            assert [row[0] for row in cells[1:]] == numbers
            assert all(isinstance(row[5], (int, float)) for row in cells[1:])
            if user == "clerk":
                assert listed == [net["office_statement"]]
                assert "广东办事处" not in text and table[1][1] == "'=cmd|calc"
                assert sheet["B2"].value == "=cmd|calc" and sheet["B2"].data_type == "s"
                assert table[0][0] != "Statement" and cells[0][0] == table[0][0]  # zh headers


async def _approvable(net: dict) -> dict:
    """The sibling's and two extra dealers' statements need no fee review; the second extra
    one was prepared by finance2 (four-eyes refuses them)."""
    extra = [sid for dealer, sid in net["statements"].items()
             if dealer not in (net["office"]["id"], net["sibling"]["id"])]
    await raw_fetch("UPDATE statement SET prepared_by = $1 WHERE id = $2",
                    net["users"]["finance2"]["id"], extra[1])
    return {"sibling": net["sibling_statement"], "extra0": extra[0], "own": extra[1]}


async def test_finance_approves_a_selection_each_under_every_rule():
    net = await closed_month(extra_dealers=2)
    s = await _approvable(net)
    async with client() as c:
        csrf = await login(c, "finance2")
        page = await c.get("/statements?status=draft")
        assert 'id="bulk-form"' in page.text and f'id="pick-{s["own"]}"' in page.text
        r = await c.post("/statements/bulk?status=draft", data={
            "_csrf": csrf, "action": "approve",
            "ids": [str(s["sibling"]), str(s["own"]), str(s["extra0"]),
                    str(net["office_statement"]), "987654"]})
        assert r.status_code == 200, r.text
        results = dict(re.findall(r'id="result-(\d+)" data-result="(\w+)"', r.text))
        assert results == {str(s["sibling"]): "done", str(s["extra0"]): "done",
                           str(s["own"]): "refused", str(net["office_statement"]): "refused",
                           "987654": "refused"}
        row = re.search(rf'id="result-{s["own"]}".*?</tr>', r.text, re.S).group(0)
        assert "prepared" in row or "编制" in row or "准备" in row
        assert "R26" not in r.text.split('id="bulk-results"')[1].split("</section>")[0]
        office_row = re.search(rf'id="result-{net["office_statement"]}".*?</tr>', r.text,
                               re.S).group(0)
        assert "R26" not in office_row
        assert 'id="result-987654"' in r.text
    statuses = {r["id"]: r["status"] for r in await raw_fetch("SELECT id, status FROM statement")}
    assert statuses[s["sibling"]] == statuses[s["extra0"]] == "approved"
    assert statuses[s["own"]] == statuses[net["office_statement"]] == "draft"
    # a bank transfer run pays the approved ones; the draft is refused, nothing paid twice
    async with client() as c:
        csrf = await login(c, "finance2")
        r = await c.post("/statements/bulk", data={
            "_csrf": csrf, "action": "bank-payment", "reference": "ICBC-RUN-7",
            "ids": [str(s["sibling"]), str(s["extra0"]), str(s["own"])]})
        results = dict(re.findall(r'id="result-(\d+)" data-result="(\w+)"', r.text))
        assert results == {str(s["sibling"]): "done", str(s["extra0"]): "done",
                           str(s["own"]): "refused"}
        again = await c.post("/statements/bulk", data={
            "_csrf": csrf, "action": "bank-payment", "reference": "ICBC-RUN-8",
            "ids": [str(s["sibling"])]})
        assert 'data-result="refused"' in again.text
    refs = sorted(r["bank_reference"] for r in await raw_fetch(
        "SELECT bank_reference FROM payout WHERE status = 'paid'"))
    assert refs == sorted(f"ICBC-RUN-7/{rules.statement_number(row['period'], row['dealer'])}"
                          for row in await raw_fetch(
                              "SELECT period, dealer FROM statement WHERE id = ANY($1::int[])",
                              [s["sibling"], s["extra0"]]))


async def test_bulk_refuses_bad_selections_and_other_roles():
    net = await closed_month(extra_dealers=1)
    async with client() as c:
        csrf = await login(c, "finance2")
        for data, field in (({"action": "approve"}, "bulk_ids"),
                            ({"action": "explode", "ids": [str(net["sibling_statement"])]},
                             "bulk_action"),
                            ({"action": "approve", "ids": ["99999999999"]}, "bulk_ids"),
                            ({"action": "approve", "ids": [str(i) for i in range(1, 202)]},
                             "bulk_ids"),
                            ({"action": "bank-payment", "ids": [str(net["sibling_statement"])]},
                             "bulk_reference")):
            r = await c.post("/statements/bulk", data={"_csrf": csrf, **data})
            assert r.status_code == 422 and f'id="error-{field}"' in r.text, data
        assert {r["status"] for r in await raw_fetch("SELECT status FROM statement")} == {"draft"}
    async with client() as c:
        csrf = await login(c, "clerk")
        assert 'id="bulk-form"' not in (await c.get("/statements")).text
        r = await c.post("/statements/bulk", data={"_csrf": csrf, "action": "approve",
                                                  "ids": [str(net["office_statement"])]})
        assert r.status_code == 403


async def _grow(net: dict, n: int) -> None:
    """n more stores under the office, each with a November statement (one statement each)."""
    await raw_fetch(
        "WITH o AS (INSERT INTO organisation (name, name_en, kind, parent, path, active, "
        "created_at) SELECT '江苏门店' || g, 'Store ' || g, 'store', $1, '', true, now() "
        "FROM generate_series(1, $2) g RETURNING id) "
        "UPDATE organisation SET path = $3 || organisation.id || '.' FROM o "
        "WHERE organisation.id = o.id", net["office"]["id"], n, net["office"]["path"])
    await raw_fetch(
        "INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at) "
        "SELECT id, '2026-11-01', 'draft', 1000 + id, $1, now() FROM organisation "
        "WHERE kind = 'store' AND NOT EXISTS (SELECT 1 FROM statement s WHERE s.dealer = "
        "organisation.id)", net["users"]["finance"]["id"])


URLS = ["/statements?number=ST-2026&org_name=%E6%B1%9F%E8%8B%8F&period_from=2026-11"
        "&period_to=2026-11&status=draft",
        "/statements?org_name=store",
        "/statements?waiting=approval",
        "/statements/export?number=ST-202611&format=csv",
        "/statements/export?org_name=store&format=xlsx"]


async def _count(c, url: str) -> int:
    await c.get(url)
    with count_queries() as counter:
        r = await c.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    return counter.count


async def test_query_count_is_flat_with_every_filter_at_10_and_1000_statements():
    net = await closed_month()
    counts = []
    for total in (10, 1_000):
        have = (await raw_fetch("SELECT count(*) AS n FROM statement"))[0]["n"]
        await _grow(net, total - have)
        assert (await raw_fetch("SELECT count(*) AS n FROM statement"))[0]["n"] == total
        per_user = []
        for user in ("finance", "clerk"):
            async with client() as c:
                await login(c, user)
                per_user.append([await _count(c, url) for url in URLS])
        counts.append(per_user)
    assert counts[0] == counts[1], counts
    print("statement list queries at 10 and 1,000 statements:", counts)
