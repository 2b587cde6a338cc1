"""Audits of offices (R30): the pages (the API twins are in oversight/audit_api.py). Handlers
parse, call a service (oversight/audits.py), render; the rules live there."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from oversight import audits, queries, rectification
from oversight.inputs import (
    AnswerOrderIn,
    AuditDecisionIn,
    AuditPlanIn,
    AuditReportIn,
    AuditVisitIn,
    CloseOrderIn,
    InstructIn,
    IssueOrderIn,
)
from portal import attachments, audit, clock, listing
from portal.actions import act
from portal.errors import Forbidden
from portal.i18n import gettext, local_name
from portal.web import current_actor, login_required, render

LABELS: dict[str, Any] = dict(
    status_labels=audits.STATUS_LABELS, order_labels=audits.ORDER_STATUS_LABELS,
    kind_labels=audits.KIND_LABELS, duty_labels=audits.DUTY_LABELS,
    action_labels=audits.HISTORY_LABELS)
DONE = {"plan": "Audit plan submitted to the vice-president.",
        "resubmit": "Audit plan submitted again.",
        "approve": "Audit plan approved.", "return": "Audit plan returned to the group.",
        "visit": "Visit recorded.", "report": "Report filed.",
        "instruct": "Rectification instructed; the line department has been told.",
        "issue": "Rectification order issued to the office.",
        "answer": "Answer sent to the line department.",
        "close": "Rectification order closed.", "reopen": "Answer sent back to the office."}

EXPORT_LABELS = {"number": "Number", "office": "Office", "kind": "Kind",
                 "announced": "Announced", "status": "Status", "due": "Report due",
                 "late": "Report late", "score": "Score"}
_E = EXPORT_LABELS
EXPORT_COLUMNS = [
    listing.Column(_E["number"], lambda a: a["id"], "int"),
    listing.Column(_E["office"], lambda a: local_name(a, "office_name")),
    listing.Column(_E["kind"], lambda a: gettext(audits.KIND_LABELS[a["kind"]])),
    listing.Column(_E["announced"], lambda a: gettext("yes") if a["announced"] else gettext("no")),
    listing.Column(_E["status"], lambda a: gettext(audits.STATUS_LABELS[a["status"]])),
    listing.Column(_E["due"], lambda a: a["deadline"].isoformat()),
    listing.Column(_E["late"], lambda a: gettext("yes") if a["breached"] else ""),
    listing.Column(_E["score"], lambda a: a["score"], "int"),
]


def _refusals(actions: dict) -> dict[str, str | None]:
    return {name: gettext(r.message, **r.kwargs) if r else None for name, r in actions.items()}


async def _listed(request: Request, *, export: bool = False) -> tuple[list[dict], dict, dict]:
    actor = current_actor(request)
    errors: dict[str, str] = {}
    status = listing.choice_param(request.query_params, "status",
                                  tuple(audits.STATUS_LABELS), errors)
    after = None if export else listing.int_param(request.query_params, "after", errors)
    limit = listing.EXPORT_LIMIT if export else queries.AUDIT_PAGE_SIZE
    rows = [] if errors else await queries.list_audits(actor, status=status, after_id=after,
                                                       limit=limit)
    today = clock.china_today()
    for row in rows:
        row["breached"] = queries.breached(row, today)
    return rows, {"status": status or ""}, errors


async def list_page(request: Request) -> Response:
    rows, filters, errors = await _listed(request)
    more = f"/audits?after={rows[-1]['id']}" if len(rows) == queries.AUDIT_PAGE_SIZE else None
    return render(request, "oversight/audits.html", status_code=422 if errors else 200,
                  rows=rows, filters=filters, errors=errors, more_url=more,
                  may_plan=audits.may_plan(current_actor(request)), **LABELS)


async def new_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                   form: dict | None = None) -> Response:
    if not audits.may_plan(current_actor(request)):
        raise Forbidden("Customer service leads the audit group and draws its plans.")
    return render(request, "oversight/audit_new.html", status_code=status_code,
                  errors=errors or {}, form=form or {}, offices=await queries.auditable_offices(
                      current_actor(request)), people=await queries.hq_people(), **LABELS)


async def audit_page(request: Request, audit_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    row = await audits.get_audit(actor=actor, audit_id=audit_id)
    orders = await queries.orders_of(audit_id)
    files = await attachments.list_for_many(rectification.EVIDENCE, [o["id"] for o in orders])
    for order in orders:
        order["actions"] = _refusals(audits.order_actions_for(actor, row, order))
        order["files"] = files[order["id"]]
        order["can_attach"] = audits.is_office(actor, order["office_id"]) \
            and order["status"] == "issued"
    history = await audit.history(actor=actor, object_type="office_audit", object_id=audit_id,
                                  organisation_path="")
    return render(request, "oversight/audit.html", status_code=status_code, audit=row,
                  actions=_refusals(audits.actions_for(actor, row)), orders=orders,
                  members=await queries.members(audit_id), history=history,
                  errors=errors or {}, form=form or {}, evidence=rectification.EVIDENCE,
                  people=await queries.hq_people() if row["status"] == "returned" else [],
                  **LABELS)


async def act_on_audit(request: Request, audit_id: int, key: str, model: type,
                       run: Callable[[Any, Any], Awaitable[Any]]) -> Response:
    actor = current_actor(request)
    await audits.get_audit(actor=actor, audit_id=audit_id)  # 404 before anything
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(audit_page, request, audit_id), success=DONE[key],
                     location=f"/audits/{audit_id}")


async def act_on_order(request: Request, order_id: int, key: str, model: type,
                       run: Callable[[Any, Any], Awaitable[Any]]) -> Response:
    actor = current_actor(request)
    row, _ = await rectification.get_order(actor=actor, order_id=order_id)  # 404 before anything
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(audit_page, request, row["id"]), success=DONE[key],
                     location=f"/audits/{row['id']}#order-{order_id}")


class AuditController(Controller):
    path = "/audits"
    guards = [login_required]

    @get("/")
    async def audits_list(self, request: Request) -> Response:
        """R30: the audits the reader may see (an unannounced one not by its office before
        the visit); a report past its deadline in red."""
        return await list_page(request)

    @get("/export")
    async def export(self, request: Request) -> Response:
        rows, _, errors = await _listed(request, export=True)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        if errors:
            return await list_page(request)
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "audits")

    @get("/new")
    async def new(self, request: Request) -> Response:
        return await new_page(request)

    @post("/")
    async def plan(self, request: Request) -> Response:
        actor = current_actor(request)
        return await act(request, AuditPlanIn,
                         lambda data: audits.plan_audit(actor=actor, data=data),
                         page=functools.partial(new_page, request), success=DONE["plan"],
                         location="/audits")

    @get("/{audit_id:int}")
    async def detail(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await audit_page(request, audit_id)

    @post("/{audit_id:int}/resubmit")
    async def resubmit(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "resubmit", AuditPlanIn,
                                  lambda actor, data: audits.resubmit(
                                      actor=actor, audit_id=audit_id, data=data))

    @post("/{audit_id:int}/approve")
    async def approve(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "approve", AuditDecisionIn,
                                  lambda actor, data: audits.decide(
                                      actor=actor, audit_id=audit_id, approve=True, data=data))

    @post("/{audit_id:int}/return")
    async def send_back(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "return", AuditDecisionIn,
                                  lambda actor, data: audits.decide(
                                      actor=actor, audit_id=audit_id, approve=False, data=data))

    @post("/{audit_id:int}/visit")
    async def visit(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "visit", AuditVisitIn,
                                  lambda actor, data: audits.record_visit(
                                      actor=actor, audit_id=audit_id, data=data))

    @post("/{audit_id:int}/report")
    async def report(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "report", AuditReportIn,
                                  lambda actor, data: audits.file_report(
                                      actor=actor, audit_id=audit_id, data=data))

    @post("/{audit_id:int}/instruct")
    async def instruct(self, request: Request, audit_id: FromPath[int]) -> Response:
        return await act_on_audit(request, audit_id, "instruct", InstructIn,
                                  lambda actor, data: audits.instruct(
                                      actor=actor, audit_id=audit_id, data=data))

    @post("/orders/{order_id:int}/issue")
    async def issue(self, request: Request, order_id: FromPath[int]) -> Response:
        return await act_on_order(request, order_id, "issue", IssueOrderIn,
                                  lambda actor, data: rectification.issue_order(
                                      actor=actor, order_id=order_id, data=data))

    @post("/orders/{order_id:int}/answer")
    async def answer(self, request: Request, order_id: FromPath[int]) -> Response:
        return await act_on_order(request, order_id, "answer", AnswerOrderIn,
                                  lambda actor, data: rectification.answer_order(
                                      actor=actor, order_id=order_id, data=data))

    @post("/orders/{order_id:int}/close")
    async def close(self, request: Request, order_id: FromPath[int]) -> Response:
        return await act_on_order(request, order_id, "close", CloseOrderIn,
                                  lambda actor, data: rectification.close_order(
                                      actor=actor, order_id=order_id, data=data))

    @post("/orders/{order_id:int}/reopen")
    async def reopen(self, request: Request, order_id: FromPath[int]) -> Response:
        return await act_on_order(request, order_id, "reopen", CloseOrderIn,
                                  lambda actor, data: rectification.close_order(
                                      actor=actor, order_id=order_id, data=data, accept=False))
