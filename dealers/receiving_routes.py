"""HQ pages: the dock (arrival by QR code or number), counting, and the decision per line."""
from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from dealers import (
    batches,
    checklists,
    dock_counts,
    dock_queries,
    evidence,
    queries,
    receiving,
    rules,
)
from dealers.forms import parse_counts, parse_decisions
from dealers.inputs import ArriveIn, LineCountIn
from portal import attachments, clock, policy
from portal.actions import act, form_input
from portal.errors import PortalError, RuleViolation, ValidationFailed
from portal.forms import read_form, text
from portal.i18n import gettext
from portal.web import current_actor, done, render, roles_required

# The "saved" confirmation of a count (issue 12 §3): the differences are told only once saved
COUNT_SAVED_LABELS = {
    True: "Count of batch %(number)s saved. It differs from the form: the differences are "
          "marked below, and the office and customer service have been told.",
    False: "Count of batch %(number)s saved; it matches the form. Customer service can decide "
           "it now."}


class DockController(Controller):
    path = "/receiving"
    guards = [roles_required("hq_logistics")]

    @get("/")
    async def scan_page(self, request: Request) -> Response:
        """Expected arrivals (R11), searchable by number or waybill; a number typed or read from
        the form's QR code shows that batch's summary before the arrival is recorded (R10)."""
        return await _dock_page(request, (request.query_params.get("number") or "")[:24],
                                (request.query_params.get("q") or "")[:60])

    @post("/")
    async def arrive(self, request: Request) -> Response:
        data = form_input(ArriveIn, await read_form(request))
        number = data.number[:24]
        try:
            batch = await receiving.arrive(actor=current_actor(request), number=number,
                                           note=data.note[:200], cartons=data.cartons)
        except ValidationFailed as exc:  # nothing found or typed: said beside the field
            return await _dock_page(request, number, "", status_code=exc.status_code,
                                    errors=exc.errors)
        except RuleViolation as exc:  # refused at the dock and recorded (R10)
            return await _dock_page(request, number, "", status_code=exc.status_code,
                                    refused=exc.message)
        return done(request, "Batch %(number)s arrived; the office and customer service have been "
                             "told. Count it now.", f"/batches/{batch['id']}/receive",
                    number=batch["number"])


class CountController(Controller):
    path = "/batches/{batch_id:int}"

    @get("/receive", guards=[roles_required("hq_logistics")])
    async def count_page(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await _count_page(request, batch_id)

    @post("/receive", guards=[roles_required("hq_logistics")])
    async def count(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor, number = current_actor(request), await _number(request, batch_id)  # 404 first
        lines = await queries.list_lines(batch_id)
        return await act(
            request, lambda form: (*parse_counts(form, lines), text(form, "short_reason", 200)),
            lambda rows: receiving.receive_batch(actor=actor, batch_id=batch_id, counts=rows[0],
                                                 extras=rows[1], short_reason=rows[2]),
            page=functools.partial(_count_page, request, batch_id), location=f"/batches/{batch_id}",
            # a clear "saved"; the differences are shown only now, once the count is saved (R12)
            success=lambda differences: COUNT_SAVED_LABELS[bool(differences)],
            number=number)

    @post("/counts", guards=[roles_required("hq_logistics")], status_code=200)
    async def count_line(self, request: Request, batch_id: FromPath[int],
                         data: JSONBody[LineCountIn]) -> Response:
        """A phone's count of one line, sent when it has a connection, with its key (applied
        once however often it is retried) and the version it counted on (R12, issue 12 §7)."""
        try:
            result = await dock_counts.record_count(
                actor=current_actor(request), batch_id=batch_id, count=dock_counts.line_count(data))
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            message = (next(iter(exc.errors.values())) if isinstance(exc, ValidationFailed)
                       else exc.message)
            return Response({"state": "refused", "message": gettext(message, **exc.params)},
                            status_code=exc.status_code)
        return Response(result)

    @get("/decide", guards=[roles_required("hq_cs")])
    async def decide_page(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await _decide_page(request, batch_id)

    @post("/decide", guards=[roles_required("hq_cs")])
    async def decide(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor, number = current_actor(request), await _number(request, batch_id)  # 404 first
        lines = await queries.list_lines(batch_id)
        return await act(
            request, lambda form: parse_decisions(form, lines),
            lambda decisions: receiving.decide_batch(actor=actor, batch_id=batch_id,
                                                     decisions=decisions),
            page=functools.partial(_decide_page, request, batch_id),
            location=f"/batches/{batch_id}", number=number,
            success="Decisions on batch %(number)s recorded; the office can read the receipt.")


async def _dock_page(request: Request, number: str, search: str, status_code: int = 200,
                     **extra: Any) -> Response:
    actor = current_actor(request)
    summary = await dock_queries.batch_summary(actor=actor, number=number) if number else None
    cartons = await receiving.cartons_of(summary) if summary else (0, 0)
    return render(request, "dealers/receiving.html", status_code=status_code, number=number,
                  search=search, summary=summary, cartons=cartons,
                  expected=await dock_queries.expected_arrivals(actor=actor, search=search),
                  receivable=receiving.RECEIVABLE, **extra)


async def _number(request: Request, batch_id: int) -> str:
    return (await batches.get_batch(actor=current_actor(request), batch_id=batch_id))["number"]


async def _count_page(request: Request, batch_id: int, status_code: int = 200,
                      errors: dict | None = None, form: dict | None = None) -> Response:
    batch = await batches.get_batch(actor=current_actor(request), batch_id=batch_id)
    # R12 blind counting (issue 12 §3): the declared quantities are neither shown nor pre-filled
    blind = await policy.value_on("dock_blind_count_bp", clock.china_today()) >= 5000
    lines = await queries.lines_with_verdicts(batch_id)
    came, declared = await receiving.cartons_of(batch)
    lists = await checklists.checklists_on(clock.china_today())  # R18, issue 12 §4
    return render(request, "dealers/receive.html", status_code=status_code, batch=batch,
                  checks={l["id"]: lists.get(l["category_id"], checklists.DEFAULT_CHECKLIST)
                          for l in lines}, check_labels=checklists.CHECK_LABELS,
                  cartons_came=came, cartons_declared=declared,
                  lines=lines, blind=blind, versions=await dock_counts.line_versions(batch_id),
                  photos=await attachments.list_for_many(evidence.LINE, [l["id"] for l in lines]),
                  arrival_photos=await attachments.list_for(evidence.ARRIVAL, batch_id),
                  products=await queries.list_products(), errors=errors or {}, form=form or {})


async def _decide_page(request: Request, batch_id: int, status_code: int = 200,
                       errors: dict | None = None, form: dict | None = None) -> Response:
    batch = await batches.get_batch(actor=current_actor(request), batch_id=batch_id)
    proposals = await receiving.proposals(batch_id)
    return render(request, "dealers/decide.html", status_code=status_code, batch=batch,
                  lines=await queries.lines_with_verdicts(batch_id), proposals=proposals,
                  proposed_codes={i: rules.proposed_reject_code(p[3]) if p[2] else None
                                  for i, p in proposals.items()},
                  reject_reasons=await queries.reason_codes("reject"),
                  errors=errors or {}, form=form or {})
