"""A repair point's visits, management file and scorecard (R37): pages and API twins."""
from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from oversight import points
from oversight.inputs import PointVisitIn
from oversight.locator import point_for
from portal import clock, listing
from portal.actions import act
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render

LABELS: dict[str, Any] = dict(file_labels=points.FILE_LABELS,
                              measure_labels=points.MEASURE_LABELS)
DEFAULT_DAYS = 90


def _period(request: Request) -> tuple[date, date]:
    errors: dict[str, str] = {}
    start = listing.date_param(request.query_params, "from", errors)
    end = listing.date_param(request.query_params, "to", errors)
    today = clock.china_today()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if errors or start > end or (end - start).days > 3660:
        raise ValidationFailed(errors or {"from": "Choose a period of at most ten years."})
    return start, end


async def visits_page(request: Request, point_id: int, *, status_code: int = 200,
                      errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    point = await point_for(actor, point_id)
    return render(request, "oversight/point_visits.html", status_code=status_code, point=point,
                  visits=await points.visits(point_id), errors=errors or {},
                  form=form or {"visited_on": clock.china_today().isoformat()},
                  may_visit=points.may_visit(actor) and actor.organisation_id != point_id,
                  **LABELS)


class PointOversightController(Controller):
    path = "/repair-points"
    guards = [login_required]

    @get("/{point_id:int}/visits")
    async def visits(self, request: Request, point_id: FromPath[int]) -> Response:
        """R37: the office's visits to the point, with the five topics and the feedback."""
        return await visits_page(request, point_id)

    @post("/{point_id:int}/visits")
    async def record(self, request: Request, point_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await point_for(actor, point_id)  # 404 before anything
        return await act(request, PointVisitIn,
                         lambda data: points.record_visit(actor=actor, point_id=point_id,
                                                          data=data),
                         page=functools.partial(visits_page, request, point_id),
                         success="Visit recorded.", location=f"/repair-points/{point_id}/visits")

    @get("/{point_id:int}/file")
    async def file(self, request: Request, point_id: FromPath[int]) -> Response:
        """R37 (art. 3E): the point's management file, newest first."""
        point = await point_for(current_actor(request), point_id)
        return render(request, "oversight/point_file.html", point=point,
                      entries=await points.management_file(point_id), **LABELS)

    @get("/{point_id:int}/scorecard")
    async def scorecard(self, request: Request, point_id: FromPath[int]) -> Response:
        """The point's measures beside its region's, for a period (90 days by default)."""
        point = await point_for(current_actor(request), point_id)
        start, end = _period(request)
        return render(request, "oversight/scorecard.html", point=point,
                      card=await points.scorecard(point_id, start, end), **LABELS)


class PointOversightApi(Controller):
    path = "/api/v1/repair-points"
    guards = [api_token_required]
    tags = ["repair points"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/{point_id:int}/visits")
    async def visits(self, request: Request, point_id: FromPath[int]) -> list[dict]:
        await point_for(current_actor(request), point_id)
        return await points.visits(point_id)

    @post("/{point_id:int}/visits", status_code=201)
    async def record(self, request: Request, point_id: FromPath[int],
                     data: JSONBody[PointVisitIn]) -> dict:
        return {"id": await points.record_visit(actor=current_actor(request),
                                                point_id=point_id, data=data)}

    @get("/{point_id:int}/file")
    async def file(self, request: Request, point_id: FromPath[int]) -> list[dict]:
        await point_for(current_actor(request), point_id)
        return await points.management_file(point_id)

    @get("/{point_id:int}/scorecard")
    async def scorecard(self, request: Request, point_id: FromPath[int]) -> dict:
        await point_for(current_actor(request), point_id)
        start, end = _period(request)
        return await points.scorecard(point_id, start, end)
