"""The R34 demo (service/demo_archive.py) on any day: customers with purchases at the demo's
stores, offices and repair points; last year's return-visit plan done and this year's half
done; an analysed survey with one main problem still without an action (on js.manager's home);
an erased file; the repair point's customer's file lists the spares demo's repairs."""
from datetime import datetime

import pytest

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client

CHINA = clock.CHINA
DAYS = [datetime(2027, 1, 1, 0, 30, tzinfo=CHINA), datetime(2026, 12, 31, 20, 0, tzinfo=CHINA),
        datetime(2027, 6, 15, 10, 0, tzinfo=CHINA)]


async def _login(c, username: str) -> None:
    from tests.helpers import csrf_from

    page = await c.get("/login")
    r = await c.post("/login", data={"username": username, "password": "demo-pass-2026",
                                     "_csrf": csrf_from(page.text), "next": "/"})
    assert r.status_code == 303


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_r34_demo_on_any_day(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        year = clock.china_today().year
        plans = {r["year"]: r for r in await raw_fetch(
            "SELECT p.year, p.planned, count(v.visited_at) AS done FROM return_visit_plan p "
            "JOIN return_visit v ON v.plan = p.id GROUP BY p.id")}
        assert (plans[year - 1]["planned"], plans[year - 1]["done"]) == (2, 2)
        assert (plans[year]["planned"], plans[year]["done"]) == (4, 2)
        problems = await raw_fetch("SELECT problem, action, done_at FROM survey_problem")
        assert len(problems) == 3 and [p["problem"] for p in problems if not p["action"]] == [
            "parts"]
        held = await raw_fetch("SELECT DISTINCT o.kind FROM customer c JOIN organisation o "
                               "ON o.id = c.organisation")
        assert {r["kind"] for r in held} >= {"store", "office", "repair_point"}
        assert (await raw_fetch("SELECT count(*) AS n FROM customer WHERE erased_at IS NOT "
                                "NULL"))[0]["n"] == 1
        wang = (await raw_fetch("SELECT id FROM customer WHERE phone = '13900000000'"))[0]["id"]
        async with client() as c:
            await _login(c, "js.manager")
            home = await c.get("/")
            assert 'id="queue-survey_no_action"' in home.text
            assert 'id="queue-visits_due"' in home.text
            masked = await c.get(f"/customers/{wang}")  # the office above the point: masked
            assert masked.status_code == 200 and "139****0000" in masked.text
        async with client() as c:
            await _login(c, "js.repair")
            page = await c.get(f"/customers/{wang}")
            assert "13900000000" in page.text and page.text.count('id="repair-') >= 4
        assert await _load_demo() is False
