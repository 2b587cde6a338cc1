"""Return-visit plans and satisfaction surveys (R34): pages and one route per action."""
from __future__ import annotations

import functools
from collections.abc import Awaitable
from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import clock, listing
from portal.actions import act, form_input
from portal.errors import PortalError, ValidationFailed
from portal.forms import read_form
from portal.i18n import gettext
from portal.network import list_organisations
from portal.web import current_actor, done, login_required, render
from service import archive_queries, archive_rules, surveys, visits
from service.inputs import ActionIn, AnswerIn, PlanIn, SurveyIn, VisitIn


async def _offices(actor) -> list[dict]:
    """The offices HQ customer service may draw a plan or open a survey for."""
    if actor.organisation_kind != "hq" or actor.read_only:
        return []
    return [o for kind in ("office", "agent")
            for o in await list_organisations(actor=actor, kind=kind, limit=200)]


async def _create(request: Request, model, run, page, success: str, location: str) -> Response:
    """A form that creates a record, then shows it (its page is known only afterwards)."""
    form = await read_form(request)
    try:
        new_id = await run(form_input(model, form))
    except ValidationFailed as exc:
        return await page(request, status_code=422, errors=exc.errors, form=dict(form))
    except PortalError as exc:
        if exc.status_code == 404:
            raise
        return await page(request, status_code=exc.status_code, form=dict(form),
                          errors={"action": gettext(exc.message, **exc.params)})
    return done(request, success, location.format(id=new_id))


# --- return visits -----------------------------------------------------------------------------

async def plans_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                     form: dict | None = None) -> Response:
    actor = current_actor(request)
    visits.check_visits(actor)
    query_errors: dict[str, str] = {}
    year = listing.int_param(request.query_params, "year", query_errors)
    today = clock.china_today()
    return render(request, "service/visit_plans.html",
                  status_code=422 if query_errors else status_code,
                  errors={**query_errors, **(errors or {})}, form=form or {},
                  plans=await archive_queries.list_plans(actor=actor, year=year), year=year,
                  this_year=today.year, offices=await _offices(actor),
                  may_draw=not actor.read_only and (actor.organisation_kind != "hq"
                                                    or actor.has("hq_cs")),
                  late=archive_rules.visits_late(today.year, today))


async def plan_page(request: Request, plan_id: int, *, status_code: int = 200,
                    errors: dict | None = None, form: dict | None = None) -> Response:
    page = await visits.plan_page(actor=current_actor(request), plan_id=plan_id)
    return render(request, "service/visit_plan.html", status_code=status_code, **page,
                  errors=errors or {}, form=form or {}, today=clock.china_today())


class ReturnVisitController(Controller):
    path = "/return-visits"
    guards = [login_required]

    @get("/")
    async def plans(self, request: Request) -> Response:
        return await plans_page(request)

    @post("/")
    async def draw(self, request: Request) -> Response:
        """R34: draw the year's plan (at least 5 % of the year's customers, at random)."""
        actor = current_actor(request)
        return await _create(request, PlanIn, lambda data: visits.draw_plan(actor=actor, data=data),
                             plans_page, "Return-visit plan drawn.", "/return-visits/{id}")

    @get("/{plan_id:int}")
    async def plan(self, request: Request, plan_id: FromPath[int]) -> Response:
        return await plan_page(request, plan_id)

    @post("/{plan_id:int}/visits/{visit_id:int}")
    async def visit(self, request: Request, plan_id: FromPath[int],
                    visit_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        await visits.get_plan(actor=actor, plan_id=plan_id)  # 404 first (R1)
        return await act(request, VisitIn,
                         lambda data: visits.record_visit(actor=actor, plan_id=plan_id,
                                                          visit_id=visit_id, data=data),
                         page=functools.partial(plan_page, request, plan_id),
                         success="Visit recorded.", location=f"/return-visits/{plan_id}")


# --- surveys -----------------------------------------------------------------------------------

async def surveys_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                       form: dict | None = None) -> Response:
    actor = current_actor(request)
    visits.check_visits(actor)
    waiting = request.query_params.get("waiting")
    waiting = waiting if waiting in archive_queries.WAITING else None
    today = clock.china_today()
    return render(request, "service/surveys.html", status_code=status_code,
                  errors=errors or {}, form=form or {}, waiting=waiting or "",
                  surveys=await archive_queries.list_surveys(actor=actor, today=today, waiting=waiting),
                  this_year=today.year, offices=await _offices(actor),
                  may_open=not actor.read_only and (actor.organisation_kind != "hq"
                                                    or actor.has("hq_cs")))


async def survey_page(request: Request, survey_id: int, *, status_code: int = 200,
                      errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    page = await surveys.survey_page(actor=actor, survey_id=survey_id)
    owners = await archive_queries.action_owners(page["survey"]["organisation"]) if page["leader"] \
        else []
    page["actions"] = {k: gettext(why) if why else None for k, why in page["actions"].items()}
    return render(request, "service/survey.html", status_code=status_code, **page,
                  errors=errors or {}, form=form or {}, owners=owners,
                  problem_labels=archive_rules.SURVEY_PROBLEM_LABELS,
                  kind_labels=archive_rules.ACTION_KIND_LABELS, today=clock.china_today(),
                  default_due=clock.china_today() + timedelta(days=surveys.ACTION_DAYS))


def _on_survey(request: Request, survey_id: int, model, run, success: str) -> Awaitable[Response]:
    actor = current_actor(request)

    async def go() -> Response:
        await surveys.get_survey(actor=actor, survey_id=survey_id)  # 404 first (R1)
        return await act(request, model, lambda data: run(actor, data),
                         page=functools.partial(survey_page, request, survey_id),
                         success=success, location=f"/surveys/{survey_id}")
    return go()


class SurveyController(Controller):
    path = "/surveys"
    guards = [login_required]

    @get("/")
    async def surveys(self, request: Request) -> Response:
        return await surveys_page(request)

    @post("/")
    async def open(self, request: Request) -> Response:
        actor = current_actor(request)
        return await _create(request, SurveyIn,
                             lambda data: surveys.open_survey(actor=actor, data=data),
                             surveys_page, "Survey opened: record its answers.", "/surveys/{id}")

    @get("/{survey_id:int}")
    async def survey(self, request: Request, survey_id: FromPath[int]) -> Response:
        return await survey_page(request, survey_id)

    @post("/{survey_id:int}/answers")
    async def answer(self, request: Request, survey_id: FromPath[int]) -> Response:
        return await _on_survey(request, survey_id, AnswerIn, lambda actor, data: (
            surveys.record_answer(actor=actor, survey_id=survey_id, data=data)),
            "Answer recorded.")

    @post("/{survey_id:int}/analyse")
    async def analyse(self, request: Request, survey_id: FromPath[int]) -> Response:
        return await _on_survey(request, survey_id, None, lambda actor, _: (
            surveys.analyse_survey(actor=actor, survey_id=survey_id)),
            "Survey analysed: give each main problem its action.")

    @post("/{survey_id:int}/problems/{problem_id:int}/action")
    async def action(self, request: Request, survey_id: FromPath[int],
                     problem_id: FromPath[int]) -> Response:
        return await _on_survey(request, survey_id, ActionIn, lambda actor, data: (
            surveys.record_action(actor=actor, survey_id=survey_id, problem_id=problem_id,
                                  data=data)), "Action recorded; its owner has been told.")

    @post("/{survey_id:int}/problems/{problem_id:int}/done")
    async def action_done(self, request: Request, survey_id: FromPath[int],
                          problem_id: FromPath[int]) -> Response:
        return await _on_survey(request, survey_id, None, lambda actor, _: (
            surveys.mark_action_done(actor=actor, survey_id=survey_id, problem_id=problem_id)),
            "Action marked done.")


HANDLERS = [ReturnVisitController, SurveyController]
