"""JSON twins of the calendar pages: the calendar and an office's window (R2-R4)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from dealers import calendar
from portal import clock
from portal.api import api_token_required
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor


@dataclass
class CalendarRow:
    region_code: str
    name_zh: str
    name_en: str
    week: int | None
    next_month_week: int | None


@dataclass
class WindowOut:
    organisation_id: int
    state: str  # open | upcoming | unassigned
    week: int | None
    first_day: date | None
    last_day: date | None
    timezone: str = "Asia/Shanghai"


@dataclass
class AssignIn:
    week: int | None
    reason: str


class CalendarApi(Controller):
    path = "/api/v1"
    guards = [api_token_required]
    tags = ["calendar"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/calendar")
    async def table(self) -> list[CalendarRow]:
        rows = await calendar.calendar_table(clock.china_today())
        return [CalendarRow(region_code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"],
                            week=r["week"], next_month_week=r["next_week"]) for r in rows]

    @post("/calendar/{region_id:int}", status_code=200)
    async def assign(self, request: Request, region_id: FromPath[int], data: JSONBody[AssignIn]) -> dict:
        effective = await calendar.assign_week(actor=current_actor(request), region_id=region_id,
                                               week=data.week, reason=data.reason)
        return {"effective_from": effective.isoformat()}

    @get("/organisations/{org_id:int}/window")
    async def window(self, request: Request, org_id: FromPath[int]) -> WindowOut:
        org, status = await calendar.window_for_organisation(actor=current_actor(request),
                                                             org_id=org_id)
        w = status.window
        return WindowOut(organisation_id=org["id"], state=status.state, week=w.week if w else None,
                         first_day=w.first if w else None, last_day=w.last if w else None)
