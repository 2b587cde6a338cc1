"""R5 roll-over as a set-based job (dealers/rollover.py, issue 17 §4): its cost follows the
drafts it moves, not the history, and a draft that cannot move costs nothing after it was told."""
from __future__ import annotations

from datetime import date, datetime

from dealers import batches, rollover, rules
from dealers.tables import ReturnBatch
from portal import clock
from portal.clock import CHINA
from portal.db import count_queries, raw_fetch
from portal.tables import AuditEntry, Notification
from tests.dealers.factory import network
from tests.helpers import actor_of, make_org, make_user

IN_DECEMBER = datetime(2026, 12, 10, 9, tzinfo=CHINA)  # week 2 of CN-JS is open
AFTER = datetime(2026, 12, 16, 9, tzinfo=CHINA)


async def _offices_with_drafts(net: dict, n: int, prefix: str = "c") -> list[int]:
    ids = []
    for i in range(n):
        office = await make_org("office", parent=net["hq"], region="CN-JS", name=f"{prefix}办事处{i}")
        clerk = await actor_of(await make_user(office, ["dealer_clerk"], username=f"{prefix}{i}"))
        with clock.frozen(IN_DECEMBER):
            ids.append(await batches.create_draft(actor=clerk))
    return ids


async def _cost(at: datetime) -> tuple[int, int]:
    with count_queries() as counter:
        moved = await rollover.roll_over_unsubmitted(at)
    return moved, counter.count


async def test_moving_drafts_costs_a_fixed_number_of_queries_and_one_notice_each():
    net = await network()
    await _offices_with_drafts(net, 3)
    three = await _cost(AFTER)
    await ReturnBatch.delete(force=True)
    await _offices_with_drafts(net, 12, prefix="d")
    twelve = await _cost(AFTER)
    assert three[0] == 3 and twelve[0] == 12
    # find, lock, move, audit (4) and one notice per draft moved
    assert three[1] - 3 == twelve[1] - 12 == 4
    months = {r["month"] for r in await raw_fetch("SELECT month FROM return_batch")}
    assert months == {date(2027, 1, 1)}


async def test_a_run_with_nothing_new_is_one_query_however_many_drafts_are_stuck():
    net = await network()
    ids = await _offices_with_drafts(net, 8)
    january = datetime(2027, 1, 3, 9, tzinfo=CHINA)
    for batch_id in ids:  # each office has already started January's batch: none can move
        batch = (await raw_fetch("SELECT organisation FROM return_batch WHERE id = $1",
                                 batch_id))[0]
        clerk = await raw_fetch("SELECT id FROM portal_user WHERE organisation = $1",
                                batch["organisation"])
        actor = await actor_of({"id": clerk[0]["id"]})
        with clock.frozen(january):
            await batches.create_draft(actor=actor)
    assert (await _cost(january))[0] == 0
    blocked = await AuditEntry.count().where(AuditEntry.action == "rollover_blocked")
    told = await Notification.count().where(Notification.kind == "rollover_blocked")
    assert blocked == 8 and told == 8
    assert await _cost(january) == (0, 1)  # found nothing to do: one query
    assert await _cost(january) == (0, 1)


async def test_two_stuck_drafts_of_one_office_never_take_the_same_month():
    """October's and November's drafts both due in December: the older moves, the other stays."""
    net = await network()
    clerk = net["actors"]["clerk"]
    for month in (datetime(2026, 10, 10, 9, tzinfo=CHINA), datetime(2026, 11, 10, 9, tzinfo=CHINA)):
        with clock.frozen(month):
            await batches.create_draft(actor=clerk)
        # the first draft of a month is the month's regular batch; move October's out of the way
        # only after November's exists, so both are drafts of past months
    december = datetime(2026, 12, 1, 9, tzinfo=CHINA)
    assert await rollover.roll_over_unsubmitted(december) == 1
    months = sorted(r["month"] for r in await raw_fetch(
        "SELECT month FROM return_batch ORDER BY id"))
    assert months == [date(2026, 11, 1), date(2026, 12, 1)]


def test_the_window_closes_at_midnight_after_its_last_day_and_a_past_month_is_closed():
    december, week2 = date(2026, 12, 1), 2
    assert not rules.window_closed(december, week2, datetime(2026, 12, 14, 23, 59, 59, tzinfo=CHINA))
    assert rules.window_closed(december, week2, datetime(2026, 12, 15, 0, 0, tzinfo=CHINA))
    assert not rules.window_closed(december, None, datetime(2026, 12, 31, 23, tzinfo=CHINA))
    assert rules.window_closed(date(2026, 11, 1), None, datetime(2026, 12, 1, 0, tzinfo=CHINA))
