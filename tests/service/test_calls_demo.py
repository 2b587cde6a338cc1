"""The demo's service calls (R33) on any day: calls in every state at the demo's repair points,
one breaching, visited ones with filled (phone and tablet) and unfilled cards; js.repair's home
shows them, the breach in red, and the call pages open for the point and the office."""
import re
from datetime import datetime

import pytest

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client, login

CHINA = clock.CHINA
DAYS = [datetime(2027, 3, 1, 0, 30, tzinfo=CHINA), datetime(2026, 12, 31, 23, 50, tzinfo=CHINA),
        datetime(2027, 2, 28, 16, 0, tzinfo=CHINA)]


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_r33_demo_calls_in_every_state_on_any_day(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        now = clock.now()
        rows = await raw_fetch(
            "SELECT c.id, c.status, c.visited_at, c.visit_by, c.repair, u.username AS point_user, "
            "oc.submitted_at, oc.channel FROM service_call c LEFT JOIN opinion_card oc "
            "ON oc.service_call = c.id JOIN portal_user u ON u.organisation = c.organisation "
            # the control tower's twelve months of history (TWD…) are not the calls' story
            "AND 'repair_staff' = ANY(u.roles) WHERE c.number NOT LIKE 'TWD%'")
        statuses = {r["status"] for r in rows}
        assert statuses == {"open", "visited", "closed", "cancelled"}
        assert {r["point_user"] for r in rows} >= {"js.repair", "gd.repair", "bj.repair"}
        breaching = [r for r in rows if r["status"] == "open" and r["visit_by"] < now]
        late_visits = [r for r in rows if r["visited_at"] and r["visited_at"] > r["visit_by"]]
        assert len(breaching) == 1 and len(late_visits) == 1 and late_visits[0]["repair"]
        cards = [r for r in rows if r["visited_at"]]
        assert {r["channel"] for r in cards if r["submitted_at"]} == {"link", "tablet"}
        assert any(r["submitted_at"] is None for r in cards)
        assert all(r["visited_at"] <= now for r in cards)
        async with client() as c:
            await login(c, "js.repair", "demo-pass-2026")
            home = (await c.get("/")).text
            assert 'class="queue alarm" id="queue-calls_breaching"' in home
            assert 'id="count-calls_to_visit">2<' in home
            for r in rows:
                if r["point_user"] == "js.repair":
                    assert (await c.get(f"/service-calls/{r['id']}")).status_code == 200
        async with client() as c:
            await login(c, "js.clerk", "demo-pass-2026")
            listed = (await c.get("/service-calls")).text
        shown = [int(i) for i in re.findall(r'<tr id="call-(\d+)"', listed)]
        owners = {r["username"] for r in await raw_fetch(
            "SELECT u.username FROM service_call c JOIN portal_user u ON u.organisation = "
            "c.organisation AND 'repair_staff' = ANY(u.roles) WHERE c.id = ANY($1::int[])", shown)}
        assert owners == {"js.repair"}  # Nanjing's, not Guzhen's or Shilihe's
        assert await _load_demo() is False
