"""The return batch list people can work with (issue 9 §5): search by number (start or whole)
and by organisation name (zh or en, any case), month and submission-day ranges in China time,
numeric links from home pages still working, bad query values refused beside their field,
exports equal to the filtered list (same batches, same order, never a sibling's), formula-like
names neutralised, and the same number of queries at 10 and 1,000 batches (R1 scope kept)."""
import csv
import html
import io
import re
from datetime import datetime

from openpyxl import load_workbook

from portal.db import count_queries, raw_fetch
from tests.helpers import client, login, make_org, make_user

EVIL = "=HYPERLINK(\"http://x.test\",\"门店\")"


async def _world() -> dict:
    hq = await make_org("hq", region=None)
    js = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    store = await make_org("store", parent=js, name=EVIL)
    gd = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    await raw_fetch("UPDATE organisation SET name_en = 'Jiangsu Office' WHERE id = $1", js["id"])
    await raw_fetch("UPDATE organisation SET name_en = 'Guangdong Office' WHERE id = $1", gd["id"])
    users = {"clerk": await make_user(js, ["dealer_clerk"], username="clerk", locale="en"),
             "cs": await make_user(hq, ["hq_cs"], username="cs"),
             "gd": await make_user(gd, ["dealer_clerk"], username="gd.clerk")}
    return {"hq": hq, "js": js, "store": store, "gd": gd, "users": users}


async def _batches(org: dict, user: dict, n: int, *, month: str = "2026-11-01",
                   submitted: str | None = "2026-11-10 02:00+00", start: int = 1,
                   status: str = "withdrawn") -> list[int]:
    """n batches RB<month><seq> of `org`, in one statement (no per-row service calls);
    withdrawn by default, a status the one-regular-batch-a-month index leaves alone."""
    rows = await raw_fetch(
        "INSERT INTO return_batch (number, organisation, month, kind, status, created_by, "
        "created_at, submitted_at, refused_reason, disposal_evidence, carrier, waybill, "
        "freight_fen, company_bears_freight) "
        "SELECT 'RB' || to_char($2::date, 'YYYYMM') || lpad(g::text, 6, '0'), $1, $2::date, "
        "'regular', $5, $3, now(), $4::timestamptz, '', '', '', '', 0, false "
        "FROM generate_series($6::int, $6::int + $7::int - 1) g ORDER BY g RETURNING id",
        org["id"], datetime.fromisoformat(month).date(), user["id"],
        datetime.fromisoformat(submitted) if submitted else None, status, start, n)
    return [r["id"] for r in rows]


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="batch-(\d+)"', page)]


async def _all_pages(c, url: str) -> list[int]:
    """Every batch the list shows for `url`, following the "More" button (keyset pages)."""
    ids, page = [], (await c.get(url)).text
    while True:
        ids += _ids(page)
        more = re.search(r'hx-get="(/batches\?[^"]*after=[^"]*)"', page)
        if not more:
            return ids
        page = (await c.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})).text


async def _numbers(ids: list[int]) -> list[str]:
    rows = await raw_fetch("SELECT id, number FROM return_batch WHERE id = ANY($1::int[])", ids)
    by_id = {r["id"]: r["number"] for r in rows}
    return [by_id[i] for i in ids]


async def test_search_by_number_start_or_whole_and_by_organisation_name():
    w = await _world()
    cs = w["users"]["cs"]
    nov = await _batches(w["js"], cs, 3)                                  # RB202611000001..3
    dec = await _batches(w["gd"], cs, 2, month="2026-12-01", start=4)     # RB202612000004..5
    async with client() as c:
        await login(c, "cs")
        for query, expected in (("RB202611000002", [nov[1]]), ("rb2026 11", nov[::-1]),
                                ("202612", dec[::-1]), ("RB2026", (nov + dec)[::-1]),
                                ("RB2027", []), ("RB20261%", [])):
            page = await c.get("/batches", params={"number": query})
            assert page.status_code == 200 and _ids(page.text) == expected, query
        # names: zh or en, any case, part of it; the number links (?org=) still work
        for name, expected in (("江苏", nov[::-1]), ("guangdong off", dec[::-1]),
                               ("OFFICE", (nov + dec)[::-1]), ("上海", [])):
            page = await c.get("/batches", params={"org_name": name})
            assert _ids(page.text) == expected, name
        page = await c.get(f"/batches?org={w['gd']['id']}&status=withdrawn")
        assert _ids(page.text) == dec[::-1] and 'id="filter-org"' in page.text
    async with client() as c:  # R1: a sibling's batches are not found by its name either
        await login(c, "clerk")
        assert _ids((await c.get("/batches", params={"org_name": "广东"})).text) == []
        assert _ids((await c.get("/batches", params={"number": "RB202612"})).text) == []
        assert _ids((await c.get("/batches", params={"org_name": "jiangsu"})).text) == nov[::-1]


async def test_month_and_china_day_ranges():
    w = await _world()
    cs = w["users"]["cs"]
    # 2026-11-30 17:00 UTC is 1 December in China: it counts as submitted on 12-01
    late = await _batches(w["js"], cs, 1, submitted="2026-11-30 17:00+00")
    early = await _batches(w["js"], cs, 1, submitted="2026-11-30 15:00+00", start=2)
    october = await _batches(w["js"], cs, 1, month="2026-10-01", start=3,
                             submitted="2026-10-12 03:00+00")
    async with client() as c:
        await login(c, "cs")
        page = await c.get("/batches?submitted_from=2026-12-01&submitted_to=2026-12-01")
        assert _ids(page.text) == late
        page = await c.get("/batches?submitted_from=2026-11-30&submitted_to=2026-11-30")
        assert _ids(page.text) == early
        page = await c.get("/batches?month_from=2026-11&month_to=2026-12")
        assert _ids(page.text) == (late + early)[::-1]
        page = await c.get("/batches?month_to=2026-10")
        assert _ids(page.text) == october
        page = await c.get("/batches?month=2026-10-01&status=withdrawn")  # a home page's link
        assert _ids(page.text) == october and 'value="2026-10"' in page.text


async def test_bad_query_values_are_refused_beside_their_field():
    w = await _world()
    await _batches(w["js"], w["users"]["cs"], 2)
    async with client() as c:
        await login(c, "cs")
        for query, field in (("org=99999999999", "org"), ("org=abc", "org"),
                             ("after=3000000000", "after"), ("month_from=2026-13", "month_from"),
                             ("submitted_from=2026-02-30", "submitted_from"),
                             ("submitted_from=2026-12-05&submitted_to=2026-12-01", "submitted_to"),
                             ("month_from=2026-12&month_to=2026-11", "month_to"),
                             ("status=lost", "status"), ("number=" + "9" * 41, "number"),
                             ("format=pdf", "format")):
            for path in ("/batches", "/batches/export"):
                if (field, path) in (("format", "/batches"), ("after", "/batches/export")):
                    continue  # the export has no page cursor, the list no format
                r = await c.get(f"{path}?{query}")
                assert r.status_code == 422 and f'id="error-{field}"' in r.text, (path, query)
                assert not _ids(r.text)
        r = await c.get("/batches?number=RB%01")  # control characters: the validation edge
        assert r.status_code == 422


async def test_exports_equal_the_filtered_list_and_never_show_a_sibling():
    w = await _world()
    cs = w["users"]["cs"]
    await _batches(w["js"], cs, 40)
    await _batches(w["store"], cs, 25, start=41)
    await _batches(w["gd"], cs, 30, start=66)
    async with client() as c:
        await login(c, "clerk")  # English; sees Jiangsu and its store, never Guangdong
        for query in ("", "number=RB20261100004", "org_name=%3DHYPER", "month_from=2026-11"):
            listed = await _all_pages(c, f"/batches?{query}")
            assert listed and len(listed) == len(set(listed))
            numbers = await _numbers(listed)
            r = await c.get(f"/batches/export?{query}&format=csv")
            assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
            assert "attachment" in r.headers["content-disposition"]
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            assert rows[0][:3] == ["Number", "Organisation", "Month"]
            assert [row[0] for row in rows[1:]] == numbers, query
            assert "广东办事处" not in r.text and "Guangdong" not in r.text
            r = await c.get(f"/batches/export?{query}&format=xlsx")
            sheet = load_workbook(io.BytesIO(r.content)).active
            cells = list(sheet.iter_rows(values_only=True))
            assert [row[0] for row in cells[1:]] == numbers, query
            assert not any("广东" in str(v) for row in cells for v in row)
        # the store's formula-like name is text in both formats, never a formula
        r = await c.get("/batches/export?org_name=%3DHYPER&format=csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == 26 and all(row[1] == "'" + EVIL for row in rows[1:])
        assert rows[1][5] == "2026-11-10"  # submitted on, a China date
        r = await c.get("/batches/export?org_name=%3DHYPER&format=xlsx")
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet["B2"].value == EVIL and sheet["B2"].data_type == "s"
    async with client() as c:  # Chinese headers for a Chinese reader
        await login(c, "cs")
        r = await c.get("/batches/export?format=csv")
        header = r.content.decode("utf-8-sig").splitlines()[0]
        assert "Number" not in header and "单号" in header
        assert r.content.decode("utf-8-sig").count("\n") == 96  # header + all 95


async def _count(c, url: str) -> int:
    await c.get(url)  # warm-up
    with count_queries() as counter:
        r = await c.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return counter.count


FILTERED = ["/batches?number=RB2026&org_name=office&month_from=2026-11&month_to=2026-11"
            "&submitted_from=2026-11-01&submitted_to=2026-11-30&status=withdrawn",
            "/batches?org_name=%E6%B1%9F%E8%8B%8F",
            "/batches/export?org_name=office&month_from=2026-11&format=csv",
            "/batches/export?number=RB202611&format=xlsx"]


async def test_query_count_is_flat_with_every_filter_at_10_and_1000_batches():
    w = await _world()
    cs = w["users"]["cs"]
    counts = []
    for total in (10, 1_000):
        existing = (await raw_fetch("SELECT count(*) AS n FROM return_batch"))[0]["n"]
        await _batches(w["js"], cs, total - existing, start=existing + 1)
        async with client() as c:
            await login(c, "cs")
            hq = [await _count(c, url) for url in FILTERED]
        async with client() as c:
            await login(c, "clerk")
            clerk = [await _count(c, url) for url in FILTERED]
        counts.append((hq, clerk))
    assert counts[0] == counts[1], counts
    assert all(n <= 8 for n in counts[0][0] + counts[0][1]), counts
    print("batch list queries at 10 and 1,000 batches:", counts)
