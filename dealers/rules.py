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


def window_closed(month: date, week: int | None, at: datetime) -> bool:
    """R5: a regular draft of `month` can no longer be submitted at `at`: its month is past, or
    its window in that month has closed (with no window assigned, only once the month is past)."""
    window = window_in_month(month, week)
    return month.replace(day=1) < at.astimezone(CHINA).date().replace(day=1) or (
        window is not None and at >= window.closes_at)


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


# --- Return lines: warranty and exchange verdicts (R17, R18), decisions (R13), deadlines (R12, R14)

MAX_LINE_QUANTITY = 100_000  # one line of one batch; more is surely a typing error
DEALER_CFL_MONTHS = 15  # R18d: dealer rule, from the printed manufacture date code
CAP_NEW_MIN_PERCENT = 80  # R18b: a cap at least 80 % new is "not aged"


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (Nov 30 + 3 months = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def parse_date_code(text: str) -> date:
    """A CFL's printed manufacture date code: YYYYMMDD or YYYY-MM-DD. ValueError otherwise."""
    raw = text.strip().replace("-", "")
    if len(raw) != 8 or not raw.isdigit():
        raise ValueError("malformed date code")
    return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))


@dataclass(frozen=True)
class Condition:
    """What the dealer reports, or what HQ inspects (R18)."""

    lights: bool = False
    cap_percent: int | None = None  # how new the cap is, 0-100
    tube_greyed: bool = False
    bridge_blackened: bool = False
    broken: bool = False


@dataclass(frozen=True)
class CategoryTerms:
    warranty_months: int  # consumer warranty from purchase (R17); 0 = none
    is_cfl: bool


@dataclass(frozen=True)
class Verdict:
    exchangeable: bool
    reasons: tuple[str, ...]  # msgids, each citing its rule
    dealer_until: date | None = None  # R18d: last day of the 15-month dealer clock
    consumer_until: date | None = None  # R17: last day of the consumer warranty

    @property
    def code(self) -> str:
        return "exchange" if self.exchangeable else "reject"


def expected_verdict(terms: CategoryTerms, condition: Condition, *, on: date,
                     date_code: date | None = None,
                     purchase_date: date | None = None) -> Verdict:
    """R17/R18: would this line be exchanged if it arrived `on` that day in this condition?"""
    reasons: list[str] = []
    consumer_until = dealer_until = None
    if terms.warranty_months == 0:
        reasons.append("No warranty for this category (R17).")
    elif purchase_date is not None:
        consumer_until = add_months(purchase_date, terms.warranty_months) - timedelta(days=1)
        if on > consumer_until:
            reasons.append("Out of the consumer warranty (R17).")
    if terms.is_cfl:
        if date_code is None:
            reasons.append("A CFL needs its printed date code (R18d).")
        else:
            dealer_until = add_months(date_code, DEALER_CFL_MONTHS) - timedelta(days=1)
            if on > dealer_until:
                reasons.append("More than 15 months since manufacture (R18d).")
        if condition.lights:
            reasons.append("The lamp still lights (R18a).")
        elif condition.cap_percent is not None and condition.cap_percent < CAP_NEW_MIN_PERCENT:
            reasons.append("The cap is aged, less than 80% new (R18b).")
        if condition.tube_greyed or condition.bridge_blackened:
            reasons.append("Greyed tube or blackening between the bridges (R18c).")
    return Verdict(not reasons, tuple(reasons), dealer_until, consumer_until)


# The reject reason (reason_code, kind 'reject') a CS clerk records for each verdict reason, so
# the decision page can be saved as proposed (R13, R17, R18).
REJECT_CODE_FOR_REASON = {
    "No warranty for this category (R17).": "NO_WARRANTY",
    "Out of the consumer warranty (R17).": "NO_WARRANTY",
    "A CFL needs its printed date code (R18d).": "NO_WARRANTY",
    "More than 15 months since manufacture (R18d).": "OVER_15M",
    "The lamp still lights (R18a).": "LIGHTS",
    "The cap is aged, less than 80% new (R18b).": "CAP_AGED",
    "Greyed tube or blackening between the bridges (R18c).": "TUBE_GREY",
}


def proposed_reject_code(reason: str | None) -> str | None:
    """The reject reason code for a verdict's first reason, or None when nothing is rejected."""
    return REJECT_CODE_FOR_REASON.get(reason) if reason else None


def check_decision(received: int, exchanged: int, credited: int, rejected: int,
                   reject_reason: int | str | None) -> dict[str, str]:
    """R13: exchanged + credited + rejected = received, always; a rejection needs a reason
    (its id or code)."""
    errors: dict[str, str] = {}
    if min(exchanged, credited, rejected) < 0:
        errors["quantity"] = "Quantities cannot be negative."
    elif exchanged + credited + rejected != received:
        errors["quantity"] = "Exchanged + credited + rejected must equal the received quantity."
    if rejected > 0 and not reject_reason:
        errors["reject_reason"] = "Give the reason for the rejected quantity."
    return errors


def propose_decision(received: int, verdict: Verdict) -> tuple[int, int, int]:
    """R13/R18: the proposal CS starts from: all exchanged if the inspection passes, else all
    rejected. CS may change it (e.g. credit instead of exchange)."""
    return (received, 0, 0) if verdict.exchangeable else (0, 0, received)


def receive_deadline(arrived_at: datetime) -> datetime:
    """R12: counted and inspected by the end of the day after arrival (China time)."""
    arrival_day = arrived_at.astimezone(CHINA).date()
    return datetime.combine(arrival_day + timedelta(days=2), time(0), CHINA)


def decide_deadline(arrived_at: datetime) -> datetime:
    """R14: decided and fed back within 3 days of arrival (end of the third China day after)."""
    arrival_day = arrived_at.astimezone(CHINA).date()
    return datetime.combine(arrival_day + timedelta(days=4), time(0), CHINA)


def breached(deadline: datetime, done_at: datetime | None, now: datetime) -> bool:
    """A deadline is breached when the work was done after it, or is still not done past it."""
    return (done_at or now) >= deadline


# Batch lifecycle (SPEC §3). Every transition writes an audit row (R20).
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"submitted", "withdrawn"},
    "submitted": {"signed", "draft"},
    "signed": {"approved", "refused"},
    "approved": {"dispatched", "received", "closed"},  # goods may arrive before dispatch is keyed in
    "dispatched": {"received"},
    "received": {"dispositioned"},
    "dispositioned": {"closed"},
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, set())


# --- What a person may do with a batch now (issue 9 §4) ------------------------------------------
# One home per rule: the batch page shows each action, disabled with its reason when a rule would
# refuse it, and the services call the same function to refuse it with the same words.

@dataclass(frozen=True)
class Refusal:
    """Why an action is refused now: a msgid (plain words, no rule ids) and its parameters."""

    message: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def kwargs(self) -> dict[str, str]:
        return dict(self.params)


def submit_refusal(*, kind: str, month: date, line_count: int, now: datetime,
                   week: int | None) -> Refusal | None:
    """R5: a regular batch is submitted in its office's window of its own month (China time);
    R4: a region without a window needs a special approval; R7: a special batch at any time."""
    if line_count < 1:
        return Refusal("Add at least one line before submitting.")
    if kind == "special":
        return None
    today = now.astimezone(CHINA).date()
    if month != today.replace(day=1):  # R5: e.g. a draft rolled over to next month
        return Refusal("This batch belongs to %(month)s: submit it in that month's window, or "
                       "use a special approval.", (("month", month.strftime("%Y-%m")),))
    if week is None:  # R4
        return Refusal("Your region has no return window: the office manager can ask head "
                       "office for a special approval.")
    window = window_in_month(today, week)
    if window is None or not window.contains(now):  # R5
        return Refusal("Submission is only possible in your window, %(first)s to %(last)s. "
                       "Outside it, the office manager can ask head office for a special "
                       "approval.", (("first", window.first.isoformat() if window else ""),
                                     ("last", window.last.isoformat() if window else "")))
    return None


def allowed_actions(*, status: str, kind: str, month: date, line_count: int, is_staff: bool,
                    is_manager: bool, is_cs: bool, is_submitter: bool, is_signer: bool,
                    now: datetime, week: int | None) -> dict[str, Refusal | None]:
    """The lifecycle actions this person sees on a batch in `status`: action -> None when it
    is possible, or the Refusal a rule gives. Actions of other roles or states are absent."""
    actions: dict[str, Refusal | None] = {}
    if status == "draft" and is_staff:
        actions["submit"] = submit_refusal(kind=kind, month=month, line_count=line_count,
                                           now=now, week=week)
        actions["withdraw"] = None
    elif status == "submitted" and is_manager:
        # R8: nobody signs their own submission
        actions["sign"] = Refusal("Nobody signs their own submission: another manager of the "
                                  "office or the regional manager signs it.") \
            if is_submitter else None
        actions["return"] = None
    elif status == "signed" and is_cs:
        # R9: nobody approves (or refuses) what they submitted or signed
        own = Refusal("Nobody approves their own submission: another customer service "
                      "colleague decides it.") if is_submitter or is_signer else None
        actions["approve"] = own
        actions["refuse"] = own
    return actions
