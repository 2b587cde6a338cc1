"""The R32 demo (service/demo_complaints.py) on any day, through the real services: a public-form
complaint waiting for CS, one past its deadline (escalated once), a major one waiting for the
vice-president, one assigned to the Nanjing repair point, one approved for the store to tell
the customer, one with HQ logistics, one that did not stand and one closed; each waiting
person's home counts it and links to it."""
import re
from datetime import datetime

import pytest

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client, csrf_from

CHINA = clock.CHINA
DAYS = [datetime(2027, 1, 1, 0, 30, tzinfo=CHINA), datetime(2027, 2, 28, 23, 50, tzinfo=CHINA)]
HOMES = {  # who: {queue: count}
    "hq.cs": {"to_judge": 2, "to_assign": 0, "breaching": 1},
    "hq.vp": {"major_to_approve": 1, "major_open": 1},
    "js.repair": {"to_investigate": 1},
    "js.store1": {"to_tell": 1, "to_close": 0},
    "hq.logistics": {"to_investigate": 1},
    "hq.tech": {"to_investigate": 0},
}


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_r32_demo_on_any_day(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        rows = await raw_fetch("SELECT c.status, c.major, c.recorded_by IS NULL AS public, "
                               "c.escalated_at IS NOT NULL AS escalated, o.kind "
                               "FROM complaint c JOIN organisation o ON o.id = c.organisation "
                               # the control tower's months of history (TWD…) are not the story
                               "WHERE c.reference NOT LIKE 'TWD%' ORDER BY c.id")
        assert [r["status"] for r in rows] == [
            "recorded", "recorded", "proposed", "assigned", "approved", "not_standing",
            "closed", "assigned"]
        assert [r["public"] for r in rows].count(True) == 1 and rows[0]["kind"] == "hq"
        assert [r["escalated"] for r in rows] == [False, True] + [False] * 6
        assert [r["major"] for r in rows][2] is True
        told = await raw_fetch("SELECT count(*) AS n FROM notification WHERE kind = "
                               "'complaint_overdue'")
        assert told[0]["n"] == 2  # hq.cs and hq.cs2, once
        assert await _load_demo() is False
        for who, queues in HOMES.items():
            async with client() as c:
                page = await c.get("/login")
                await c.post("/login", data={"username": who, "password": "demo-pass-2026",
                                             "_csrf": csrf_from(page.text), "next": "/"})
                home = (await c.get("/")).text
                for key, count in queues.items():
                    shown = re.search(rf'id="count-complaints_{key}">(\d+)<', home)
                    assert shown and int(shown.group(1)) == count, (who, key)
                    link = re.search(rf'href="([^"]+)" class="title" id="link-complaints_{key}"',
                                     home).group(1)
                    listed = (await c.get(link.replace("&amp;", "&"))).text
                    assert len(re.findall(r'<tr id="complaint-\d+"', listed)) == count
