"""Statement pages (issue 5 §2, §3, §5, §6): the list with finance's month totals and the close
with its progress bar, one statement with its lines traced to their sources and the actions of
each role, the A4 print view and the XLSX/CSV downloads. Handlers parse, call a service,
render; the rules live in the services."""
from __future__ import annotations

from datetime import date

from litestar import Controller, Request, Response, get, post

from portal import clock, i18n
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.forms import query_int, read_form, text
from portal.i18n import gettext
from portal.money import parse_signed_yuan
from portal.web import current_actor, is_htmx, login_required, render, roles_required, see_other
from settlements import adjustments, close, downloads, payouts, queries
from settlements import statements as approval

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


async def list_page(request: Request, *, status_code: int = 200, errors: dict | None = None,
                    form: dict | None = None, run_id: int | None = None) -> Response:
    actor = current_actor(request)
    q = request.query_params
    period = parse_month(q.get("period"))
    status = q.get("status") if q.get("status") in queries.STATUSES else None
    rows = await queries.list_statements(actor, period=period, status=status,
                                         after_id=query_int(request, "after"),
                                         waiting=q.get("waiting"))
    context = dict(rows=rows, filters={"period": period.strftime("%Y-%m") if period else "",
                                       "status": status or ""},
                   next_after=rows[-1]["id"] if len(rows) == queries.PAGE_SIZE else None,
                   statuses=queries.STATUSES, status_label=downloads.status_label)
    if is_htmx(request) and not errors and q.get("after"):
        return render(request, "settlements/statements.html", block="rows", **context)
    totals = progress = None
    if actor.has("hq_finance", "auditor"):
        totals = await queries.period_totals(period or last_month())
    run_id = run_id or query_int(request, "run")
    if run_id and actor.has("hq_finance"):
        progress = await close.close_progress(run_id)
    return render(request, "settlements/statements.html", status_code=status_code, totals=totals,
                  progress=progress, run_id=run_id, kind_label=downloads.kind_label,
                  default_close=(form or {}).get("period") or last_month().strftime("%Y-%m"),
                  errors=errors or {}, form=form or {}, **context)


async def statement_page(request: Request, statement_id: int, *, status_code: int = 200,
                         errors: dict | None = None, form: dict | None = None) -> Response:
    actor = current_actor(request)
    statement, lines = await queries.statement_with_lines(actor, statement_id)
    return render(request, "settlements/statement.html", status_code=status_code,
                  statement=statement, lines=lines,
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
        if is_htmx(request):
            return await self._progress(request, run_id)
        return see_other(f"/statements?run={run_id}")

    @get("/close/{run_id:int}", guards=[FINANCE])
    async def progress(self, request: Request, run_id: int) -> Response:
        """The progress bar fragment, polled every second until the run is done."""
        return await self._progress(request, run_id)

    async def _progress(self, request: Request, run_id: int) -> Response:
        progress = await close.close_progress(run_id)  # NotFound for an unknown run
        return render(request, "settlements/_progress.html", progress=progress, run_id=run_id)

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
            await _run_action(request, actor, statement, action, form)
        except NotFound:
            raise
        except ValidationFailed as exc:
            return await statement_page(request, statement_id, status_code=422,
                                        errors=exc.errors, form=dict(form))
        except PortalError as exc:
            return await statement_page(request, statement_id, status_code=exc.status_code,
                                        errors={"action": gettext(exc.message, **exc.params)},
                                        form=dict(form))
        return see_other(f"/statements/{statement_id}")

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


async def _run_action(request: Request, actor, statement: dict, action: str, form) -> None:
    statement_id = statement["id"]
    if action == "review":
        await approval.review_fees(actor=actor, statement_id=statement_id)
    elif action == "approve":
        await approval.approve_statement(actor=actor, statement_id=statement_id)
    elif action == "second-approval":
        await approval.second_approve(actor=actor, statement_id=statement_id)
    elif action == "pay":
        await payouts.pay_statement(request.app.state.settings, actor=actor,
                                    statement_id=statement_id)
    elif action == "bank-payment":
        await payouts.record_bank_payment(actor=actor, statement_id=statement_id,
                                          reference=text(form, "reference", 80))
    elif action == "adjustment":
        amount = parse_signed_yuan(text(form, "amount", 20))
        if amount is None:
            raise ValidationFailed({"amount": "Enter an amount in yuan, e.g. 120.00 or -120.00."})
        await adjustments.request_adjustment(
            actor=actor, dealer_id=statement["dealer"], kind=text(form, "kind", 12) or "adjustment",
            amount_fen=amount, reason=text(form, "reason", 500),
            corrects_statement_id=statement_id)
    else:
        raise NotFound("Not found.")
