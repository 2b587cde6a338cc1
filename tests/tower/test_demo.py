"""The control-tower demo (tower/demo.py) on any day: twelve months behind the HQ dashboard,
figures in every colour, Sichuan's CFL spike raised once by the early warning; loading again
changes nothing."""
from datetime import datetime

import pytest

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client
from tests.service.test_archive_demo import _login
from tower import demo

CHINA = clock.CHINA
DAYS = [datetime(2027, 1, 1, 0, 30, tzinfo=CHINA), datetime(2026, 12, 15, 10, 0, tzinfo=CHINA)]


@pytest.mark.parametrize("moment", DAYS, ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_r35_demo_fills_the_dashboard_and_raises_one_alert(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        alerts = await raw_fetch("SELECT r.code, p.model FROM quality_alert a JOIN region r "
                                 "ON r.id = a.region JOIN product p ON p.id = a.product")
        assert [a["code"] for a in alerts] == [demo.SPIKE_REGION]
        assert await demo.load() is False
        async with client() as c:
            await _login(c, "hq.cs")
            page = await c.get("/tower")
            assert page.status_code == 200
            for colour in ("rag-green", "rag-red"):
                assert colour in page.text
            assert "too few cases" not in page.text.split('id="trend-on_site"')[1][:3000]
            assert (await c.get("/tower/alerts")).status_code == 200
            assert (await c.get("/tower/defects")).status_code == 200
