"""Complaint pages (R32): the list with its search and export, recording, the complaint's page
with its eight steps (one route each, disabled with the reason when a rule refuses) and its
history. Handlers parse, call a service, render; the API twin is service/complaint_api.py and
the consumer's public form service/complaint_public.py."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from portal import audit, clock, listing
from portal.actions import act, form_input
from portal.actor import Actor
from portal.errors import Forbidden, ValidationFailed
from portal.i18n import gettext, local_name
from portal.web import current_actor, done, is_htmx, login_required, render
from service import complaint_steps, complaints, queries, rules
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

# Words for codes (msgids; the catalog collects *_LABELS).
STATUS_LABELS = {
    "recorded": "Recorded: to judge", "judged": "Stands: to assign",
    "not_standing": "Does not stand (answered)", "assigned": "Assigned: to investigate",
    "investigated": "Investigated: to propose a resolution",
    "proposed": "Resolution proposed: to approve", "approved": "Approved: tell the customer",
    "told": "Customer told: to close", "closed": "Closed",
}
KIND_LABELS = {"quality": "Product quality", "service": "Service", "suggestion": "Suggestion"}
CHANNEL_LABELS = {"phone": "Phone", "web": "Web (public form)", "letter": "Letter",
                  "visit": "Visit", "card": "Opinion card"}
ABOUT_LABELS = {"product": "A product", "repair_point": "A repair point", "office": "An office",
                "person": "A person", "other": "Something else"}
ASSIGNEE_LABELS = {
    "management": "Top management (marketing vice-president): contract disputes",
    "hq_logistics": "HQ logistics: transport", "hq_tech": "HQ tech: product quality",
    "hq_cs": "Customer service: suggestions and other matters",
    "unit": "The office or repair point concerned: service",
}
STEP_LABELS = {
    "recorded": "Recorded", "judged": "Judged: it stands",
    "not_standing": "Judged: it does not stand; the customer was answered",
    "assigned": "Assigned", "investigated": "Investigated", "proposed": "Resolution proposed",
    "approved": "Resolution approved", "proposal_refused": "Resolution sent back",
    "told": "Customer told", "closed": "Closed", "escalated": "Escalated: past a deadline",
}
DETAIL_LABELS = {
    "kind": "Kind", "major": "Major complaint",
    "assigned_to": "Responsible", "cause": "Cause", "responsible": "Who is responsible",
    "resolution": "Resolution", "told_how": "How the customer was told",
    "accountability": "Accountability", "improvement": "Improvement action",
    "preventive": "Preventive action", "reference": "Reference", "channel": "Channel",
    "about": "About", "acknowledge_by": "To be judged by", "resolve_by": "Customer told by",
    "escalated": "Late",
}
LATE_LABELS = {"ack": "not judged in time",
               "late": "not answered in time: the customer has not been told"}
WORDS = {"status": STATUS_LABELS, "kind": KIND_LABELS, "channel": CHANNEL_LABELS,
         "about": ABOUT_LABELS, "assigned_to": ASSIGNEE_LABELS, "step": STEP_LABELS,
         "detail": DETAIL_LABELS, "escalated": LATE_LABELS}
# What each step says once it worked: what happened, who was told.
DONE = {
    "record": "Complaint %(reference)s recorded; customer service has been told.",
    "judge": "Complaint %(reference)s judged.",
    "assign": "Complaint %(reference)s assigned; the responsible unit has been told.",
    "investigate": "Investigation of %(reference)s recorded; customer service has been told.",
    "propose": "Resolution of %(reference)s proposed; it waits for approval.",
    "approve": "Decision on the resolution of %(reference)s recorded; the next person has been "
               "told.",
    "tell": "Complaint %(reference)s: the customer is told. Close it with accountability and an "
            "improvement action.",
    "close": "Complaint %(reference)s closed.",
}


def complaint_filters(query: Mapping[str, str]) -> tuple[dict, dict, dict]:
    """The list's filters from the query string: (arguments for queries.list_complaints, the
    raw values for the form and links, errors by field)."""
    errors: dict[str, str] = {}
    names = ("queue", "reference", "who", "status", "kind", "major", "recorded_from",
             "recorded_to", "breaching")
    raw = {k: (query.get(k) or "").strip() for k in names}
    raw["queue"] = raw["queue"] if raw["queue"] in queries.COMPLAINT_QUEUES else ""
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
        status=listing.choice_param(query, "status", rules.COMPLAINT_STATUSES, errors),
        kind=listing.choice_param(query, "kind", rules.COMPLAINT_KINDS, errors),
        major=None if major is None else major == "yes",
        recorded_from=recorded_from, recorded_to=recorded_to, breaching=bool(raw["breaching"]))
    return filters, raw, errors


def _china(at: datetime | None) -> str:
    return at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if at else ""


def _word(group: str, code: Any) -> str:
    labels = WORDS[group]
    return gettext(labels[code]) if code in labels else str(code or "")


EXPORT_COLUMNS = [
    listing.Column("Reference", lambda c: c["reference"]),
    listing.Column("Recorded on", lambda c: listing.china_date(c["recorded_at"]), "date"),
    listing.Column("Held by", lambda c: local_name(c, "org_name")),
    listing.Column("Customer", lambda c: c["name_shown"]),
    listing.Column("Phone", lambda c: c["phone_shown"]),
    listing.Column("Channel", lambda c: _word("channel", c["channel"])),
    listing.Column("About", lambda c: _word("about", c["about"])),
    listing.Column("Kind", lambda c: _word("kind", c["kind"])),
    listing.Column("Major complaint", lambda c: gettext("yes") if c["major"] else ""),
    listing.Column("Status", lambda c: _word("status", c["status"])),
    listing.Column("To be judged by", lambda c: _china(c["acknowledge_by"])),
    listing.Column("Customer told by", lambda c: _china(c["resolve_by"])),
    listing.Column("Past a deadline", lambda c: gettext("yes") if c["breaching"] else ""),
]


def _history(rows: list[dict]) -> list[dict]:
    """The audit rows of a complaint as people read them: the step, who, when (China time),
    why, and what it set, in words."""
    entries = []
    for row in rows:
        details = []
        for key, value in (row["to_state"] or {}).items():
            if key not in DETAIL_LABELS or value in (None, ""):
                continue
            if key in ("acknowledge_by", "resolve_by") and isinstance(value, str):
                value = _china(datetime.fromisoformat(value))
            elif isinstance(value, bool):
                value = gettext("yes") if value else gettext("no")
            elif key in WORDS:
                value = _word(key, value)
            details.append((gettext(DETAIL_LABELS[key]), str(value)))
        # the job's reason is a msgid kept for the audit: its detail says it in words
        reason = "" if row["action"] == "escalated" else row["reason"]
        entries.append({"at": _china(row["at"]), "who": row["actor_name"],
                        "step": _word("step", row["action"]), "action": row["action"],
                        "reason": reason, "details": details})
    return entries


async def complaint_page(request: Request, complaint_id: int, *, status_code: int = 200,
                         errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    complaint = queries.shown_to(actor, await complaints.get_complaint(
        actor=actor, complaint_id=complaint_id))
    now = clock.now()
    steps = {name: gettext(why.message, **why.kwargs) if why else None
             for name, why in rules.allowed_actions(complaint, actor).items()}
    visible = complaint["org_path"] if actor.can_see_path(complaint["org_path"]) \
        else complaint["assigned_path"]
    rows = await audit.history(actor=actor, object_type="complaint", object_id=complaint_id,
                               organisation_path=visible)
    ack_late, resolve_late = rules.complaint_breaches(complaint, now)
    return render(
        request, "service/complaint.html", status_code=status_code, complaint=complaint,
        steps=steps, history=_history(rows), words=WORDS, china_time=_china,
        ack_late=ack_late, resolve_late=resolve_late,
        breaching=rules.complaint_breaching(complaint, now),
        suggested=rules.suggested_assignee(complaint["kind"], complaint["about"],
                                           complaint["about_kind"]),
        units=(await queries.complaint_choices()) if "assign" in steps else None,
        kinds=rules.COMPLAINT_KINDS, assignees=rules.COMPLAINT_ASSIGNEES,
        errors=errors or {}, form=form or {})


async def act_on_complaint(request: Request, complaint_id: int, step: str, model: type,
                           run: Callable[[Actor, Any], Awaitable[Any]]) -> Response:
    """A step's button: the complaint's page again with the message beside the step when the
    form or a rule refuses, else back to it saying what worked."""
    actor = current_actor(request)
    complaint = await complaints.get_complaint(actor=actor, complaint_id=complaint_id)  # 404 first
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(complaint_page, request, complaint_id),
                     success=DONE[step], location=f"/complaints/{complaint_id}",
                     reference=complaint["reference"])


async def _list(request: Request, *, export: bool = False) -> tuple[list, dict, dict, dict]:
    filters, raw, errors = complaint_filters(request.query_params)
    after = listing.int_param(request.query_params, "after", errors)
    limit = listing.EXPORT_LIMIT + 1 if export else queries.COMPLAINT_PAGE_SIZE
    rows = [] if errors else await queries.list_complaints(
        actor=current_actor(request), now=clock.now(), after_id=None if export else after,
        limit=limit, **filters)
    return rows, filters, raw, errors


def _list_page(request: Request, rows: list, raw: dict, errors: dict, *,
               status_code: int = 200, more: str | None = None) -> Response:
    actor = current_actor(request)
    return render(request, "service/complaints.html",
                  block="rows" if is_htmx(request) and not errors and status_code == 200 else None,
                  status_code=status_code, errors=errors, rows=rows, filters=raw, words=WORDS,
                  statuses=rules.COMPLAINT_STATUSES, kinds=rules.COMPLAINT_KINDS,
                  queues=queries.COMPLAINT_QUEUES, more_url=more, china_time=_china,
                  export_query=listing.query_string(raw), export_limit=listing.EXPORT_LIMIT,
                  may_record=rules.may_record_complaint(actor),
                  queue_titles={k: title for k, (title, _) in QUEUE_LABELS.items()})


class ComplaintController(Controller):
    path = "/complaints"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        """Scoped (R1), searchable, keyset-paginated; a bad filter answers 422 beside it."""
        rows, _, raw, errors = await _list(request)
        more = None
        if len(rows) == queries.COMPLAINT_PAGE_SIZE:
            more = "/complaints?" + listing.query_string(raw, after=rows[-1]["id"])
        return _list_page(request, rows, raw, errors, status_code=422 if errors else 200,
                          more=more)

    @get("/export")
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
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "complaints")

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
        return done(request, DONE["record"], f"/complaints/{saved['id']}",
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
    if not rules.may_record_complaint(actor):
        raise Forbidden("Repair-point staff, store and office clerks and managers, and customer "
                        "service record complaints (R32).")
    return render(request, "service/complaint_new.html", status_code=status_code,
                  choices=await queries.complaint_choices(), words=WORDS,
                  channels=rules.COMPLAINT_CHANNELS, abouts=rules.COMPLAINT_ABOUT,
                  errors=errors or {}, form=form or {"channel": "phone"})


def _handlers() -> list:
    from service.complaint_api import ComplaintApi
    from service.complaint_public import PublicComplaintController

    return [ComplaintController, ComplaintApi, PublicComplaintController]


HANDLERS: list = _handlers()
