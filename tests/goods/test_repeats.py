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


async def test_r18_logistics_counts_with_each_repeat_claim_marked_on_its_line(frozen):
    """The count page loads the repeat claims (?marks=1): the list, and a marker swapped onto
    each flagged line's count card with the earlier batch linked; one fragment's queries do not
    grow with the lines flagged."""
    net = await network()
    await another_office(net, "zj")
    first = await decided(net, [(2, 0, 0)], lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    claims = [cfl_line(net, 1, date_code=date(2026, 3, 1)),  # claimed before
              cfl_line(net, 1, date_code=date(2026, 5, 1))]  # not
    arrived = await received(net, [1, 1], clerk="zj.clerk", manager="zj.manager", lines=claims,
                             count=False)
    again, fresh = [r["id"] for r in await raw_fetch(
        "SELECT id FROM return_line WHERE batch = $1 ORDER BY line_no", arrived)]
    number = (await raw_fetch("SELECT number FROM return_batch WHERE id = $1", first))[0]["number"]
    async with client() as c:
        await login(c, "logistics")
        page = await c.get(f"/batches/{arrived}/receive")
        assert page.status_code == 200
        assert f'hx-get="/goods/batches/{arrived}/panel?marks=1"' in page.text
        assert f'id="repeat-mark-{again}"' in page.text and f'id="repeat-mark-{fresh}"' in page.text
        with count_queries() as one:
            marks = await c.get(f"/goods/batches/{arrived}/panel?marks=1")
        assert marks.status_code == 200 and 'id="repeat-claims"' in marks.text
        mark = marks.text.split(f'id="repeat-mark-{again}"')[1].split("</p>")[0]
        assert 'hx-swap-oob="true"' in mark and f'href="/batches/{first}"' in mark
        assert number in mark and "换货 2，冲帐 0，拒收 0" in mark  # what was decided on it
        assert f'id="repeat-mark-{fresh}"' not in marks.text
        assert "Replacement" not in marks.text  # only the repeat claims at the dock
    await raw_fetch("UPDATE return_line SET date_code = '2026-03-01' WHERE id = $1", fresh)
    await raw_fetch("DELETE FROM goods_repeat_flag")
    async with client() as c:
        await login(c, "logistics")
        with count_queries() as two:
            marks = await c.get(f"/goods/batches/{arrived}/panel?marks=1")
        assert f'id="repeat-mark-{fresh}"' in marks.text
    assert one.count == two.count


async def test_r18_customer_service_is_told_of_open_batches_with_repeat_claims(frozen):
    """CS's home has a queue of the batches at head office with repeat claims, linked to their
    list; a decided batch leaves it; offices do not read the list."""
    from dealers import queries as dealer_queries
    from dealers import receiving
    from portal import workbench

    net = await network()
    await another_office(net, "zj")
    first = await decided(net, [(2, 0, 0)], lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    waiting = await received(net, [2], clerk="zj.clerk", manager="zj.manager",
                             lines=[cfl_line(net, 2, date_code=date(2026, 3, 1))])
    await repeats.flag_waiting()  # the periodic job
    cs = net["actors"]["cs"]

    async def queue():
        found = [q for _, qs in await workbench.gather(cs, clock.now()) for q in qs
                 if q.key == "goods_repeat_claims"]
        return found[0] if found else None

    shown = await queue()
    assert shown is not None and shown.count == 1 and shown.link == "/goods/repeat-claims"
    assert not [q for _, qs in await workbench.gather(net["actors"]["logistics"], clock.now())
                for q in qs if q.key == "goods_repeat_claims"]
    async with client() as c:
        await login(c, "cs")
        page = await c.get("/goods/repeat-claims")
        assert page.status_code == 200 and f'href="/batches/{waiting}"' in page.text
        assert f'href="/batches/{first}"' not in page.text  # the earlier one is no repeat
        home = await c.get("/")
        assert 'href="/goods/repeat-claims"' in home.text
    async with client() as c:
        await login(c, "zj.clerk")
        assert (await c.get("/goods/repeat-claims")).status_code == 403
    lines = await dealer_queries.list_lines(waiting)
    await receiving.decide_batch(actor=cs, batch_id=waiting, decisions=[
        receiving.Decision(l["id"], l["received_qty"], 0, 0) for l in lines])
    assert (await queue()).count == 0  # decided: no longer open work
