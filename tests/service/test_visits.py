"""Return-visit plans (R34): at least 5 % of the year's customers (rounded up), drawn at random
by the database, one plan per organisation and year, visits recorded with findings, progress
and lateness; sibling offices never see each other's plans (R1)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal import clock
from portal.db import raw_fetch
from portal.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from service import archive_rules, visits
from service.archive_queues import queues
from service.inputs import PlanIn, VisitIn
from tests.helpers import api_token, client, login
from tests.service.test_archive import world

CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, tzinfo=CHINA)


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


async def customers(w: dict, org: str, n: int, *, year: int = 2026) -> None:
    """n more customers at `org` whose only activity is a purchase in `year` (one statement)."""
    old = datetime(2020, 1, 1, tzinfo=CHINA)
    await raw_fetch(
        "WITH c AS (INSERT INTO customer (organisation, name, phone, opened_at, "
        "last_activity_at) SELECT $1, '客户' || g, '1500000' || lpad(g::text, 4, '0'), $2, $2 "
        "FROM generate_series(1, $3) g RETURNING id) INSERT INTO customer_product (customer, "
        "product, quantity, purchased_on, recorded_at) SELECT c.id, $4, 1, $5, $2 FROM c",
        w["orgs"][org]["id"], old, n, w["products"]["tube"], date(year, 6, 1))


@pytest.mark.parametrize("n", [1, 19, 20, 21, 40, 41, 100, 399])
def test_r34_visits_needed_is_five_percent_rounded_up(n):
    needed = archive_rules.visits_needed(n)
    assert needed * 100 >= n * 5 and (needed - 1) * 100 < n * 5


@pytest.mark.parametrize("extra", [18, 19, 38, 39])  # + the two files of the world: 20, 21, 40, 41
async def test_r34_plan_below_five_percent_refused_exactly_five_accepted(extra):
    w = await world()
    await raw_fetch("DELETE FROM customer_product WHERE customer = $1", w["other"])  # sibling's
    await customers(w, "a1", extra)
    await customers(w, "b1", 50)  # a sibling's customers never count
    await customers(w, "a1", 30, year=2024)  # nor the years before
    total = await visits.count_year_customers(w["orgs"]["a"]["path"], 2026)
    assert total == extra + 1
    needed = archive_rules.visits_needed(total)
    manager = w["actors"]["manager"]
    with pytest.raises(RuleViolation) as refused:
        await visits.draw_plan(actor=manager, data=PlanIn(2026, needed - 1))
    assert refused.value.params == {"needed": needed, "customers": total}
    assert await raw_fetch("SELECT * FROM return_visit_plan") == []
    plan_id = await visits.draw_plan(actor=manager, data=PlanIn(2026, needed))
    drawn = await raw_fetch(
        "SELECT v.customer, o.path FROM return_visit v JOIN customer c ON c.id = v.customer "
        "JOIN organisation o ON o.id = c.organisation WHERE v.plan = $1", plan_id)
    assert len(drawn) == needed == len({d["customer"] for d in drawn})
    assert all(d["path"].startswith(w["orgs"]["a"]["path"]) for d in drawn)
    plan = (await raw_fetch("SELECT * FROM return_visit_plan WHERE id = $1", plan_id))[0]
    assert (plan["customers"], plan["planned"], plan["led_by"]) == (
        total, needed, w["users"]["manager"]["id"])


async def test_r34_a_plan_below_five_percent_is_refused_on_the_page_with_a_clear_message():
    w = await world()
    await customers(w, "a1", 39)
    async with client() as c:
        csrf = await login(c, "manager")
        r = await c.post("/return-visits", data={"_csrf": csrf, "year": "2026", "planned": "1"})
        assert r.status_code == 422
        assert "至少" in r.text and "40" in r.text  # "visit at least 2 of the 40 customers"
        r = await c.post("/return-visits", data={"_csrf": csrf, "year": "2026", "planned": "2"})
        assert r.status_code == 303
        again = await c.post("/return-visits", data={"_csrf": csrf, "year": "2026",
                                                     "planned": "3"})
        assert again.status_code == 409
    token = await api_token(w["users"]["manager"])
    async with client() as c:
        api = await c.post("/api/v1/return-visit-plans", json={"year": 2026, "planned": 4},
                           headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 409
    assert len(await raw_fetch("SELECT * FROM return_visit_plan")) == 1


async def test_r34_one_plan_per_organisation_and_year_even_for_hq():
    w = await world()
    await customers(w, "a1", 19)
    await visits.draw_plan(actor=w["actors"]["cs"],
                           data=PlanIn(2026, 1, w["orgs"]["a"]["id"]))
    with pytest.raises(Conflict):
        await visits.draw_plan(actor=w["actors"]["manager"], data=PlanIn(2026, 1))
    await customers(w, "b1", 19)
    await visits.draw_plan(actor=w["actors"]["gd.manager"], data=PlanIn(2026, 1))  # its own


@pytest.mark.parametrize(("who", "error"), [
    ("clerk", Forbidden), ("store", Forbidden), ("auditor", Forbidden),
    ("regional", Forbidden), ("logistics", Forbidden)])
async def test_r34_only_the_offices_manager_or_hq_cs_draws(who, error):
    w = await world()
    await customers(w, "a1", 19)
    with pytest.raises(error):
        await visits.draw_plan(actor=w["actors"][who],
                               data=PlanIn(2026, 1, w["orgs"]["a"]["id"]))


async def test_r34_year_and_organisation_are_checked():
    w = await world()
    with pytest.raises(ValidationFailed):
        await visits.draw_plan(actor=w["actors"]["manager"], data=PlanIn(2024, 1))
    with pytest.raises(ValidationFailed):  # HQ names the office
        await visits.draw_plan(actor=w["actors"]["cs"], data=PlanIn(2026, 1))
    with pytest.raises(ValidationFailed):  # a store is not an office
        await visits.draw_plan(actor=w["actors"]["cs"],
                               data=PlanIn(2026, 1, w["orgs"]["a1"]["id"]))
    with pytest.raises(RuleViolation):  # no customer this year at office B's... after deleting
        await raw_fetch("DELETE FROM customer_product")
        await raw_fetch("UPDATE customer SET opened_at = $1, last_activity_at = $1",
                        datetime(2020, 1, 1, tzinfo=CHINA))
        await visits.draw_plan(actor=w["actors"]["manager"], data=PlanIn(2026, 1))


async def _plan(w: dict, n: int = 39, planned: int = 4) -> dict:
    await customers(w, "a1", n)
    plan_id = await visits.draw_plan(actor=w["actors"]["manager"], data=PlanIn(2026, planned))
    rows = await raw_fetch("SELECT id, customer FROM return_visit WHERE plan = $1 ORDER BY id",
                           plan_id)
    return {"id": plan_id, "visits": rows}


async def test_r34_visits_recorded_with_progress_and_once():
    w = await world()
    plan = await _plan(w)
    first = plan["visits"][0]
    with pytest.raises(Forbidden):  # the office's clerk does not lead return visits
        await visits.record_visit(actor=w["actors"]["clerk"], plan_id=plan["id"],
                                  visit_id=first["id"], data=VisitIn(date(2026, 11, 18)))
    await visits.record_visit(actor=w["actors"]["cs"], plan_id=plan["id"],
                              visit_id=first["id"],
                              data=VisitIn(date(2026, 11, 18), True, "灯很好用。"))
    with pytest.raises(Conflict):
        await visits.record_visit(actor=w["actors"]["manager"], plan_id=plan["id"],
                                  visit_id=first["id"], data=VisitIn(date(2026, 11, 19)))
    for bad in (date(2026, 11, 21), date(2025, 12, 31)):  # the future; another year
        with pytest.raises(ValidationFailed):
            await visits.record_visit(actor=w["actors"]["manager"], plan_id=plan["id"],
                                      visit_id=plan["visits"][1]["id"], data=VisitIn(bad))
    with pytest.raises(NotFound):
        await visits.record_visit(actor=w["actors"]["gd.manager"], plan_id=plan["id"],
                                  visit_id=plan["visits"][1]["id"], data=VisitIn(NOW.date()))
    page = await visits.plan_page(actor=w["actors"]["manager"], plan_id=plan["id"])
    assert (page["done"], page["plan"]["planned"]) == (1, 4)
    row = next(v for v in page["visits"] if v["id"] == first["id"])
    assert row["satisfied"] is True and row["findings"] == "灯很好用。"
    assert row["visited_at"].astimezone(CHINA).date() == date(2026, 11, 18)
    async with client() as c:
        await login(c, "manager")
        r = await c.get(f"/return-visits/{plan['id']}")
        assert r.status_code == 200 and 'id="progress"' in r.text
        listing = await c.get("/return-visits")
        assert "1 / 4" in listing.text


@pytest.mark.parametrize(("today", "late"), [
    (datetime(2026, 11, 30, 23, 59, tzinfo=CHINA), False),
    (datetime(2026, 12, 1, 0, 0, tzinfo=CHINA), True),
    (datetime(2027, 1, 5, tzinfo=CHINA), True),
])
async def test_r34_unvisited_customers_near_year_end_are_flagged(today, late):
    w = await world()
    plan = await _plan(w)
    with clock.frozen(today):
        page = await visits.plan_page(actor=w["actors"]["manager"], plan_id=plan["id"])
        assert page["late"] is late
        home = {q.key: q for q in await queues(w["actors"]["manager"], today)}
    if today.year == 2026:
        assert home["visits_due"].count == 4 and home["visits_due"].alarm is late
    else:  # a new year: last year's plan is not this year's queue
        assert home["visits_due"].count == 0


@pytest.mark.parametrize(("viewer", "status"), [
    ("manager", 200), ("cs", 200), ("auditor", 200), ("gd.manager", 404),
    ("clerk", 403), ("store", 403)])
async def test_r1_plan_pages_and_api_by_viewer(viewer, status):
    w = await world()
    plan = await _plan(w)
    token = await api_token(w["users"][viewer])
    async with client() as c:
        await login(c, viewer)
        page = await c.get(f"/return-visits/{plan['id']}")
        api = await c.get(f"/api/v1/return-visit-plans/{plan['id']}",
                          headers={"Authorization": f"Bearer {token}"})
        listing = await c.get("/api/v1/return-visit-plans",
                              headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == api.status_code == status
    if status == 200:
        assert [p["id"] for p in listing.json()] == [plan["id"]]
        # customers at store A1: masked for the office above and the auditor, full for HQ CS
        names = {v["name"] for v in api.json()["visits"]}
        assert all(("*" in n) == (viewer != "cs") for n in names)
    elif status == 404:
        assert listing.json() == []


async def test_r34_record_a_visit_through_the_api():
    w = await world()
    plan = await _plan(w)
    token = await api_token(w["users"]["manager"])
    visit = plan["visits"][0]["id"]
    async with client() as c:
        r = await c.post(f"/api/v1/return-visit-plans/{plan['id']}/visits/{visit}",
                         json={"visited_on": "2026-11-20", "satisfied": False,
                               "findings": "灯罩发黄"}, headers={"Authorization": f"Bearer {token}"})
        again = await c.post(f"/api/v1/return-visit-plans/{plan['id']}/visits/{visit}",
                             json={"visited_on": "2026-11-20"},
                             headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["done"] == 1
    assert again.status_code == 409
