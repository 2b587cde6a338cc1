"""Return calendar services on the real database (SPEC §2): R2 default weeks, R4 HQ changes from
next month (China time) with history and audit, append-only rows, R3 the window an office sees."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from dealers import calendar
from dealers.rules import DEFAULT_CALENDAR, Window
from dealers.tables import CalendarAssignment
from portal import clock
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.tables import AuditEntry, Region
from tests.helpers import actor_of, make_org, make_user, region_id

CHINA = ZoneInfo("Asia/Shanghai")
UTC = UTC


async def _admin():
    hq = await make_org("hq", region=None)
    admin = await make_user(hq, ["hq_admin"], username="admin")
    return hq, await actor_of(admin)


async def _counts() -> tuple[int, int]:
    return await CalendarAssignment.count(), await AuditEntry.count()


# --- R2: the default ----------------------------------------------------------------------------

async def test_r2_weeks_on_returns_the_default_calendar():
    codes = {r["id"]: r["code"] for r in await Region.select(Region.id, Region.code)}
    weeks = await calendar.weeks_on(date(2026, 12, 17))
    assert {codes[region]: week for region, week in weeks.items()} == DEFAULT_CALENDAR
    assert await calendar.week_for_region(await region_id("CN-JS"), date(2026, 12, 1)) == 2
    assert await calendar.week_for_region(await region_id("CN-JL"), date(2026, 12, 1)) is None


# --- R4: HQ changes apply from next month, with history and audit -------------------------------

async def test_r4_assign_week_applies_from_first_of_next_month_china_time():
    _, admin = await _admin()
    js = await region_id("CN-JS")
    before = await _counts()
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        effective = await calendar.assign_week(actor=admin, region_id=js, week=3,
                                               reason="warehouse moves")
    assert effective == date(2027, 1, 1)
    assert await _counts() == (before[0] + 1, before[1] + 1)

    # This month unchanged, next month changed.
    assert (await calendar.weeks_on(date(2026, 12, 1)))[js] == 2
    assert (await calendar.weeks_on(date(2027, 1, 1)))[js] == 3
    assert await calendar.week_for_region(js, date(2026, 12, 31)) == 2
    assert await calendar.week_for_region(js, date(2027, 1, 1)) == 3
    table = {r["code"]: r for r in await calendar.calendar_table(date(2026, 12, 1))}
    assert (table["CN-JS"]["week"], table["CN-JS"]["next_week"]) == (2, 3)

    # History keeps both, each with its reason and author.
    history = await calendar.assignment_history(js)
    assert [(h["week"], h["effective_from"], h["reason"], h["author"]) for h in history] == [
        (3, date(2027, 1, 1), "warehouse moves", "admin"),
        (2, date(2000, 1, 1), "seed 003 default", None),
    ]

    # R20: an audit row with who, what and why.
    entry = await AuditEntry.select().where(
        (AuditEntry.object_type == "region") & (AuditEntry.object_id == str(js))).first()
    assert entry["action"] == "assign_week"
    assert entry["actor"] == admin.user_id
    assert entry["reason"] == "warehouse moves"
    assert entry["from_state"] in ({"week": 2}, '{"week": 2}')
    assert "2027-01-01" in str(entry["to_state"])


async def test_r4_change_at_utc_month_end_is_already_next_month_in_china():
    """2026-11-30 16:30 UTC is 1 December 00:30 in China: the change applies from January."""
    _, admin = await _admin()
    js = await region_id("CN-JS")
    with clock.frozen(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)):
        effective = await calendar.assign_week(actor=admin, region_id=js, week=1,
                                               reason="moved to week 1")
    assert effective == date(2027, 1, 1)
    assert await calendar.week_for_region(js, date(2026, 12, 1)) == 2
    assert await calendar.week_for_region(js, date(2027, 1, 1)) == 1
    row = await CalendarAssignment.select().where(CalendarAssignment.reason == "moved to week 1"
                                                  ).first()
    assert row["effective_from"] == date(2027, 1, 1)


async def test_r4_change_a_second_before_china_midnight_applies_from_december():
    _, admin = await _admin()
    js = await region_id("CN-JS")
    with clock.frozen(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC)):  # 23:59:59 Nov 30 China
        effective = await calendar.assign_week(actor=admin, region_id=js, week=1, reason="x")
    assert effective == date(2026, 12, 1)


async def test_r4_hq_assigns_an_unassigned_region_and_can_remove_a_window():
    _, admin = await _admin()
    jl, gd = await region_id("CN-JL"), await region_id("CN-GD")
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        await calendar.assign_week(actor=admin, region_id=jl, week=1, reason="Jilin office opens")
        await calendar.assign_week(actor=admin, region_id=gd, week=None, reason="no returns")
    assert await calendar.week_for_region(jl, date(2026, 12, 1)) is None
    assert await calendar.week_for_region(jl, date(2027, 1, 1)) == 1
    assert await calendar.week_for_region(gd, date(2026, 12, 1)) == 3
    assert await calendar.week_for_region(gd, date(2027, 1, 1)) is None


async def test_r4_latest_change_for_the_same_month_wins_and_all_are_kept():
    _, admin = await _admin()
    js = await region_id("CN-JS")
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        await calendar.assign_week(actor=admin, region_id=js, week=3, reason="first thought")
        await calendar.assign_week(actor=admin, region_id=js, week=1, reason="second thought")
    assert await calendar.week_for_region(js, date(2027, 1, 1)) == 1
    assert (await calendar.weeks_on(date(2027, 1, 1)))[js] == 1
    assert [h["reason"] for h in await calendar.assignment_history(js)] == [
        "second thought", "first thought", "seed 003 default"]


@pytest.mark.parametrize("roles", [["hq_cs"], ["manager"], ["dealer_clerk"], ["auditor"]])
async def test_r4_only_hq_admin_may_change_the_calendar(roles):
    hq, _ = await _admin()
    other = await actor_of(await make_user(hq, roles, username="other"))
    js = await region_id("CN-JS")
    before = await _counts()
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        with pytest.raises(Forbidden):
            await calendar.assign_week(actor=other, region_id=js, week=1, reason="because")
    assert await _counts() == before
    assert await calendar.week_for_region(js, date(2027, 1, 1)) == 2


@pytest.mark.parametrize(("week", "reason", "field"), [
    (4, "valid reason", "week"),
    (0, "valid reason", "week"),
    (1, "", "reason"),
    (1, "   ", "reason"),
])
async def test_r4_bad_week_or_blank_reason_writes_nothing(week, reason, field):
    _, admin = await _admin()
    js = await region_id("CN-JS")
    before = await _counts()
    with clock.frozen(datetime(2026, 12, 10, 12, tzinfo=CHINA)):
        with pytest.raises(ValidationFailed) as raised:
            await calendar.assign_week(actor=admin, region_id=js, week=week, reason=reason)
    assert set(raised.value.errors) == {field}
    assert await _counts() == before


async def test_r4_unknown_region_is_not_found_and_writes_nothing():
    _, admin = await _admin()
    before = await _counts()
    with pytest.raises(NotFound):
        await calendar.assign_week(actor=admin, region_id=999_999, week=1, reason="x")
    assert await _counts() == before


# --- R4/R20: assignments are append-only in the database ----------------------------------------

async def test_r4_calendar_rows_refuse_update_and_delete_in_the_database():
    js = await region_id("CN-JS")
    with pytest.raises(asyncpg.exceptions.RaiseError, match="append-only"):
        await CalendarAssignment.update({CalendarAssignment.week: 1}).where(
            CalendarAssignment.region == js)
    with pytest.raises(asyncpg.exceptions.RaiseError, match="append-only"):
        await CalendarAssignment.delete().where(CalendarAssignment.region == js)
    conn = await asyncpg.connect(CalendarAssignment._meta.db.config["dsn"])
    try:
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("UPDATE calendar_assignment SET reason = 'rewritten'")
        with pytest.raises(asyncpg.exceptions.RaiseError):
            await conn.execute("DELETE FROM calendar_assignment")
    finally:
        await conn.close()
    assert await calendar.week_for_region(js, date(2026, 12, 1)) == 2
    assert await CalendarAssignment.count() == len(DEFAULT_CALENDAR)


# --- R3/R4: the window an office sees -----------------------------------------------------------

async def _office(region: str, hq: dict | None = None):
    hq = hq or await make_org("hq", region=None)
    office = await make_org("office", parent=hq, region=region)
    clerk = await actor_of(await make_user(office, ["dealer_clerk"], username="clerk"))
    return office, clerk


@pytest.mark.parametrize(("at", "state", "first"), [
    (datetime(2026, 12, 9, 10, tzinfo=CHINA), "open", date(2026, 12, 8)),
    (datetime(2026, 12, 7, 16, tzinfo=UTC), "open", date(2026, 12, 8)),  # opening instant
    (datetime(2026, 12, 3, 10, tzinfo=CHINA), "upcoming", date(2026, 12, 8)),
    (datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC), "upcoming", date(2026, 12, 8)),
    (datetime(2026, 12, 14, 16, tzinfo=UTC), "upcoming", date(2027, 1, 8)),  # just closed
    (datetime(2026, 12, 25, 10, tzinfo=CHINA), "upcoming", date(2027, 1, 8)),
], ids=["inside", "opening-instant", "before", "last-second-before", "just-closed", "after"])
async def test_r3_window_for_an_office_in_jiangsu(at, state, first):
    office, clerk = await _office("CN-JS")
    with clock.frozen(at):
        org, status = await calendar.window_for_organisation(actor=clerk, org_id=office["id"])
    assert org["id"] == office["id"] and org["region_code"] == "CN-JS"
    assert status.state == state
    assert status.window.week == 2
    assert status.window.first == first
    assert status.window.last == first.replace(day=14)


async def test_r3_window_for_an_office_follows_a_pending_change_next_month():
    office, clerk = await _office("CN-JS")
    _, admin = await _admin()
    with clock.frozen(datetime(2026, 12, 20, 10, tzinfo=CHINA)):
        await calendar.assign_week(actor=admin, region_id=await region_id("CN-JS"), week=3,
                                   reason="later week")
        _, status = await calendar.window_for_organisation(actor=clerk, org_id=office["id"])
    assert status.state == "upcoming"
    assert status.window == Window(3, date(2027, 1, 15), date(2027, 1, 21))


async def test_r4_office_in_jilin_is_told_it_has_no_window():
    office, clerk = await _office("CN-JL")
    with clock.frozen(datetime(2026, 12, 9, 10, tzinfo=CHINA)):
        _, status = await calendar.window_for_organisation(actor=clerk, org_id=office["id"])
    assert status.state == "unassigned"
    assert status.window is None


async def test_r4_office_without_a_region_has_no_window():
    hq = await make_org("hq", region=None)
    bare = await make_org("agent", parent=hq, region=None)
    admin = await actor_of(await make_user(hq, ["hq_admin"], username="admin"))
    with clock.frozen(datetime(2026, 12, 9, 10, tzinfo=CHINA)):
        _, status = await calendar.window_for_organisation(actor=admin, org_id=bare["id"])
    assert status.state == "unassigned"


async def test_r2_a_store_has_no_return_window():
    office, clerk = await _office("CN-JS")
    store = await make_org("store", parent=office, region="CN-JS")
    with clock.frozen(datetime(2026, 12, 9, 10, tzinfo=CHINA)):
        with pytest.raises(NotFound):
            await calendar.window_for_organisation(actor=clerk, org_id=store["id"])


async def test_r1_office_cannot_see_a_sibling_offices_window():
    hq = await make_org("hq", region=None)
    office, clerk = await _office("CN-JS", hq)
    sibling = await make_org("office", parent=hq, region="CN-GD")
    assert office["parent"] == sibling["parent"]
    with pytest.raises(NotFound):
        await calendar.window_for_organisation(actor=clerk, org_id=sibling["id"])
