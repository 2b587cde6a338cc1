"""Pages for special approvals (R7), quality disputes (R16) and transit claims (R15)."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from dealers import queries, special_cases
from dealers.batch_routes import batch_page, on_batch_action
from portal import network
from portal.errors import PortalError, ValidationFailed
from portal.forms import integer, read_form, text
from portal.i18n import gettext
from portal.money import parse_yuan
from portal.web import current_actor, done, login_required, render, roles_required


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
        form = await read_form(request)
        errors: dict[str, str] = {}
        org_id = integer(form, "organisation", errors)
        try:
            if errors:
                raise ValidationFailed(errors)
            await special_cases.request_special_approval(
                actor=current_actor(request), organisation_id=org_id or 0,
                reason=text(form, "reason", 1000), quality_problem=form.get("quality_problem") == "on")
        except ValidationFailed as exc:
            return await _approvals_page(request, 422, exc.errors, dict(form))
        return done(request, "Special approval requested; head office customer service has "
                             "been told.", "/special-approvals")

    @post("/{approval_id:int}/decide", guards=[roles_required("hq_cs")])
    async def decide(self, request: Request, approval_id: int) -> Response:
        form = await read_form(request)
        approve = text(form, "decision", 10) == "approve"
        try:
            await special_cases.decide_special_approval(
                actor=current_actor(request), approval_id=approval_id,
                approve=approve, reason=text(form, "reason", 1000))
        except ValidationFailed as exc:
            return await _approvals_page(request, 422, exc.errors, dict(form))
        except PortalError as exc:
            if exc.status_code == 404:
                raise
            return await _approvals_page(request, exc.status_code,
                                         {"action": gettext(exc.message, **exc.params)})
        if approve:
            return done(request, "Special approval granted; the office's clerks and the "
                                 "requester have been told.", "/special-approvals")
        return done(request, "Special approval refused; the office has been told why.",
                    "/special-approvals")


class BatchIncidentController(Controller):
    """Disputes and claims hang off a batch page; errors re-render that page."""

    guards = [login_required]

    @post("/batches/{batch_id:int}/disputes")
    async def raise_dispute(self, request: Request, batch_id: int) -> Response:
        form = await read_form(request)
        return await on_batch_action(request, batch_id, form=form, action=special_cases.raise_quality_dispute(
            actor=current_actor(request), batch_id=batch_id,
            description=text(form, "description", 2000)),
            success="Quality dispute on batch %(number)s raised; head office will verify it on "
                    "site within two days.")

    @post("/batches/{batch_id:int}/disputes/{dispute_id:int}/verify",
          guards=[roles_required("hq_tech")])
    async def verify(self, request: Request, batch_id: int, dispute_id: int) -> Response:
        form = await read_form(request)
        return await on_batch_action(request, batch_id, form=form, action=special_cases.verify_quality_dispute(
            actor=current_actor(request), dispute_id=dispute_id,
            confirmed=text(form, "confirmed", 5) == "yes", findings=text(form, "findings", 2000)),
            success="Verification of batch %(number)s recorded; the office has been told.")

    @post("/batches/{batch_id:int}/claims", guards=[roles_required("hq_cs", "hq_logistics")])
    async def open_claim(self, request: Request, batch_id: int) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        lost = integer(form, "lost_qty", errors, required=False) or 0
        damaged = integer(form, "damaged_qty", errors, required=False) or 0
        amount = parse_yuan(text(form, "claimed", 30)) or 0
        if errors:
            return await batch_page(request, batch_id, status_code=422, errors=errors, form=dict(form))
        return await on_batch_action(request, batch_id, form=form, action=special_cases.open_transit_claim(
            actor=current_actor(request), batch_id=batch_id, carrier=text(form, "carrier", 80),
            lost_qty=lost, damaged_qty=damaged, claimed_fen=amount, note=text(form, "note", 500)),
            success="Carrier claim on batch %(number)s opened.")

    @post("/batches/{batch_id:int}/claims/{claim_id:int}/close",
          guards=[roles_required("hq_cs", "hq_logistics")])
    async def close_claim(self, request: Request, batch_id: int, claim_id: int) -> Response:
        form = await read_form(request)
        recovered = parse_yuan(text(form, "recovered", 30))
        return await on_batch_action(request, batch_id, form=form, action=special_cases.close_transit_claim(
            actor=current_actor(request), claim_id=claim_id,
            recovered_fen=-1 if recovered is None else recovered, note=text(form, "note", 500)),
            success="Carrier claim on batch %(number)s closed.")
