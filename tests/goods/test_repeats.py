"""Repeat-claim detection (R18, R13): a line with the same product and date code (and, where
both give one, the same purchase date) as a line claimed earlier in another batch, of any
office, is flagged with the earlier claim linked; different date codes are not; one statement
per call whatever the number of lines; CS sees the flag on the batch page's goods panel."""
from __future__ import annotations

from datetime import date

import pytest

from goods import repeats
from portal import clock
from portal.db import count_queries, raw_fetch
from tests.dealers.factory import IN_WINDOW, cfl_line, network
from tests.goods.factory import another_office, decided, received
from tests.helpers import client, login


async def _two_offices(net, second_lines):
    await another_office(net, "zj")
    first = await decided(net, [(2, 0, 0)], lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    second = await decided(net, [(2, 0, 0)] * len(second_lines), clerk="zj.clerk",
                           manager="zj.manager", lines=second_lines)
    return first, second


async def test_r18_a_line_claimed_again_by_another_office_is_flagged_with_the_earlier_one():
    net = await network()
    first, second = await _two_offices(net, [cfl_line(net, 2, date_code=date(2026, 3, 1))])
    assert await repeats.flag_batches([second]) == 1
    assert await repeats.flag_batches([second]) == 0  # flagged once
    assert await repeats.flag_batches([first]) == 0  # the earlier claim is not the repeat
    (flag,) = await repeats.flags_of(second)
    earlier = (await raw_fetch("SELECT id FROM return_line WHERE batch = $1", first))[0]["id"]
    assert flag["earlier_line"] == earlier and flag["earlier_batch"] == first
    assert flag["earlier_exchanged"] == 2


async def test_r18_different_date_codes_or_purchase_dates_are_not_flagged():
    net = await network()
    _, second = await _two_offices(net, [
        cfl_line(net, 2, date_code=date(2026, 4, 1)),
        cfl_line(net, 2, date_code=date(2026, 3, 1), purchase_date=date(2026, 5, 1))])
    await raw_fetch("UPDATE return_line SET purchase_date = '2026-04-01' WHERE batch <> $1", second)
    assert await repeats.flag_batches([second]) == 0
    assert await repeats.flags_of(second) == []


async def test_r18_one_statement_per_batch_whatever_its_lines():
    net = await network()
    counts = []
    for n, key in ((1, "a"), (20, "b")):
        await another_office(net, key)
        batch = await decided(net, [(1, 0, 0)] * n, clerk=f"{key}.clerk",
                              manager=f"{key}.manager",
                              lines=[cfl_line(net, 1, date_code=date(2026, 3, 1))] * n)
        with count_queries() as counter:
            await repeats.flag_batches([batch])
        counts.append(counter.count)
    assert counts[0] == counts[1]


@pytest.fixture
def frozen():
    with clock.frozen(IN_WINDOW):
        yield


async def test_r18_cs_sees_the_flag_on_the_batch_page_the_office_does_not(frozen):
    net = await network()
    first, second = await _two_offices(net, [cfl_line(net, 2, date_code=date(2026, 3, 1))])
    await repeats.flag_batches([second])
    async with client() as c:
        await login(c, "cs")
        panel = await c.get(f"/goods/batches/{second}/panel")
        assert 'id="repeat-claims"' in panel.text and f'href="/batches/{first}"' in panel.text
        page = await c.get(f"/batches/{second}")
        assert f'hx-get="/goods/batches/{second}/panel"' in page.text
    async with client() as c:
        await login(c, "zj.clerk")
        panel = await c.get(f"/goods/batches/{second}/panel")
        assert panel.status_code == 200 and 'id="repeat-claims"' not in panel.text


async def test_r18_cs_decides_with_the_flag_in_view(frozen):
    net = await network()
    await another_office(net, "zj")
    first = await decided(net, [(2, 0, 0)], lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    waiting = await received(net, [2], clerk="zj.clerk", manager="zj.manager",
                             lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    async with client() as c:
        await login(c, "cs")
        decide = await c.get(f"/batches/{waiting}/decide")
        assert f'hx-get="/goods/batches/{waiting}/panel"' in decide.text
        panel = await c.get(f"/goods/batches/{waiting}/panel")  # flags it as it opens
        assert f'href="/batches/{first}"' in panel.text
