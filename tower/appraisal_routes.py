"""R36 appraisal pages and API twins: a quarter's scores (lowest first) with their inputs, the
computation by CS or the HQ administrator, and a failing score's corrective and preventive
actions."""
from __future__ import annotations

import functools
from datetime import date

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal import clock, listing
from portal.actions import act
from portal.api import api_token_required
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor, login_required, render
from tower import appraisal, rules
from tower.inputs import AppraisalComputeIn, CorrectiveActionIn
from tower.routes import STATUS_LABELS, _guard, figure_text


def _quarter(query) -> date | None:
    errors: dict[str, str] = {}
    day = listing.date_param(query, "quarter", errors)
    return day if day and not errors and rules.is_quarter_start(day) else None


async def list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None) -> Response:
    actor = current_actor(request)
    _guard(actor)
    last = rules.add_months(rules.quarter_start(clock.china_today()), -3)
    return render(request, "tower/appraisals.html", status_code=status_code,
                  errors=errors or {}, form=form or {"period_start": last.isoformat()},
                  rows=await appraisal.list_scores(actor=actor,
                                                   period_start=_quarter(request.query_params)),
                  may_compute=appraisal._may_compute(actor), bands=rules.BAND_LABELS)


async def detail_page(request: Request, appraisal_id: int, *, status_code: int = 200,
                      errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    score = await appraisal.get_score(actor=actor, appraisal_id=appraisal_id)
    figures = {m: rules.Figure(m, v["num"], v["den"], v["target_bp"], v["status"], v["value_bp"])
               for m, v in score["inputs"]["measures"].items()}
    return render(request, "tower/appraisal.html", status_code=status_code, s=score,
                  figures=figures, actions=await appraisal.actions_of(appraisal_id),
                  errors=errors or {}, form=form or {}, figure_text=figure_text,
                  measure_labels=rules.MEASURE_LABELS, status_labels=STATUS_LABELS,
                  bands=rules.BAND_LABELS, kinds=appraisal.ACTION_KINDS,
                  kind_labels=appraisal.ACTION_LABELS,
                  may_act=appraisal.may_record_action(actor, score))


class AppraisalController(Controller):
    path = "/tower/appraisals"
    guards = [login_required]

    @get("/")
    async def scores(self, request: Request) -> Response:
        """R36: a quarter's scores the reader may see, lowest first."""
        return await list_page(request)

    @post("/")
    async def compute(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, AppraisalComputeIn,
                         lambda data: appraisal.compute(actor=actor, data=data),
                         page=functools.partial(list_page, request),
                         success="Appraisal scores computed for the quarter.",
                         location="/tower/appraisals")

    @get("/{appraisal_id:int}")
    async def detail(self, request: Request, appraisal_id: FromPath[int]) -> Response:
        return await detail_page(request, appraisal_id)

    @post("/{appraisal_id:int}/actions")
    async def add_action(self, request: Request, appraisal_id: FromPath[int]) -> Response:
        """R36: a failing score's corrective or preventive action."""
        actor = current_actor(request)
        await appraisal.get_score(actor=actor, appraisal_id=appraisal_id)
        return await act(request, CorrectiveActionIn,
                         lambda data: appraisal.add_action(actor=actor,
                                                           appraisal_id=appraisal_id, data=data),
                         page=functools.partial(detail_page, request, appraisal_id),
                         success="Action recorded.",
                         location=f"/tower/appraisals/{appraisal_id}")


def _out(row: dict) -> dict:
    return {k: row[k] for k in ("id", "organisation", "period_start", "score", "band", "inputs",
                                "corrective", "preventive", "needs_actions")}


class AppraisalApi(Controller):
    path = "/api/v1/tower/appraisals"
    guards = [api_token_required]
    tags = ["control tower"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def scores(self, request: Request, quarter: FromQuery[str | None] = None) -> list[dict]:
        """R36: a quarter's scores (`quarter` its first day; the latest by default)."""
        actor = current_actor(request)
        _guard(actor)
        return [_out(r) for r in await appraisal.list_scores(
            actor=actor, period_start=_quarter(request.query_params))]

    @get("/{appraisal_id:int}")
    async def detail(self, request: Request, appraisal_id: FromPath[int]) -> dict:
        return _out(await appraisal.get_score(actor=current_actor(request),
                                              appraisal_id=appraisal_id))

    @post("/", status_code=201)
    async def compute(self, request: Request, data: JSONBody[AppraisalComputeIn]) -> dict:
        return {"computed": await appraisal.compute(actor=current_actor(request), data=data)}

    @post("/{appraisal_id:int}/actions", status_code=201)
    async def add_action(self, request: Request, appraisal_id: FromPath[int],
                         data: JSONBody[CorrectiveActionIn]) -> dict:
        actor = current_actor(request)
        await appraisal.add_action(actor=actor, appraisal_id=appraisal_id, data=data)
        return {"id": appraisal_id}
