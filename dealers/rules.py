"""Pure rules of the return calendar and, later, of return batches. No database, no clock.

R2: each region returns in one week of the month. R3: weeks are day ranges in China time; days
22 to the month's end are nobody's. R4: unnamed regions have no window until HQ assigns one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.clock import CHINA

# R2, seed 003 §2 art. 11: week number -> (first day, last day) of the month.
WEEK_DAYS: dict[int, tuple[int, int]] = {1: (1, 7), 2: (8, 14), 3: (15, 21)}

# R2: the default assignment. Regions not listed (Jilin, Tibet, Fujian outside its three named
# cities, Hong Kong, Macau) have no window (R4).
DEFAULT_CALENDAR: dict[str, int] = {
    **dict.fromkeys(["CN-HL", "CN-LN", "CN-TJ", "CN-BJ", "CN-SX", "CN-NM", "CN-HE", "CN-SC",
                     "CN-GZ", "CN-SN", "CN-GS", "CN-QH", "CN-NX", "CN-XJ", "CN-CQ", "CN-YN"], 1),
    **dict.fromkeys(["CN-AH", "CN-JS", "CN-SH", "CN-ZJ", "CN-FJ-FZ", "CN-FJ-XM", "CN-FJ-QZ",
                     "CN-JX"], 2),
    **dict.fromkeys(["CN-HB", "CN-HN", "CN-SD", "CN-HA", "CN-GD", "CN-GX", "CN-HI"], 3),
}


@dataclass(frozen=True)
class Window:
    """A return window: whole China days `first`..`last` inclusive."""

    week: int
    first: date
    last: date

    @property
    def opens_at(self) -> datetime:
        return datetime.combine(self.first, time(0), CHINA)

    @property
    def closes_at(self) -> datetime:
        """The instant the window closes: China midnight after its last day."""
        return datetime.combine(self.last + timedelta(days=1), time(0), CHINA)

    def contains(self, instant: datetime) -> bool:
        return self.opens_at <= instant < self.closes_at


@dataclass(frozen=True)
class WindowStatus:
    """What a dealer's home page says: open now (until), opens on (date), or not assigned."""

    state: str  # "open" | "upcoming" | "unassigned"
    window: Window | None = None


def window_in_month(month: date, week: int | None) -> Window | None:
    """R3: the window of `week` in the month containing `month`; None when unassigned (R4)."""
    if week is None:
        return None
    if week not in WEEK_DAYS:
        raise ValueError(f"week must be 1, 2 or 3, not {week!r}")
    first, last = WEEK_DAYS[week]
    start = month.replace(day=1)
    return Window(week=week, first=start.replace(day=first), last=start.replace(day=last))


def window_status(at: datetime, week_this_month: int | None,
                  week_next_month: int | None) -> WindowStatus:
    """R3/R4 at instant `at` (any zone; judged in China time)."""
    china_day = at.astimezone(CHINA).date()
    current = window_in_month(china_day, week_this_month)
    if current is not None and current.contains(at):
        return WindowStatus("open", current)
    if current is not None and at < current.opens_at:
        return WindowStatus("upcoming", current)
    following = window_in_month(_next_month(china_day), week_next_month)
    if following is not None:
        return WindowStatus("upcoming", following)
    return WindowStatus("unassigned")


def may_submit_regular(at: datetime, week: int | None) -> bool:
    """R5: a regular batch is submitted only inside its region's window (China time)."""
    window = window_in_month(at.astimezone(CHINA).date(), week)
    return window is not None and window.contains(at)


def _next_month(day: date) -> date:
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


def days_until_opening(today: date, status: WindowStatus) -> int | None:
    if status.state != "upcoming" or status.window is None:
        return None
    return (status.window.first - today).days
