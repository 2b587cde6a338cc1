"""The statement pages as the handlers and their actions render them (issue 5 §2, §6): the list
with its filters, finance's month totals and the close's progress; one statement with its lines
traced to their sources and the actions of each role, those a rule would refuse disabled with
the reason (settlements.rules.statement_actions); a statement's download."""
from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response

from portal import clock, i18n, listing
from portal.i18n import gettext
from portal.web import current_actor, is_htmx, render
from settlements import bulk, close, downloads, queries, rules
from settlements import statements as approval


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
    context: dict[str, Any] = dict(rows=rows, filters=raw, more_url=more, statuses=queries.STATUSES,
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


def page_locale(request: Request) -> str:
    """The language asked for (?lang=en), else the reader's."""
    lang = request.query_params.get("lang")
    return lang if lang in i18n.LOCALES else i18n.current_locale.get()


def download_response(statement: dict, lines: list[dict], kind: str, locale: str) -> Response:
    build = downloads.to_xlsx if kind == "xlsx" else downloads.to_csv
    media = downloads.XLSX_TYPE if kind == "xlsx" else "text/csv; charset=utf-8"
    name = downloads.filename(statement, kind)
    return Response(content=downloads.in_language(locale, build, statement, lines),
                    media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
