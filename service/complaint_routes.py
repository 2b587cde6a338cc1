"""Complaint pages (R32): the list with its search and export, recording, the complaint's page
with its eight steps (one route each, disabled with the reason when a rule refuses) and its
history. Handlers parse, call a service, render; the API twin is service/complaint_api.py and
the consumer's public form service/complaint_public.py."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import audit, clock, listing, replica
from portal.actions import act, form_input
from portal.actor import Actor
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import gettext
from portal.web import current_actor, done, is_htmx, login_required, render
from service import (
    complaint_queries,
    complaint_rules,
    complaint_steps,
    complaint_words,
    complaints,
)
from service.complaint_queues import QUEUE_LABELS
from service.inputs import (
    ComplaintApproveIn,
    ComplaintAssignIn,
    ComplaintCloseIn,
    ComplaintIn,
    ComplaintInvestigateIn,
    ComplaintJudgeIn,
    ComplaintProposeIn,
    ComplaintTellIn,
)


def complaint_filters(query: Mapping[str, str]) -> tuple[dict, dict, dict]:
    """The list's filters from the query string: (arguments for complaint_queries.list_complaints, the
    raw values for the form and links, errors by field)."""
    errors: dict[str, str] = {}
    names = ("queue", "reference", "who", "status", "kind", "major", "recorded_from",
             "recorded_to", "breaching")
    raw = {k: (query.get(k) or "").strip() for k in names}
    raw["queue"] = raw["queue"] if raw["queue"] in complaint_queries.COMPLAINT_QUEUES else ""
    day_from = listing.date_param(query, "recorded_from", errors)
    day_to = listing.date_param(query, "recorded_to", errors)
    listing.check_order(errors, day_from, day_to, "recorded_to")
    recorded_from, recorded_to = listing.china_day_range(day_from, day_to)
    major = listing.choice_param(query, "major", ("yes", "no"), errors)
    raw["breaching"] = "1" if raw["breaching"] in ("1", "yes", "on", "true") else ""
    filters = dict(
        queue=raw["queue"] or None,
        reference=listing.text_param(query, "reference", errors, limit=20) or None,
        who=listing.text_param(query, "who", errors, limit=80) or None,
        status=listing.choice_param(query, "status", complaint_rules.COMPLAINT_STATUSES, errors),
        kind=listing.choice_param(query, "kind", complaint_rules.COMPLAINT_KINDS, errors),
        major=None if major is None else major == "yes",
        recorded_from=recorded_from, recorded_to=recorded_to, breaching=bool(raw["breaching"]))
    return filters, raw, errors



async def complaint_page(request: Request, complaint_id: int, *, status_code: int = 200,
                         errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    complaint = complaint_queries.shown_to(actor, await complaints.get_complaint(
        actor=actor, complaint_id=complaint_id))
    now = clock.now()
    steps = {name: gettext(why.message, **why.kwargs) if why else None
             for name, why in complaint_rules.allowed_actions(complaint, actor).items()}
    visible = complaint["org_path"] if actor.can_see_path(complaint["org_path"]) \
        else complaint["assigned_path"]
    rows = await audit.history(actor=actor, object_type="complaint", object_id=complaint_id,
                               organisation_path=visible)
    ack_late, resolve_late = complaint_rules.complaint_breaches(complaint, now)
    return render(
        request, "service/complaint.html", status_code=status_code, complaint=complaint,
        steps=steps, history=complaint_words.history_entries(rows), words=complaint_words.WORDS,
        china_time=complaint_words.china_time,
        ack_late=ack_late, resolve_late=resolve_late,
        breaching=complaint_rules.complaint_breaching(complaint, now),
        suggested=complaint_rules.suggested_assignee(complaint["kind"], complaint["about"],
                                           complaint["about_kind"]),
        units=(await complaint_queries.complaint_choices()) if "assign" in steps else None,
        kinds=complaint_rules.COMPLAINT_KINDS, assignees=complaint_rules.COMPLAINT_ASSIGNEES,
        errors=errors or {}, form=form or {})


async def act_on_complaint(request: Request, complaint_id: int, step: str, model: type,
                           run: Callable[[Actor, Any], Awaitable[Any]]) -> Response:
    """A step's button: the complaint's page again with the message beside the step when the
    form or a rule refuses, else back to it saying what worked."""
    actor = current_actor(request)
    complaint = await complaints.get_complaint(actor=actor, complaint_id=complaint_id)  # 404 first
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(complaint_page, request, complaint_id),
                     success=complaint_words.DONE[step], location=f"/complaints/{complaint_id}",
                     reference=complaint["reference"])


async def _list(request: Request, *, export: bool = False) -> tuple[list, dict, dict, dict]:
    filters, raw, errors = complaint_filters(request.query_params)
    after = listing.int_param(request.query_params, "after", errors)
    limit = listing.EXPORT_LIMIT + 1 if export else complaint_queries.COMPLAINT_PAGE_SIZE
    rows = [] if errors else await complaint_queries.list_complaints(
        actor=current_actor(request), now=clock.now(), after_id=None if export else after,
        limit=limit, **filters)
    return rows, filters, raw, errors


def _list_page(request: Request, rows: list, raw: dict, errors: dict, *,
               status_code: int = 200, more: str | None = None) -> Response:
    actor = current_actor(request)
    return render(request, "service/complaints.html",
                  block="rows" if is_htmx(request) and not errors and status_code == 200 else None,
                  status_code=status_code, errors=errors, rows=rows, filters=raw,
                  words=complaint_words.WORDS,
                  statuses=complaint_rules.COMPLAINT_STATUSES, kinds=complaint_rules.COMPLAINT_KINDS,
                  queues=complaint_queries.COMPLAINT_QUEUES, more_url=more,
                  china_time=complaint_words.china_time,
                  export_query=listing.query_string(raw), export_limit=listing.EXPORT_LIMIT,
                  may_record=complaint_rules.may_record_complaint(actor),
                  queue_titles={k: title for k, (title, _) in QUEUE_LABELS.items()})


class ComplaintController(Controller):
    path = "/complaints"
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def list_page(self, request: Request) -> Response:
        """Scoped (R1), searchable, keyset-paginated; a bad filter answers 422 beside it."""
        rows, _, raw, errors = await _list(request)
        more = None
        if len(rows) == complaint_queries.COMPLAINT_PAGE_SIZE:
            more = "/complaints?" + listing.query_string(raw, after=rows[-1]["id"])
        return _list_page(request, rows, raw, errors, status_code=422 if errors else 200,
                          more=more)

    @get("/export")
    @replica.replica_reads
    async def export(self, request: Request) -> Response:
        """Every complaint the filter shows (not only the page), CSV or XLSX, masked as on the
        list."""
        rows, _, raw, errors = await _list(request, export=True)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return _list_page(request, [], raw, errors, status_code=422)
        return await listing.export_response(kind or "csv", complaint_words.EXPORT_COLUMNS, rows, "complaints")

    @get("/new")
    async def new(self, request: Request) -> Response:
        return await _new_page(request)

    @post("/")
    async def record(self, request: Request) -> Response:
        """R32: staff record a complaint; then its own page, saying its reference."""
        form = await request.form()
        try:
            saved = await complaints.record_complaint(actor=current_actor(request),
                                                      data=form_input(ComplaintIn, form))
        except ValidationFailed as exc:
            return await _new_page(request, status_code=422, errors=exc.errors, form=dict(form))
        return done(request, complaint_words.DONE["record"], f"/complaints/{saved['id']}",
                    reference=saved["reference"])

    @get("/{complaint_id:int}")
    async def detail(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await complaint_page(request, complaint_id)

    # --- the steps: one route each (R32) --------------------------------------------------------

    @post("/{complaint_id:int}/judge")
    async def judge(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "judge", ComplaintJudgeIn,
                                      lambda actor, data: complaint_steps.judge_complaint(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/assign")
    async def assign(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "assign", ComplaintAssignIn,
                                      lambda actor, data: complaint_steps.assign_complaint(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/investigate")
    async def investigate(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "investigate", ComplaintInvestigateIn,
                                      lambda actor, data: complaint_steps.investigate_complaint(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/propose")
    async def propose(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "propose", ComplaintProposeIn,
                                      lambda actor, data: complaint_steps.propose_resolution(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/approve")
    async def approve(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "approve", ComplaintApproveIn,
                                      lambda actor, data: complaint_steps.approve_resolution(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/tell")
    async def tell(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "tell", ComplaintTellIn,
                                      lambda actor, data: complaint_steps.tell_customer(
                                          actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/close")
    async def close(self, request: Request, complaint_id: FromPath[int]) -> Response:
        return await act_on_complaint(request, complaint_id, "close", ComplaintCloseIn,
                                      lambda actor, data: complaint_steps.close_complaint(
                                          actor=actor, complaint_id=complaint_id, data=data))


async def _new_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None) -> Response:
    actor = current_actor(request)
    if not complaint_rules.may_record_complaint(actor):
        raise Forbidden("Repair-point staff, store and office clerks and managers, and customer "
                        "service record complaints (R32).")
    return render(request, "service/complaint_new.html", status_code=status_code,
                  choices=await complaint_queries.complaint_choices(), words=complaint_words.WORDS,
                  channels=complaint_rules.COMPLAINT_CHANNELS, abouts=complaint_rules.COMPLAINT_ABOUT,
                  errors=errors or {}, form=form or {"channel": "phone"})


def _handlers() -> list:
    from service.complaint_api import ComplaintApi
    from service.complaint_public import PublicComplaintController

    return [ComplaintController, ComplaintApi, PublicComplaintController]


HANDLERS: list = _handlers()
