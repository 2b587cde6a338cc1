"""Statement pages (issue 5 §2, §3, §5, §6): the list with finance's month totals and the close
with its progress bar, one statement with its lines traced to their sources and the actions of
each role, the A4 print view and the XLSX/CSV downloads. Handlers parse, call a service,
render; the rules live in the services."""
from __future__ import annotations

from datetime import date

from litestar import Controller, Request, Response, get, post

from portal import clock, i18n, listing
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.forms import int_list, read_form, text
from portal.i18n import gettext
from portal.money import parse_signed_yuan
from portal.web import current_actor, done, is_htmx, login_required, render, roles_required
from settlements import adjustments, bulk, close, downloads, payouts, queries, rules
from settlements import statements as approval
from settlements.rules import statement_number

FINANCE = roles_required("hq_finance")


def parse_month(raw: str | None) -> date | None:
    """'2026-11' or '2026-11-01' -> the first of that month; None when it is not a month."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:7] + "-01")
    except ValueError:
        return None


def last_month() -> date:
    return clock.previous_month(clock.china_today())


def statement_filters(query) -> tuple[dict, dict, dict]:
    """The list's filters: (arguments for queries.list_statements, the raw values for the form
    and links, errors by field). `period`, `status`, `waiting` and `org` (a dealer's number)
    are what home pages and other pages link with; people type the number, the name and the
    months."""
    errors: dict[str, str] = {}
    raw = {k: (query.get(k) or "").strip() for k in (
        "period", "period_from", "period_to", "status", "waiting", "number", "org_name", "org")}
    period_from = listing.month_param(query, "period_from", errors)
    period_to = listing.month_param(query, "period_to", errors)
    listing.check_order(errors, period_from, period_to, "period_to")
    period = listing.month_param(query, "period", errors)
    if "period" in errors:  # shown beside the month fields ("period" is the close form's)
        errors["period_from"] = errors.pop("period")
    if period and not (period_from or period_to):  # a link's one month: shown as a range
        period_from = period_to = period
        raw["period_from"] = raw["period_to"] = period.strftime("%Y-%m")
    raw["period"] = ""
    raw["waiting"] = raw["waiting"] if raw["waiting"] in queries.WAITING else ""
    number = listing.text_param(query, "number", errors, limit=40)
    if number and rules.parse_statement_search(number) is None:
        errors["number"] = ("A statement number looks like ST-202611-00042; its start "
                            "(ST-202611) finds a month.")
    filters = dict(
        period_from=period_from, period_to=period_to,
        status=listing.choice_param(query, "status", queries.STATUSES, errors),
        waiting=raw["waiting"] or None, number=number or None,
        org_name=listing.text_param(query, "org_name", errors, limit=120) or None,
        dealer_id=listing.int_param(query, "org", errors))
    return filters, raw, errors


async def list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None, run_id: int | None = None,
                    bulk_results: list | None = None) -> Response:
    actor = current_actor(request)
    q = request.query_params
    filters, raw, filter_errors = statement_filters(q)
    after = listing.int_param(q, "after", filter_errors)
    rows = [] if filter_errors else await queries.list_statements(actor, after_id=after,
                                                                   **filters)
    more = None
    if len(rows) == queries.PAGE_SIZE:
        more = "/statements?" + listing.query_string(raw, after=rows[-1]["id"])
    errors = {**filter_errors, **(errors or {})}
    status_code = 422 if filter_errors else status_code
    context = dict(rows=rows, filters=raw, more_url=more, statuses=queries.STATUSES,
                   status_label=downloads.status_label, errors=errors,
                   can_bulk=actor.has("hq_finance"),
                   stripe_enabled=bool(request.app.state.settings.stripe_secret_key))
    if is_htmx(request) and not errors and q.get("after"):
        return render(request, "settlements/statements.html", block="rows", **context)
    totals = progress = None
    if actor.has("hq_finance", "auditor"):
        totals = await queries.period_totals(filters["period_to"] or last_month())
    run_id = run_id or listing.int_param(q, "run", errors)
    if run_id and actor.has("hq_finance"):
        progress = await close.close_progress(run_id)
    return render(request, "settlements/statements.html", status_code=status_code, totals=totals,
                  progress=progress, run_id=run_id, kind_label=downloads.kind_label,
                  default_close=(form or {}).get("period") or last_month().strftime("%Y-%m"),
                  form=form or {}, export_query=listing.query_string(raw),
                  all_orgs_query=listing.query_string({**raw, "org": ""}),
                  export_limit=listing.EXPORT_LIMIT, bulk_results=bulk_results,
                  bulk_max=bulk.MAX_SELECTION, **context)


# The export's columns: what the list shows, one row per statement (headers are msgids).
COLUMN_LABELS = {
    "number": "Statement", "organisation": "Organisation", "month": "Month", "status": "Status",
    "lines": "Lines", "total": "Total (¥)", "approved": "Approved on", "payout": "Payout",
    "reference": "Bank reference",
}
_H = COLUMN_LABELS
EXPORT_COLUMNS = [
    listing.Column(_H["number"], lambda s: s["number"]),
    listing.Column(_H["organisation"], lambda s: downloads.dealer_name(s)),
    listing.Column(_H["month"], lambda s: s["period"].strftime("%Y-%m")),
    listing.Column(_H["status"], lambda s: downloads.status_label(s["status"])),
    listing.Column(_H["lines"], lambda s: s["line_count"], "int"),
    listing.Column(_H["total"], lambda s: s["total_fen"], "money"),
    listing.Column(_H["approved"], lambda s: listing.china_date(
        s["second_approved_at"] or s["approved_at"]), "date"),
    listing.Column(_H["payout"], lambda s: gettext(s["payout_status"]) if s["payout_status"]
                   else ""),
    listing.Column(_H["reference"], lambda s: s["payout_reference"] or ""),
]


async def statement_page(request: Request, statement_id: int, *, status_code: int = 200,
                         errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    statement, lines = await queries.statement_with_lines(actor, statement_id)
    # issue 9 §4: the actions this person sees, disabled with the reason a rule would give
    actions = {name: gettext(refusal.message, **refusal.kwargs) if refusal else None
               for name, refusal in approval.actions_for(
                   actor, {**statement, "has_fees": statement["fee_lines"]}).items()}
    return render(request, "settlements/statement.html", status_code=status_code,
                  statement=statement, lines=lines, actions=actions,
                  balance=await queries.dealer_balance(actor, statement["dealer"],
                                                       statement["dealer_path"]),
                  kind_label=downloads.kind_label, status_label=downloads.status_label,
                  line_source=downloads.line_source, dealer_name=downloads.dealer_name(statement),
                  stripe_enabled=bool(request.app.state.settings.stripe_secret_key),
                  errors=errors or {}, form=form or {})


def _locale(request: Request) -> str:
    lang = request.query_params.get("lang")
    return lang if lang in i18n.LOCALES else i18n.current_locale.get()


class StatementController(Controller):
    path = "/statements"
    guards = [login_required]

    @get("/")
    async def index(self, request: Request) -> Response:
        return await list_page(request)

    @post("/close", guards=[FINANCE])
    async def close(self, request: Request) -> Response:
        """Start closing a month (R26) in the background; the page polls its progress."""
        form = await read_form(request)
        period = parse_month(text(form, "period", 10))
        try:
            if period is None:
                raise ValidationFailed({"period": "Choose a month, e.g. 2026-11."})
            run_id = await close.start_close(actor=current_actor(request), period=period)
        except PortalError as exc:
            message = exc.errors["period"] if isinstance(exc, ValidationFailed) \
                else gettext(exc.message, **exc.params)
            if is_htmx(request):  # only the reason, into the progress box
                return render(request, "settlements/_close_error.html",
                              status_code=exc.status_code, message=message)
            return await list_page(request, status_code=exc.status_code, form=dict(form),
                                   errors={"period": message})
        fragment = await self._progress(request, run_id) if is_htmx(request) else None
        return done(request, "Closing %(month)s started; its statements appear when the bar is "
                             "full.", None if fragment else f"/statements?run={run_id}",
                    fragment=fragment, month=period.strftime("%Y-%m"))

    @get("/close/{run_id:int}", guards=[FINANCE])
    async def progress(self, request: Request, run_id: int) -> Response:
        """The progress bar fragment, polled every second until the run is done."""
        return await self._progress(request, run_id)

    async def _progress(self, request: Request, run_id: int) -> Response:
        progress = await close.close_progress(run_id)  # NotFound for an unknown run
        return render(request, "settlements/_progress.html", progress=progress, run_id=run_id)

    @get("/export")
    async def export(self, request: Request) -> Response:
        """Every statement the list's filter shows (not only the page), CSV or XLSX, in the
        reader's language; at most EXPORT_LIMIT rows, else the list says to narrow it."""
        filters, raw, errors = statement_filters(request.query_params)
        kind = listing.choice_param(request.query_params, "format", ("csv", "xlsx"), errors)
        rows = [] if errors else await queries.list_statements(
            current_actor(request), limit=listing.EXPORT_LIMIT + 1, **filters)
        if len(rows) > listing.EXPORT_LIMIT:
            errors["export"] = gettext(listing.MESSAGES["too_many"],
                                       n=f"{listing.EXPORT_LIMIT:,}")
        if errors:
            return await list_page(request, status_code=422, errors=errors)
        return await listing.export_response(kind or "csv", EXPORT_COLUMNS, rows, "statements")

    @post("/bulk", guards=[FINANCE])
    async def bulk_action(self, request: Request) -> Response:
        """Finance approves or pays the checked statements, each under every rule of its own
        page, each in its own transaction; the list comes back with a result per statement.
        The list's filters travel in the query string, so the same list is shown again."""
        form = await read_form(request)
        try:
            results = await bulk.act_on_selection(
                actor=current_actor(request), settings=request.app.state.settings,
                action=text(form, "action", 20), ids=int_list(form, "ids"),
                reference=text(form, "reference", 60, multiline=False))
        except ValidationFailed as exc:
            return await list_page(request, status_code=422, form=dict(form),
                                   errors={f"bulk_{k}": v for k, v in exc.errors.items()})
        return await list_page(request, bulk_results=results)

    @get("/{statement_id:int}")
    async def detail(self, request: Request, statement_id: int) -> Response:
        return await statement_page(request, statement_id)

    @post("/{statement_id:int}/{action:str}")
    async def act(self, request: Request, statement_id: int, action: str) -> Response:
        """The actions of each role: CS reviews fees; finance approves, gives the second
        approval, pays, records a bank transfer or asks for an adjustment."""
        actor = current_actor(request)
        form = await read_form(request)
        statement = await queries.get_statement(actor, statement_id)  # scope first (R1)
        try:
            success = await _run_action(request, actor, statement, action, form)
        except NotFound:
            raise
        except ValidationFailed as exc:
            return await statement_page(request, statement_id, status_code=422,
                                        errors=exc.errors, form=dict(form))
        except PortalError as exc:
            return await statement_page(request, statement_id, status_code=exc.status_code,
                                        errors={"action": gettext(exc.message, **exc.params)},
                                        form=dict(form))
        return done(request, success, f"/statements/{statement_id}",
                    number=statement_number(statement["period"], statement["dealer"]))

    @get("/{statement_id:int}/print")
    async def print_view(self, request: Request, statement_id: int) -> Response:
        """A4, in the reader's language or the one asked for (?lang=en)."""
        locale = _locale(request)
        token = i18n.current_locale.set(locale)
        try:
            statement, lines = await queries.statement_with_lines(current_actor(request),
                                                                  statement_id)
            return render(request, "settlements/print.html", statement=statement, lines=lines,
                          locale=locale, kind_label=downloads.kind_label,
                          status_label=downloads.status_label, line_source=downloads.line_source,
                          dealer_name=downloads.dealer_name(statement))
        finally:
            i18n.current_locale.reset(token)

    @get("/{statement_id:int}/download")
    async def download(self, request: Request, statement_id: int) -> Response:
        """?format=xlsx|csv, in the reader's language (or ?lang=zh_CN|en)."""
        kind = request.query_params.get("format", "xlsx")
        if kind not in ("xlsx", "csv"):
            raise NotFound("Not found.")
        statement, lines = await queries.statement_with_lines(current_actor(request),
                                                              statement_id)
        return download_response(statement, lines, kind, _locale(request))


def download_response(statement: dict, lines: list[dict], kind: str, locale: str) -> Response:
    build = downloads.to_xlsx if kind == "xlsx" else downloads.to_csv
    media = downloads.XLSX_TYPE if kind == "xlsx" else "text/csv; charset=utf-8"
    name = downloads.filename(statement, kind)
    return Response(content=downloads.in_language(locale, build, statement, lines),
                    media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _run_action(request: Request, actor, statement: dict, action: str, form) -> str:
    """Run one action of the statement page; returns what the page then says (issue 9 §4)."""
    statement_id = statement["id"]
    if action == "review":
        await approval.review_fees(actor=actor, statement_id=statement_id)
        return "Repair fees of statement %(number)s reviewed; finance can approve it now."
    elif action == "approve":
        if await approval.approve_statement(actor=actor, statement_id=statement_id) \
                == "second_approval":
            return "Statement %(number)s approved once; above the limit, a second finance " \
                   "colleague approves it too."
        return "Statement %(number)s approved; the dealer has been told."
    elif action == "second-approval":
        await approval.second_approve(actor=actor, statement_id=statement_id)
        return "Statement %(number)s approved; the dealer has been told."
    elif action == "pay":
        await payouts.pay_statement(request.app.state.settings, actor=actor,
                                    statement_id=statement_id)
        return "Payment of statement %(number)s sent; its status is shown below."
    elif action == "bank-payment":
        await payouts.record_bank_payment(actor=actor, statement_id=statement_id,
                                          reference=text(form, "reference", 80))
        return "Bank payment of statement %(number)s recorded; the dealer has been told."
    elif action == "adjustment":
        amount = parse_signed_yuan(text(form, "amount", 20))
        if amount is None:
            raise ValidationFailed({"amount": "Enter an amount in yuan, e.g. 120.00 or -120.00."})
        await adjustments.request_adjustment(
            actor=actor, dealer_id=statement["dealer"], kind=text(form, "kind", 12) or "adjustment",
            amount_fen=amount, reason=text(form, "reason", 500),
            corrects_statement_id=statement_id)
        return "Adjustment for statement %(number)s requested; another finance colleague " \
               "decides it."
    else:
        raise NotFound("Not found.")
