"""The return calendar at its edges (R2-R5): China time against UTC instants, short months,
unassigned regions."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dealers import rules
from portal.regions import REGIONS

CHINA = ZoneInfo("Asia/Shanghai")
UTC = UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


SPEC_TABLE = {
    1: ["CN-HL", "CN-LN", "CN-TJ", "CN-BJ", "CN-SX", "CN-NM", "CN-HE", "CN-SC", "CN-GZ", "CN-SN",
        "CN-GS", "CN-QH", "CN-NX", "CN-XJ", "CN-CQ", "CN-YN"],
    2: ["CN-AH", "CN-JS", "CN-SH", "CN-ZJ", "CN-FJ-FZ", "CN-FJ-XM", "CN-FJ-QZ", "CN-JX"],
    3: ["CN-HB", "CN-HN", "CN-SD", "CN-HA", "CN-GD", "CN-GX", "CN-HI"],
}


@pytest.mark.parametrize("week, code", [(w, c) for w, codes in SPEC_TABLE.items() for c in codes])
def test_r2_default_calendar_matches_seed_003(week, code):
    assert rules.DEFAULT_CALENDAR[code] == week


@pytest.mark.parametrize("code", ["CN-JL", "CN-XZ", "CN-FJ", "CN-HK", "CN-MO"])
def test_r4_unnamed_regions_have_no_window(code):
    assert code not in rules.DEFAULT_CALENDAR
    assert rules.window_status(utc(2026, 12, 10), None, None).state == "unassigned"


def test_r2_every_calendar_region_exists():
    codes = {c for c, _, _ in REGIONS}
    assert set(rules.DEFAULT_CALENDAR) <= codes
    assert len(REGIONS) == 36


@pytest.mark.parametrize("instant, open_", [
    (utc(2026, 12, 7, 15, 59, 59), False),  # 2026-12-07 23:59:59 China
    (utc(2026, 12, 7, 16, 0, 0), True),     # 2026-12-08 00:00:00 China: week 2 opens
    (utc(2026, 12, 14, 15, 59, 59), True),  # 2026-12-14 23:59:59 China: last second
    (utc(2026, 12, 14, 16, 0, 0), False),   # 2026-12-15 00:00 China: closed
])
def test_r3_week_2_edges_in_china_time_on_a_utc_server(instant, open_):
    assert rules.may_submit_regular(instant, 2) is open_
    assert (rules.window_status(instant, 2, 2).state == "open") is open_


@pytest.mark.parametrize("instant, open_", [
    (utc(2026, 11, 30, 15, 59, 59), False),  # Nov 30 23:59:59 China
    (utc(2026, 11, 30, 16, 0, 0), True),     # Dec 1 00:00 China, still Nov 30 in UTC
    (utc(2026, 12, 7, 15, 59, 59), True),
    (utc(2026, 12, 7, 16, 0, 0), False),
])
def test_r3_week_1_first_and_last_minute(instant, open_):
    assert rules.may_submit_regular(instant, 1) is open_


@pytest.mark.parametrize("instant, open_", [
    (utc(2026, 12, 21, 15, 59), True),   # 21st 23:59 China
    (utc(2026, 12, 21, 16, 0), False),   # 22nd: nobody's day
])
def test_r3_week_3_last_minute_and_day_22_belongs_to_nobody(instant, open_):
    assert rules.may_submit_regular(instant, 3) is open_
    if not open_:
        assert not any(rules.may_submit_regular(instant, w) for w in (1, 2, 3))


@pytest.mark.parametrize("month", [date(2027, 2, 1), date(2028, 2, 1), date(2026, 4, 1)])
def test_r3_short_months_keep_day_ranges(month):
    window = rules.window_in_month(month, 3)
    assert (window.first.day, window.last.day) == (15, 21)


@pytest.mark.parametrize("today, week, expected_first", [
    (datetime(2027, 1, 31, 12, tzinfo=CHINA), 1, date(2027, 2, 1)),
    (datetime(2027, 2, 28, 12, tzinfo=CHINA), 2, date(2027, 3, 8)),
    (datetime(2028, 2, 29, 12, tzinfo=CHINA), 3, date(2028, 3, 15)),
    (datetime(2026, 12, 31, 23, 59, tzinfo=CHINA), 1, date(2027, 1, 1)),  # year roll
])
def test_r3_next_opening_after_month_end(today, week, expected_first):
    status = rules.window_status(today, week, week)
    assert status.state == "upcoming" and status.window.first == expected_first


def test_upcoming_this_month_before_the_window():
    status = rules.window_status(datetime(2026, 12, 3, 9, tzinfo=CHINA), 3, 3)
    assert status.state == "upcoming" and status.window.first == date(2026, 12, 15)
    assert rules.days_until_opening(date(2026, 12, 3), status) == 12


def test_r4_window_passed_and_next_month_unassigned_says_so():
    status = rules.window_status(datetime(2026, 12, 20, 9, tzinfo=CHINA), 1, None)
    assert status.state == "unassigned"


def test_open_window_reports_until_when():
    status = rules.window_status(datetime(2026, 12, 9, 9, tzinfo=CHINA), 2, 2)
    assert status.state == "open" and status.window.last == date(2026, 12, 14)
    assert status.window.closes_at - timedelta(seconds=1) == datetime(2026, 12, 14, 23, 59, 59,
                                                                       tzinfo=CHINA)


@pytest.mark.parametrize("week", [0, 4, -1])
def test_invalid_week_refused(week):
    with pytest.raises(ValueError):
        rules.window_in_month(date(2026, 12, 1), week)
