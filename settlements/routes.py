"""Statement pages (issue 5 §2, §3, §6): the list with its search and export, one statement with
its lines traced to their sources, the A4 print view and the XLSX/CSV downloads. The actions of
each role are settlements.statement_actions (one route each), the month close
settlements.close_routes; the pages themselves settlements.statement_pages."""
from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from portal import i18n, listing, replica
from portal.errors import NotFound
from portal.i18n import gettext
from portal.web import current_actor, login_required, render
from settlements import downloads, queries
from settlements.close_routes import CloseRoutes
from settlements.statement_actions import StatementActions
from settlements.statement_pages import (
    download_response,
    list_page,
    page_locale,
    statement_filters,
    statement_page,
)

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


class StatementController(CloseRoutes, StatementActions, Controller):
    """/statements: the reads here; the close and the actions come with their mixins."""

    path = "/statements"
    guards = [login_required]

    @get("/")
    @replica.replica_reads
    async def index(self, request: Request) -> Response:
        return await list_page(request)

    @get("/export")
    @replica.replica_reads
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

    @get("/{statement_id:int}")
    async def detail(self, request: Request, statement_id: FromPath[int]) -> Response:
        return await statement_page(request, statement_id)

    @get("/{statement_id:int}/print")
    async def print_view(self, request: Request, statement_id: FromPath[int]) -> Response:
        """A4, in the reader's language or the one asked for (?lang=en)."""
        locale = page_locale(request)
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
    async def download(self, request: Request, statement_id: FromPath[int]) -> Response:
        """?format=xlsx|csv, in the reader's language (or ?lang=zh_CN|en)."""
        kind = request.query_params.get("format", "xlsx")
        if kind not in ("xlsx", "csv"):
            raise NotFound("Not found.")
        statement, lines = await queries.statement_with_lines(current_actor(request),
                                                              statement_id)
        return download_response(statement, lines, kind, page_locale(request))
