"""Return calendar services: which week a region returns in, and the window a dealer sees."""
from __future__ import annotations

from datetime import date, datetime

from dealers import rules
from dealers.tables import CalendarAssignment
from portal import audit, clock
from portal.actor import Actor
from portal.db import raw_fetch, transactional
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.network import DEALER_KINDS, get_organisation
from portal.tables import Region

_WEEKS_SQL = """
SELECT DISTINCT ON (region) region, week
FROM calendar_assignment
WHERE effective_from <= $1
ORDER BY region, effective_from DESC, id DESC
"""


async def weeks_on(month: date) -> dict[int, int | None]:
    """region id -> week in force for `month` (R2/R4), in one query for all regions."""
    rows = await raw_fetch(_WEEKS_SQL, month.replace(day=1))
    return {row["region"]: row["week"] for row in rows}


async def week_for_region(region_id: int, month: date) -> int | None:
    row = await CalendarAssignment.select(CalendarAssignment.week).where(
        (CalendarAssignment.region == region_id)
        & (CalendarAssignment.effective_from <= month.replace(day=1))
    ).order_by(CalendarAssignment.effective_from, ascending=False).order_by(
        CalendarAssignment.id, ascending=False).first()
    return row["week"] if row else None


# week_for_region for this month and next in one statement (the dealer's home asks both).
_TWO_WEEKS = (
    "SELECT (SELECT week FROM calendar_assignment WHERE region = $1 AND effective_from <= $2 "
    "ORDER BY effective_from DESC, id DESC LIMIT 1) AS this, "
    "(SELECT week FROM calendar_assignment WHERE region = $1 AND effective_from <= $3 "
    "ORDER BY effective_from DESC, id DESC LIMIT 1) AS next")


async def status_for_region(region_id: int | None, at: datetime) -> rules.WindowStatus:
    if region_id is None:
        return rules.WindowStatus("unassigned")
    today = clock.china_today(at)
    weeks = (await raw_fetch(_TWO_WEEKS, region_id, today.replace(day=1),
                             clock.next_month(today).replace(day=1)))[0]
    return rules.window_status(at, weeks["this"], weeks["next"])


async def window_for_organisation(*, actor: Actor, org_id: int) -> tuple[dict, rules.WindowStatus]:
    """The window shown on a dealer's home page (R2-R4); offices and agents only."""
    org = await get_organisation(actor=actor, org_id=org_id)
    if org["kind"] not in DEALER_KINDS:
        raise NotFound("Only offices and logistics agents have a return window.")
    return org, await status_for_region(org["region_id"], clock.now())


async def calendar_table(month: date) -> list[dict]:
    """Every region with its week this month and next month (so a pending change shows)."""
    this, following = await weeks_on(month), await weeks_on(clock.next_month(month))
    regions = await Region.select().order_by(Region.code)
    return [
        {**r, "week": this.get(r["id"]), "next_week": following.get(r["id"])} for r in regions
    ]


async def assignment_history(region_id: int) -> list[dict]:
    return await CalendarAssignment.select(
        CalendarAssignment.week, CalendarAssignment.effective_from, CalendarAssignment.reason,
        CalendarAssignment.created_at,
        CalendarAssignment.created_by.display_name.as_alias("author"),
    ).where(CalendarAssignment.region == region_id).order_by(
        CalendarAssignment.effective_from, ascending=False
    ).order_by(CalendarAssignment.id, ascending=False)


@transactional
async def assign_week(*, actor: Actor, region_id: int, week: int | None, reason: str) -> date:
    """R4: HQ changes a region's week; it applies from the first of next month (China time)."""
    if not actor.has("hq_admin"):
        raise Forbidden("Only the HQ administrator may do this.")
    errors: dict[str, str] = {}
    if week is not None and week not in rules.WEEK_DAYS:
        errors["week"] = "Choose week 1, 2 or 3, or no window."
    if not reason.strip():
        errors["reason"] = "Say why it changes."
    if errors:
        raise ValidationFailed(errors)
    effective = clock.next_month(clock.china_today())
    region = await Region.select(Region.code).where(Region.id == region_id).first()
    if region is None:
        raise NotFound("Not found.")
    before = await week_for_region(region_id, effective)
    await CalendarAssignment.insert(CalendarAssignment(
        region=region_id, week=week, effective_from=effective, reason=reason.strip(),
        created_by=actor.user_id, created_at=clock.now()))
    await audit.record(actor=actor, object_type="region", object_id=region_id,
                       action="assign_week", before={"week": before},
                       after={"week": week, "from": effective.isoformat()},
                       reason=reason.strip())
    return effective


REMINDER_DAYS = 3


async def remind_window_opening(at: datetime) -> int:
    """Tell dealer clerks and managers 'your return window opens in 3 days' (R2, issue 2).

    Safe to run as often as wanted: one reminder per user per month (dedupe key)."""
    from datetime import timedelta

    from portal.notify import notify
    from portal.tables import ManagerCoverage, Organisation, User

    target = clock.china_today(at) + timedelta(days=REMINDER_DAYS)
    weeks = await weeks_on(target)
    opening = {region: week for region, week in weeks.items()
               if week is not None and rules.WEEK_DAYS[week][0] == target.day}
    regions = list(opening)
    if not regions:
        return 0
    orgs = [r["id"] for r in await Organisation.select(Organisation.id).where(
        Organisation.region.is_in(regions) & Organisation.kind.is_in(sorted(DEALER_KINDS))
        & (Organisation.active == True))]  # noqa: E712
    if not orgs:
        return 0
    local = await User.select(User.id).where(User.organisation.is_in(orgs) & (User.active == True)  # noqa: E712
                                             )
    covering = await ManagerCoverage.select(ManagerCoverage.user).where(
        ManagerCoverage.organisation.is_in(orgs)
        & (ManagerCoverage.user.active == True))  # noqa: E712 -- a deactivated manager is not told
    user_ids = sorted({r["id"] for r in local} | {r["user"] for r in covering})
    last = target.replace(day=rules.WEEK_DAYS[opening[regions[0]]][1])
    await notify(user_ids=user_ids, kind="window_opens", dedupe_key=f"window-{target:%Y-%m}",
                 subject="Your return window opens in 3 days",
                 body="Your return window opens on %(first)s and closes at the end of %(last)s "
                      "(China time). Submit this month's return batch inside it.",
                 link="/", params={"first": target.isoformat(), "last": last.isoformat()})
    return len(user_ids)
