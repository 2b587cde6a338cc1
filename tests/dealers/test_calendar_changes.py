"""R4: HQ changes a region's week from the next month on (China time), with history and audit;
the dealer's home page shows its window, or says plainly there is none."""
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dealers import calendar
from dealers.tables import CalendarAssignment
from portal import clock
from portal.errors import Forbidden, ValidationFailed
from portal.tables import AuditEntry
from tests.helpers import actor_of, client, login, make_org, make_user, region_id

CHINA = ZoneInfo("Asia/Shanghai")


async def _admin():
    hq = await make_org("hq", region=None)
    return hq, await actor_of(await make_user(hq, ["hq_admin"], username="admin"))


async def test_r4_change_applies_from_next_month_with_history_and_audit():
    _, admin = await _admin()
    js = await region_id("CN-JS")
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        effective = await calendar.assign_week(actor=admin, region_id=js, week=3,
                                               reason="warehouse moves")
    assert effective.isoformat() == "2027-01-01"
    assert await calendar.week_for_region(js, datetime(2026, 12, 31).date()) == 2
    assert await calendar.week_for_region(js, datetime(2027, 1, 1).date()) == 3
    history = await calendar.assignment_history(js)
    assert [(h["week"], h["reason"]) for h in history][:2] == [(3, "warehouse moves"),
                                                               (2, "seed 003 default")]
    assert history[0]["author"] == "admin"
    assert await AuditEntry.exists().where((AuditEntry.object_type == "region")
                                           & (AuditEntry.reason == "warehouse moves"))


async def test_r4_next_month_is_judged_in_china_time():
    """2026-11-30 16:30 UTC is already 1 December in China: the change applies from January."""
    _, admin = await _admin()
    with clock.frozen(datetime(2026, 11, 30, 16, 30, tzinfo=ZoneInfo("UTC"))):
        effective = await calendar.assign_week(actor=admin, region_id=await region_id("CN-JL"),
                                               week=1, reason="Jilin assigned")
    assert effective.isoformat() == "2027-01-01"


async def test_r4_non_admin_and_bad_input_change_nothing():
    hq, admin = await _admin()
    cs = await actor_of(await make_user(hq, ["hq_cs"], username="cs"))
    before = (await CalendarAssignment.count(), await AuditEntry.count())
    js = await region_id("CN-JS")
    with pytest.raises(Forbidden):
        await calendar.assign_week(actor=cs, region_id=js, week=1, reason="x")
    with pytest.raises(ValidationFailed):
        await calendar.assign_week(actor=admin, region_id=js, week=4, reason="x")
    with pytest.raises(ValidationFailed):
        await calendar.assign_week(actor=admin, region_id=js, week=1, reason="  ")
    assert (await CalendarAssignment.count(), await AuditEntry.count()) == before


async def test_r4_calendar_rows_are_append_only_in_the_database():
    conn = await asyncpg.connect(CalendarAssignment._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("UPDATE calendar_assignment SET week = 1")
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("DELETE FROM calendar_assignment")
    finally:
        await conn.close()


@pytest.mark.parametrize("region, at, text", [
    ("CN-JS", datetime(2026, 12, 9, 10, tzinfo=CHINA), "2026-12-14"),   # open until
    ("CN-JS", datetime(2026, 12, 3, 10, tzinfo=CHINA), "2026-12-08"),   # opens on
    ("CN-JS", datetime(2026, 12, 15, 0, 0, tzinfo=CHINA), "2027-01-08"),  # just closed
    ("CN-JL", datetime(2026, 12, 9, 10, tzinfo=CHINA), 'window-unassigned'),
])
async def test_dealer_home_shows_its_window(region, at, text):
    hq = await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region=region)
    await make_user(office, ["dealer_clerk"], username="clerk")
    with clock.frozen(at):
        async with client() as c:
            await login(c, "clerk")
            page = await c.get("/")
            assert text in page.text
            assert 'id="window"' in page.text


async def test_hq_admin_edits_the_calendar_through_the_page():
    await _admin()
    js = await region_id("CN-JS")
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        async with client() as c:
            token = await login(c, "admin")
            bad = await c.post(f"/admin/calendar/{js}", data={"_csrf": token, "week": "9",
                                                             "reason": "x"})
            assert bad.status_code == 422
            ok = await c.post(f"/admin/calendar/{js}", data={"_csrf": token, "week": "",
                                                            "reason": "no returns in 2027"})
            assert ok.status_code == 303
            table = await c.get("/calendar")
            assert 'id="region-CN-JS"' in table.text
    assert await calendar.week_for_region(js, datetime(2027, 1, 5).date()) is None
