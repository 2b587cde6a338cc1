"""Return batch pages. Handlers parse, call a service, render; the rules live in the services."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from dealers import batch_lines, batches, evidence, queries, receiving, special_cases
from dealers.batch_listing import EXPORT_COLUMNS, batch_filters, batch_list
from dealers.forms import parse_line
from dealers.inputs import ApproveIn, DispatchIn, DisposeIn, DraftIn, ReasonIn, UseApprovalIn
from portal import attachments, audit, clock, listing, replica
from portal.actions import act, form_input
from portal.actor import Actor
from portal.errors import ValidationFailed
from portal.forms import read_form
from portal.i18n import gettext
from portal.web import current_actor, done, is_htmx, login_required, render

# What each lifecycle button says once it worked (issue 9 §4): what happened, who was told.
DONE = {
    "submit": "Batch %(number)s submitted; the office manager has been told.",
    "sign": "Batch %(number)s signed; head office customer service has been told.",
    "return": "Batch %(number)s sent back for corrections; the clerk has been told.",
    "approve": "Batch %(number)s approved; the office has been told.",
    "refuse": "Batch %(number)s refused; the office has been told why.",
    "withdraw": "Batch %(number)s withdrawn.",
    "dispatch": "Dispatch of batch %(number)s recorded; head office logistics has been told.",
    "dispose": "Local disposal of batch %(number)s recorded; the batch is closed.",
    "special_approval": "Batch %(number)s now uses the special approval: submit it when it is "
                        "ready, on any day.",
}


async def _photos(actor: Actor, batch: dict) -> dict[str, Any]:
    """Issue 12 §5: the cartons on arrival, each carrier claim's and a local disposal's photos
    (R9, R15), and who may add them (the same rules the attachments service applies)."""
    claims = [c["id"] for c in await special_cases.claims_for(batch["id"])]
    return dict(
        arrival_photos=await attachments.list_for(evidence.ARRIVAL, batch["id"])
        if batch["arrived_at"] else [],
        claim_photos=await attachments.list_for_many(evidence.CLAIM, claims) if claims else {},
        disposal_photos=await attachments.list_for(evidence.DISPOSAL, batch["id"])
        if batch["disposition"] == "dispose" else [],
        may_add_disposal=batch["disposition"] == "dispose" and (
            batches.is_staff_of(actor, batch) or actor.has("hq_cs")),
        may_add_claim=actor.has("hq_cs", "hq_logistics"),
        may_add_arrival=actor.has("hq_logistics") and batch["arrived_at"] is not None)


async def batch_page(request: Request, batch_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None,
                     block: str | None = None, opened: bool = False) -> Response:
    """`opened`: the page itself was asked for (not a fragment, not a form shown again)."""
    actor = current_actor(request)
    batch = await batches.get_batch(actor=actor, batch_id=batch_id)
    now = clock.now()
    if opened:
        await receiving.receipt_opened(actor=actor, batch=batch, now=now)
    # issue 9 §4: each button the person sees, disabled with the reason a rule would give
    actions = {name: gettext(refusal.message, **refusal.kwargs) if refusal else None
               for name, refusal in (await batches.actions_for(actor, batch, now)).items()}
    is_staff = batches.is_staff_of(actor, batch)
    approvals = await special_cases.usable_approvals(batch["organisation"]) \
        if is_staff and batch["status"] == "draft" and batch["kind"] == "regular" else []
    context: dict[str, Any] = dict(
        batch=batch, actions=actions, approvals=approvals,
        lines=await queries.lines_with_verdicts(batch_id),
        products=await queries.list_products() if batch["status"] == "draft" else [],
        defect_reasons=await queries.reason_codes("defect"),
        deadlines=receiving.deadlines(batch, now),
        disputes=await special_cases.disputes_for(batch_id, now),
        claims=await special_cases.claims_for(batch_id),
        is_staff=is_staff, errors=errors or {}, form=form or {},
        **await _photos(actor, batch))
    response = render(request, "dealers/batch.html", status_code=status_code, block=block,
                      **context)
    if block == "lines":  # the buttons follow the lines (submit needs one), out of band
        actions_html = render(request, "dealers/batch.html", block="actions", actions_oob=True,
                              **context).content
        response.content = response.content + actions_html
    return response


async def done_with_batch(request: Request, batch_id: int, success: str, **params) -> Response:
    """Back to the batch page, which says what worked (`success`, with the batch's number)."""
    batch = await batches.get_batch(actor=current_actor(request), batch_id=batch_id)
    return done(request, success, f"/batches/{batch_id}", number=batch["number"], **params)


class BatchController(Controller):
    path = "/batches"
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def list_page(self, request: Request) -> Response:
        """The list with its search (number, organisation name, months, submission days),
        keyset-paginated; a bad filter answers 422 with the message beside its field."""
        actor = current_actor(request)
        now = clock.now()
        filters, raw, errors = batch_filters(request.query_params)
        after = listing.int_param(request.query_params, "after", errors)
        rows = [] if errors else await queries.list_batches(actor=actor, now=now, after_id=after,
                                                            **filters)
        more = ("/batches?" + listing.query_string(raw, after=rows[-1]["id"])
                if len(rows) == queries.PAGE_SIZE else None)
        return batch_list(request, rows, raw, errors, more=more,
                          counts=await queries.queue_counts(actor=actor, now=now),
                          block="rows" if is_htmx(request) and not errors else None)

    @get("/export")
    @replica.replica_reads
    async def export(self, request: Request) -> Response:
        """Every batch the list's filter shows (not only the page), as CSV or XLSX in the
        reader's language; at most EXPORT_LIMIT rows, else the list says to narrow it."""
        actor = current_actor(request)
        filters, raw, errors = batch_filters(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await queries.list_batches(
            actor=actor, now=clock.now(), limit=listing.EXPORT_LIMIT + 1, **filters)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return batch_list(request, [], raw, errors, more=None, counts={})
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "batches")

    @post("/")
    async def create(self, request: Request) -> Response:
        # a malformed approval id is refused, never read as "no approval" (a regular batch)
        data = form_input(DraftIn, await read_form(request))
        batch_id = await batches.create_draft(actor=current_actor(request),
                                              special_approval_id=data.special_approval)
        return await done_with_batch(
            request, batch_id, success="Batch %(number)s started: add its lines, then submit it.")

    @get("/{batch_id:int}")
    async def detail(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await batch_page(request, batch_id, opened=True)

    @get("/{batch_id:int}/history")
    async def history(self, request: Request, batch_id: FromPath[int]) -> Response:
        """R20: every transition of the batch with who, when and why."""
        actor = current_actor(request)
        batch = await batches.get_batch(actor=actor, batch_id=batch_id)
        entries = await audit.history(actor=actor, object_type="return_batch", object_id=batch_id,
                                      organisation_path=batch["org_path"])
        return render(request, "portal/history.html", title=batch["number"], entries=entries)

    @post("/{batch_id:int}/lines")
    async def add_line(self, request: Request, batch_id: FromPath[int]) -> Response:
        actor = current_actor(request)
        block = "lines" if is_htmx(request) else None
        return await act(request, read_line, lambda line: add_one_line(actor, batch_id, line),
                         page=functools.partial(batch_page, request, batch_id, block=block),
                         respond=lambda _, __: line_added(request, batch_id, block))

    @post("/{batch_id:int}/lines/preview")
    async def preview(self, request: Request, batch_id: FromPath[int]) -> Response:
        """The expected verdict of the line being typed (htmx, on every change)."""
        await batches.get_batch(actor=current_actor(request), batch_id=batch_id)
        line, errors = parse_line(await read_form(request))
        service_errors, verdict = await batch_lines.preview_line(line)
        return render(request, "dealers/_verdict.html", verdict=verdict,
                      errors={**service_errors, **errors})

    @post("/{batch_id:int}/lines/{line_id:int}/delete")
    async def remove_line(self, request: Request, batch_id: FromPath[int], line_id: FromPath[int]) -> Response:
        await batch_lines.remove_line(actor=current_actor(request), batch_id=batch_id, line_id=line_id)
        if is_htmx(request):
            return done(request, "Line removed.",
                        fragment=await batch_page(request, batch_id, block="lines"))
        return done(request, "Line removed.", f"/batches/{batch_id}")

    @post("/{batch_id:int}/special-approval")
    async def use_special_approval(self, request: Request, batch_id: FromPath[int]) -> Response:
        """R7, issue 9 §7: this draft uses the office's granted special approval; lines kept."""
        return await act_on_batch(request, batch_id, DONE["special_approval"], UseApprovalIn,
                                  lambda actor, data: batches.use_special_approval(
                                      actor=actor, batch_id=batch_id,
                                      approval_id=data.special_approval))

    # --- the lifecycle buttons: one route each (R4-R11) ------------------------------------------

    @post("/{batch_id:int}/submit")
    async def submit(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["submit"], None,
                                  lambda actor, _: batches.submit_batch(actor=actor,
                                                                        batch_id=batch_id))

    @post("/{batch_id:int}/sign")
    async def sign(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["sign"], ReasonIn,
                                  lambda actor, data: batches.sign_batch(
                                      actor=actor, batch_id=batch_id, note=data.reason))

    @post("/{batch_id:int}/return")
    async def send_back(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["return"], ReasonIn,
                                  lambda actor, data: batches.return_to_draft(
                                      actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/approve")
    async def approve(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["approve"], ApproveIn,
                                  lambda actor, data: batches.approve_batch(
                                      actor=actor, batch_id=batch_id, disposition=data.disposition,
                                      note=data.reason))

    @post("/{batch_id:int}/refuse")
    async def refuse(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["refuse"], ReasonIn,
                                  lambda actor, data: batches.refuse_batch(
                                      actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/withdraw")
    async def withdraw(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["withdraw"], ReasonIn,
                                  lambda actor, data: batches.withdraw_batch(
                                      actor=actor, batch_id=batch_id, reason=data.reason))

    @post("/{batch_id:int}/dispatch")
    async def dispatch(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["dispatch"], DispatchIn,
                                  lambda actor, data: batches.dispatch_batch(
                                      actor=actor, batch_id=batch_id, **asdict(data)))

    @post("/{batch_id:int}/dispose")
    async def dispose(self, request: Request, batch_id: FromPath[int]) -> Response:
        return await act_on_batch(request, batch_id, DONE["dispose"], DisposeIn,
                                  lambda actor, data: batches.record_disposal(
                                      actor=actor, batch_id=batch_id, evidence=data.evidence))


async def act_on_batch(request: Request, batch_id: int, success: str, model: type | None,
                       run: Callable[[Actor, Any], Awaitable[Any]]) -> Response:
    """A button on the batch page (its own, or a dispute's, a claim's, a spare-part line's):
    the batch page again with the message beside the action when the form or a rule refuses,
    else back to it saying `success` (a msgid; %(number)s is the batch's number)."""
    actor = current_actor(request)
    batch = await batches.get_batch(actor=actor, batch_id=batch_id)  # 404 before anything
    return await act(request, model, lambda data: run(actor, data),
                     page=functools.partial(batch_page, request, batch_id),
                     success=success, location=f"/batches/{batch_id}",
                     number=batch["number"])


def read_line(form: Any) -> batch_lines.LineInput:
    line, errors = parse_line(form)
    if errors:
        raise ValidationFailed(errors)
    return line


async def add_one_line(actor: Actor, batch_id: int, line: batch_lines.LineInput) -> None:
    """One line typed on the batch page; its errors are shown beside its fields."""
    try:
        await batch_lines.add_lines(actor=actor, batch_id=batch_id, lines=[line])
    except batch_lines.LineErrors as exc:
        raise ValidationFailed(exc.problems[1]) from None


async def line_added(request: Request, batch_id: int, block: str | None) -> Response:
    if block:
        return done(request, "Line added.",
                    fragment=await batch_page(request, batch_id, block=block))
    return done(request, "Line added.", f"/batches/{batch_id}")


