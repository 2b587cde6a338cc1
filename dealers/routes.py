"""Home page with the dealer's return window, and the return calendar (R2-R4)."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers import calendar, rules
from portal import clock, replica, workbench
from portal.errors import NotFound, ValidationFailed
from portal.forms import integer, read_form, text
from portal.network import DEALER_KINDS
from portal.tables import Organisation, Region
from portal.web import current_actor, is_htmx, login_required, render, roles_required


class HomeController(Controller):
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def home(self, request: Request) -> Response:
        """Each role's workbench (issue 9 §1): the queues waiting for this user, gathered from
        every domain registered with portal.workbench, plus the return window of an office."""
        actor = current_actor(request)
        now = clock.now()
        status = None
        if actor.organisation_kind in DEALER_KINDS:
            _, status = await calendar.window_for_organisation(actor=actor,
                                                               org_id=actor.organisation_id)
        return render(request, "dealers/home.html", status=status,
                      counts=await network_counts(actor),
                      sections=await workbench.gather(actor, now), now=now,
                      section_labels=workbench.SECTION_LABELS, today=clock.china_today(now),
                      days=rules.days_until_opening(clock.china_today(now), status)
                      if status else None)

    @get("/network/{org_id:int}/window")
    async def window(self, request: Request, org_id: FromPath[int]) -> Response:
        """The window card of one office: a page, or the htmx fragment that refreshes it."""
        org, status = await calendar.window_for_organisation(actor=current_actor(request),
                                                             org_id=org_id)
        return render(request, "dealers/window.html", block="window" if is_htmx(request) else None,
                      org=org, status=status, today=clock.china_today(),
                      days=rules.days_until_opening(clock.china_today(), status))


class CalendarController(Controller):
    path = "/calendar"
    guards = [login_required]

    @get("/")
    async def table(self, request: Request) -> Response:
        today = clock.china_today()
        return render(request, "dealers/calendar.html", rows=await calendar.calendar_table(today),
                      month=today.replace(day=1), next_month=clock.next_month(today),
                      weeks=rules.WEEK_DAYS)

    @get("/{region_id:int}")
    async def region(self, request: Request, region_id: FromPath[int]) -> Response:
        region = await Region.select().where(Region.id == region_id).first()
        if region is None:
            raise NotFound("Not found.")
        return render(request, "dealers/region.html", region=region,
                      history=await calendar.assignment_history(region_id),
                      next_month=clock.next_month(clock.china_today()), weeks=rules.WEEK_DAYS)


class CalendarAdminController(Controller):
    path = "/admin/calendar"
    guards = [roles_required("hq_admin")]

    @post("/{region_id:int}", status_code=303)
    async def assign(self, request: Request, region_id: FromPath[int]) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        week = integer(form, "week", errors, required=False, low=1, high=3)
        try:
            if errors:
                raise ValidationFailed(errors)
            await calendar.assign_week(actor=current_actor(request), region_id=region_id,
                                       week=week, reason=text(form, "reason"))
        except ValidationFailed as exc:
            region = await Region.select().where(Region.id == region_id).first()
            return render(request, "dealers/region.html", status_code=422, region=region,
                          history=await calendar.assignment_history(region_id),
                          next_month=clock.next_month(clock.china_today()),
                          weeks=rules.WEEK_DAYS, errors=exc.errors, form=dict(form))
        return Response(content="", status_code=303, headers={"Location": f"/calendar/{region_id}"})


async def network_counts(actor) -> dict[str, int] | None:
    """How many active organisations of each kind, for the HQ admin's and auditor's home."""
    if not (actor.has("hq_admin", "auditor") and actor.sees_everything):
        return None
    rows = await Organisation.raw(
        "SELECT kind, count(*) AS n FROM organisation WHERE active GROUP BY kind")
    return {r["kind"]: r["n"] for r in rows}
