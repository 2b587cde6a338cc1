"""JSON twins of the complaint pages under /api/v1/complaints (R32): the same services, rules,
input models and messages; each step answers the complaint as it is now, with the steps the
caller may take next (null) or why not (the reason)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from portal import clock, listing
from portal.actor import Actor
from portal.api import api_token_required
from portal.errors import ValidationFailed
from portal.i18n import gettext
from portal.validation import JSON_MAX_BYTES
from portal.web import current_actor
from service import complaint_queries, complaint_rules, complaint_steps, complaints
from service.complaint_routes import complaint_filters
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

_LISTED = ("id", "reference", "status", "kind", "major", "channel", "about", "organisation",
           "assigned_to", "assigned_org", "recorded_at", "acknowledge_by", "resolve_by",
           "judged_at", "told_at", "closed_at")
_DETAIL = ("description", "asks", "about_product", "about_org", "about_person", "judgement",
           "cause", "responsible", "resolution", "told_how", "accountability", "improvement",
           "preventive", "assigned_at", "investigated_at", "proposed_at", "approved_at",
           "escalated_at", "resolve_escalated_at")


def _out(actor: Actor, complaint: dict, *, detail: bool = True) -> dict:
    """A complaint for this reader: name and phone masked outside the holding organisation."""
    complaint_queries.shown_to(actor, complaint)
    out: dict[str, Any] = {k: complaint[k] for k in _LISTED}
    out.update(name=complaint["name_shown"], phone=complaint["phone_shown"],
               breaching=complaint_rules.complaint_breaching(complaint, clock.now()))
    if detail:
        out.update({k: complaint[k] for k in _DETAIL})
        out["steps"] = {name: gettext(why.message, **why.kwargs) if why else None
                        for name, why in complaint_rules.allowed_actions(complaint, actor).items()}
    return out


async def _stepped(request: Request, complaint_id: int,
                   run: Callable[[Actor], Awaitable[Any]]) -> dict:
    actor = current_actor(request)
    await run(actor)
    return _out(actor, await complaints.get_complaint(actor=actor, complaint_id=complaint_id))


class ComplaintApi(Controller):
    path = "/api/v1/complaints"
    guards = [api_token_required]
    tags = ["complaints"]
    request_max_body_size = JSON_MAX_BYTES

    @get("/")
    async def list_complaints(
            self, request: Request, queue: FromQuery[str | None] = None,
            reference: FromQuery[str | None] = None, who: FromQuery[str | None] = None,
            status: FromQuery[str | None] = None, kind: FromQuery[str | None] = None,
            major: FromQuery[str | None] = None, recorded_from: FromQuery[str | None] = None,
            recorded_to: FromQuery[str | None] = None, breaching: FromQuery[str | None] = None,
            after: FromQuery[int | None] = None) -> list[dict]:
        """The list page's search (same parser): `reference` a reference or its start, `who`
        part of the name or digits of the phone, `major` yes/no, `recorded_from`/`_to` China
        dates (YYYY-MM-DD, inclusive), `breaching` 1, `queue` a home page's queue; `after` the
        last id of the previous page. Newest first, scoped (R1)."""
        filters, _, errors = complaint_filters(request.query_params)
        after_id = listing.int_param(request.query_params, "after", errors)
        if errors:
            raise ValidationFailed(errors)
        actor = current_actor(request)
        rows = await complaint_queries.list_complaints(actor=actor, now=clock.now(), after_id=after_id,
                                             **filters)
        return [_out(actor, r, detail=False) for r in rows]

    @post("/", status_code=201)
    async def record(self, request: Request, data: JSONBody[ComplaintIn]) -> dict:
        actor = current_actor(request)
        saved = await complaints.record_complaint(actor=actor, data=data)
        return _out(actor, await complaints.get_complaint(actor=actor, complaint_id=saved["id"]))

    @get("/{complaint_id:int}")
    async def detail(self, request: Request, complaint_id: FromPath[int]) -> dict:
        actor = current_actor(request)
        return _out(actor, await complaints.get_complaint(actor=actor, complaint_id=complaint_id))

    @post("/{complaint_id:int}/judge", status_code=200)
    async def judge(self, request: Request, complaint_id: FromPath[int],
                    data: JSONBody[ComplaintJudgeIn]) -> dict:
        return await _stepped(request, complaint_id, lambda actor: complaint_steps.judge_complaint(
            actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/assign", status_code=200)
    async def assign(self, request: Request, complaint_id: FromPath[int],
                     data: JSONBody[ComplaintAssignIn]) -> dict:
        return await _stepped(request, complaint_id, lambda actor: complaint_steps.assign_complaint(
            actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/investigate", status_code=200)
    async def investigate(self, request: Request, complaint_id: FromPath[int],
                          data: JSONBody[ComplaintInvestigateIn]) -> dict:
        return await _stepped(request, complaint_id,
                              lambda actor: complaint_steps.investigate_complaint(
                                  actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/propose", status_code=200)
    async def propose(self, request: Request, complaint_id: FromPath[int],
                      data: JSONBody[ComplaintProposeIn]) -> dict:
        return await _stepped(request, complaint_id,
                              lambda actor: complaint_steps.propose_resolution(
                                  actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/approve", status_code=200)
    async def approve(self, request: Request, complaint_id: FromPath[int],
                      data: JSONBody[ComplaintApproveIn]) -> dict:
        return await _stepped(request, complaint_id,
                              lambda actor: complaint_steps.approve_resolution(
                                  actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/tell", status_code=200)
    async def tell(self, request: Request, complaint_id: FromPath[int],
                   data: JSONBody[ComplaintTellIn]) -> dict:
        return await _stepped(request, complaint_id, lambda actor: complaint_steps.tell_customer(
            actor=actor, complaint_id=complaint_id, data=data))

    @post("/{complaint_id:int}/close", status_code=200)
    async def close(self, request: Request, complaint_id: FromPath[int],
                    data: JSONBody[ComplaintCloseIn]) -> dict:
        return await _stepped(request, complaint_id, lambda actor: complaint_steps.close_complaint(
            actor=actor, complaint_id=complaint_id, data=data))
