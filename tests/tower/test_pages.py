"""R35 pages and their API twins: each audience's dashboard, the tenant matrix (own / child /
sibling / parent -> 404, page and API), HQ's targets with history."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from portal import clock
from portal.tables import AuditEntry
from tests.helpers import api_token, client, csrf_from, login
from tests.tower import factory as f
from tests.tower.test_kpis import min_cases, seed_month
from tower.tables import ServiceTarget

TODAY = datetime(2026, 11, 25, 10, tzinfo=f.CHINA)


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(TODAY):
        yield


async def test_r35_hq_dashboard_shows_network_regions_offices_and_links_to_records():
    w = await f.world()
    await seed_month(w)
    await min_cases(3)
    async with client() as c:
        await login(c, "cs")
        page = await c.get("/tower")
        assert page.status_code == 200
        html = page.text
        assert 'id="tower-data"' in html and 'type="application/json"' in html
        assert "/static/echarts.min.js" in html and "<script>" not in html  # CSP: no inline
        assert 'id="regions"' in html and 'id="worst"' in html and 'id="best"' in html
        # network on-site in November: 8 of 9 = 88.89 %, red against 100 %, linked to the calls
        assert "88.89 %" in html
        assert "/service-calls?called_from=2026-11-01&amp;called_to=2026-11-30" in html
        assert f'id="units-{w.orgs["c"]["id"]}"' in html
        assert f'href="/tower/org/{w.orgs["a"]["id"]}"' in html


async def test_r35_office_sees_itself_and_its_points_never_a_sibling():
    w = await f.world()
    await seed_month(w)
    async with client() as c:
        await login(c, "manager")
        html = (await c.get("/tower")).text
        assert f'id="units-{w.orgs["a_point"]["id"]}"' in html
        assert f'units-{w.orgs["c_point"]["id"]}' not in html
        assert f'units-{w.orgs["b_point"]["id"]}' not in html
        assert 'id="regions"' not in html
        # the too-few-cases edge: 4 calls under HQ's default 20
        assert "too few cases (4)" in html


@pytest.mark.parametrize("who,target,status", [
    ("manager", "a", 200), ("manager", "a_point", 200), ("manager", "c", 404),
    ("manager", "c_point", 404), ("manager", "b", 404),
    ("staff", "a_point", 200), ("staff", "a", 404), ("staff", "b_point", 404),
    ("regional", "a", 200), ("regional", "b_point", 200), ("regional", "c", 404),
    ("cs", "c", 200), ("auditor", "c_point", 200),
])
async def test_r1_tower_org_page_and_api_tenant_matrix(who, target, status):
    w = await f.world()
    await seed_month(w)
    org_id = w.orgs[target]["id"]
    async with client() as c:
        await login(c, who)
        assert (await c.get(f"/tower/org/{org_id}")).status_code == status
        token = await api_token(w.users[who])
        api = await c.get(f"/api/v1/tower/org/{org_id}",
                          headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == status
        if status == 200:
            assert api.json()["focus"] == org_id


async def test_r35_api_dashboard_is_the_pages_figures():
    w = await f.world()
    await seed_month(w)
    await min_cases(3)
    token = await api_token(w.users["admin"])
    async with client() as c:
        body = (await c.get("/api/v1/tower", headers={"Authorization": f"Bearer {token}"})).json()
    assert body["audience"] == "hq"
    nov = next(p for p in body["trend"]["on_site"] if p["month"] == "2026-11")
    assert (nov["value"], nov["n"], nov["status"]) == (88.89, 9, "red")
    assert body["headline"]["return_rate"]["num"] == 6  # November is this month
    assert body["headline"]["return_rate"]["den"] == 300


async def test_r35_a_store_sees_its_own_figures_only():
    w = await f.world()
    await seed_month(w)
    await f.make_user(w.orgs["a_store"], ["dealer_clerk"], username="storeclerk")
    async with client() as c:
        await login(c, "storeclerk")
        page = await c.get("/tower")
        assert page.status_code == 200
        assert "too few cases (150)" not in page.text  # 150 units sold: enough cases
        assert (await c.get(f"/tower/org/{w.orgs['a']['id']}")).status_code == 404


async def test_an_hq_user_without_an_hq_role_or_offices_has_no_dashboard():
    w = await f.world()
    await f.make_user(w.orgs["hq"], ["manager"], username="nobody")
    async with client() as c:
        await login(c, "nobody")
        assert (await c.get("/tower")).status_code == 403


async def test_r35_hq_admin_revises_a_target_from_a_coming_quarter_with_history():
    await f.world()
    async with client() as c:
        await login(c, "admin")
        page = await c.get("/tower/targets")
        assert page.status_code == 200 and 'id="target-form"' in page.text
        token = csrf_from(page.text)
        bad = await c.post("/tower/targets", data={"_csrf": token, "measure": "satisfaction",
                                                   "value": "96", "effective_from": "2026-12-15",
                                                   "reason": "raise"})
        assert bad.status_code == 422 and "quarter" in bad.text
        ok = await c.post("/tower/targets", data={"_csrf": token, "measure": "satisfaction",
                                                  "value": "96.5", "effective_from": "2027-01-01",
                                                  "reason": "raise the bar"})
        assert ok.status_code == 303
        history = (await c.get("/tower/targets")).text
        assert "raise the bar" in history and "at least 96.5 %" in history
    rows = await ServiceTarget.select().where(ServiceTarget.measure == "satisfaction")
    assert [(r["value_bp"], r["effective_from"]) for r in rows] == [(9650, date(2027, 1, 1))]
    assert await AuditEntry.count().where(AuditEntry.object_type == "service_target") == 1


@pytest.mark.parametrize("who", ["cs", "manager"])
async def test_r35_only_the_hq_admin_revises_targets(who):
    w = await f.world()
    async with client() as c:
        await login(c, who)
        home = await c.get("/")
        answer = await c.post("/tower/targets", data={
            "_csrf": csrf_from(home.text), "measure": "satisfaction", "value": "96",
            "effective_from": "2027-01-01", "reason": "x"})
        assert answer.status_code == 403
        token = await api_token(w.users[who])
        api = await c.post("/api/v1/tower/targets", json={
            "measure": "satisfaction", "value": "96", "effective_from": "2027-01-01",
            "reason": "x"}, headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 403
    assert await ServiceTarget.count() == 0
