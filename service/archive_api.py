"""JSON twins of the archive, return-visit and survey actions (R34) under /api/v1: the same
input dataclasses (service/inputs.py), services, rules and messages as the pages."""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal import clock, listing
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from service import archive, archive_queries, surveys, visits
from service.archive_routes import customer_filters, owner_file
from service.inputs import (
    ActionIn,
    AnswerIn,
    CustomerIn,
    OwnerExportIn,
    PlanIn,
    PurchaseIn,
    SurveyIn,
    VisitIn,
)

CUSTOMER_FIELDS = ("id", "organisation", "name", "phone", "address", "area", "purchased_on",
                   "opened_at", "last_activity_at", "erased_at", "full")


def _customer_out(row: dict) -> dict:
    return {k: row.get(k) for k in CUSTOMER_FIELDS}


def _rows(rows: list[dict], *fields: str) -> list[dict]:
    return [{f: r.get(f) for f in fields} for r in rows]


class CustomerApi(Controller):
    path = "/api/v1/customers"
    guards = [api_token_required]
    tags = ["customer archive"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_customers(self, request: Request, name: FromQuery[str | None] = None,
                             phone: FromQuery[str | None] = None,
                             org: FromQuery[int | None] = None,
                             after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search: `name` part of the name, `phone` part of the digits, `org`
        the holding organisation's id, `after` the last id of the previous page. Contacts are
        masked unless the reader needs them (R34)."""
        filters, _, errors = customer_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        rows = await archive.list_customers(actor=current_actor(request), after_id=after_id,
                                            **filters)
        return [{**_customer_out(r), "units": r["units"]} for r in rows]

    @post("/", status_code=201)
    async def open_file(self, request: Request, data: JSONBody[CustomerIn]) -> dict:
        actor = current_actor(request)
        customer_id = await archive.open_file(actor=actor, data=data)
        return _customer_out(await archive.get_customer(actor=actor, customer_id=customer_id))

    @get("/{customer_id:int}")
    async def detail(self, request: Request, customer_id: FromPath[int]) -> dict:
        file = await archive.customer_file(actor=current_actor(request), customer_id=customer_id)
        out: dict[str, Any] = _customer_out(file["customer"])
        for section, fields in archive.OWNER_SECTIONS.items():
            out[section] = _rows(file[section], "id", *fields)
        out["praise"] = _rows(file["praise"], "kind", "at", "text", "ref")
        return out

    @post("/{customer_id:int}/purchases", status_code=201)
    async def purchase(self, request: Request, customer_id: FromPath[int],
                       data: JSONBody[PurchaseIn]) -> dict:
        purchase_id = await archive.record_purchase(actor=current_actor(request),
                                                    customer_id=customer_id, data=data)
        return {"id": purchase_id}

    @post("/{customer_id:int}/owner-export", status_code=200)
    async def owner_export(self, request: Request, customer_id: FromPath[int],
                           data: JSONBody[OwnerExportIn]) -> Response:
        """R34: the customer's own data on their request (JSON, or XLSX); audited."""
        exported = await archive.export_for_owner(actor=current_actor(request),
                                                  customer_id=customer_id,
                                                  reference=data.reference)
        return await owner_file(exported, data.format, customer_id)


PLAN_FIELDS = ("id", "organisation", "year", "customers", "planned", "created_at", "done")
VISIT_FIELDS = ("id", "customer", "name", "phone", "visited_at", "satisfied", "findings")


class ReturnVisitPlanApi(Controller):
    path = "/api/v1/return-visit-plans"
    guards = [api_token_required]
    tags = ["return visits"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_plans(self, request: Request, year: FromQuery[int | None] = None) -> list[dict]:
        actor = current_actor(request)
        visits.check_visits(actor)
        return _rows(await archive_queries.list_plans(actor=actor, year=year), *PLAN_FIELDS)

    @post("/", status_code=201)
    async def draw(self, request: Request, data: JSONBody[PlanIn]) -> dict:
        actor = current_actor(request)
        plan_id = await visits.draw_plan(actor=actor, data=data)
        return await self._plan(actor, plan_id)

    @get("/{plan_id:int}")
    async def detail(self, request: Request, plan_id: FromPath[int]) -> dict:
        return await self._plan(current_actor(request), plan_id)

    @post("/{plan_id:int}/visits/{visit_id:int}", status_code=200)
    async def visit(self, request: Request, plan_id: FromPath[int], visit_id: FromPath[int],
                    data: JSONBody[VisitIn]) -> dict:
        actor = current_actor(request)
        await visits.record_visit(actor=actor, plan_id=plan_id, visit_id=visit_id, data=data)
        return await self._plan(actor, plan_id)

    @staticmethod
    async def _plan(actor, plan_id: int) -> dict:
        page = await visits.plan_page(actor=actor, plan_id=plan_id)
        return {**{k: page["plan"].get(k) for k in PLAN_FIELDS}, "done": page["done"],
                "late": page["late"], "visits": _rows(page["visits"], *VISIT_FIELDS)}


class SurveyApi(Controller):
    path = "/api/v1/surveys"
    guards = [api_token_required]
    tags = ["surveys"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_surveys(self, request: Request,
                           waiting: FromQuery[str | None] = None) -> list[dict]:
        """`waiting`: `action` (main problems without an action) or `overdue` (actions past
        their due date)."""
        actor = current_actor(request)
        visits.check_visits(actor)
        rows = await archive_queries.list_surveys(actor=actor, today=clock.china_today(),
                                          waiting=waiting if waiting in archive_queries.WAITING else None)
        return _rows(rows, "id", "organisation", "year", "title", "analysed_at", "answers",
                     "without_action", "overdue")

    @post("/", status_code=201)
    async def open(self, request: Request, data: JSONBody[SurveyIn]) -> dict:
        actor = current_actor(request)
        return await self._survey(actor, await surveys.open_survey(actor=actor, data=data))

    @get("/{survey_id:int}")
    async def detail(self, request: Request, survey_id: FromPath[int]) -> dict:
        return await self._survey(current_actor(request), survey_id)

    @post("/{survey_id:int}/answers", status_code=201)
    async def answer(self, request: Request, survey_id: FromPath[int],
                     data: JSONBody[AnswerIn]) -> dict:
        return {"id": await surveys.record_answer(actor=current_actor(request),
                                                  survey_id=survey_id, data=data)}

    @post("/{survey_id:int}/analyse", status_code=200)
    async def analyse(self, request: Request, survey_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        await surveys.analyse_survey(actor=actor, survey_id=survey_id)
        return await self._survey(actor, survey_id)

    @post("/{survey_id:int}/problems/{problem_id:int}/action", status_code=200)
    async def action(self, request: Request, survey_id: FromPath[int],
                     problem_id: FromPath[int], data: JSONBody[ActionIn]) -> dict:
        actor = current_actor(request)
        await surveys.record_action(actor=actor, survey_id=survey_id, problem_id=problem_id,
                                    data=data)
        return await self._survey(actor, survey_id)

    @post("/{survey_id:int}/problems/{problem_id:int}/done", status_code=200)
    async def action_done(self, request: Request, survey_id: FromPath[int],
                          problem_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        await surveys.mark_action_done(actor=actor, survey_id=survey_id, problem_id=problem_id)
        return await self._survey(actor, survey_id)

    @staticmethod
    async def _survey(actor, survey_id: int) -> dict:
        page = await surveys.survey_page(actor=actor, survey_id=survey_id)
        survey = page["survey"]
        return {**{k: survey[k] for k in ("id", "organisation", "year", "title", "analysed_at",
                                          "answers", "satisfied")},
                "ranking": page["ranking"],
                "problems": _rows(page["problems"], "id", "problem", "answers", "action_kind",
                                  "action", "owner", "due_on", "done_at")}


HANDLERS = [CustomerApi, ReturnVisitPlanApi, SurveyApi]
