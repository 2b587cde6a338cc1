"""JSON twins of the audit actions under /api/v1/audits (R30): the same services, the same input
dataclasses (oversight/inputs.py), the same rules and visibility as the pages."""
from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

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
from portal import clock
from portal.api import api_token_required
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor

_FIELDS = ("id", "office_id", "kind", "announced", "scope", "method", "deadline", "cost_fen",
           "status", "created_at", "decided_at", "decision_note", "visited_at", "findings",
           "report", "score", "reported_at", "breached")
_ORDER_FIELDS = ("id", "audit_id", "status", "instruction", "requirement", "due", "issued_at",
                 "answer", "answered_at", "closing_note", "closed_at")


def audit_out(row: dict) -> dict:
    return {k: row[k] for k in _FIELDS}


class AuditApi(Controller):
    path = "/api/v1/audits"
    guards = [api_token_required]
    tags = ["audits"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_audits(self, request: Request, status: FromQuery[str | None] = None
                          ) -> list[dict]:
        """R30: the audits the token's user may see (an unannounced audit not by its office
        before the visit)."""
        actor = current_actor(request)
        if status not in (None, *audits.STATUS_LABELS):
            status = "-"
        rows = await queries.list_audits(actor, status=status)
        today = clock.china_today()
        return [audit_out({**r, "breached": queries.breached(r, today)}) for r in rows]

    @post("/", status_code=201)
    async def plan(self, request: Request, data: JSONBody[AuditPlanIn]) -> dict:
        audit_id = await audits.plan_audit(actor=current_actor(request), data=data)
        return {"id": audit_id}

    @get("/{audit_id:int}")
    async def detail(self, request: Request, audit_id: FromPath[int]) -> dict:
        row = await audits.get_audit(actor=current_actor(request), audit_id=audit_id)
        orders = await queries.orders_of(audit_id)
        return {**audit_out(row),
                "members": await queries.members(audit_id),
                "orders": [{k: o[k] for k in _ORDER_FIELDS} for o in orders]}

    async def _then(self, request: Request, audit_id: int) -> dict:
        return audit_out(await audits.get_audit(actor=current_actor(request), audit_id=audit_id))

    @post("/{audit_id:int}/resubmit", status_code=200)
    async def resubmit(self, request: Request, audit_id: FromPath[int],
                       data: JSONBody[AuditPlanIn]) -> dict:
        await audits.resubmit(actor=current_actor(request), audit_id=audit_id, data=data)
        return await self._then(request, audit_id)

    @post("/{audit_id:int}/approve", status_code=200)
    async def approve(self, request: Request, audit_id: FromPath[int],
                      data: JSONBody[AuditDecisionIn]) -> dict:
        await audits.decide(actor=current_actor(request), audit_id=audit_id, approve=True,
                            data=data)
        return await self._then(request, audit_id)

    @post("/{audit_id:int}/return", status_code=200)
    async def send_back(self, request: Request, audit_id: FromPath[int],
                        data: JSONBody[AuditDecisionIn]) -> dict:
        await audits.decide(actor=current_actor(request), audit_id=audit_id, approve=False,
                            data=data)
        return await self._then(request, audit_id)

    @post("/{audit_id:int}/visit", status_code=200)
    async def visit(self, request: Request, audit_id: FromPath[int],
                    data: JSONBody[AuditVisitIn]) -> dict:
        await audits.record_visit(actor=current_actor(request), audit_id=audit_id, data=data)
        return await self._then(request, audit_id)

    @post("/{audit_id:int}/report", status_code=200)
    async def report(self, request: Request, audit_id: FromPath[int],
                     data: JSONBody[AuditReportIn]) -> dict:
        await audits.file_report(actor=current_actor(request), audit_id=audit_id, data=data)
        return await self._then(request, audit_id)

    @post("/{audit_id:int}/instruct", status_code=201)
    async def instruct(self, request: Request, audit_id: FromPath[int],
                       data: JSONBody[InstructIn]) -> dict:
        order_id = await audits.instruct(actor=current_actor(request), audit_id=audit_id,
                                         data=data)
        return {"id": order_id}

    async def _order(self, request: Request, order_id: int) -> dict:
        _, order = await rectification.get_order(actor=current_actor(request), order_id=order_id)
        return {k: order[k] for k in _ORDER_FIELDS}

    @post("/orders/{order_id:int}/issue", status_code=200)
    async def issue(self, request: Request, order_id: FromPath[int],
                    data: JSONBody[IssueOrderIn]) -> dict:
        await rectification.issue_order(actor=current_actor(request), order_id=order_id, data=data)
        return await self._order(request, order_id)

    @post("/orders/{order_id:int}/answer", status_code=200)
    async def answer(self, request: Request, order_id: FromPath[int],
                     data: JSONBody[AnswerOrderIn]) -> dict:
        await rectification.answer_order(actor=current_actor(request), order_id=order_id, data=data)
        return await self._order(request, order_id)

    @post("/orders/{order_id:int}/close", status_code=200)
    async def close(self, request: Request, order_id: FromPath[int],
                    data: JSONBody[CloseOrderIn]) -> dict:
        await rectification.close_order(actor=current_actor(request), order_id=order_id, data=data)
        return await self._order(request, order_id)

    @post("/orders/{order_id:int}/reopen", status_code=200)
    async def reopen(self, request: Request, order_id: FromPath[int],
                     data: JSONBody[CloseOrderIn]) -> dict:
        await rectification.close_order(actor=current_actor(request), order_id=order_id, data=data,
                                 accept=False)
        return await self._order(request, order_id)
