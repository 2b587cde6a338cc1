"""The goods demo on any day: replacement orders (one shipped, one short for HQ to resolve), a scrap lot with its certificate, last month's supplier
claims; the goods pages open for head office and the office in Chinese and English."""
from datetime import datetime

import pytest

from portal import clock
from portal.cli import _load_demo
from portal.db import raw_fetch
from tests.helpers import client, login

CHINA = clock.CHINA
PASSWORD = "demo-pass-2026"


@pytest.mark.parametrize("moment", [datetime(2026, 12, 20, 10, 0, tzinfo=CHINA),
                                    datetime(2027, 3, 1, 0, 30, tzinfo=CHINA)],
                         ids=lambda d: d.strftime("%Y-%m-%d"))
async def test_goods_demo_on_any_day(moment):
    with clock.frozen(moment):
        assert await _load_demo() is True
        shipments = {r["status"] for r in await raw_fetch("SELECT status FROM goods_shipment")}
        assert shipments == {"shipped", "short"}
        lots = await raw_fetch("SELECT id, contains_mercury FROM goods_scrap_lot")
        assert len(lots) == 1
        assert await raw_fetch("SELECT 1 FROM attachment WHERE subject = 'goods.scrap_lot'")
        assert await raw_fetch("SELECT 1 FROM goods_supplier_claim")
        short = (await raw_fetch("SELECT replacement FROM goods_shipment "
                                 "WHERE status = 'short'"))[0]["replacement"]
        async with client() as c:
            await login(c, "hq.logistics", PASSWORD)
            home = await c.get("/")
            assert 'id="count-goods_shortfalls">1<' in home.text
            for url in ("/goods/replacements", f"/goods/replacements/{short}", "/goods/stock",
                        "/goods/scrap-lots", f"/goods/scrap-lots/{lots[0]['id']}"):
                r = await c.get(url)
                assert r.status_code == 200, url
            assert 'id="resolve-' in (await c.get(f"/goods/replacements/{short}")).text
        async with client() as c:
            await login(c, "hq.cs", PASSWORD)
            r = await c.get("/goods/suppliers", headers={"Accept-Language": "en"})
            assert r.status_code == 200 and 'id="claims"' in r.text
