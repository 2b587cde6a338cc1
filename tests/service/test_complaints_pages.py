"""R32 pages and API twins: recording, each step through its page and its API twin, the step
shown disabled with the reason a rule gives, breaches in red, the list's search and export,
names and phones masked outside the holding organisation; tenant isolation (a sibling office
gets 404 on the page, its steps and the API, and never finds it in a list or an export); the
list and the home pages flat in queries at 10 and 100 complaints."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from portal import clock
from portal.clock import CHINA
from portal.db import count_queries, raw_fetch
from service import rules
from tests.helpers import api_token, client, login
from tests.service.complaint_factory import PHONE, complaint, status_of, world

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen(NOW):
        yield


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="complaint-(\d+)"', html)


async def test_r32_staff_record_a_complaint_on_the_page():
    w = await world()
    async with client() as c:
        csrf = await login(c, "staff")
        assert (await c.get("/complaints/new")).status_code == 200
        r = await c.post("/complaints", data={
            "_csrf": csrf, "name": "赵先生", "phone": "138 1234 5678", "channel": "visit",
            "about": "product", "about_product": str(w.products["ceiling"]),
            "description": "灯罩发黄。", "asks": "换新。"})
        assert r.status_code == 303, r.text
        page = await c.get(r.headers["location"])
        assert page.status_code == 200 and "灯罩发黄。" in page.text
        assert re.search(r'class="flash-message">[^<]*TS[A-Z0-9]{8}', page.text)
        bad = await c.post("/complaints", data={"_csrf": csrf, "name": "", "phone": "1",
                                                "channel": "phone", "about": "other",
                                                "description": ""})
        assert bad.status_code == 422 and 'id="error-phone"' in bad.text
    row = (await raw_fetch("SELECT organisation, channel, about_product FROM complaint"))
    assert row == [{"organisation": w.orgs["point"]["id"], "channel": "visit",
                    "about_product": w.products["ceiling"]}]


async def test_r32_steps_on_the_page_disabled_with_the_reason():
    w = await world()
    c = await complaint(w, "proposed")
    async with client() as http:
        csrf = await login(http, "clerk")  # holds the complaint: tells and closes it
        page = (await http.get(c["link"])).text
        assert re.search(r'id="tell" disabled aria-describedby="tell-why"', page)
        assert "The customer is told once the resolution is approved." in page
        r = await http.post(f"{c['link']}/tell", data={"_csrf": csrf, "told_how": "电话"})
        assert r.status_code == 422 and 'id="action-error"' in r.text
    async with client() as http:
        csrf = await login(http, "cs2")
        r = await http.post(f"{c['link']}/approve", data={"_csrf": csrf, "approve": "1"})
        assert r.status_code == 303
        assert "approved" in (await http.get(r.headers["location"])).text.lower()
    async with client() as http:
        csrf = await login(http, "clerk")
        page = (await http.get(c["link"])).text
        assert re.search(r'id="close" disabled', page)  # before the customer is told
        assert "Nothing is closed before the customer is told." in page
        r = await http.post(f"{c['link']}/tell", data={"_csrf": csrf, "told_how": "电话告知"})
        assert r.status_code == 303
        r = await http.post(f"{c['link']}/close", data={"_csrf": csrf, "accountability": "",
                                                        "improvement": ""})
        assert r.status_code == 422 and 'id="error-accountability"' in r.text
        r = await http.post(f"{c['link']}/close", data={
            "_csrf": csrf, "accountability": "扣奖金", "improvement": "培训"})
        assert r.status_code == 303
        page = (await http.get(c["link"])).text
    assert await status_of(c["id"]) == "closed"
    assert [m for m in re.findall(r'class="history-(\w+)"', page)] == [
        "recorded", "judged", "assigned", "investigated", "proposed", "approved", "told",
        "closed"]


async def test_r32_each_step_has_its_api_twin():
    w = await world()
    c = await complaint(w, "recorded")
    tokens = {who: {"Authorization": f"Bearer {await api_token(w.users[who])}"}
              for who in ("cs", "cs2", "staff", "clerk")}
    base = f"/api/v1/complaints/{c['id']}"
    calls = [("cs", "judge", {"stands": True, "kind": "service"}),
             ("cs", "assign", {"assigned_to": "unit", "assigned_org": w.orgs["point"]["id"]}),
             ("staff", "investigate", {"cause": "态度差", "responsible": "维修员"}),
             ("staff", "propose", {"resolution": "道歉并免费维修"}),
             ("cs2", "approve", {"approve": True}),
             ("clerk", "tell", {"told_how": "电话"}),
             ("clerk", "close", {"accountability": "批评", "improvement": "培训"})]
    async with client() as http:
        r = await http.get(base, headers=tokens["cs"])
        assert r.status_code == 200 and r.json()["steps"] == {"judge": None}
        for who, step, body in calls:
            r = await http.post(f"{base}/{step}", json=body, headers=tokens[who])
            assert r.status_code == 200, (step, r.text)
        assert r.json()["status"] == "closed"
        r = await http.post(f"{base}/close", json=body, headers=tokens["clerk"])
        assert r.status_code == 409  # done already
        created = await http.post("/api/v1/complaints", headers=tokens["staff"], json={
            "name": "钱女士", "phone": "13600000000", "channel": "phone", "about": "other",
            "description": "投诉"})
        assert created.status_code == 201 and created.json()["status"] == "recorded"
        listed = await http.get("/api/v1/complaints?status=closed", headers=tokens["cs"])
        assert [x["id"] for x in listed.json()] == [c["id"]]
        bad = await http.get("/api/v1/complaints?recorded_from=yesterday", headers=tokens["cs"])
        assert bad.status_code == 422


async def test_r32_breaches_are_shown_in_red_on_the_list_and_the_page():
    w = await world()
    late = await complaint(w, "recorded")
    fresh = await complaint(w, "judged")
    with clock.frozen(NOW + timedelta(hours=25)):
        async with client() as http:
            await login(http, "cs")
            listed = (await http.get("/complaints")).text
            assert f'<tr id="complaint-{late["id"]}" class="result-row late"' in listed
            assert f'<tr id="complaint-{fresh["id"]}" class="result-row"' in listed
            only = (await http.get("/complaints?breaching=1")).text
            assert _rows(only) == [str(late["id"])]
            page = (await http.get(late["link"])).text
            assert 'class="deadline late" id="acknowledge-by"' in page and 'id="breaching"' in page


@pytest.mark.parametrize("viewer, name, phone", [
    ("clerk", "张女士", PHONE),  # inside the holding office: in full
    ("cs", rules.mask_name("张女士"), rules.mask_phone(PHONE)),  # outside it: masked
    ("staff", rules.mask_name("张女士"), rules.mask_phone(PHONE)),  # the assigned point: masked
])
async def test_r32_name_and_phone_masked_outside_the_holding_organisation(viewer, name, phone):
    w = await world()
    c = await complaint(w, "assigned")
    async with client() as http:
        await login(http, viewer)
        page = (await http.get(c["link"])).text
        listed = (await http.get("/complaints")).text
        exported = (await http.get("/complaints/export?format=csv")).text
        api = (await http.get(f"/api/v1/complaints/{c['id']}", headers={
            "Authorization": f"Bearer {await api_token(w.users[viewer])}"})).json()
    assert f'id="customer-phone">{phone}<' in page and f'id="customer-name">{name}<' in page
    assert phone in listed and phone in exported and (api["name"], api["phone"]) == (name, phone)
    if phone != PHONE:
        for text in (page, listed, exported, str(api)):
            assert PHONE not in text and "张女士" not in text


async def test_r32_search_and_export_exactly_the_filtered_rows():
    w = await world()
    a = await complaint(w, "recorded", name="孙先生", phone="13511112222")
    b = await complaint(w, "closed", kind="quality", assigned_to="hq_tech")
    major = await complaint(w, "judged", major=True, kind="quality")
    async with client() as http:
        await login(http, "cs")
        cases = {f"reference={a['reference'][:6]}": None, "who=孙": [a], "who=1111-2222": [a],
                 "status=closed": [b], "kind=quality": [major, b], "major=yes": [major],
                 "recorded_from=2026-12-10&recorded_to=2026-12-10": [major, b, a],
                 "recorded_from=2026-12-11": []}
        for query, expected in cases.items():
            listed = _rows((await http.get(f"/complaints?{query}")).text)
            csv = (await http.get(f"/complaints/export?{query}&format=csv")).text
            if expected is not None:
                assert listed == [str(x["id"]) for x in expected], query
            assert len(csv.strip().splitlines()) == 1 + len(listed), query
        xlsx = await http.get("/complaints/export?format=xlsx&kind=quality")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        bad = await http.get("/complaints?recorded_from=2026-13-01&status=nope")
        assert bad.status_code == 422 and 'id="error-status"' in bad.text


async def test_r1_a_sibling_office_never_sees_a_complaint():
    w = await world()
    c = await complaint(w, "approved", phone="13911112222", name="周女士")
    token = {"Authorization": f"Bearer {await api_token(w.users['gd_clerk'])}"}
    async with client() as http:
        csrf = await login(http, "gd_clerk")
        assert (await http.get(c["link"])).status_code == 404
        assert (await http.get(c["link"], headers={"HX-Request": "true"})).status_code == 404
        bodies = {"judge": {"stands": True, "kind": "service"}, "assign": {"assigned_to": "hq_cs"},
                  "investigate": {"cause": "x", "responsible": "x"}, "propose": {"resolution": "x"},
                  "approve": {"approve": True}, "tell": {"told_how": "x"},
                  "close": {"accountability": "x", "improvement": "x"}}
        for step, body in bodies.items():  # every step: not found, before any rule is checked
            r = await http.post(f"{c['link']}/{step}", data={"_csrf": csrf, **body})
            a = await http.post(f"/api/v1/complaints/{c['id']}/{step}", headers=token, json=body)
            assert (r.status_code, a.status_code) == (404, 404), step
        assert (await http.get(f"/api/v1/complaints/{c['id']}", headers=token)).status_code == 404
        for url in ("/complaints", f"/complaints?reference={c['reference']}",
                    "/complaints?who=周", "/complaints/export?format=csv",
                    f"/complaints/export?format=csv&reference={c['reference']}"):
            text = (await http.get(url)).text
            rows = text[text.find('id="complaint-rows"'):] if "export" not in url else text
            assert _rows(text) == [] and c["reference"] not in rows and "周" not in rows, url
        api = await http.get(f"/api/v1/complaints?reference={c['reference']}", headers=token)
        assert api.json() == []
    # the repair point it is assigned to sees it; the sibling's point does not
    async with client() as http:
        await login(http, "staff")
        assert (await http.get(c["link"])).status_code == 200
    async with client() as http:
        await login(http, "gd_staff")
        assert (await http.get(c["link"])).status_code == 404
        assert c["reference"] not in (await http.get("/complaints")).text


async def _many(w, n: int) -> None:
    """n complaints of every queue's kind at once (one statement per status)."""
    for status, extra in (("recorded", ""), ("judged", ""), ("proposed", ""),
                          ("approved", ""), ("assigned", "unit")):
        await raw_fetch(
            "INSERT INTO complaint (reference, organisation, name, phone, channel, about, "
            "description, status, recorded_at, acknowledge_by, resolve_by, judged_at, major, "
            "assigned_to, assigned_org, assigned_at, proposed_at, approved_at) "
            "SELECT 'TQ' || substr(md5(random()::text), 1, 8), $1, '某某', '13800000000', "
            "'phone', 'other', 'x', $2::varchar, $3::timestamptz - interval '2 days', "
            "$3::timestamptz - interval '1 day', $3::timestamptz + interval '5 days', "
            "CASE WHEN $2::varchar = 'recorded' THEN NULL ELSE $3::timestamptz END, g % 3 = 0, "
            "CASE WHEN $4::text = 'unit' THEN 'unit' END, CASE WHEN $4::text = 'unit' THEN $5::int END, "
            "$3, $3, $3 FROM generate_series(1, $6) g",
            w.orgs["office"]["id"], status, NOW, extra, w.orgs["point"]["id"], n)


@pytest.mark.parametrize("who", ["cs", "vp", "clerk", "staff", "auditor"])
async def test_list_and_home_queries_flat_at_10_and_100_complaints(who):
    w = await world()
    await _many(w, 2)

    async def counts() -> tuple[int, int, int]:
        async with client() as http:
            await login(http, who)
            await http.get("/complaints")
            with count_queries() as listed:
                page = await http.get("/complaints")
            with count_queries() as home:
                await http.get("/")
            with count_queries() as exported:
                await http.get("/complaints/export?format=csv")
        assert page.status_code == 200
        return listed.count, home.count, exported.count

    small = await counts()
    await _many(w, 8)  # 10 of each status, then 100
    assert await counts() == small
    await _many(w, 90)
    assert await counts() == small
    print(f"{who}: list {small[0]} queries, home {small[1]}, export {small[2]}, at 10 and 100")


async def test_home_queues_count_and_link_to_exactly_their_complaints():
    w = await world()
    await complaint(w, "recorded")
    await complaint(w, "proposed", major=True, kind="quality", assigned_to="hq_tech")
    await complaint(w, "assigned")  # to the repair point
    await complaint(w, "approved", by="store_clerk")
    expected = {"cs": {"to_judge": 1, "to_approve": 0}, "vp": {"major_to_approve": 1,
                                                               "major_open": 1},
                "staff": {"to_investigate": 1}, "store_clerk": {"to_tell": 1, "to_close": 0},
                "clerk": {"to_investigate": 0, "to_tell": 0}}
    for who, queues in expected.items():
        async with client() as http:
            await login(http, who)
            home = (await http.get("/")).text
            for key, count in queues.items():
                shown = re.search(rf'id="count-complaints_{key}">(\d+)<', home)
                assert shown and int(shown.group(1)) == count, (who, key)
                link = re.search(rf'href="([^"]+)" class="title" id="link-complaints_{key}"',
                                 home).group(1)
                assert len(_rows((await http.get(link)).text)) == count, (who, key)
