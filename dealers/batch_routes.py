"""Return batch pages. Handlers parse, call a service, render; the rules live in the services."""
from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from dealers import batches, queries, receiving, special_cases
from dealers.forms import parse_line
from portal import audit, clock, listing
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.forms import integer, iso_date, read_form, text
from portal.i18n import gettext, local_name
from portal.money import parse_yuan
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
}


async def batch_page(request: Request, batch_id: int, *, status_code: int = 200,
                     errors: dict | None = None, form: dict | None = None,
                     block: str | None = None) -> Response:
    actor = current_actor(request)
    batch = await batches.get_batch(actor=actor, batch_id=batch_id)
    now = clock.now()
    # issue 9 §4: each button the person sees, disabled with the reason a rule would give
    actions = {name: gettext(refusal.message, **refusal.kwargs) if refusal else None
               for name, refusal in (await batches.actions_for(actor, batch, now)).items()}
    is_staff = batches._is_staff_of(actor, batch)
    approvals = await special_cases.usable_approvals(batch["organisation"]) \
        if is_staff and batch["status"] == "draft" and batch["kind"] == "regular" else []
    context = dict(
        batch=batch, actions=actions, approvals=approvals,
        lines=await batches.lines_with_verdicts(batch_id),
        products=await batches.list_products() if batch["status"] == "draft" else [],
        defect_reasons=await batches.reason_codes("defect"),
        deadlines=receiving.deadlines(batch, now),
        disputes=await special_cases.disputes_for(batch_id, now),
        claims=await special_cases.claims_for(batch_id),
        is_staff=is_staff, errors=errors or {}, form=form or {})
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


async def on_batch_action(request: Request, batch_id: int, action, form=None, *,
                          success: str) -> Response:
    """Run a service action about a batch: back to the batch page, saying `success`, when it
    worked, or the page again with the message beside the action when a rule refused it."""
    try:
        await action
    except ValidationFailed as exc:
        return await batch_page(request, batch_id, status_code=422, errors=exc.errors,
                                form=dict(form or {}))
    except PortalError as exc:
        if exc.status_code == 404:
            raise
        return await batch_page(request, batch_id, status_code=exc.status_code,
                                errors={"action": gettext(exc.message, **exc.params)},
                                form=dict(form or {}))
    return await done_with_batch(request, batch_id, success)


def batch_filters(query) -> tuple[dict, dict, dict]:
    """The list's filters from the query string: (arguments for queries.list_batches, the raw
    values to show in the form and carry in links, errors by field). `month` and `org` (an
    organisation's number) are the links home pages build; people type the others."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "queue", "status", "month", "month_from", "month_to", "submitted_from", "submitted_to",
        "number", "org_name", "org", "product")}
    raw["queue"] = raw["queue"] if raw["queue"] in queries.QUEUES else ""
    month_from = listing.month_param(query, "month_from", errors)
    month_to = listing.month_param(query, "month_to", errors)
    listing.check_order(errors, month_from, month_to, "month_to")
    day_from = listing.date_param(query, "submitted_from", errors)
    day_to = listing.date_param(query, "submitted_to", errors)
    listing.check_order(errors, day_from, day_to, "submitted_to")
    submitted_from, submitted_to = listing.china_day_range(day_from, day_to)
    month = listing.month_param(query, "month", errors)
    if month and not (month_from or month_to):  # a home page's link: shown as a range of one
        month_from = month_to = month
        raw["month_from"] = raw["month_to"] = month.strftime("%Y-%m")
    raw["month"] = ""
    filters = dict(
        queue=raw["queue"] or None,
        status=listing.choice_param(query, "status", queries.STATUSES, errors),
        month_from=month_from, month_to=month_to,
        submitted_from=submitted_from, submitted_to=submitted_to,
        number=listing.text_param(query, "number", errors, limit=40) or None,
        org_name=listing.text_param(query, "org_name", errors, limit=120) or None,
        organisation_id=listing.int_param(query, "org", errors),
        product_id=listing.int_param(query, "product", errors))
    return filters, raw, errors


# The export's columns: what the list shows, one row per batch (headers are msgids).
COLUMN_LABELS = {
    "number": "Number", "organisation": "Organisation", "month": "Month", "kind": "Kind",
    "status": "Status", "submitted": "Submitted on", "lines": "Lines", "filed": "Filed",
    "received": "Received", "decided": "Decided on", "breached": "Deadline breached",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_H["number"], lambda b: b["number"]),
    listing.Column(_H["organisation"], lambda b: local_name(
        {"name": b["org_name"], "name_en": b["org_name_en"]})),
    listing.Column(_H["month"], lambda b: b["month"].strftime("%Y-%m")),
    listing.Column(_H["kind"], lambda b: gettext("special") if b["kind"] == "special"
                   else gettext("regular")),
    listing.Column(_H["status"], lambda b: gettext(b["status"])),
    listing.Column(_H["submitted"], lambda b: listing.china_date(b["submitted_at"]), "date"),
    listing.Column(_H["lines"], lambda b: b["lines"], "int"),
    listing.Column(_H["filed"], lambda b: b["filed"], "int"),
    listing.Column(_H["received"], lambda b: b["received"], "int"),
    listing.Column(_H["decided"], lambda b: listing.china_date(b["decided_at"]), "date"),
    listing.Column(_H["breached"], lambda b: gettext("yes") if b["breaching"] else ""),
]


class BatchController(Controller):
    path = "/batches"
    guards = [login_required]

    @get("/")
    async def list_page(self, request: Request) -> Response:
        """The list with its search (number, organisation name, months, submission days),
        keyset-paginated; a bad filter answers 422 with the message beside its field."""
        actor = current_actor(request)
        now = clock.now()
        filters, raw, errors = batch_filters(request.query_params)
        after = listing.int_param(request.query_params, "after", errors)
        rows = [] if errors else await queries.list_batches(actor=actor, now=now, after_id=after,
                                                            **filters)
        more = None
        if len(rows) == queries.PAGE_SIZE:
            more = "/batches?" + listing.query_string(raw, after=rows[-1]["id"])
        return render(request, "dealers/batches.html",
                      block="rows" if is_htmx(request) and not errors else None,
                      status_code=422 if errors else 200, errors=errors,
                      rows=rows, queue=raw["queue"],
                      counts=await queries.queue_counts(actor=actor, now=now),
                      filters=raw, statuses=queries.STATUSES, more_url=more,
                      export_query=listing.query_string(raw),
                      all_orgs_query=listing.query_string({**raw, "org": ""}),
                      export_limit=listing.EXPORT_LIMIT, queues=list(queries.QUEUES))

    @get("/export")
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
            return render(request, "dealers/batches.html", status_code=422, errors=errors,
                          rows=[], queue=raw["queue"], counts={}, filters=raw,
                          statuses=queries.STATUSES, more_url=None,
                          export_query=listing.query_string(raw),
                          all_orgs_query=listing.query_string({**raw, "org": ""}),
                          export_limit=listing.EXPORT_LIMIT, queues=list(queries.QUEUES))
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "batches")

    @post("/")
    async def create(self, request: Request) -> Response:
        form = await read_form(request)
        errors: dict[str, str] = {}
        approval = integer(form, "special_approval", errors, required=False, low=1)
        if errors:  # a malformed approval id must not silently make a regular batch
            raise ValidationFailed(errors)
        batch_id = await batches.create_draft(actor=current_actor(request),
                                              special_approval_id=approval)
        return await done_with_batch(
            request, batch_id, success="Batch %(number)s started: add its lines, then submit it.")

    @get("/{batch_id:int}")
    async def detail(self, request: Request, batch_id: int) -> Response:
        return await batch_page(request, batch_id)

    @get("/{batch_id:int}/history")
    async def history(self, request: Request, batch_id: int) -> Response:
        """R20: every transition of the batch with who, when and why."""
        actor = current_actor(request)
        batch = await batches.get_batch(actor=actor, batch_id=batch_id)
        entries = await audit.history(actor=actor, object_type="return_batch", object_id=batch_id,
                                      organisation_path=batch["org_path"])
        return render(request, "portal/history.html", title=batch["number"], entries=entries)

    @post("/{batch_id:int}/lines")
    async def add_line(self, request: Request, batch_id: int) -> Response:
        form = await read_form(request)
        line, errors = parse_line(form)
        block = "lines" if is_htmx(request) else None
        try:
            if errors:
                raise ValidationFailed(errors)
            await batches.add_lines(actor=current_actor(request), batch_id=batch_id, lines=[line])
        except batches.LineErrors as exc:
            return await batch_page(request, batch_id, status_code=422, block=block,
                                    errors=exc.problems[1], form=dict(form))
        except ValidationFailed as exc:
            return await batch_page(request, batch_id, status_code=422, block=block,
                                    errors=exc.errors, form=dict(form))
        if block:
            return done(request, "Line added.",
                        fragment=await batch_page(request, batch_id, block=block))
        return done(request, "Line added.", f"/batches/{batch_id}")

    @post("/{batch_id:int}/lines/preview")
    async def preview(self, request: Request, batch_id: int) -> Response:
        """The expected verdict of the line being typed (htmx, on every change)."""
        await batches.get_batch(actor=current_actor(request), batch_id=batch_id)
        line, errors = parse_line(await read_form(request))
        service_errors, verdict = await batches.preview_line(line)
        return render(request, "dealers/_verdict.html", verdict=verdict,
                      errors={**service_errors, **errors})

    @post("/{batch_id:int}/lines/{line_id:int}/delete")
    async def remove_line(self, request: Request, batch_id: int, line_id: int) -> Response:
        await batches.remove_line(actor=current_actor(request), batch_id=batch_id, line_id=line_id)
        if is_htmx(request):
            return done(request, "Line removed.",
                        fragment=await batch_page(request, batch_id, block="lines"))
        return done(request, "Line removed.", f"/batches/{batch_id}")

    @post("/{batch_id:int}/special-approval")
    async def use_special_approval(self, request: Request, batch_id: int) -> Response:
        """R7, issue 9 §7: this draft uses the office's granted special approval; lines kept."""
        form = await read_form(request)
        errors: dict[str, str] = {}
        approval = integer(form, "special_approval", errors, low=1)
        if errors:
            raise ValidationFailed(errors)
        return await on_batch_action(
            request, batch_id, form=form, action=batches.use_special_approval(
                actor=current_actor(request), batch_id=batch_id, approval_id=approval or 0),
            success="Batch %(number)s now uses the special approval: submit it when it is "
                    "ready, on any day.")

    @post("/{batch_id:int}/{action:str}")
    async def act(self, request: Request, batch_id: int, action: str) -> Response:
        """The lifecycle buttons: submit, sign, return, approve, refuse, withdraw, dispatch,
        dispose. Errors re-render the batch page with the message beside the action."""
        actor = current_actor(request)
        form = await read_form(request)
        reason = text(form, "reason", 500)
        try:
            if action == "submit":
                await batches.submit_batch(actor=actor, batch_id=batch_id)
            elif action == "sign":
                await batches.sign_batch(actor=actor, batch_id=batch_id, note=reason)
            elif action == "return":
                await batches.return_to_draft(actor=actor, batch_id=batch_id, reason=reason)
            elif action == "approve":
                await batches.approve_batch(actor=actor, batch_id=batch_id,
                                            disposition=text(form, "disposition", 10), note=reason)
            elif action == "refuse":
                await batches.refuse_batch(actor=actor, batch_id=batch_id, reason=reason)
            elif action == "withdraw":
                await batches.withdraw_batch(actor=actor, batch_id=batch_id, reason=reason)
            elif action == "dispatch":
                errors: dict[str, str] = {}
                packages = integer(form, "packages", errors, low=1, high=10_000)
                dispatched_on = iso_date(form, "dispatched_on", errors)
                if errors:  # parse errors are reported, never dropped
                    raise ValidationFailed(errors)
                await batches.dispatch_batch(
                    actor=actor, batch_id=batch_id, carrier=text(form, "carrier", 100),
                    waybill=text(form, "waybill", 100), packages=packages,
                    freight_fen=parse_yuan(text(form, "freight", 30)),
                    dispatched_on=dispatched_on)
            elif action == "dispose":
                await batches.record_disposal(actor=actor, batch_id=batch_id,
                                              evidence=text(form, "evidence", 2000))
            else:
                raise NotFound("Not found.")
        except NotFound:
            raise
        except ValidationFailed as exc:
            return await batch_page(request, batch_id, status_code=exc.status_code,
                                    errors=exc.errors, form=dict(form))
        except PortalError as exc:
            return await batch_page(request, batch_id, status_code=exc.status_code,
                                    errors={"action": gettext(exc.message, **exc.params)},
                                    form=dict(form))
        return await done_with_batch(request, batch_id, DONE[action])
