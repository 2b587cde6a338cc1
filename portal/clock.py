"""The injected clock. Business dates are China dates (R3); instants are UTC.

Rules never read the clock: services call `now()` and pass dates down. Tests move the clock
with `frozen(...)`; it is process-wide because the test client serves from its own thread.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
_frozen: list[datetime | None] = [None]


def now() -> datetime:
    return _frozen[0] or datetime.now(UTC)


def china_today(at: datetime | None = None) -> date:
    return (at or now()).astimezone(CHINA).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = day.replace(day=1)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(
        month=first.month + 1
    )


def previous_month(day: date) -> date:
    first = day.replace(day=1)
    return first.replace(year=first.year - 1, month=12) if first.month == 1 else first.replace(
        month=first.month - 1
    )


@contextmanager
def frozen(at: datetime):
    if at.tzinfo is None:
        raise ValueError("freeze the clock with an aware datetime")
    previous = _frozen[0]
    _frozen[0] = at
    try:
        yield at
    finally:
        _frozen[0] = previous
