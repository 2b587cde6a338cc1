"""The oversight demo (R30, R37, R38) loads with the rest and shows each step of the walkthrough."""
from __future__ import annotations

from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client


async def test_oversight_demo_loads_and_the_locator_lists_the_demo_points():
    assert await _load_demo() is True
    statuses = sorted(r["status"] for r in await raw_fetch("SELECT status FROM office_audit"))
    assert statuses == ["approved", "reported", "submitted"]
    (order,) = await raw_fetch("SELECT status FROM rectification_order")
    assert order["status"] == "instructed"
    assert len(await raw_fetch("SELECT id FROM point_visit")) == 1
    async with client() as c:
        page = await c.get("/find-repair?province=CN-JS")
        assert "南京灯具城特约维修点" in page.text and "025-8666 1234" in page.text
    assert await _load_demo() is False
