"""The repair-point list people can work with (issue 9 §5): search by the point's name (zh or
en, any case), its number or its office's name; the office filter for HQ and regional roles;
status (of the application, or closed) and China-day ranges of proposal and decision; bad
query values refused beside their field (page, export and API twin); exports equal to the
filtered list (same rows, same order, never a sibling's office), formula-like names kept as
text, headers in the reader's language; the same number of queries at 10 and 1,000 rows."""
import csv
import html
import io
import re
from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook

from portal import clock
from portal.db import count_queries, raw_fetch
from spares import applications
from tests.helpers import actor_of, api_token, client, login, make_org, make_user

EVIL = "=cmd|' /C calc'!A0"


async def _world() -> dict:
    hq = await make_org("hq", region=None)
    js = await make_org("office", parent=hq, region="CN-JS", name="江苏办事处")
    gd = await make_org("office", parent=hq, region="CN-GD", name="广东办事处")
    await raw_fetch("UPDATE organisation SET name_en = 'Jiangsu Office' WHERE id = $1", js["id"])
    await raw_fetch("UPDATE organisation SET name_en = 'Guangdong Office' WHERE id = $1", gd["id"])
    users = {"js": await make_user(js, ["manager"], username="js.manager", locale="en"),
             "gd": await make_user(gd, ["manager"], username="gd.manager"),
             "cs": await make_user(hq, ["hq_cs"], username="cs"),
             "regional": await make_user(hq, ["manager"], username="regional", covers=[js])}
    return {"hq": hq, "js": js, "gd": gd, "users": users}


async def _propose(w: dict, office: str, name: str, at: str) -> int:
    """One application through the service, proposed at the instant `at`."""
    who = {"js": "js", "gd": "gd"}[office]
    with clock.frozen(datetime.fromisoformat(at)):
        return await applications.propose_repair_point(
            actor=await actor_of(w["users"][who]), office_id=w[office]["id"], name=name,
            coverage_area="市区", sales_scale="small", address=f"{name}地址",
            proposed_fee_fen=30000)


async def _decide(w: dict, application: int, at: str, approve: bool = True) -> int | None:
    with clock.frozen(datetime.fromisoformat(at)):
        return await applications.decide_repair_point(
            actor=await actor_of(w["users"]["cs"]), application_id=application, approve=approve,
            reason="" if approve else "覆盖区域重复")


async def _bulk(office: dict, user: dict, n: int, prefix: str, *, status: str = "proposed",
                start: int = 1) -> list[int]:
    """n applications named <prefix><seq> of `office`, in one statement."""
    rows = await raw_fetch(
        "INSERT INTO repair_point_application (office, name, coverage_area, sales_scale, "
        "address, proposed_fee_fen, status, proposed_by, proposed_at, decision_reason) "
        "SELECT $1, $2 || lpad(g::text, 5, '0'), 'x', 'medium', 'addr ' || g, 1000 + g, $3, $4, "
        "timestamptz '2026-11-10 02:00+00' + g * interval '1 minute', '' "
        "FROM generate_series($5::int, $5::int + $6::int - 1) g ORDER BY g RETURNING id",
        office["id"], prefix, status, user["id"], start, n)
    return [r["id"] for r in rows]


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="application-(\d+)"', page)]


def _shown(page: str) -> list[tuple[str, str]]:
    """(name, office) of every row, as the page shows them."""
    rows = re.findall(r'<tr id="application-\d+"[^>]*><td>(?:<a [^>]*>)?(.*?)(?:</a>)?<br>'
                      r'.*?</td>\s*<td>(.*?)</td>', page, re.S)
    return [(html.unescape(name), html.unescape(office)) for name, office in rows]


async def _all_pages(c, url: str) -> str:
    """Every row the list shows for `url`, following the "More" button (keyset pages)."""
    page = (await c.get(url)).text
    pages = [page]
    while True:
        more = re.search(r'hx-get="(/repair-points\?[^"]*after=[^"]*)"', page)
        if not more:
            return "".join(pages)
        page = (await c.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})).text
        pages.append(page)


async def _points(w: dict) -> dict:
    """Nanjing (JS, approved, its point named in English too), Suzhou (JS, refused) and
    Guangzhou (GD, waiting), proposed on three China days."""
    nj = await _propose(w, "js", "南京灯具城维修点", "2026-11-03 10:00+08:00")
    sz = await _propose(w, "js", "苏州维修点", "2026-11-05 23:30+08:00")
    gz = await _propose(w, "gd", "广州灯饰城维修点", "2026-11-07 00:30+08:00")
    point = await _decide(w, nj, "2026-11-20 09:00+08:00")
    await _decide(w, sz, "2026-11-21 09:00+08:00", approve=False)
    await raw_fetch("UPDATE organisation SET name_en = 'Nanjing Lighting Market' WHERE id = $1",
                    point)
    return {"nj": nj, "sz": sz, "gz": gz, "point": point}


async def test_search_by_name_number_office_status_and_days():
    w = await _world()
    p = await _points(w)
    everything = [p["gz"], p["sz"], p["nj"]]
    async with client() as c:
        await login(c, "cs")
        page = await c.get("/repair-points")
        assert _ids(page.text) == everything and 'id="filter-office-name"' in page.text
        for params, expected in (
                ({"q": "南京"}, [p["nj"]]), ({"q": "nanjing LIGHTING"}, [p["nj"]]),
                ({"q": str(p["point"])}, [p["nj"]]), ({"q": "广东"}, [p["gz"]]),
                ({"q": "office"}, everything), ({"q": "%"}, []), ({"q": "上海"}, []),
                ({"office_name": "jiangsu"}, [p["sz"], p["nj"]]),
                ({"office_name": "广东办事处"}, [p["gz"]]),
                ({"office_name": "江苏", "q": "苏州"}, [p["sz"]]),
                ({"status": "proposed"}, [p["gz"]]), ({"status": "refused"}, [p["sz"]]),
                ({"status": "approved"}, [p["nj"]]), ({"status": "closed"}, []),
                # China days: 23:30 on the 5th and 00:30 on the 7th (Shanghai) are those days
                ({"proposed_from": "2026-11-05", "proposed_to": "2026-11-05"}, [p["sz"]]),
                ({"proposed_from": "2026-11-06"}, [p["gz"]]),
                ({"proposed_to": "2026-11-04"}, [p["nj"]]),
                ({"decided_from": "2026-11-21"}, [p["sz"]]),
                ({"decided_from": "2026-11-01", "decided_to": "2026-11-30"}, [p["sz"], p["nj"]]),
                ({"waiting": "proposed", "q": "维修点"}, [p["gz"]])):
            r = await c.get("/repair-points", params=params)
            assert r.status_code == 200 and _ids(r.text) == expected, params
        await raw_fetch("UPDATE organisation SET active = false WHERE id = $1", p["point"])
        assert _ids((await c.get("/repair-points?status=closed")).text) == [p["nj"]]
        assert _ids((await c.get("/repair-points?status=approved")).text) == []
    async with client() as c:  # English reader: the point's English name; one office, no filter
        await login(c, "js.manager")
        page = await c.get("/repair-points")
        assert _ids(page.text) == [p["sz"], p["nj"]] and 'id="filter-office-name"' not in page.text
        assert ("Nanjing Lighting Market", "Jiangsu Office") in _shown(page.text)
    async with client() as c:  # a regional manager: the offices covered, never the others
        await login(c, "regional")
        assert _ids((await c.get("/repair-points")).text) == [p["sz"], p["nj"]]
        assert _ids((await c.get("/repair-points", params={"office_name": "广东"})).text) == []


async def test_a_sibling_office_never_finds_another_offices_points():
    w = await _world()
    p = await _points(w)
    async with client() as c:
        await login(c, "gd.manager")
        assert _ids((await c.get("/repair-points")).text) == [p["gz"]]
        for params in ({"q": "南京"}, {"q": "nanjing"}, {"q": str(p["point"])},
                       {"office_name": "江苏"}, {"q": "江苏办事处"}, {"status": "approved"}):
            r = await c.get("/repair-points", params=params)
            assert r.status_code == 200 and _ids(r.text) == [], params
            rows = r.text.split('id="point-rows">')[1].split("</tbody>")[0]
            assert "南京" not in rows and "江苏" not in rows and "Jiangsu" not in rows
            assert "南京灯具城维修点" not in r.text and "Jiangsu Office" not in r.text
            for kind in ("csv", "xlsx"):
                r = await c.get("/repair-points/export", params={**params, "format": kind})
                assert r.status_code == 200
                if kind == "csv":
                    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
                else:
                    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(
                        values_only=True))
                assert len(rows) == 1, (params, kind)  # the header alone
        r = await c.get("/repair-points/export?format=csv")
        assert "南京" not in r.content.decode("utf-8-sig")
        assert "广州灯饰城维修点" in r.content.decode("utf-8-sig")
    headers = {"Authorization": f"Bearer {await api_token(w['users']['gd'])}"}
    async with client() as c:
        for params in ({"q": "南京"}, {"office_name": "江苏"}, {}):
            r = await c.get("/api/v1/repair-points", params=params, headers=headers)
            assert r.status_code == 200
            assert [a["id"] for a in r.json()] == ([p["gz"]] if not params else []), params


async def test_bad_filter_values_are_refused_beside_their_field():
    w = await _world()
    await _points(w)
    headers = {"Authorization": f"Bearer {await api_token(w['users']['cs'])}"}
    async with client() as c:
        await login(c, "cs")
        for query, field in (("status=lost", "status"), ("q=" + "x" * 121, "q"),
                             ("office_name=" + "x" * 121, "office_name"),
                             ("proposed_from=2026-02-30", "proposed_from"),
                             ("proposed_from=11/05/2026", "proposed_from"),
                             ("decided_to=2026-13-01", "decided_to"),
                             ("proposed_from=2026-12-05&proposed_to=2026-12-01", "proposed_to"),
                             ("decided_from=2026-12-05&decided_to=2026-12-01", "decided_to"),
                             ("after=3000000000", "after"), ("format=pdf", "format")):
            for path in ("/repair-points", "/repair-points/export", "/api/v1/repair-points"):
                if (field, path) in (("format", "/repair-points"), ("after", "/repair-points/export"),
                                     ("format", "/api/v1/repair-points")):
                    continue  # the export has no page cursor, the list no format
                if path.startswith("/api/"):
                    r = await c.get(f"{path}?{query}", headers=headers)
                    assert r.status_code == 422 and field in r.json()["fields"], (query, r.text)
                    continue
                r = await c.get(f"{path}?{query}")
                assert r.status_code == 422 and f'id="error-{field}"' in r.text, (path, query)
                assert "text/html" in r.headers["content-type"]
                if field != "format":
                    assert not _ids(r.text), (path, query)
        r = await c.get("/repair-points?status=lost")
        assert "Choose one of the listed values." not in r.text  # said in Chinese to cs
        assert (await c.get("/repair-points?q=%E5%8D%97%01")).status_code == 422  # control char


async def test_exports_equal_the_filtered_list():
    w = await _world()
    p = await _points(w)
    cs, js = w["users"]["cs"], w["users"]["js"]
    await _bulk(w["js"], js, 70, "江苏网点")
    await _bulk(w["gd"], cs, 40, "广东网点", start=71, status="refused")
    await raw_fetch("UPDATE repair_point_application SET name = $1 WHERE id = $2", EVIL, p["sz"])
    for user, query in (("cs", ""), ("cs", "q=%E7%BD%91%E7%82%B9"),  # 网点
                        ("cs", "office_name=guangdong&status=refused"),
                        ("cs", "proposed_from=2026-11-05&proposed_to=2026-11-10"),
                        ("js.manager", ""), ("js.manager", "q=cmd")):
        async with client() as c:
            await login(c, user)
            shown = _shown(await _all_pages(c, f"/repair-points?{query}"))
            assert shown, (user, query)
            r = await c.get(f"/repair-points/export?{query}&format=csv")
            assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
            assert "attachment" in r.headers["content-disposition"]
            assert "repair-points-" in r.headers["content-disposition"]
            table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            plain = [(n[1:] if n.startswith("'=") else n, o) for n, _, o, *_ in table[1:]]
            assert plain == shown, (user, query)
            r = await c.get(f"/repair-points/export?{query}&format=xlsx")
            assert r.status_code == 200
            cells = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
            assert [(row[0], row[2]) for row in cells[1:]] == shown, (user, query)
            assert cells[0] == tuple(table[0])
            if user == "js.manager":  # English; never the sibling office's rows
                assert table[0][:3] == ["Name", "Address", "Office"]
                assert all(o == "Jiangsu Office" for _, o in shown)
                assert "广东" not in r.text and not any("广东" in str(v) for row in cells
                                                       for v in row)
            else:  # Chinese for a Chinese reader
                assert table[0][:3] == ["名称", "地址", "办事处"] and table[0][4] == "建议维修费（元）"
    async with client() as c:  # formula-like names stay text; money in yuan; China dates
        await login(c, "cs")
        r = await c.get("/repair-points/export?q=cmd&format=csv")
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(table) == 2 and table[1][0] == "'" + EVIL
        assert table[1][4] == "300.00" and table[1][6] == "2026-11-05"
        r = await c.get("/repair-points/export?q=cmd&format=xlsx")
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet["A2"].value == EVIL and sheet["A2"].data_type == "s"
        assert Decimal(str(sheet["E2"].value)) == Decimal("300")


async def test_the_api_answers_as_the_page():
    w = await _world()
    p = await _points(w)
    await _bulk(w["js"], w["users"]["js"], 60, "江苏网点")
    for user, username in (("cs", "cs"), ("js", "js.manager"), ("regional", "regional")):
        headers = {"Authorization": f"Bearer {await api_token(w['users'][user])}"}
        async with client() as c:
            await login(c, username)
            for params in ({}, {"q": "南京"}, {"q": "网点"}, {"office_name": "广东"},
                           {"status": "refused"}, {"proposed_from": "2026-11-06"}):
                page = await c.get("/repair-points", params=params)
                api = await c.get("/api/v1/repair-points", params=params, headers=headers)
                assert page.status_code == api.status_code == 200, (user, params, api.text)
                assert [a["id"] for a in api.json()] == _ids(page.text), (user, params)
            found = (await c.get("/api/v1/repair-points", params={"q": "nanjing"},
                                 headers=headers)).json()
            assert [(a["id"], a["repair_point_id"], a["status"]) for a in found] == [
                (p["nj"], p["point"], "approved")]


async def _count(c, url: str) -> int:
    await c.get(url)  # warm-up
    with count_queries() as counter:
        r = await c.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return counter.count


FILTERED = ["/repair-points",
            "/repair-points?q=%E7%BD%91%E7%82%B9&office_name=office&status=proposed"
            "&proposed_from=2026-11-01&proposed_to=2026-11-30",
            "/repair-points?decided_from=2026-11-01&waiting=proposed",
            "/repair-points/export?q=%E7%BD%91%E7%82%B9&format=csv",
            "/repair-points/export?office_name=jiangsu&format=xlsx"]


async def test_query_count_is_flat_with_every_filter_at_10_and_1000_points():
    w = await _world()
    await _points(w)
    counts = []
    for total in (10, 1_000):
        have = (await raw_fetch("SELECT count(*) AS n FROM repair_point_application"))[0]["n"]
        await _bulk(w["js"], w["users"]["js"], total - have, "江苏网点", start=have + 1)
        async with client() as c:
            await login(c, "cs")
            hq = [await _count(c, url) for url in FILTERED]
        async with client() as c:
            await login(c, "js.manager")
            office = [await _count(c, url) for url in FILTERED]
        counts.append((hq, office))
    assert counts[0] == counts[1], counts
    assert all(n <= 8 for n in counts[0][0] + counts[0][1]), counts
    print("repair-point list queries at 10 and 1,000 points:", counts)
