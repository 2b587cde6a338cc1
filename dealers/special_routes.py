"""Pages for special approvals (R7), quality disputes (R16) and transit claims (R15)."""
from __future__ import annotations

import functools
from dataclasses import asdict

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers import queries, special_cases
from dealers.batch_routes import act_on_batch
from dealers.inputs import (
    ClaimIn,
    CloseClaimIn,
    DisputeIn,
    SpecialDecisionIn,
    SpecialRequestIn,
    VerifyIn,
)
from portal import network
from portal.actions import act
from portal.web import current_actor, login_required, render, roles_required


async def _approvals_page(request: Request, status_code: int = 200, errors: dict | None = None,
                          form: dict | None = None) -> Response:
    actor = current_actor(request)
    offices = [o for o in await network.list_organisations(actor=actor, limit=500)
               if o["kind"] in network.DEALER_KINDS] if actor.has("manager") else []
    # issue 9 §7: a granted approval can be used by the office's existing regular draft
    drafts = await special_cases.regular_drafts(actor.organisation_id) \
        if actor.has("dealer_clerk", "manager") else []
    return render(request, "dealers/special_approvals.html", status_code=status_code,
                  rows=await queries.list_special_approvals(
                      actor=actor, status=request.query_params.get("status")), offices=offices,
                  drafts=drafts, errors=errors or {}, form=form or {})


class SpecialApprovalController(Controller):
    path = "/special-approvals"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        return await _approvals_page(request)

    @post("/")
    async def request_approval(self, request: Request) -> Response:
        return await act(request, SpecialRequestIn, lambda data: special_cases.request_special_approval(
            actor=current_actor(request), **asdict(data)),
            page=functools.partial(_approvals_page, request), location="/special-approvals",
            success="Special approval requested; head office customer service has been told.")

    @post("/{approval_id:int}/decide", guards=[roles_required("hq_cs")])
    async def decide(self, request: Request, approval_id: FromPath[int]) -> Response:
        return await act(request, SpecialDecisionIn, lambda data: special_cases.decide_special_approval(
            actor=current_actor(request), approval_id=approval_id, **asdict(data)),
            page=functools.partial(_approvals_page, request), location="/special-approvals",
            success=DECIDED.__getitem__)


# What the page says once CS decided (the service returns whether it granted).
DECIDED = {
    "approved": "Special approval granted; the office's clerks and the requester have been told.",
    "refused": "Special approval refused; the office has been told why.",
}


class BatchIncidentController(Controller):
    """Disputes and claims hang off a batch page; errors re-render that page."""

    guards = [login_required]

    @post("/batches/{batch_id:int}/disputes")
    async def raise_dispute(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(
            request, batch_id, "Quality dispute on batch %(number)s raised; head office will "
                               "verify it on site within two days.", DisputeIn,
            lambda actor, data: special_cases.raise_quality_dispute(
                actor=actor, batch_id=batch_id, description=data.description))

    @post("/batches/{batch_id:int}/disputes/{dispute_id:int}/verify",
          guards=[roles_required("hq_tech")])
    async def verify(self, request: Request, batch_id: FromPath[int], dispute_id: FromPath[int]) -> Response:
        return await act_on_batch(
            request, batch_id, "Verification of batch %(number)s recorded; the office has been "
                               "told.", VerifyIn,
            lambda actor, data: special_cases.verify_quality_dispute(
                actor=actor, dispute_id=dispute_id, **asdict(data)))

    @post("/batches/{batch_id:int}/claims", guards=[roles_required("hq_cs", "hq_logistics")])
    async def open_claim(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(
            request, batch_id, "Carrier claim on batch %(number)s opened.", ClaimIn,
            lambda actor, data: special_cases.open_transit_claim(
                actor=actor, batch_id=batch_id, **asdict(data)))

    @post("/batches/{batch_id:int}/claims/{claim_id:int}/close",
          guards=[roles_required("hq_cs", "hq_logistics")])
    async def close_claim(self, request: Request, batch_id: FromPath[int], claim_id: FromPath[int]) -> Response:
        return await act_on_batch(
            request, batch_id, "Carrier claim on batch %(number)s closed.", CloseClaimIn,
            lambda actor, data: special_cases.close_transit_claim(
                actor=actor, claim_id=claim_id, **asdict(data)))
