"""Service-call pages, export and API twins (R33): record (routing asks to choose when no point
covers the area), the call page with its actions disabled-with-reason, the visit and its
breach in red, the phone masked outside the serving point; tenant isolation (R1: a sibling
office and a sibling point get 404 on the page, the actions, the card hand-over and the API,
and nothing in lists and exports); lists and homes flat in queries (10 vs 100 calls)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from portal import clock
from portal.db import count_queries, raw_fetch
from tests.helpers import api_token, client, login
from tests.service.test_calls import NOW, call_world, record, visit

CHINA_NOW = NOW.strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def test_r33_record_a_call_on_the_page_and_find_it_on_the_list():
    w = await call_world()
    async with client() as c:
        csrf = await login(c, "clerk_a")
        form = await c.get("/service-calls/new")
        assert form.status_code == 200 and 'id="call-point"' in form.text
        assert "维修点-A1" in form.text and "维修点-B1" not in form.text  # their points only
        # no point covers the area: the form comes back asking to choose, what was typed kept
        r = await c.post("/service-calls", data={
            "_csrf": csrf, "name": "张先生", "phone": "138 1234 5678", "area": "浦东新区",
            "problem": "吸顶灯不亮", "called_at": CHINA_NOW})
        assert r.status_code == 422 and 'id="error-point_id"' in r.text and "浦东新区" in r.text
        r = await c.post("/service-calls", data={
            "_csrf": csrf, "name": "张先生", "phone": "138 1234 5678", "area": "浦东新区",
            "problem": "吸顶灯不亮", "called_at": CHINA_NOW, "point_id": str(w.point("a2"))})
        assert r.status_code == 303
        call_id = int(r.headers["location"].rsplit("/", 1)[1])
        page = await c.get(r.headers["location"])
        assert "已登记" in page.text and "维修点-A2" in page.text
        assert "138****5678" in page.text and "13812345678" not in page.text  # not the point
        assert re.search(r'id="record-visit" disabled', page.text)  # the point's to do
        assert "只有负责该报修的维修点人员才能登记上门" in page.text
        listed = await c.get("/service-calls")
        assert f'id="call-{call_id}"' in listed.text
    (row,) = await raw_fetch("SELECT organisation FROM service_call")
    assert row["organisation"] == w.point("a2")


async def test_r33_the_point_records_the_visit_and_a_late_one_shows_in_red():
    w = await call_world()
    call_id = await record(w, at=NOW - timedelta(hours=25))
    async with client() as c:
        csrf = await login(c, "staff_a1")
        page = await c.get(f"/service-calls/{call_id}")
        assert "13812345678" in page.text  # the serving point sees the number in full
        assert 'id="call-late"' in page.text  # not visited, 25 hours after the call
        listed = await c.get("/service-calls?breaching=1")
        assert f'id="late-{call_id}"' in listed.text and "badge alarm" in listed.text
        r = await c.post(f"/service-calls/{call_id}/visit", data={
            "_csrf": csrf, "visited_at": CHINA_NOW, "outcome": "fixed", "first_time_fix": "1",
            "notes": "换镇流器"})
        assert r.status_code == 303
        page = await c.get(f"/service-calls/{call_id}")
        # in the reader's language (English here); the breach is kept: visited late
        assert 'id="call-status">Visited<' in page.text and 'id="call-late"' in page.text
        assert "Fixed on site" in page.text and 'id="card-waiting"' in page.text
        assert 'id="card-link"' in page.text and 'id="card-tablet"' in page.text
        r = await c.post(f"/service-calls/{call_id}/visit", data={
            "_csrf": csrf, "outcome": "fixed"})
        assert r.status_code == 409  # once
        home = await c.get("/")
        assert 'id="queue-calls_breaching"' in home.text


async def test_r33_a_refused_visit_keeps_what_was_typed_beside_the_field():
    w = await call_world()
    call_id = await record(w)
    async with client() as c:
        csrf = await login(c, "staff_a1")
        r = await c.post(f"/service-calls/{call_id}/visit", data={
            "_csrf": csrf, "visited_at": CHINA_NOW, "notes": "到场"})
        assert r.status_code == 422 and 'id="error-outcome"' in r.text and "到场" in r.text


async def test_r33_close_and_cancel_on_the_page():
    w = await call_world()
    first, second = await record(w), await record(w)
    await visit(w, first, NOW)
    async with client() as c:
        csrf = await login(c, "clerk_a")
        r = await c.post(f"/service-calls/{second}/cancel", data={"_csrf": csrf, "reason": ""})
        assert r.status_code == 422 and 'id="error-reason"' in r.text
        r = await c.post(f"/service-calls/{second}/cancel", data={"_csrf": csrf,
                                                                  "reason": "顾客已修好"})
        assert r.status_code == 303
        r = await c.post(f"/service-calls/{first}/close", data={"_csrf": csrf, "note": "好"})
        assert r.status_code == 303
        page = await c.get(f"/service-calls/{first}")
        assert "已关闭" in page.text and "报修已关闭" in page.text  # the history says so
        page = await c.get(f"/service-calls/{second}")
        assert "顾客已修好" in page.text


async def test_r33_export_is_exactly_the_filtered_rows_masked_as_the_list():
    w = await call_world()
    ids = [await record(w, phone=f"1390000000{i}") for i in range(3)]
    await visit(w, ids[0], NOW)
    async with client() as c:
        await login(c, "clerk_a")
        r = await c.get("/service-calls/export?status=open&format=csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(rows) == 3 and rows[0][:2] == ["单号", "特约维修点"]
        assert {row[3] for row in rows[1:]} == {"139****0001", "139****0002"}
        r = await c.get("/service-calls/export?format=xlsx")
        assert r.status_code == 200 and r.content[:2] == b"PK"
        r = await c.get("/service-calls/export?format=pdf")
        assert r.status_code == 422


async def test_r33_api_twins_share_the_inputs_and_the_rules():
    w = await call_world()
    clerk = {"Authorization": f"Bearer {await api_token(w.users['clerk_a'])}"}
    staff = {"Authorization": f"Bearer {await api_token(w.users['staff_a1'])}"}
    async with client() as c:
        r = await c.post("/api/v1/service-calls", headers=clerk, json={
            "name": "张先生", "phone": "13812345678", "problem": "不亮", "area": "浦东新区"})
        assert r.status_code == 422 and "point_id" in r.json()["fields"]
        r = await c.post("/api/v1/service-calls", headers=clerk, json={
            "name": "张先生", "phone": "13812345678", "problem": "不亮", "area": "玄武区"})
        assert r.status_code == 201, r.text
        call = r.json()
        assert call["point_id"] == w.point("a1") and call["customer_phone"] == "138****5678"
        r = await c.post(f"/api/v1/service-calls/{call['id']}/visit", headers=clerk,
                         json={"outcome": "fixed"})
        assert r.status_code == 422  # the point's staff record the visit
        r = await c.post(f"/api/v1/service-calls/{call['id']}/visit", headers=staff,
                         json={"outcome": "no_fault", "first_time_fix": True})
        assert r.status_code == 200, r.text
        visited = r.json()
        assert visited["status"] == "visited" and visited["customer_phone"] == "13812345678"
        assert visited["card_url"].startswith("https://portal.test/card/")
        token = visited["card_url"].rsplit("/", 1)[1]
        card = await c.get(f"/card/{token}")
        assert card.status_code == 200 and 'id="card-form"' in card.text
        r = await c.post(f"/api/v1/service-calls/{call['id']}/card-link", headers=staff)
        assert r.status_code == 200 and r.json()["card_url"] != visited["card_url"]
        assert (await c.get(f"/card/{token}")).status_code == 404  # the older link stopped
        r = await c.post(f"/api/v1/service-calls/{call['id']}/close", headers=clerk, json={})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        r = await c.post(f"/api/v1/service-calls/{call['id']}/cancel", headers=clerk,
                         json={"reason": "x"})
        assert r.status_code == 409
        listed = await c.get("/api/v1/service-calls?status=closed", headers=clerk)
        assert [x["id"] for x in listed.json()] == [call["id"]]
        assert (await c.get("/api/v1/service-calls?called_from=2026-13-01",
                            headers=clerk)).status_code == 422


# --- tenant isolation (R1) ---------------------------------------------------------------------

VIEWERS = {  # who: the calls they see, of those at A1 and at B1
    "staff_a1": {"a1"}, "staff_a2": set(), "clerk_a": {"a1"}, "manager_a": {"a1"},
    "regional": {"a1"}, "clerk_b": {"b1"}, "staff_b1": {"b1"}, "cs": {"a1", "b1"},
    "auditor": {"a1", "b1"},
}


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
async def test_r1_a_sibling_office_or_point_gets_404_and_sees_nothing(viewer):
    w = await call_world()
    ids = {"a1": await record(w, "clerk_a", phone="13900000001", name="顾客甲"),
           "b1": await record(w, "clerk_b", area="海珠区", phone="13900000002", name="顾客乙")}
    for call_id in ids.values():
        await visit(w, call_id, NOW, who="staff_a1" if call_id == ids["a1"] else "staff_b1")
    token = {"Authorization": f"Bearer {await api_token(w.users[viewer])}"}
    failures = []
    async with client() as c:
        csrf = await login(c, viewer)
        for point, call_id in ids.items():
            visible = point in VIEWERS[viewer]
            for url, headers in ((f"/service-calls/{call_id}", {}),
                                 (f"/service-calls/{call_id}", {"HX-Request": "true"}),
                                 (f"/api/v1/service-calls/{call_id}", token)):
                r = await c.get(url, headers=headers)
                if r.status_code != (200 if visible else 404):
                    failures.append(f"{viewer} {point} {url}: {r.status_code}")
            if visible:
                continue
            for action in ("visit", "close", "cancel", "card/link", "card/tablet"):
                r = await c.post(f"/service-calls/{call_id}/{action}",
                                 data={"_csrf": csrf, "outcome": "fixed", "reason": "x"})
                if r.status_code != 404 and not (viewer == "auditor" and r.status_code == 403):
                    failures.append(f"{viewer} {point} POST {action}: {r.status_code}")
            for action in ("visit", "close", "cancel", "card-link"):
                r = await c.post(f"/api/v1/service-calls/{call_id}/{action}", headers=token,
                                 json={"outcome": "fixed", "reason": "x"})
                if r.status_code != 404 and not (viewer == "auditor" and r.status_code == 403):
                    failures.append(f"{viewer} {point} API {action}: {r.status_code}")
        for url, headers in (("/service-calls", {}), ("/service-calls?phone=13900000002", {}),
                             ("/service-calls?phone=13900000001", {}),
                             ("/service-calls/export?format=csv", {}),
                             ("/api/v1/service-calls", token)):
            text = (await c.get(url, headers=headers)).text
            for point, name in (("a1", "顾客甲"), ("b1", "顾客乙")):
                if point not in VIEWERS[viewer] and name in text:
                    failures.append(f"{viewer} {url} shows {point}'s call")
    assert failures == []


async def test_r1_a_card_token_of_one_call_never_opens_another_calls_admin():
    """The hand-over routes answer 404 for a call the viewer cannot see, whatever the token."""
    w = await call_world()
    b1 = await record(w, "clerk_b", area="海珠区")
    await visit(w, b1, NOW, who="staff_b1")
    async with client() as c:
        csrf = await login(c, "staff_a1")
        r = await c.post(f"/service-calls/{b1}/card/link", data={"_csrf": csrf})
        assert r.status_code == 404


# --- flat in queries ----------------------------------------------------------------------------

async def _grow(w, n: int) -> None:
    """n more calls at A1 (half visited late with a filled card), by one statement each."""
    customer = (await raw_fetch(
        "INSERT INTO customer (organisation, name, phone, opened_at, last_activity_at) VALUES "
        "($1, 'x', '139', $2, $2) RETURNING id", w.point("a1"), NOW))[0]["id"]
    calls = await raw_fetch(
        "INSERT INTO service_call (number, organisation, customer, problem, address, called_at, "
        "visit_by, visited_at, outcome, first_time_fix, status, notes, recorded_by, recorded_at) "
        "SELECT 'G' || substr(md5(random()::text), 1, 12), $1, $2, 'p', '', $3::timestamptz - interval '2 days', "
        "$3::timestamptz - interval '1 day', CASE WHEN g % 2 = 0 THEN $3 END, CASE WHEN g % 2 = 0 THEN 'fixed' "
        "END, CASE WHEN g % 2 = 0 THEN true END, CASE WHEN g % 2 = 0 THEN 'visited' ELSE 'open' "
        "END, '', $4, $3 FROM generate_series(1, $5) g RETURNING id, status",
        w.point("a1"), customer, NOW, w.users["clerk_a"]["id"], n)
    await raw_fetch(
        "INSERT INTO opinion_card (service_call, token_hash, issued_at, attitude, skill, "
        "punctuality, comments, channel, submitted_at) SELECT id, md5(id::text || random()::text), "
        "$2, 5, 5, 5, '', 'link', $2 FROM unnest($1::int[]) id",
        [c["id"] for c in calls if c["status"] == "visited"], NOW)


@pytest.mark.parametrize("viewer, url", [
    ("clerk_a", "/service-calls"), ("staff_a1", "/service-calls"), ("cs", "/service-calls"),
    ("clerk_a", "/service-calls?breaching=1&status=open"), ("staff_a1", "/"),
    ("clerk_a", "/"), ("cs", "/"), ("staff_a1", "/api/v1/service-calls")])
async def test_list_and_home_are_flat_in_queries_at_10_and_100_calls(viewer, url):
    w = await call_world()
    await _grow(w, 10)
    headers = {"Authorization": f"Bearer {await api_token(w.users[viewer])}"} \
        if url.startswith("/api/") else {}

    async def queries() -> tuple[int, int]:
        async with client() as c:
            await login(c, viewer)
            await c.get(url, headers=headers)  # warm-up
            with count_queries() as counter:
                r = await c.get(url, headers=headers)
            assert r.status_code == 200
            return counter.count, len(re.findall(r'<tr id="call-\d+"', r.text))

    small, shown_small = await queries()
    await _grow(w, 90)
    large, shown_large = await queries()
    print(f"{viewer} {url}: {small} queries at 10 calls, {large} at 100")
    assert small == large, f"{viewer} {url}: {small} queries at 10 calls, {large} at 100"
    if url == "/service-calls":
        assert (shown_small, shown_large) == (10, 50)  # a page of 50, then "More"
